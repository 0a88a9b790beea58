//! Resident pages: server-rendered HTML that works without JavaScript; scripts add the map,
//! the charts and live values. German is the default; `?lang=en` (remembered in a cookie) or
//! the browser's Accept-Language switches to English.
//!
//! Pages: `/` (map and list of stations with current values), `/stations/{id}` (current values,
//! history charts each with its data table and a text summary, CSV download), `/daten` or
//! `/data` (data, licence, portal), `/barrierefreiheit` or `/accessibility` (accessibility
//! statement).

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::public::{self, History, PublicStation, Range};
use crate::AppState;

mod station;
use station::{station_csv, station_page};

mod info;
use info::{accessibility_page, data_page};

mod overview;
use overview::overview;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/stations/{id}", get(station_page))
        .route("/stations/{id}/data.csv", get(station_csv))
        .route("/daten", get(data_page))
        .route("/data", get(data_page))
        .route("/barrierefreiheit", get(accessibility_page))
        .route("/accessibility", get(accessibility_page))
        .route("/assets/{*file}", get(asset))
}

/// Files served from the binary: ours and the vendored Leaflet and uPlot.
const ASSETS: [(&str, &str, &[u8]); 10] = [
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/style.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/live.js"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/map.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/chart.js"),
    ),
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/admin.css"),
    ),
    (
        "vendor/leaflet/leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/leaflet/leaflet.js"),
    ),
    (
        "vendor/leaflet/leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/leaflet/leaflet.css"),
    ),
    (
        "vendor/uplot/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.iife.min.js"),
    ),
    (
        "vendor/uplot/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/uplot/uPlot.min.css"),
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lang {
    De,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The German or English text.
    pub(crate) fn t<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    lang: Option<String>,
    range: Option<String>,
    quantity: Option<String>,
    /// Admin workbench: the DevEUI whose details fill the device form.
    pub(crate) edit: Option<String>,
}

