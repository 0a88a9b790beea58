//! The technicians' map (`/admin/map`, data `/admin/api/v1/map`): devices and gateways at their
//! exact registry positions, and a line from each device to every gateway that heard it in
//! the last 24 hours, coloured by the mean RSSI. Admin only: exact positions never leave
//! here.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::html;
use serde::Serialize;

use super::auth::AdminSession;
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, remember_lang, PageQuery};
use crate::html::layout;
use crate::AppState;

#[derive(Serialize)]
struct Point {
    id: String,
    name: String,
    lat: f64,
    lon: f64,
}

#[derive(Serialize)]
struct MapData {
    devices: Vec<Point>,
    gateways: Vec<Point>,
    links: Vec<sensorhub_store::Link>,
}

/// `GET /admin/api/v1/map`, for the page's script (with the session, as the page).
pub(super) async fn map_json(
    _session: AdminSession,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let store = state.store.state();
    let devices = store
        .devices()
        .await?
        .into_iter()
        .filter_map(|d| {
            Some(Point {
                id: d.dev_eui.to_string(),
                name: d.name,
                lat: d.lat?,
                lon: d.lon?,
            })
        })
        .collect();
    let gateways = store
        .gateway_infos()
        .await?
        .into_iter()
        .filter_map(|g| {
            Some(Point {
                lat: g.lat?,
                lon: g.lon?,
                id: g.gateway_id,
                name: g.name,
            })
        })
        .collect();
    let since = sensorhub_store::time::now_ms() - 86_400_000;
    let links = store.links(since).await?;
    Ok(no_store(
        Json(MapData {
            devices,
            gateways,
            links,
        })
        .into_response(),
    ))
}

/// `GET /admin/map`.
pub(super) async fn map_page(
    _session: AdminSession,
    State(_state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let title = lang.t(
        "Karte der Geräte und Gateways",
        "Map of devices and gateways",
    );
    let main = html! {
        p { a href="/admin" { (lang.t("← Alle Geräte", "← All devices")) } }
        h1 { (title) }
        p {
            (lang.t(
                "Genaue Positionen aus dem Register. Linien verbinden jedes Gerät mit den Gateways, \
                 die es in den letzten 24 Stunden hörten; ihre Farbe ist das mittlere RSSI.",
                "Exact positions from the registry. Lines join each device to the gateways that \
                 heard it in the last 24 hours; their colour is the mean RSSI."
            ))
        }
        div id="admin-map" class="map" role="region" aria-label=(title) {
            p.map-fallback { (lang.t("Die Karte braucht JavaScript.", "The map needs JavaScript.")) }
        }
        div id="admin-map-legend" class="map-legend" {}
    };
    let page = layout::admin_with(
        lang,
        title,
        main,
        &["vendor/leaflet/leaflet.js", "admin-map.js"],
    );
    let mut response = no_store(Html(page.into_string()).into_response());
    remember_lang(&query, &mut response);
    Ok(response)
}
