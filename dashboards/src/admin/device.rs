//! A page per device (`/admin/devices/{dev_eui}`) and the same as JSON
//! (`/admin/api/v1/devices/{dev_eui}`): its details and station, charts over 24 h / 7 d /
//! 30 d of the best gateway's RSSI and SNR, the gateways that heard it, its battery, uplinks
//! per hour and lost frames (frame-counter gaps), its last 50 uplinks with the readings they
//! stored, its open alerts and unmapped fields.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{Device, ReadingQuery, Uplink};
use serde::Serialize;

use super::auth::{AdminSession, AdminToken};
use super::no_store;
use crate::error::AppError;
use crate::html::chart::{chart, Chart, ChartPoint};
use crate::html::i18n::{choose_lang, number, remember_lang, time_text, url_part, Lang, PageQuery};
use crate::html::layout;
use crate::public::Range;
use crate::AppState;

/// Uplinks listed on the page.
const LAST_UPLINKS: usize = 50;
/// Uplinks read for the charts at most (30 days of one a minute).
const CHART_UPLINKS: usize = 50_000;

/// One hour of a device's radio: the charts' points.
#[derive(Debug, Clone, Serialize)]
pub struct Hour {
    /// Start of the hour, RFC 3339.
    pub time: String,
    pub uplinks: u64,
    /// Frames missing by the frame counter within the hour.
    pub lost: u64,
    pub rssi: Option<Stat>,
    pub snr: Option<Stat>,
    pub gateways: Option<Stat>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// An uplink as listed, with the readings it stored.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub uplink: Uplink,
    pub time: String,
    pub readings: Vec<(String, f64, String)>,
}

/// What the page and the JSON show.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub device: Device,
    pub range: &'static str,
    pub since: String,
    pub until: String,
    pub hours: Vec<Hour>,
    /// The battery over the window, hour by hour.
    pub battery: Option<super::battery::Battery>,
    pub uplinks: Vec<Listed>,
    pub alerts: Vec<(String, String)>,
    pub unmapped: Vec<sensorhub_store::UnmappedField>,
    /// Its dead letters (newest first): id, time, reason, detail.
    pub dead_letters: Vec<Letter>,
}

/// A dead letter as the device page lists it.
#[derive(Debug, Serialize)]
pub struct Letter {
    pub id: i64,
    pub time: String,
    pub reason: String,
    pub detail: String,
    pub topic: String,
}

/// Dead letters listed on a device page.
const LETTERS: usize = 50;

