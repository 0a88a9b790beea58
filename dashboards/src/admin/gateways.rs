//! The gateways (`/admin/gateways`, and as JSON `/admin/api/v1/gateways`): every gateway named
//! in ChirpStack's `rxInfo`, The Things Stack's `rx_metadata` or a raw frame's topic, and every
//! one in the registry (`sensorhub gateways add|import`: name, position); when it was last
//! heard, and over the last 24 hours how many uplinks and devices it heard and the spread of
//! their signal.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use sensorhub_store::{GatewayInfo, GatewaySeen};

use super::auth::{AdminSession, AdminToken};
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, remember_lang, time_text, url_part, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

const DAY_MS: i64 = 86_400_000;

/// A gateway: its registry entry, what its uplinks show, or both.
#[derive(Debug, serde::Serialize)]
pub struct Gateway {
    pub gateway_id: String,
    /// Its registry entry (name, position), if it has one.
    pub entry: Option<GatewayInfo>,
    /// What it heard; `None` for a registered gateway never heard.
    pub heard: Option<GatewaySeen>,
}

async fn seen(state: &AppState) -> Result<Vec<Gateway>, AppError> {
    let since = sensorhub_store::time::now_ms() - DAY_MS;
    let store = state.store.state();
    let heard = store.gateways(since).await?;
    let entries = store.gateway_infos().await?;
    let mut ids: Vec<String> = heard.iter().map(|g| g.gateway_id.clone()).collect();
    ids.extend(entries.iter().map(|g| g.gateway_id.clone()));
    ids.sort_unstable();
    ids.dedup();
    Ok(ids
        .into_iter()
        .map(|id| Gateway {
            entry: entries.iter().find(|g| g.gateway_id == id).cloned(),
            heard: heard.iter().find(|g| g.gateway_id == id).cloned(),
            gateway_id: id,
        })
        .collect())
}

/// `GET /admin/api/v1/gateways`.
pub(super) async fn gateways_json(
    _: AdminToken,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    Ok(no_store(Json(seen(&state).await?).into_response()))
}

/// `GET /admin/gateways`.
pub(super) async fn gateways_page(
    _session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let list = seen(&state).await?;
    let title = lang.t("Gateways", "Gateways");
    let main = render(lang, &list);
    let mut response =
        no_store(Html(layout::admin(lang, title, main).into_string()).into_response());
    remember_lang(&query, &mut response);
    Ok(response)
}

fn dbm(v: Option<f64>, unit: &str) -> String {
    v.map_or("–".into(), |v| format!("{v:.0} {unit}"))
}

