//! Alerts for technicians: a device that has gone silent, or whose battery runs low, opens an
//! alert; it clears when the device is heard again or the battery is back above the
//! threshold. A gateway heard before and silent for `alerts.gateway_silent_after` opens a
//! `gateway_offline` alert naming the devices only it heard; it clears when it is heard again. Each opening and clearing is logged and, with `alerts.webhook_url`, posted once
//! as JSON with a `text` field, which the incoming webhooks of Mattermost, Rocket.Chat, Slack
//! and Matrix bridges take as a chat message. Open alerts are kept in the store, so a restart
//! repeats none and misses none; a failed delivery is tried again at the next check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sensorhub_core::duration::HumanDuration;
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{DeviceHealth, Store};
use serde::{Deserialize, Serialize};

/// The `[alerts]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertsConfig {
    /// Incoming webhook that receives each round's alerts as JSON (`text` plus an `alerts`
    /// list). It usually carries a secret: better set as SENSORHUB_ALERTS_WEBHOOK_URL. Without
    /// one, alerts go to the log and the `/admin` page only.
    pub webhook_url: Option<String>,
    /// How often devices are checked (`5m`, `1h`). A device is silent after
    /// `http.silent_after` without an uplink, as on the `/admin` page.
    pub check_every: HumanDuration,
    /// A battery level below this (percent) opens an alert; 0 switches it off.
    pub battery_below_percent: f64,
    /// A battery voltage below this (volts) opens an alert; 0 (the default) switches it off,
    /// since the right threshold depends on the cell.
    pub battery_below_v: f64,
    /// Language of the messages: `de` or `en`.
    pub language: String,
    /// Seconds to wait for the webhook.
    pub timeout_s: u64,
    /// A gateway heard before and silent this long opens a `gateway_offline` alert naming
    /// the devices only it heard.
    pub gateway_silent_after: HumanDuration,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            webhook_url: None,
            check_every: HumanDuration::from_mins(5),
            battery_below_percent: 20.0,
            battery_below_v: 0.0,
            language: "de".into(),
            timeout_s: 10,
            gateway_silent_after: HumanDuration::from_mins(15),
        }
    }
}

impl AlertsConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = &self.webhook_url {
            if !url.starts_with("https://") && !url.starts_with("http://") {
                // The URL may hold a token: name the key, not the value.
                problems.push("alerts.webhook_url: needs http:// or https://".into());
            }
        }
        if self.check_every < HumanDuration::from_secs(1) {
            problems.push(format!(
                "alerts.check_every: `{}` is not a duration of at least 1s, such as 5m",
                self.check_every
            ));
        }
        if !(0.0..=100.0).contains(&self.battery_below_percent) {
            problems.push("alerts.battery_below_percent: must be between 0 and 100".into());
        }
        if !(0.0..=60.0).contains(&self.battery_below_v) {
            problems.push("alerts.battery_below_v: must be between 0 and 60 volts".into());
        }
        if self.language != "de" && self.language != "en" {
            problems.push(format!(
                "alerts.language: `{}`; use de or en",
                self.language
            ));
        }
        if self.timeout_s == 0 {
            problems.push("alerts.timeout_s: must be at least 1".into());
        }
        if self.gateway_silent_after < HumanDuration::from_secs(5) {
            problems.push(format!(
                "alerts.gateway_silent_after: `{}` is shorter than 5s; a gateway is silent between uplinks, give it minutes",
                self.gateway_silent_after
            ));
        }
        problems
    }
}

pub use sensorhub_store::AlertKind as Kind;

/// Whether an alert opened or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Cleared,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Cleared => "cleared",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The open alerts: (DevEUI, kind) and since when (ms).
pub type Open = BTreeMap<(String, Kind), i64>;

/// An alert that opened or cleared in one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The device's DevEUI; empty for a gateway's alert.
    pub dev_eui: String,
    pub name: String,
    pub station: String,
    /// The gateway of a `gateway_offline` alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// For a gateway's alert: the DevEUIs of the devices only that gateway heard.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    pub kind: Kind,
    pub state: State,
    /// When the condition began (RFC 3339).
    pub since: String,
    pub text: String,
    #[serde(skip)]
    since_ms: i64,
}

