//! Gateways as the uplinks they heard show them (`/admin/gateways`, and as JSON
//! `/admin/api/v1/gateways`): every gateway named in ChirpStack's `rxInfo`, The Things Stack's
//! `rx_metadata` or a raw frame's topic, when it was last heard, and over the last 24 hours how
//! many uplinks and devices it heard and the spread of their signal.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use sensorhub_store::GatewaySeen;

use super::auth::{AdminSession, AdminToken};
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, remember_lang, time_text, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

const DAY_MS: i64 = 86_400_000;

async fn seen(state: &AppState) -> Result<Vec<GatewaySeen>, AppError> {
    let since = sensorhub_store::time::now_ms() - DAY_MS;
    Ok(state.store.state().gateways(since).await?)
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

fn render(lang: Lang, list: &[GatewaySeen]) -> Markup {
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
                    th scope="col" { (lang.t("Zuletzt gehört", "Last heard")) }
                    th scope="col" { (lang.t("Uplinks (24 h)", "Uplinks (24 h)")) }
                    th scope="col" { (lang.t("Geräte (24 h)", "Devices (24 h)")) }
                    th scope="col" { (lang.t("RSSI min / Mittel / max", "RSSI min / mean / max")) }
                    th scope="col" { (lang.t("SNR Mittel", "SNR mean")) }
                } }
                tbody {
                    @for g in list {
                        @let last = sensorhub_store::time::format_rfc3339(g.last_seen_ms);
                        tr id={ "gw-" (g.gateway_id) } {
                            th scope="row" { code { (g.gateway_id) } }
                            td { time datetime=(last) { (time_text(lang, &last)) } }
                            td { (g.uplinks) }
                            td { (g.devices) }
                            td { (dbm(g.rssi_min, "dBm")) " / " (dbm(g.rssi_mean, "dBm")) " / " (dbm(g.rssi_max, "dBm")) }
                            td { (g.snr_mean.map_or("–".into(), |v| format!("{v:.1} dB"))) }
                        }
                    }
                }
            } }
        }
    }
}