fn render(lang: Lang, list: &[Gateway]) -> Markup {
    html! {
        p { a href="/admin" { (lang.t("← Alle Geräte", "← All devices")) } }
        h1 { (lang.t("Gateways", "Gateways")) }
        p {
            (lang.t(
                "Jedes Gateway, das einen Uplink gehört hat, mit den letzten 24 Stunden.",
                "Every gateway that heard an uplink, with the last 24 hours."
            ))
        }
        @if list.is_empty() {
            p { (lang.t("Noch keines.", "None yet.")) }
        } @else {
            div.scroll { table id="gateways" {
                caption { (lang.t("Gateways und was sie hörten", "Gateways and what they heard")) }
                thead { tr {
                    th scope="col" { "Gateway" }
                    th scope="col" { (lang.t("Name und Position", "Name and position")) }
                    th scope="col" { (lang.t("Zuletzt gehört", "Last heard")) }
                    th scope="col" { (lang.t("Uplinks (24 h)", "Uplinks (24 h)")) }
                    th scope="col" { (lang.t("Geräte (24 h)", "Devices (24 h)")) }
                    th scope="col" { (lang.t("RSSI min / Mittel / max", "RSSI min / mean / max")) }
                    th scope="col" { (lang.t("SNR Mittel", "SNR mean")) }
                    th scope="col" { (lang.t("Meldet selbst", "Reports itself")) }
                } }
                tbody {
                    @for g in list {
                        tr id={ "gw-" (g.gateway_id) } {
                            th scope="row" { a href={ "/admin/gateways/" (url_part(&g.gateway_id)) } { code { (g.gateway_id) } } }
                            td {
                                @if let Some(e) = &g.entry {
                                    (e.name)
                                    @if let (Some(lat), Some(lon)) = (e.lat, e.lon) { " (" (lat) ", " (lon) ")" }
                                }
                            }
                            @match &g.heard {
                                Some(h) => {
                                    @let last = sensorhub_store::time::format_rfc3339(h.last_seen_ms);
                                    td { time datetime=(last) { (time_text(lang, &last)) } }
                                    td { (h.uplinks) }
                                    td { (h.devices) }
                                    td { (dbm(h.rssi_min, "dBm")) " / " (dbm(h.rssi_mean, "dBm")) " / " (dbm(h.rssi_max, "dBm")) }
                                    td { (h.snr_mean.map_or("–".into(), |v| format!("{v:.1} dB"))) }
                                    td {
                                        @match h.online {
                                            Some(true) => { (lang.t("verbunden", "connected")) }
                                            Some(false) => { strong { (lang.t("getrennt", "disconnected")) } }
                                            None => {}
                                        }
                                        @if let (Some(rx), Some(ok)) = (h.rx_received, h.rx_ok) {
                                            @if h.online.is_some() { "; " }
                                            (lang.t("Pakete empfangen: ", "packets received: ")) (rx) " (" (ok) " CRC ok)"
                                        }
                                    }
                                }
                                None => {
                                    td { (lang.t("nie", "never")) }
                                    td { "0" } td { "0" } td { "–" } td { "–" } td {}
                                }
                            }
                        }
                    }
                }
            } }
        }
    }
}

/// What one gateway heard over a window: hour by hour, and per device.
#[derive(Debug, serde::Serialize)]
pub struct GatewayView {
    pub gateway: Gateway,
    pub range: &'static str,
    pub since: String,
    pub until: String,
    /// Uplinks, RSSI and SNR per hour.
    pub hours: Vec<super::device::Hour>,
    /// The devices it heard: DevEUI, uplinks, last heard (RFC 3339), mean RSSI.
    pub devices: Vec<HeardDevice>,
}

#[derive(Debug, serde::Serialize)]
pub struct HeardDevice {
    pub dev_eui: String,
    pub uplinks: u64,
    pub last: String,
    pub rssi_mean: Option<f64>,
}

/// Sightings read for one page at most (30 days of 100 devices once every 15 minutes).
const SIGHTINGS: usize = 300_000;

async fn gateway_view(
    state: &AppState,
    id: &str,
    range: crate::public::Range,
) -> Result<Option<GatewayView>, AppError> {
    let Some(gateway) = seen(state).await?.into_iter().find(|g| g.gateway_id == id) else {
        return Ok(None);
    };
    let now = sensorhub_store::time::now_ms();
    let since = now - range.span_ms();
    let heard = state.store.state().heard_by(id, since, SIGHTINGS).await?;
    // The hourly charts of the device page, from this gateway's sightings.
    let as_uplinks: Vec<sensorhub_store::Uplink> = heard
        .iter()
        .map(|s| sensorhub_store::Uplink {
            dev_eui: s.dev_eui.clone(),
            time_ms: s.time_ms,
            time_source: sensorhub_store::TimeSource::Network,
            f_cnt: None,
            f_port: None,
            dedup_id: None,
            rssi: s.rssi,
            snr: s.snr,
            gateway_count: 1,
            gateways: Vec::new(),
        })
        .collect();
    let mut devices: Vec<HeardDevice> = Vec::new();
    let mut sums: std::collections::BTreeMap<&str, (u64, i64, f64, u64)> = Default::default();
    for s in &heard {
        let e = sums.entry(&s.dev_eui).or_default();
        e.0 += 1;
        e.1 = e.1.max(s.time_ms);
        if let Some(r) = s.rssi {
            e.2 += r;
            e.3 += 1;
        }
    }
    for (eui, (n, last, rssi, with_rssi)) in sums {
        devices.push(HeardDevice {
            dev_eui: eui.to_owned(),
            uplinks: n,
            last: sensorhub_store::time::format_rfc3339(last),
            rssi_mean: (with_rssi > 0).then(|| (rssi / with_rssi as f64 * 10.0).round() / 10.0),
        });
    }
    Ok(Some(GatewayView {
        gateway,
        range: range.code(),
        since: sensorhub_store::time::format_rfc3339(since),
        until: sensorhub_store::time::format_rfc3339(now),
        hours: super::device::hours(&as_uplinks),
        devices,
    }))
}