impl Change {
    fn new(d: &DeviceHealth, kind: Kind, state: State, since_ms: i64, text: String) -> Self {
        Change {
            dev_eui: d.dev_eui.clone(),
            name: d.name.clone(),
            station: d.station.clone(),
            gateway: None,
            devices: Vec::new(),
            kind,
            state,
            since: format_rfc3339(since_ms),
            text,
            since_ms,
        }
    }

    fn gateway(id: &str, devices: Vec<String>, state: State, since_ms: i64, text: String) -> Self {
        Change {
            dev_eui: String::new(),
            name: String::new(),
            station: String::new(),
            gateway: Some(id.to_owned()),
            devices,
            kind: Kind::GatewayOffline,
            state,
            since: format_rfc3339(since_ms),
            text,
            since_ms,
        }
    }

    /// What the alert is kept under: the DevEUI, or the gateway's id.
    fn key(&self) -> String {
        self.gateway.clone().unwrap_or_else(|| self.dev_eui.clone())
    }
}

/// Thresholds of one check.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub silent_ms: i64,
    pub battery_below_percent: f64,
    pub battery_below_v: f64,
    pub english: bool,
    pub gateway_silent_ms: i64,
}

fn duration_text(ms: i64, english: bool) -> String {
    let minutes = ms.max(0) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let day = if english { "d" } else { " T." };
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d}{day} {h} h"),
    }
}

/// The conditions a device is in now: kind, since when, and what to say.
fn conditions(d: &DeviceHealth, now_ms: i64, rules: &Rules) -> Vec<(Kind, i64, String)> {
    let en = rules.english;
    let mut found = Vec::new();
    // A device never heard is not silent: it may not be installed yet (the /admin page lists it).
    if let Some(seen) = d.last_seen_ms {
        if now_ms - seen > rules.silent_ms {
            let ago = duration_text(now_ms - seen, en);
            let when = format_rfc3339(seen);
            found.push((
                Kind::Silent,
                seen,
                if en {
                    format!("silent for {ago} (last uplink {when})")
                } else {
                    format!("sendet seit {ago} nicht mehr (letzte Nachricht {when})")
                },
            ));
        }
    }
    let low_level = d
        .battery_level
        .filter(|l| rules.battery_below_percent > 0.0 && *l < rules.battery_below_percent)
        .map(|l| {
            let volts = d
                .battery_voltage
                .map(|v| format!(" ({v:.2} V)"))
                .unwrap_or_default();
            format!("{l:.0} %{volts} < {:.0} %", rules.battery_below_percent)
        });
    let low_voltage = d
        .battery_voltage
        .filter(|v| rules.battery_below_v > 0.0 && *v < rules.battery_below_v)
        .map(|v| format!("{v:.2} V < {:.2} V", rules.battery_below_v));
    if let Some(what) = low_level.or(low_voltage) {
        found.push((
            Kind::LowBattery,
            d.last_seen_ms.unwrap_or(now_ms),
            if en {
                format!("battery low: {what}")
            } else {
                format!("Batterie schwach: {what}")
            },
        ));
    }
    found
}