fn stat(values: &[f64]) -> Option<Stat> {
    if values.is_empty() {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(Stat {
        mean: (mean * 10.0).round() / 10.0,
        min,
        max,
    })
}

/// Uplinks (any order) per hour: counts, lost frames, RSSI, SNR and gateways heard.
pub fn hours(uplinks: &[Uplink]) -> Vec<Hour> {
    let mut by_hour: BTreeMap<i64, Vec<&Uplink>> = BTreeMap::new();
    for u in uplinks {
        by_hour
            .entry(u.time_ms.div_euclid(3_600_000))
            .or_default()
            .push(u);
    }
    by_hour
        .into_iter()
        .map(|(hour, list)| {
            let counters: Vec<u32> = list.iter().filter_map(|u| u.f_cnt).collect();
            let lost = match (counters.iter().min(), counters.iter().max()) {
                (Some(lo), Some(hi)) => {
                    let distinct: std::collections::BTreeSet<u32> =
                        counters.iter().copied().collect();
                    u64::from(hi - lo + 1).saturating_sub(distinct.len() as u64)
                }
                _ => 0,
            };
            let rssi: Vec<f64> = list.iter().filter_map(|u| u.rssi).collect();
            let snr: Vec<f64> = list.iter().filter_map(|u| u.snr).collect();
            let gateways: Vec<f64> = list.iter().map(|u| f64::from(u.gateway_count)).collect();
            Hour {
                time: format_rfc3339(hour * 3_600_000),
                uplinks: list.len() as u64,
                lost,
                rssi: stat(&rssi),
                snr: stat(&snr),
                gateways: stat(&gateways),
            }
        })
        .collect()
}

async fn view(state: &AppState, eui: &str, range: Range) -> Result<Option<DeviceView>, AppError> {
    let store = state.store.state();
    let Ok(eui) = eui.trim().parse::<sensorhub_core::DevEui>() else {
        return Ok(None);
    };
    let Some(device) = store.device(&eui.to_string()).await? else {
        return Ok(None);
    };
    let key = device.dev_eui.to_string();
    let now = sensorhub_store::time::now_ms();
    let since = now - range.span_ms();
    let window = store.uplinks(&key, since, CHART_UPLINKS).await?;
    let recent = store.uplinks(&key, i64::MIN, LAST_UPLINKS).await?;
    // The readings those uplinks stored: the station's readings at their times.
    let oldest = recent.last().map_or(now, |u| u.time_ms);
    let readings = store
        .readings(ReadingQuery {
            stations: vec![device.station.clone()],
            quantity: None,
            since_ms: Some(oldest),
            until_ms: Some(now + 1),
            limit: Some(LAST_UPLINKS * 20),
        })
        .await?;
    let uplinks = recent
        .into_iter()
        .map(|u| Listed {
            time: format_rfc3339(u.time_ms),
            readings: readings
                .iter()
                .filter(|r| r.time_ms == u.time_ms)
                .map(|r| (r.quantity.clone(), r.value, r.unit.clone()))
                .collect(),
            uplink: u,
        })
        .collect();
    let battery = super::battery::load(state, &device, since, now).await?;
    let alerts = store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|(e, _, _)| *e == key)
        .map(|(_, kind, since)| (kind.as_str().to_owned(), format_rfc3339(since)))
        .collect();
    let addr = device.dev_addr.as_ref().map(|a| a.to_string());
    let dead_letters = store
        .dead_letters_of(&key, addr.as_deref(), LETTERS)
        .await?
        .into_iter()
        .map(|(id, d)| Letter {
            id,
            time: format_rfc3339(d.time_ms),
            reason: d.reason.as_str().to_owned(),
            detail: d.detail,
            topic: d.topic,
        })
        .collect();
    Ok(Some(DeviceView {
        dead_letters,
        hours: hours(&window),
        battery,
        uplinks,
        alerts,
        unmapped: store.unmapped_fields(Some(&key)).await?,
        range: range.code(),
        since: format_rfc3339(since),
        until: format_rfc3339(now),
        device,
    }))
}

