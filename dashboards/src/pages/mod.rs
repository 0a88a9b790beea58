//! Resident pages: server-rendered HTML that works without JavaScript; scripts add the map,
//! the charts and live values. German is the default; `?lang=en` (remembered in a cookie) or
//! the browser's Accept-Language switches to English.
//!
//! Pages: `/` (map and list of stations with current values), `/stations/{id}` (current values,
//! history charts each with its data table and a text summary, CSV download), `/daten` or
//! `/data` (data, licence, every published dataset with its files, portal), the DCAT-AP.de
//! catalog `/catalog.ttl|.rdf|.jsonld` and the datasets' files `/opendata/{dataset}/{file}`, `/barrierefreiheit` or `/accessibility` (accessibility
//! statement), and for iframes `/embed/stations/{id}` and `/embed/map`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use crate::error::AppError;
use crate::html::i18n::{choose_lang, number, time_text, url_part, Lang, PageQuery};
use crate::html::layout::{self, live_controls, page, Frame};
use crate::public::{self, History, PublicStation, Range};
use crate::AppState;

mod station;
use station::{station_csv, station_page};

mod info;
use info::{accessibility_page, data_page};

mod overview;
use overview::overview;

mod open_data;

mod embed;
use embed::{embed_map, embed_station};

pub fn routes(state: AppState) -> Router<AppState> {
    // The resident pages, kept between commits (`crate::cache`).
    let pages = Router::new()
        .route("/", get(overview))
        .route("/stations/{id}", get(station_page))
        .route("/daten", get(data_page))
        .route("/data", get(data_page))
        .route("/barrierefreiheit", get(accessibility_page))
        .route("/accessibility", get(accessibility_page))
        .route("/embed/stations/{id}", get(embed_station))
        .route("/embed/map", get(embed_map))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::cache::cached,
        ));
    Router::new()
        .merge(pages)
        .route("/stations/{id}/data.csv", get(station_csv))
        .route("/catalog.ttl", get(open_data::catalog_ttl))
        .route("/catalog.rdf", get(open_data::catalog_rdf))
        .route("/catalog.jsonld", get(open_data::catalog_jsonld))
        .route("/opendata/{dataset}/{file}", get(open_data::file))
        .route("/assets/{*file}", get(asset))
}

/// Files served from the binary: ours and the vendored Leaflet and uPlot.
const ASSETS: [(&str, &str, &[u8]); 11] = [
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/favicon.svg"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/style.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/live.js"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/map.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/chart.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/admin.css"),
    ),
    (
        "admin-map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/admin-map.js"),
    ),
    (
        "vendor/leaflet/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/leaflet/leaflet.js"),
    ),
    (
        "vendor/leaflet/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vendor/leaflet/leaflet.css"),
    ),
    (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "vendor/uplot/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vendor/uplot/uPlot.min.css"),
    ),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, bytes)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The element `map.js` draws the map into (tiles from `http.tile_url` where set), with the
/// text shown without JavaScript.
fn map_region(state: &AppState, label: &str, fallback: &str) -> Markup {
    html! {
        div id="map" class="map" data-tile-url=(state.http.tile_url.as_deref().unwrap_or(""))
            data-tile-attribution=(state.http.tile_attribution) role="region" aria-label=(label) {
            p.map-fallback { (fallback) }
        }
    }
}

/// Said wherever levels are shown: they are a guide, not a warning.
fn levels_note(lang: Lang) -> Markup {
    html! {
        p.note {
            (lang.t(
                "Die Stufen sind eine Orientierung. Verbindliche Warnungen (etwa vor Sturmfluten) \
                 geben nur die zuständigen Behörden heraus.",
                "The levels are a guide. Official warnings (of storm surges, for example) come \
                 from the authorities only."
            ))
        }
    }
}

/// How a value is shown: a gauge's water level in centimetres above its datum, as gauges
/// report it; everything else in its quantity's unit. (factor, unit text)
fn shown(lang: Lang, station: &PublicStation, quantity: &str, unit: &str) -> (f64, String) {
    match (&station.datum, quantity) {
        (Some(datum), "water_level") => (100.0, format!("cm {} {datum}", lang.t("über", "above"))),
        _ => (1.0, unit.to_owned()),
    }
}

/// The level a value reaches, in words: the highest level it is above, or "unauffällig"
/// below the first of the station's levels; nothing for a quantity without levels.
fn level_badge(
    lang: Lang,
    station: &PublicStation,
    v: &sensorhub_policy::view::PublicValue,
) -> Markup {
    html! {
        @if let Some(level) = &v.level {
            " " strong class={ "level level-" (level.rank.min(3)) } { (lang.t(&level.label_de, &level.label_en)) }
        } @else if station.levels.iter().any(|l| l.quantity == v.quantity) {
            " " strong class="level level-0" { (lang.t("unauffällig", "normal")) }
        }
    }
}

/// Rows of current values; the live script updates them in place.
fn value_rows(lang: Lang, station: &PublicStation, link: bool) -> Markup {
    let name = station.name_in(lang == Lang::En);
    html! {
        @for v in &station.latest {
            @let (factor, unit) = shown(lang, station, &v.quantity, &v.unit);
            // Outdated values say so in words, not by colour alone (WCAG 1.4.1).
            tr data-station=(station.id) data-quantity=(v.quantity) data-scale=[(factor != 1.0).then_some(factor)]
                class=[v.stale.then_some("stale")] {
                @if link {
                    td { a href={ "/stations/" (url_part(&station.id)) } { (name) } }
                }
                th scope="row" { (lang.t(&v.label_de, &v.label_en)) }
                // Gauges report whole centimetres.
                td.value {
                    span.number { (number(lang, if factor == 1.0 { v.value } else { (v.value * factor).round() })) } " " (unit)
                    (level_badge(lang, station, v))
                }
                td {
                    time datetime=(v.time) { (time_text(lang, &v.time)) }
                    @if v.stale {
                        " " strong.stale-note { (lang.t("(veraltet)", "(outdated)")) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