/// The language: `?lang=` first, then the `lang` cookie, then Accept-Language; German else.
pub(crate) fn choose_lang(query: &PageQuery, headers: &HeaderMap) -> Lang {
    match query.lang.as_deref() {
        Some("en") => return Lang::En,
        Some("de") => return Lang::De,
        _ => {}
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="));
    match cookie {
        Some("en") => return Lang::En,
        Some("de") => return Lang::De,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first of de/en the browser lists wins; German when it lists neither.
    for tag in accept.split(',') {
        let primary = tag.split(';').next().unwrap_or("").trim();
        let primary = primary.split('-').next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "de" => return Lang::De,
            "en" => return Lang::En,
            _ => {}
        }
    }
    Lang::De
}

/// An HTML answer; a `?lang=` choice is remembered in a cookie for the next pages.
fn page(query: &PageQuery, html: String) -> Response {
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    remember_lang(query, &mut response);
    response
}

/// Keeps a `?lang=` choice in a cookie for the next pages (the admin pages use it too).
pub(crate) fn remember_lang(query: &PageQuery, response: &mut Response) {
    if let Some(lang @ ("de" | "en")) = query.lang.as_deref() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value.
fn url_part(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Formats a value the way the language writes numbers (decimal comma in German).
fn number(lang: Lang, value: f64) -> String {
    let text = format!("{}", (value * 1000.0).round() / 1000.0);
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// `2022-07-18T09:34:15.775Z` as people read it: `18.07.2022 09:34 UTC` in German,
/// `2022-07-18 09:34 UTC` in English. The scripts show local time instead.
fn time_text(lang: Lang, rfc3339: &str) -> String {
    let (Some(date), Some(clock)) = (rfc3339.get(..10), rfc3339.get(11..16)) else {
        return rfc3339.to_owned();
    };
    match lang {
        Lang::De => {
            let mut parts = date.split('-');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y} {clock} UTC"),
                _ => rfc3339.to_owned(),
            }
        }
        Lang::En => format!("{date} {clock} UTC"),
    }
}

fn licence_text(state: &AppState, lang: Lang) -> String {
    let licence = state.http.licence;
    let (title, url) = (licence.title, licence.url);
    let mut text = format!(
        "{} <a href=\"{url}\" rel=\"license\">{title}</a>",
        lang.t("Daten:", "Data:")
    );
    if !state.http.attribution.is_empty() {
        let _ = write!(
            text,
            ", {} {}",
            lang.t("Namensnennung:", "attribution:"),
            escape(&state.http.attribution)
        );
    }
    text
}

/// The frame of every resident page.
fn layout(
    state: &AppState,
    lang: Lang,
    title: &str,
    path: &str,
    body: &str,
    head_extra: &str,
    scripts: &[&str],
) -> String {
    let other = match lang {
        Lang::De => Lang::En,
        Lang::En => Lang::De,
    };
    let site = escape(&state.http.site_name);
    let nav = [
        ("/", lang.t("Übersicht", "Overview")),
        (
            lang.t("/daten", "/data"),
            lang.t("Daten und Lizenz", "Data and licence"),
        ),
        (
            lang.t("/barrierefreiheit", "/accessibility"),
            lang.t("Barrierefreiheit", "Accessibility"),
        ),
    ];
    let mut links = String::new();
    for (href, label) in nav {
        let current = if href == path {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(links, "<li><a href=\"{href}\"{current}>{label}</a></li>");
    }
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – {site}</title><link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/assets/style.css\">{head_extra}\
         </head><body><a class=\"skip\" href=\"#main\">{skip}</a>\
         <header><p class=\"site\"><a href=\"/\">{site}</a></p>\
         <nav aria-label=\"{main_nav}\"><ul>{links}</ul></nav>\
         <p class=\"lang\"><a href=\"{path}?lang={other_code}\" lang=\"{other_code}\" hreflang=\"{other_code}\" id=\"lang-switch\">{other_label}</a></p>\
         </header><main id=\"main\">{body}</main>\
         <footer><p>{licence}. <a href=\"/api/v1/openapi.json\">{api}</a>",
        code = lang.code(),
        skip = lang.t("Zum Inhalt springen", "Skip to content"),
        main_nav = lang.t("Hauptmenü", "Main menu"),
        other_code = other.code(),
        other_label = lang.t("English", "Deutsch"),
        licence = licence_text(state, lang),
        api = lang.t("Schnittstelle (API)", "API"),
    );
    if let Some(portal) = &state.http.portal_url {
        let _ = write!(
            out,
            " · <a href=\"{}\">{}</a>",
            escape(portal),
            lang.t(
                "Datensatz im Open-Data-Portal",
                "Dataset on the open-data portal"
            )
        );
    }
    out.push_str("</p></footer>");
    for s in scripts {
        let _ = write!(out, "<script src=\"/assets/{s}\" defer></script>");
    }
    out.push_str("</body></html>");
    out
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a page cannot read the store");
    (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
}

fn live_controls(lang: Lang) -> String {
    format!(
        "<p class=\"live\"><button type=\"button\" id=\"live-toggle\" hidden aria-pressed=\"false\" \
         data-pause=\"{pause}\" data-resume=\"{resume}\">{pause}</button> \
         <span id=\"live-status\" role=\"status\" aria-live=\"polite\"></span></p>",
        pause = lang.t("Live-Aktualisierung anhalten", "Pause live updates"),
        resume = lang.t("Live-Aktualisierung fortsetzen", "Resume live updates"),
    )
}

/// Rows of current values; the live script updates them in place.
fn value_rows(lang: Lang, station: &PublicStation, link: bool, out: &mut String) {
    let id = escape(&station.id);
    for v in &station.latest {
        let label = lang.t(&v.label_de, &v.label_en);
        let station_cell = if link {
            format!(
                "<td><a href=\"/stations/{}\">{id}</a></td>",
                url_part(&station.id)
            )
        } else {
            String::new()
        };
        // Outdated values say so in words, not by colour alone (WCAG 1.4.1).
        let (class, stale) = if v.stale {
            (
                " class=\"stale\"",
                format!(
                    " <strong class=\"stale-note\">{}</strong>",
                    lang.t("(veraltet)", "(outdated)")
                ),
            )
        } else {
            ("", String::new())
        };
        let _ = write!(
            out,
            "<tr data-station=\"{id}\" data-quantity=\"{q}\"{class}>{station_cell}<th scope=\"row\">{label}</th>\
             <td class=\"value\"><span class=\"number\">{value}</span> {unit}</td>\
             <td><time datetime=\"{time}\">{time_text}</time>{stale}</td></tr>",
            q = escape(&v.quantity),
            label = escape(label),
            value = number(lang, v.value),
            unit = escape(&v.unit),
            time = escape(&v.time),
            time_text = escape(&time_text(lang, &v.time)),
        );
    }
}

#[cfg(test)]
mod tests;