/// `GET /admin/api/v1/gateways/{id}?range=24h|7d|30d`.
pub(super) async fn gateway_json(
    _: AdminToken,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let range = crate::public::Range::parse(query.range.as_deref());
    Ok(match gateway_view(&state, &id, range).await? {
        Some(v) => no_store(Json(v).into_response()),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    })
}

/// `GET /admin/gateways/{id}?range=24h|7d|30d`.
pub(super) async fn gateway_page(
    _session: AdminSession,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let range = crate::public::Range::parse(query.range.as_deref());
    let Some(v) = gateway_view(&state, &id, range).await? else {
        return Ok(axum::http::StatusCode::NOT_FOUND.into_response());
    };
    let title = format!("Gateway {}", v.gateway.gateway_id);
    let base = format!("/admin/gateways/{}", url_part(&v.gateway.gateway_id));
    let main = html! {
        p { a href="/admin/gateways" { (lang.t("← Alle Gateways", "← All gateways")) } }
        h1 { (title) }
        @if let Some(e) = &v.gateway.entry {
            p { (e.name) @if let (Some(lat), Some(lon)) = (e.lat, e.lon) { " (" (lat) ", " (lon) ")" } }
        }
        (super::device::range_links(lang, &base, range))
        (super::device::series(lang, &v.hours, &v.since, &v.until, "chart-uplinks", ("Uplinks je Stunde", "Uplinks per hour"), "", true, &|h| super::device::count(h.uplinks)))
        (super::device::series(lang, &v.hours, &v.since, &v.until, "chart-rssi", ("RSSI", "RSSI"), "dBm", false, &|h| h.rssi))
        (super::device::series(lang, &v.hours, &v.since, &v.until, "chart-snr", ("SNR", "SNR"), "dB", false, &|h| h.snr))
        section aria-labelledby="heard" {
            h2 id="heard" { (lang.t("Gehörte Geräte", "Devices heard")) }
            @if v.devices.is_empty() {
                p { (lang.t("Keine im Zeitraum.", "None in the window.")) }
            } @else {
                div.scroll { table id="heard-devices" {
                    caption { (lang.t("Geräte, die dieses Gateway hörte", "Devices this gateway heard")) }
                    thead { tr {
                        th scope="col" { "DevEUI" }
                        th scope="col" { "Uplinks" }
                        th scope="col" { (lang.t("Zuletzt", "Last")) }
                        th scope="col" { (lang.t("RSSI Mittel", "RSSI mean")) }
                    } }
                    tbody {
                        @for d in &v.devices {
                            tr {
                                th scope="row" { a href={ "/admin/devices/" (url_part(&d.dev_eui)) } { (d.dev_eui) } }
                                td { (d.uplinks) }
                                td { time datetime=(d.last) { (time_text(lang, &d.last)) } }
                                td { (dbm(d.rssi_mean, "dBm")) }
                            }
                        }
                    }
                } }
            }
        }
    };
    let page = layout::admin_with(
        lang,
        &title,
        main,
        &["vendor/uplot/uPlot.iife.min.js", "chart.js"],
    );
    let mut response = no_store(Html(page.into_string()).into_response());
    remember_lang(&query, &mut response);
    Ok(response)
}
