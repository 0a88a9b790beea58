//! Device alerts for technicians: a device that has gone silent, or whose battery runs low,
//! opens an alert; it clears when the device is heard again or the battery is back above the
//! threshold. Each opening and clearing is logged and, with `alerts.webhook_url`, posted once
//! as JSON with a `text` field, which the incoming webhooks of Mattermost, Rocket.Chat, Slack
//! and Matrix bridges take as a chat message. Open alerts are kept in the store, so a restart
//! repeats none and misses none; a failed delivery is tried again at the next check.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{bail, Context, Result};
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
    pub check_every: String,
    /// A battery level below this (percent) opens an alert; 0 switches it off.
    pub battery_below_percent: f64,
    /// A battery voltage below this (volts) opens an alert; 0 (the default) switches it off,
    /// since the right threshold depends on the cell.
    pub battery_below_v: f64,
    /// Language of the messages: `de` or `en`.
    pub language: String,
    /// Seconds to wait for the webhook.
    pub timeout_s: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            webhook_url: None,
            check_every: "5m".into(),
            battery_below_percent: 20.0,
            battery_below_v: 0.0,
            language: "de".into(),
            timeout_s: 10,
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
        match sensorhub_core::duration::parse_ms(&self.check_every) {
            Some(ms) if ms >= 1000 => {}
            _ => problems.push(format!(
                "alerts.check_every: `{}` is not a duration of at least 1s, such as 5m",
                self.check_every
            )),
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
        problems
    }
}

pub use sensorhub_store::AlertKind as Kind;

/// An alert that opened or cleared in one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub dev_eui: String,
    pub name: String,
    pub station: String,
    pub kind: &'static str,
    /// `open` or `cleared`.
    pub state: &'static str,
    /// When the condition began (RFC 3339).
    pub since: String,
    pub text: String,
    #[serde(skip)]
    since_ms: i64,
}

impl Change {
    fn new(d: &DeviceHealth, kind: Kind, state: &'static str, since_ms: i64, text: String) -> Self {
        Change {
            dev_eui: d.dev_eui.clone(),
            name: d.name.clone(),
            station: d.station.clone(),
            kind: kind.code(),
            state,
            since: format_rfc3339(since_ms),
            text,
            since_ms,
        }
    }
}