/// Compares the devices' conditions with the open alerts: what opens, what clears. Alerts of
/// devices no longer registered clear without a message (`text` empty).
pub fn evaluate(health: &[DeviceHealth], open: &Open, now_ms: i64, rules: &Rules) -> Vec<Change> {
    let en = rules.english;
    let mut changes = Vec::new();
    let mut registered = BTreeSet::new();
    for d in health {
        registered.insert(d.dev_eui.clone());
        let label = if en {
            format!("{} (station {}, {})", d.name, d.station, d.dev_eui)
        } else {
            format!("{} (Station {}, {})", d.name, d.station, d.dev_eui)
        };
        let now: Vec<_> = conditions(d, now_ms, rules);
        for (kind, since_ms, detail) in &now {
            if !open.contains_key(&(d.dev_eui.clone(), *kind)) {
                let text = format!("⚠ {label}: {detail}");
                changes.push(Change::new(d, *kind, State::Open, *since_ms, text));
            }
        }
        for kind in Kind::DEVICE {
            let Some(since_ms) = open.get(&(d.dev_eui.clone(), kind)) else {
                continue;
            };
            if now.iter().any(|(k, _, _)| *k == kind) {
                continue;
            }
            let detail = match (kind, en) {
                (Kind::Silent, true) => "heard again".to_owned(),
                (Kind::Silent, false) => "sendet wieder".to_owned(),
                (Kind::LowBattery, true) => "battery fine again".to_owned(),
                (Kind::LowBattery, false) => "Batterie wieder in Ordnung".to_owned(),
                (Kind::GatewayOffline, _) => continue,
            };
            let text = format!("✔ {label}: {detail}");
            changes.push(Change::new(d, kind, State::Cleared, *since_ms, text));
        }
    }
    for ((dev_eui, kind), since_ms) in open {
        if Kind::DEVICE.contains(kind) && !registered.contains(dev_eui) {
            let gone = DeviceHealth {
                dev_eui: dev_eui.clone(),
                ..DeviceHealth::default()
            };
            changes.push(Change::new(
                &gone,
                *kind,
                State::Cleared,
                *since_ms,
                String::new(),
            ));
        }
    }
    changes
}

/// A gateway as the alert check sees it: when it was last heard, and the devices only it
/// heard in the day before.
pub struct GatewayState {
    pub id: String,
    pub last_seen_ms: i64,
    /// (DevEUI, name, station) of the devices no other gateway heard.
    pub alone: Vec<(String, String, String)>,
}

/// Compares the gateways with their open alerts: a gateway heard before and silent for
/// `gateway_silent_ms` opens `gateway_offline`; heard again, it clears.
pub fn evaluate_gateways(
    gateways: &[GatewayState],
    open: &Open,
    now_ms: i64,
    rules: &Rules,
) -> Vec<Change> {
    let en = rules.english;
    let mut changes = Vec::new();
    for g in gateways {
        let key = (g.id.clone(), Kind::GatewayOffline);
        let silent = now_ms - g.last_seen_ms > rules.gateway_silent_ms;
        match (silent, open.get(&key)) {
            (true, None) => {
                let ago = duration_text(now_ms - g.last_seen_ms, en);
                let names: Vec<String> = g
                    .alone
                    .iter()
                    .map(|(eui, name, station)| format!("{name} ({station}, {eui})"))
                    .collect();
                let affected = match (names.is_empty(), en) {
                    (true, true) => "no device depends on it alone".to_owned(),
                    (true, false) => "kein Gerät hängt allein an ihm".to_owned(),
                    (false, true) => format!("only it heard: {}", names.join(", ")),
                    (false, false) => format!("nur über dieses Gateway: {}", names.join(", ")),
                };
                let text = if en {
                    format!("⚠ Gateway {}: not heard for {ago}; {affected}", g.id)
                } else {
                    format!("⚠ Gateway {}: seit {ago} nicht gehört; {affected}", g.id)
                };
                let devices = g.alone.iter().map(|(eui, _, _)| eui.clone()).collect();
                changes.push(Change::gateway(
                    &g.id,
                    devices,
                    State::Open,
                    g.last_seen_ms,
                    text,
                ));
            }
            (false, Some(since_ms)) => {
                let text = if en {
                    format!("✔ Gateway {}: heard again", g.id)
                } else {
                    format!("✔ Gateway {}: wieder gehört", g.id)
                };
                changes.push(Change::gateway(
                    &g.id,
                    Vec::new(),
                    State::Cleared,
                    *since_ms,
                    text,
                ));
            }
            _ => {}
        }
    }
    changes
}

/// The gateways, each with the devices that depended on it alone in the day before it was
/// last heard.
async fn gateway_states(store: &Store, health: &[DeviceHealth]) -> Result<Vec<GatewayState>> {
    let state = store.state();
    let seen = state.gateways(0).await.context("gateways")?;
    let mut out = Vec::new();
    for g in seen {
        let heard = state
            .gateways_by_device(g.last_seen_ms - 86_400_000)
            .await
            .context("gateways by device")?;
        let alone = heard
            .into_iter()
            .filter(|(_, gateways)| gateways.len() == 1 && gateways[0] == g.gateway_id)
            .map(|(eui, _)| {
                let d = health.iter().find(|d| d.dev_eui == eui);
                (
                    eui.clone(),
                    d.map_or(String::new(), |d| d.name.clone()),
                    d.map_or(String::new(), |d| d.station.clone()),
                )
            })
            .collect();
        out.push(GatewayState {
            id: g.gateway_id,
            last_seen_ms: g.last_seen_ms,
            alone,
        });
    }
    Ok(out)
}