/// `GET /admin/api/v1/devices/{dev_eui}?range=24h|7d|30d`.
pub(super) async fn device_json(
    _: AdminToken,
    State(state): State<AppState>,
    Path(eui): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let range = Range::parse(query.range.as_deref());
    Ok(match view(&state, &eui, range).await? {
        Some(v) => no_store(Json(v).into_response()),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

/// `GET /admin/devices/{dev_eui}?range=24h|7d|30d`.
pub(super) async fn device_page(
    session: AdminSession,
    State(state): State<AppState>,
    Path(eui): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let range = Range::parse(query.range.as_deref());
    let Some(v) = view(&state, &eui, range).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let title = format!("{} – {}", v.device.name, v.device.dev_eui);
    let notice = query.replayed.as_deref().map(|r| {
        let (done, left) = r.split_once('-').unwrap_or((r, "0"));
        match lang {
            Lang::De => format!("Erneut verarbeitet: {done}; weiterhin nicht verwendbar: {left}."),
            Lang::En => format!("Replayed: {done}; still failing: {left}."),
        }
    });
    let main = html! {
        @if let Some(text) = &notice { p.notice role="status" { (text) } }
        (render(lang, &v, range, session.csrf(), state.replay.is_some()))
    };
    let page = layout::admin_with(
        lang,
        &title,
        main,
        &["vendor/uplot/uPlot.iife.min.js", "chart.js"],
    )
    .into_string();
    let mut response = no_store(Html(page).into_response());
    remember_lang(&query, &mut response);
    Ok(response)
}

/// Longest silence drawn as a line in the hourly charts.
const GAP_S: i64 = 4 * 3600;

/// A count as a point of a chart.
pub(super) fn count(n: u64) -> Option<Stat> {
    let x = n as f64;
    Some(Stat {
        mean: x,
        min: x,
        max: x,
    })
}

/// The windows, the chosen one marked.
pub(super) fn range_links(lang: Lang, base: &str, range: Range) -> Markup {
    html! {
        ul.ranges {
            @for r in [Range::Day, Range::Week, Range::Month] {
                li {
                    @let label = match r { Range::Day => lang.t("24 Stunden", "24 hours"), Range::Week => lang.t("7 Tage", "7 days"), Range::Month => lang.t("30 Tage", "30 days") };
                    @if r == range {
                        a href={ (base) "?range=" (r.code()) } aria-current="page" { (label) }
                    } @else {
                        a href={ (base) "?range=" (r.code()) } { (label) }
                    }
                }
            }
        }
    }
}

/// One hourly chart with its data table: what `pick` takes from each hour.
#[allow(clippy::too_many_arguments)]
pub(super) fn series(
    lang: Lang,
    hours: &[Hour],
    since: &str,
    until: &str,
    id: &str,
    (de, en): (&str, &str),
    unit: &str,
    zero: bool,
    pick: &dyn Fn(&Hour) -> Option<Stat>,
) -> Markup {
    let label = lang.t(de, en);
    let caption = format!("{}: {label} ({unit})", lang.t("Datentabelle", "Data table"));
    let points: Vec<(String, Stat)> = hours
        .iter()
        .filter_map(|h| Some((h.time.clone(), pick(h)?)))
        .collect();
    html! {
        section aria-labelledby={ "h-" (id) } {
            h3 id={ "h-" (id) } { (label) }
            (chart(lang, &Chart {
                id,
                label,
                unit,
                since,
                until,
                gap_s: GAP_S,
                zero,
                levels: None,
                described_by: None,
                caption: &caption,
                total: false,
            }, points.iter().map(|(t, s)| ChartPoint { time: t, mean: s.mean, min: s.min, max: s.max })))
        }
    }
}

fn render(lang: Lang, v: &DeviceView, range: Range, csrf: &str, can_replay: bool) -> Markup {
    let d = &v.device;
    let eui = d.dev_eui.to_string();
    let base = format!("/admin/devices/{}", url_part(&eui));
    let gap_s = GAP_S;
    let series = |id: &str,
                  de: &str,
                  en: &str,
                  unit: &str,
                  zero: bool,
                  pick: &dyn Fn(&Hour) -> Option<Stat>| {
        series(
            lang,
            &v.hours,
            &v.since,
            &v.until,
            id,
            (de, en),
            unit,
            zero,
            pick,
        )
    };
    html! {
        p { a href="/admin" { (lang.t("← Alle Geräte", "← All devices")) } }
        h1 { (d.name) }
        dl.details {
            dt { "DevEUI" } dd { code { (eui) } }
            dt { (lang.t("Station", "Station")) } dd {
                (d.station)
                @if d.public {
                    " (" a href={ "/stations/" (url_part(&d.station)) } { (lang.t("öffentlich", "public")) } ")"
                } @else {
                    " (" (lang.t("nicht öffentlich", "not public")) ")"
                }
            }
            dt { (lang.t("Gerätetyp", "Device type")) } dd { (d.device_type.to_string()) }
            @if let Some(addr) = &d.dev_addr { dt { "DevAddr" } dd { code { (addr.to_string()) } } }
            dt { (lang.t("Position", "Position")) } dd {
                @match (d.lat, d.lon) {
                    (Some(lat), Some(lon)) => { (lat) ", " (lon) }
                    _ => { "–" }
                }
            }
            dt { (lang.t("Zuletzt gehört", "Last heard")) } dd {
                @match v.uplinks.first() {
                    Some(u) => { time datetime=(u.time) { (time_text(lang, &u.time)) } }
                    None => { (lang.t("nie", "never")) }
                }
            }
        }
        p { a href={ "/admin?edit=" (url_part(&eui)) } { (lang.t("Bearbeiten, veröffentlichen oder entfernen", "Edit, publish or remove")) } }
        section aria-labelledby="alerts" {
            h2 id="alerts" { (lang.t("Offene Meldungen", "Open alerts")) }
            @if v.alerts.is_empty() {
                p { (lang.t("Keine.", "None.")) }
            } @else {
                ul { @for (kind, since) in &v.alerts { li { (kind) " " (lang.t("seit", "since")) " " (time_text(lang, since)) } } }
            }
        }
        section aria-labelledby="radio" {
            h2 id="radio" { (lang.t("Funk und Zustand", "Radio and health")) }
            (range_links(lang, &base, range))
            (series("chart-rssi", "RSSI des besten Gateways", "RSSI of the best gateway", "dBm", false, &|h| h.rssi))
            (series("chart-snr", "SNR des besten Gateways", "SNR of the best gateway", "dB", false, &|h| h.snr))
            (series("chart-gateways", "Gateways, die es hörten", "Gateways that heard it", "", true, &|h| h.gateways))
            (series("chart-uplinks", "Uplinks je Stunde", "Uplinks per hour", "", true, &|h| count(h.uplinks)))
            (series("chart-lost", "Verlorene Frames je Stunde (Lücken im Frame-Zähler)", "Lost frames per hour (frame counter gaps)", "", true, &|h| count(h.lost)))
            @if let Some(battery) = &v.battery {
                (super::battery::section(lang, battery, &v.since, &v.until, gap_s))
            }
        }
        section aria-labelledby="last" {
            h2 id="last" { (lang.t("Letzte Uplinks", "Last uplinks")) }
            @if v.uplinks.is_empty() {
                p { (lang.t("Noch keine.", "None yet.")) }
            } @else {
                div.scroll { table id="last-uplinks" {
                    caption { (lang.t("Die letzten 50 Uplinks, neueste zuerst", "The last 50 uplinks, newest first")) }
                    thead { tr {
                        th scope="col" { (lang.t("Zeit (Quelle)", "Time (source)")) }
                        th scope="col" { (lang.t("Frame-Zähler", "Frame counter")) }
                        th scope="col" { "Port" }
                        th scope="col" { "RSSI" }
                        th scope="col" { "SNR" }
                        th scope="col" { "Gateways" }
                        th scope="col" { (lang.t("Gespeicherte Werte", "Readings stored")) }
                    } }
                    tbody {
                        @for u in &v.uplinks {
                            tr {
                                td { time datetime=(u.time) { (time_text(lang, &u.time)) } " (" (u.uplink.time_source.name()) ")" }
                                td { (u.uplink.f_cnt.map_or("–".into(), |c| c.to_string())) }
                                td { (u.uplink.f_port.map_or("–".into(), |p| p.to_string())) }
                                td { (u.uplink.rssi.map_or("–".into(), |x| format!("{x:.0} dBm"))) }
                                td { (u.uplink.snr.map_or("–".into(), |x| format!("{x:.1} dB"))) }
                                td {
                                    (u.uplink.gateway_count)
                                    @for g in &u.uplink.gateways {
                                        br;
                                        a href={ "/admin/gateways#gw-" (url_part(&g.gateway_id)) } { (g.gateway_id) }
                                        " " (g.rssi.map_or("–".into(), |x| format!("{x:.0} dBm")))
                                        " / " (g.snr.map_or("–".into(), |x| format!("{x:.1} dB")))
                                    }
                                }
                                td {
                                    @for (i, (q, value, unit)) in u.readings.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (q) " " (number(lang, *value)) " " (unit)
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="letters" {
            h2 id="letters" { (lang.t("Unzustellbare Nachrichten", "Dead letters")) }
            @if v.dead_letters.is_empty() {
                p { (lang.t("Keine.", "None.")) }
            } @else {
                div.scroll { table id="dead-letters" {
                    caption { (lang.t("Nachrichten dieses Geräts, die nicht verwendet werden konnten", "Messages of this device that could not be used")) }
                    thead { tr {
                        th scope="col" { (lang.t("Zeit", "Time")) }
                        th scope="col" { (lang.t("Grund", "Reason")) }
                        th scope="col" { (lang.t("Einzelheiten", "Detail")) }
                    } }
                    tbody {
                        @for l in &v.dead_letters {
                            tr {
                                td { time datetime=(l.time) { (time_text(lang, &l.time)) } }
                                td { code { (l.reason) } }
                                td { (l.detail) }
                            }
                        }
                    }
                } }
                @if can_replay {
                    form method="post" action={ "/admin/devices/" (url_part(&eui)) "/replay" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { (lang.t("Erneut verarbeiten", "Replay")) }
                        " " (lang.t(
                            "(zum Beispiel nachdem das Gerät registriert oder sein Codec korrigiert wurde)",
                            "(for example after the device was registered or its codec fixed)"
                        ))
                    }
                }
            }
        }
        section aria-labelledby="unmapped" {
            h2 id="unmapped" { (lang.t("Nicht zugeordnete Felder", "Unmapped fields")) }
            @if v.unmapped.is_empty() {
                p { (lang.t("Keine.", "None.")) }
            } @else {
                ul { @for f in &v.unmapped { li { code { (f.field) } " (" (f.why) ")" } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(time_ms: i64, f_cnt: u32, rssi: f64, gateways: u32) -> Uplink {
        Uplink {
            dev_eui: "0101010101010101".into(),
            time_ms,
            time_source: sensorhub_store::TimeSource::Network,
            f_cnt: Some(f_cnt),
            f_port: Some(1),
            dedup_id: None,
            rssi: Some(rssi),
            snr: Some(7.0),
            gateway_count: gateways,
            gateways: Vec::new(),
        }
    }

    #[test]
    fn hours_count_uplinks_lost_frames_and_the_signal() {
        let h = 3_600_000;
        // Hour 0: counters 1, 2, 5 (3 and 4 lost), a repeat of 5; hour 2: one uplink.
        let list = [
            up(0, 1, -80.0, 1),
            up(60_000, 2, -90.0, 2),
            up(120_000, 5, -100.0, 3),
            up(130_000, 5, -100.0, 3),
            up(2 * h + 5, 9, -70.0, 1),
        ];
        let hours = hours(&list);
        assert_eq!(hours.len(), 2);
        assert_eq!((hours[0].uplinks, hours[0].lost), (4, 2));
        let rssi = hours[0].rssi.unwrap();
        assert_eq!((rssi.mean, rssi.min, rssi.max), (-92.5, -100.0, -80.0));
        assert_eq!(hours[0].gateways.unwrap().max, 3.0);
        assert_eq!(
            (hours[1].time.as_str(), hours[1].lost),
            ("1970-01-01T02:00:00.000Z", 0)
        );
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ReplayForm {
    csrf: String,
}

/// `POST /admin/devices/{dev_eui}/replay`: the device's dead letters through ingestion again;
/// back to its page with what happened.
pub(super) async fn replay(
    session: AdminSession,
    State(state): State<AppState>,
    Path(eui): Path<String>,
    axum::extract::Form(form): axum::extract::Form<ReplayForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    let Some(replayer) = state.replay.clone() else {
        return Err(AppError::BadRequest(
            "replay needs the gateway in this process (sensorhub run)\n",
        ));
    };
    let store = state.store.state();
    let Ok(parsed) = eui.trim().parse::<sensorhub_core::DevEui>() else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let Some(device) = store.device(&parsed.to_string()).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let key = device.dev_eui.to_string();
    let addr = device.dev_addr.as_ref().map(|a| a.to_string());
    let ids: Vec<i64> = store
        .dead_letters_of(&key, addr.as_deref(), usize::MAX >> 1)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let (done, left) = replayer
        .replay(ids)
        .await
        .map_err(|_| AppError::BadRequest("the replay failed; see the log\n"))?;
    tracing::info!(user = %session.user, dev_eui = %key, replayed = done, still_failing = left, "dead letters replayed from the device page");
    let location = format!("/admin/devices/{}?replayed={done}-{left}", url_part(&key));
    Ok(no_store(
        (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, location)],
        )
            .into_response(),
    ))
}