/// Thresholds of one check.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub silent_ms: i64,
    pub battery_below_percent: f64,
    pub battery_below_v: f64,
    pub english: bool,
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
        .map(|l| format!("{l:.0} % < {:.0} %", rules.battery_below_percent));
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
pub fn evaluate(
    health: &[DeviceHealth],
    open: &BTreeMap<(String, String), i64>,
    now_ms: i64,
    rules: &Rules,
) -> Vec<Change> {
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
            if !open.contains_key(&(d.dev_eui.clone(), kind.code().to_owned())) {
                let text = format!("⚠ {label}: {detail}");
                changes.push(Change::new(d, *kind, "open", *since_ms, text));
            }
        }
        for kind in Kind::ALL {
            let Some(since_ms) = open.get(&(d.dev_eui.clone(), kind.code().to_owned())) else {
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
            };
            let text = format!("✔ {label}: {detail}");
            changes.push(Change::new(d, kind, "cleared", *since_ms, text));
        }
    }
    for ((dev_eui, kind), since_ms) in open {
        if !registered.contains(dev_eui) {
            let kind = if kind == Kind::Silent.code() {
                Kind::Silent
            } else {
                Kind::LowBattery
            };
            let gone = DeviceHealth {
                dev_eui: dev_eui.clone(),
                ..DeviceHealth::default()
            };
            changes.push(Change::new(
                &gone,
                kind,
                "cleared",
                *since_ms,
                String::new(),
            ));
        }
    }
    changes
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
    silent_after: &str,
    now_ms: i64,
) -> Result<Vec<Change>> {
    let rules = Rules {
        silent_ms: sensorhub_core::duration::parse_ms(silent_after)
            .map_or(7_200_000, |ms| ms as i64),
        battery_below_percent: config.battery_below_percent,
        battery_below_v: config.battery_below_v,
        english: config.language == "en",
    };
    let health = store
        .state()
        .device_health(now_ms - 86_400_000)
        .await
        .context("device health")?;
    let open: BTreeMap<(String, String), i64> = store
        .state()
        .open_alerts()
        .await
        .context("open alerts")?
        .into_iter()
        .map(|(dev_eui, kind, since)| ((dev_eui, kind), since))
        .collect();
    let changes = evaluate(&health, &open, now_ms, &rules);
    if changes.is_empty() {
        return Ok(changes);
    }
    for c in changes.iter().filter(|c| !c.text.is_empty()) {
        if c.state == "open" {
            tracing::warn!(dev_eui = %c.dev_eui, station = %c.station, kind = c.kind, "alert: {}", c.text);
        } else {
            tracing::info!(dev_eui = %c.dev_eui, station = %c.station, kind = c.kind, "alert cleared: {}", c.text);
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
        if c.state == "open" {
            opened.push((c.dev_eui.clone(), c.kind.to_owned(), c.since_ms));
        } else {
            closed.push((c.dev_eui.clone(), c.kind.to_owned()));
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
mod tests {
    use super::*;

    fn device(eui: &str, last_seen_ms: Option<i64>, battery: Option<f64>) -> DeviceHealth {
        DeviceHealth {
            dev_eui: eui.into(),
            name: format!("Sensor {eui}"),
            station: "pegel-wyk".into(),
            last_seen_ms,
            battery_level: battery,
            ..DeviceHealth::default()
        }
    }

    const RULES: Rules = Rules {
        silent_ms: 2 * 3_600_000,
        battery_below_percent: 20.0,
        battery_below_v: 0.0,
        english: false,
    };

    #[test]
    fn conditions_open_once_and_clear_once() {
        let now = 1_700_000_000_000;
        let mut open = BTreeMap::new();
        let devices = [
            device("a1", Some(now - 3 * 3_600_000), Some(80.0)),
            device("b2", Some(now - 60_000), Some(15.0)),
            device("c3", None, None),
            device("d4", Some(now - 2 * 3_600_000 + 1), Some(20.0)),
        ];
        let changes = evaluate(&devices, &open, now, &RULES);
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.dev_eui.as_str(), c.kind, c.state))
            .collect();
        // Never heard (c3) and just under both thresholds (d4): nothing.
        assert_eq!(
            got,
            [("a1", "silent", "open"), ("b2", "low_battery", "open")]
        );
        assert!(changes[0].text.contains("3 h 0 min"), "{}", changes[0].text);
        assert!(
            changes[1].text.contains("15 % < 20 %"),
            "{}",
            changes[1].text
        );
        for c in &changes {
            open.insert((c.dev_eui.clone(), c.kind.to_owned()), c.since_ms);
        }
        // Same state again: nothing new.
        assert!(evaluate(&devices, &open, now, &RULES).is_empty());
        // a1 heard again, b2 still low, a device with an open alert removed from the registry.
        open.insert(("gone".into(), "silent".into()), now - 9_000_000);
        let later = [
            device("a1", Some(now + 120_000), Some(80.0)),
            device("b2", Some(now + 120_000), Some(14.0)),
        ];
        let changes = evaluate(&later, &open, now + 180_000, &RULES);
        let got: Vec<_> = changes
            .iter()
            .map(|c| (c.dev_eui.as_str(), c.kind, c.state, c.text.is_empty()))
            .collect();
        assert_eq!(
            got,
            [
                ("a1", "silent", "cleared", false),
                ("gone", "silent", "cleared", true)
            ]
        );
        assert!(changes[0].text.contains("sendet wieder"));
        let body = payload(&changes);
        assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
        assert!(body["text"].as_str().unwrap().contains("Sensor a1"));
    }

    #[test]
    fn voltage_threshold_and_english() {
        let rules = Rules {
            battery_below_percent: 0.0,
            battery_below_v: 3.3,
            english: true,
            ..RULES
        };
        let mut d = device("a1", Some(1_000), Some(1.0));
        d.battery_voltage = Some(3.21);
        let changes = evaluate(&[d], &BTreeMap::new(), 2_000, &rules);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].text,
            "⚠ Sensor a1 (station pegel-wyk, a1): battery low: 3.21 V < 3.30 V"
        );
        assert_eq!(duration_text(90_000_000, true), "1d 1 h");
    }
}