/// The webhook's body for one round.
pub fn payload(changes: &[Change]) -> serde_json::Value {
    let text: Vec<&str> = changes
        .iter()
        .map(|c| c.text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    serde_json::json!({
        "text": format!("sensorhub\n{}", text.join("\n")),
        "alerts": changes.iter().filter(|c| !c.text.is_empty()).collect::<Vec<_>>(),
    })
}

async fn deliver(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> Result<()> {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=3 {
        let outcome = client.post(url).json(body).send().await;
        match outcome {
            Ok(r) if r.status().is_success() => return Ok(()),
            // A 4xx will not change by asking again: the URL or its token is wrong.
            Ok(r) if r.status().is_client_error() => {
                bail!("the alert webhook refused the alerts: HTTP {}", r.status())
            }
            Ok(r) if attempt == 3 => bail!("the alert webhook answered HTTP {}", r.status()),
            // The error text of reqwest names the URL, which may hold a token: leave it out.
            Err(e) if attempt == 3 => bail!(
                "the alert webhook cannot be reached ({})",
                if e.is_timeout() {
                    "timeout"
                } else {
                    "no connection"
                }
            ),
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    unreachable!("the last attempt returns")
}

/// One check: compares device health with the open alerts, delivers what changed and only
/// then records it, so that an undelivered alert is tried again at the next check.
pub async fn check(
    store: &Store,
    config: &AlertsConfig,
    silent_after: HumanDuration,
    batteries: &sensorhub_store::Batteries,
    now_ms: i64,
) -> Result<Vec<Change>> {
    let rules = Rules {
        silent_ms: silent_after.as_ms_i64(),
        battery_below_percent: config.battery_below_percent,
        battery_below_v: config.battery_below_v,
        english: config.language == "en",
        gateway_silent_ms: config.gateway_silent_after.as_ms_i64(),
    };
    let mut health = store
        .state()
        .device_health(now_ms - 86_400_000)
        .await
        .context("device health")?;
    // A battery given in volts only is judged in percent on its device type's curve.
    for d in &mut health {
        if d.battery_level.is_none() {
            d.battery_level = d.battery_percent(batteries).map(|(p, _)| p);
        }
    }
    let open: Open = store
        .state()
        .open_alerts()
        .await
        .context("open alerts")?
        .into_iter()
        .map(|(dev_eui, kind, since)| ((dev_eui, kind), since))
        .collect();
    let mut changes = evaluate(&health, &open, now_ms, &rules);
    let gateways = gateway_states(store, &health).await?;
    changes.extend(evaluate_gateways(&gateways, &open, now_ms, &rules));
    if changes.is_empty() {
        return Ok(changes);
    }
    for c in changes.iter().filter(|c| !c.text.is_empty()) {
        if c.state == State::Open {
            tracing::warn!(dev_eui = %c.dev_eui, station = %c.station, kind = %c.kind, "alert: {}", c.text);
        } else {
            tracing::info!(dev_eui = %c.dev_eui, station = %c.station, kind = %c.kind, "alert cleared: {}", c.text);
        }
    }
    if let Some(url) = &config.webhook_url {
        if changes.iter().any(|c| !c.text.is_empty()) {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(config.timeout_s))
                .build()
                .context("HTTP client")?;
            deliver(&client, url, &payload(&changes)).await?;
        }
    }
    let mut opened = Vec::new();
    let mut closed = Vec::new();
    for c in &changes {
        if c.state == State::Open {
            opened.push((c.key(), c.kind, c.since_ms));
        } else {
            closed.push((c.key(), c.kind));
        }
    }
    store
        .state()
        .update_alerts(opened, closed)
        .await
        .context("record alerts")?;
    Ok(changes)
}

#[cfg(test)]
mod tests;
