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
    let (title, url) = match state.http.licence.as_str() {
        "dl-zero-de/2.0" => (
            "Datenlizenz Deutschland – Zero – Version 2.0",
            "https://www.govdata.de/dl-de/zero-2-0",
        ),
        "cc-by/4.0" => (
            "Creative Commons Namensnennung 4.0 International (CC BY 4.0)",
            "https://creativecommons.org/licenses/by/4.0/",
        ),
        "cc-zero" => (
            "CC0 1.0",
            "https://creativecommons.org/publicdomain/zero/1.0/",
        ),
        _ => (
            "Datenlizenz Deutschland – Namensnennung – Version 2.0",
            "https://www.govdata.de/dl-de/by-2-0",
        ),
    };
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

async fn overview(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let stations = match public::stations(&state).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    page(&query, render_overview(&state, lang, &stations))
}

fn render_overview(state: &AppState, lang: Lang, stations: &[PublicStation]) -> String {
    let stale_after = escape(&state.http.stale_after);
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        lang.t("Messwerte", "Measurements"),
        match lang {
            Lang::De => format!(
                "Aktuelle Werte der öffentlichen Messstationen. Die Werte werden laufend \
                 aktualisiert; ein Wert, der älter als {stale_after} ist, ist als veraltet markiert."
            ),
            Lang::En => format!(
                "Current values of the public measuring stations. Values update continuously; \
                 a value older than {stale_after} is marked as outdated."
            ),
        }
    );
    let _ = write!(
        body,
        "<section aria-labelledby=\"map-title\"><h2 id=\"map-title\">{map}</h2>\
         <div id=\"map\" class=\"map\" data-tile-url=\"{tiles}\" data-tile-attribution=\"{tile_attr}\" \
         role=\"region\" aria-label=\"{map_label}\"><p class=\"map-fallback\">{fallback}</p></div></section>",
        map = lang.t("Karte", "Map"),
        tiles = escape(state.http.tile_url.as_deref().unwrap_or("")),
        tile_attr = escape(&state.http.tile_attribution),
        map_label = lang.t(
            "Karte der Messstationen; die Tabelle unten enthält dieselben Stationen",
            "Map of the stations; the table below lists the same stations"
        ),
        fallback = lang.t(
            "Die Karte braucht JavaScript. Alle Stationen stehen in der Liste unten.",
            "The map needs JavaScript. Every station is in the list below."
        ),
    );
    let _ = write!(
        body,
        "<section aria-labelledby=\"list-title\"><h2 id=\"list-title\">{}</h2>",
        lang.t(
            "Stationen und aktuelle Werte",
            "Stations and current values"
        )
    );
    body.push_str(&live_controls(lang));
    if stations.iter().all(|s| s.latest.is_empty()) {
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.t(
                "Noch keine öffentlichen Messstationen mit Werten.",
                "No public stations with values yet."
            )
        );
    } else {
        let _ =
            write!(
            body,
            "<div class=\"scroll\"><table id=\"stations\"><caption>{caption}</caption><thead><tr>\
             <th scope=\"col\">{station}</th><th scope=\"col\">{quantity}</th>\
             <th scope=\"col\">{value}</th><th scope=\"col\">{updated}</th></tr></thead><tbody>",
            caption = lang.t("Aktuelle Werte aller Stationen", "Current values of all stations"),
            station = lang.t("Station", "Station"),
            quantity = lang.t("Messgröße", "Quantity"),
            value = lang.t("Wert", "Value"),
            updated = lang.t("Zuletzt aktualisiert", "Last updated"),
        );
        for station in stations.iter().filter(|s| !s.latest.is_empty()) {
            value_rows(lang, station, true, &mut body);
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>");
    let head = "<link rel=\"stylesheet\" href=\"/assets/vendor/leaflet/leaflet.css\">";
    layout(
        state,
        lang,
        lang.t("Messwerte", "Measurements"),
        "/",
        &body,
        head,
        &["vendor/leaflet/leaflet.js", "map.js", "live.js"],
    )
}

async fn station_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let station = match public::station(&state, &id).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found_page(&state, lang),
        Err(e) => return unavailable(e),
    };
    let range = Range::parse(query.range.as_deref());
    let now = sensorhub_store::time::now_ms();
    let mut histories = Vec::new();
    for v in &station.latest {
        match public::history(
            &state,
            &station.id,
            &v.quantity,
            range.resolution(),
            now - range.span_ms(),
            now,
        )
        .await
        {
            Ok(Some(h)) => histories.push(h),
            Ok(None) => {}
            Err(e) => return unavailable(e),
        }
    }
    page(
        &query,
        render_station(&state, lang, &station, range, &histories),
    )
}

fn not_found_page(state: &AppState, lang: Lang) -> Response {
    let body = format!(
        "<h1>{}</h1><p><a href=\"/\">{}</a></p>",
        lang.t("Station nicht gefunden", "Station not found"),
        lang.t("Zur Übersicht", "To the overview")
    );
    (
        StatusCode::NOT_FOUND,
        Html(layout(
            state,
            lang,
            lang.t("Nicht gefunden", "Not found"),
            "",
            &body,
            "",
            &[],
        )),
    )
        .into_response()
}

fn range_label(lang: Lang, range: Range) -> &'static str {
    match range {
        Range::Day => lang.t("letzte 24 Stunden", "last 24 hours"),
        Range::Week => lang.t("letzte 7 Tage", "last 7 days"),
        Range::Month => lang.t("letzte 30 Tage", "last 30 days"),
    }
}

/// One sentence a screen reader user gets instead of the chart.
/// The longest a series may go without a value before the chart breaks its line and the
/// summary names the gap: four intervals of the range's resolution, and never less than
/// `http.stale_after` (a sensor that reports hourly leaves most 15-minute intervals empty).
fn gap_ms(range: Range, stale_ms: i64) -> i64 {
    let step = match range {
        Range::Day => 900_000,
        Range::Week => 3_600_000,
        Range::Month => 86_400_000,
    };
    (4 * step).max(stale_ms)
}

/// Stretches without values longer than `gap_ms`: the last time before and the first after.
fn gaps(h: &History, gap_ms: i64) -> Vec<(String, String)> {
    let times: Vec<(i64, &str)> = h
        .points
        .iter()
        .filter_map(|p| {
            Some((
                sensorhub_store::time::parse_rfc3339(&p.time)?,
                p.time.as_str(),
            ))
        })
        .collect();
    let mut found: Vec<(i64, String, String)> = times
        .windows(2)
        .filter(|w| w[1].0 - w[0].0 > gap_ms)
        .map(|w| (w[1].0 - w[0].0, w[0].1.to_owned(), w[1].1.to_owned()))
        .collect();
    // Longest first.
    found.sort_by_key(|g| std::cmp::Reverse(g.0));
    found.into_iter().map(|(_, a, b)| (a, b)).collect()
}

fn summary(lang: Lang, h: &History, range: Range, gap_ms: i64) -> String {
    let label = lang.t(&h.label_de, &h.label_en);
    if h.points.is_empty() {
        return format!(
            "{label}: {} ({}).",
            lang.t("keine Werte", "no values"),
            range_label(lang, range)
        );
    }
    let min = h.points.iter().map(|p| p.min).fold(f64::INFINITY, f64::min);
    let max = h
        .points
        .iter()
        .map(|p| p.max)
        .fold(f64::NEG_INFINITY, f64::max);
    let count: u64 = h.points.iter().map(|p| p.count).sum();
    let mean = h
        .points
        .iter()
        .map(|p| p.mean * p.count as f64)
        .sum::<f64>()
        / count.max(1) as f64;
    let first = h.points.first().map(|p| p.mean).unwrap_or(0.0);
    let last = h.points.last().map(|p| p.mean).unwrap_or(0.0);
    let trend = if (last - first).abs() < (max - min) * 0.1 {
        lang.t("etwa gleich geblieben", "about the same")
    } else if last > first {
        lang.t("gestiegen", "risen")
    } else {
        lang.t("gefallen", "fallen")
    };
    let unit = &h.unit;
    let gaps = gaps(h, gap_ms);
    let gap_text = match (gaps.first(), gaps.len(), lang) {
        (None, _, _) => String::new(),
        (Some((a, b)), 1, Lang::De) => format!(
            " Keine Werte zwischen {} und {}.",
            time_text(lang, a),
            time_text(lang, b)
        ),
        (Some((a, b)), 1, Lang::En) => format!(
            " No values between {} and {}.",
            time_text(lang, a),
            time_text(lang, b)
        ),
        (Some((a, b)), n, Lang::De) => format!(
            " {n} Lücken ohne Werte, die längste zwischen {} und {}.",
            time_text(lang, a),
            time_text(lang, b)
        ),
        (Some((a, b)), n, Lang::En) => format!(
            " {n} gaps without values, the longest between {} and {}.",
            time_text(lang, a),
            time_text(lang, b)
        ),
    };
    format!(
        "{label}, {range}: {} {} {unit}, {} {} {unit}, {} {} {unit}; {} {trend}.{gap_text}",
        lang.t("niedrigster Wert", "lowest"),
        number(lang, min),
        lang.t("höchster", "highest"),
        number(lang, max),
        lang.t("Mittel", "mean"),
        number(lang, mean),
        lang.t("über den Zeitraum", "over the period"),
        range = range_label(lang, range),
    )
}

fn render_station(
    state: &AppState,
    lang: Lang,
    station: &PublicStation,
    range: Range,
    histories: &[History],
) -> String {
    let id = escape(&station.id);
    let path = format!("/stations/{}", url_part(&station.id));
    let mut body = format!("<h1>{} {id}</h1>", lang.t("Station", "Station"));
    if let (Some(lat), Some(lon)) = (station.lat, station.lon) {
        let _ = write!(
            body,
            "<p class=\"position\">{}: {lat}, {lon}</p>",
            lang.t("Lage (gerundet)", "Position (rounded)")
        );
    }
    let _ = write!(
        body,
        "<section aria-labelledby=\"now-title\"><h2 id=\"now-title\">{}</h2>",
        lang.t("Aktuelle Werte", "Current values")
    );
    body.push_str(&live_controls(lang));
    let _ = write!(
        body,
        "<div class=\"scroll\"><table id=\"current\"><caption>{caption} {id}</caption><thead><tr>\
         <th scope=\"col\">{quantity}</th><th scope=\"col\">{value}</th><th scope=\"col\">{updated}</th>\
         </tr></thead><tbody>",
        caption = lang.t("Aktuelle Werte der Station", "Current values of station"),
        quantity = lang.t("Messgröße", "Quantity"),
        value = lang.t("Wert", "Value"),
        updated = lang.t("Zuletzt aktualisiert", "Last updated"),
    );
    value_rows(lang, station, false, &mut body);
    body.push_str("</tbody></table></div></section>");

    let _ = write!(
        body,
        "<section aria-labelledby=\"history-title\"><h2 id=\"history-title\">{}</h2>\
         <nav aria-label=\"{}\"><ul class=\"ranges\">",
        lang.t("Verlauf", "History"),
        lang.t("Zeitraum", "Period"),
    );
    for r in [Range::Day, Range::Week, Range::Month] {
        let current = if r == range {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<li><a href=\"{path}?range={}\"{current}>{}</a></li>",
            r.code(),
            range_label(lang, r)
        );
    }
    body.push_str("</ul></nav>");
    let stale_ms = crate::parse_duration_ms(&state.http.stale_after).unwrap_or(10_800_000);
    let gap = gap_ms(range, stale_ms);
    for h in histories {
        let q = escape(&h.quantity);
        let label = escape(lang.t(&h.label_de, &h.label_en));
        let unit = escape(&h.unit);
        let _ = write!(
            body,
            "<section class=\"history\" aria-labelledby=\"h-{q}\"><h3 id=\"h-{q}\">{label}</h3>\
             <p class=\"summary\" id=\"summary-{q}\">{summary}</p>\
             <figure class=\"chart\" data-table=\"table-{q}\" data-label=\"{label}\" data-unit=\"{unit}\" data-gap=\"{gap_s}\" \
             aria-describedby=\"summary-{q}\"><div class=\"chart-canvas\" aria-hidden=\"true\"></div>\
             <figcaption>{figcaption}</figcaption></figure>\
             <details><summary>{show_table}</summary><div class=\"scroll\">\
             <table id=\"table-{q}\" class=\"data-table\"><caption>{table_caption}: {label}, {range} ({unit})</caption>\
             <thead><tr><th scope=\"col\">{time}</th><th scope=\"col\">{mean}</th>\
             <th scope=\"col\">{min}</th><th scope=\"col\">{max}</th></tr></thead><tbody>",
            summary = escape(&summary(lang, h, range, gap)),
            figcaption = lang.t(
                "Diagramm; dieselben Werte stehen in der Datentabelle.",
                "Chart; the same values are in the data table."
            ),
            show_table = lang.t("Datentabelle anzeigen", "Show data table"),
            gap_s = gap / 1000,
            table_caption = lang.t("Datentabelle", "Data table"),
            range = range_label(lang, range),
            time = lang.t("Zeit (Beginn)", "Time (start)"),
            mean = lang.t("Mittel", "Mean"),
            min = lang.t("Minimum", "Minimum"),
            max = lang.t("Maximum", "Maximum"),
        );
        for p in &h.points {
            let _ = write!(
                body,
                "<tr data-t=\"{t}\" data-v=\"{v}\"><th scope=\"row\"><time datetime=\"{t}\">{tt}</time></th>\
                 <td>{mean}</td><td>{min}</td><td>{max}</td></tr>",
                t = escape(&p.time),
                v = p.mean,
                tt = escape(&time_text(lang, &p.time)),
                mean = number(lang, p.mean),
                min = number(lang, p.min),
                max = number(lang, p.max),
            );
        }
        let _ = write!(
            body,
            "</tbody></table></div></details>\
             <p><a href=\"{path}/data.csv?quantity={qq}&amp;range={r}\" download>{csv}</a></p></section>",
            qq = url_part(&h.quantity),
            r = range.code(),
            csv = lang.t("Als CSV herunterladen", "Download as CSV"),
        );
    }
    body.push_str("</section>");
    let head = "<link rel=\"stylesheet\" href=\"/assets/vendor/uplot/uPlot.min.css\">";
    layout(
        state,
        lang,
        &format!("{} {}", lang.t("Station", "Station"), station.id),
        &path,
        &body,
        head,
        &["vendor/uplot/uPlot.iife.min.js", "chart.js", "live.js"],
    )
}

/// `GET /stations/{id}/data.csv?quantity=Q&range=24h`: the history shown, as CSV.
async fn station_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(quantity) = query.quantity.as_deref() else {
        return (StatusCode::BAD_REQUEST, "quantity=... is needed\n").into_response();
    };
    let range = Range::parse(query.range.as_deref());
    let now = sensorhub_store::time::now_ms();
    let history = match public::history(
        &state,
        &id,
        quantity,
        range.resolution(),
        now - range.span_ms(),
        now,
    )
    .await
    {
        Ok(Some(h)) => h,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return unavailable(e),
    };
    let mut csv = String::from("time,station,quantity,unit,mean,min,max,count\n");
    let text = sensorhub_policy::csv_text;
    let (station, quantity, unit) = (
        text(&history.station),
        text(&history.quantity),
        text(&history.unit),
    );
    for p in &history.points {
        let _ = writeln!(
            csv,
            "{},{station},{quantity},{unit},{},{},{},{}",
            p.time, p.mean, p.min, p.max, p.count
        );
    }
    let file = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        url_part(&history.station),
        url_part(&history.quantity),
        range.code()
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        csv,
    )
        .into_response()
}

async fn data_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let mut body = format!(
        "<h1>{}</h1><p>{}</p><p>{}.</p>",
        lang.t("Daten und Lizenz", "Data and licence"),
        lang.t(
            "Alle Werte dieser Seite sind offene Daten. Gezeigt werden nur öffentliche Stationen; \
             Gerätekennungen und Funkdaten werden nicht veröffentlicht, die Lage der Stationen nur \
             gerundet.",
            "Every value on this site is open data. Only public stations are shown; device \
             identifiers and radio data are never published, station positions only rounded."
        ),
        licence_text(&state, lang)
    );
    if let Some(portal) = &state.http.portal_url {
        let _ = write!(
            body,
            "<p><a href=\"{}\">{}</a></p>",
            escape(portal),
            lang.t(
                "Der Datensatz im Open-Data-Portal (CSV, GeoJSON, Beschreibung)",
                "The dataset on the open-data portal (CSV, GeoJSON, description)"
            )
        );
    }
    let _ = write!(
        body,
        "<h2>{}</h2><ul><li><a href=\"/api/v1/openapi.json\">OpenAPI</a></li>\
         <li><a href=\"/api/v1/stations\">/api/v1/stations</a></li>\
         <li><a href=\"/api/v1/latest\">/api/v1/latest</a></li>\
         <li>/api/v1/stations/{{id}}/history?quantity=…&amp;resolution=1h</li>\
         <li>/api/v1/stream ({})</li></ul>",
        lang.t("Schnittstelle", "API"),
        lang.t(
            "Live-Werte als Server-Sent Events",
            "live values as Server-Sent Events"
        ),
    );
    let path = lang.t("/daten", "/data");
    page(
        &query,
        layout(
            &state,
            lang,
            lang.t("Daten und Lizenz", "Data and licence"),
            path,
            &body,
            "",
            &[],
        ),
    )
}

async fn accessibility_page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let contact = if state.http.accessibility_contact.is_empty() {
        lang.t(
            "die Stelle, die diese Seite betreibt (siehe Impressum)",
            "the office that runs this site (see the imprint)",
        )
        .to_owned()
    } else {
        escape(&state.http.accessibility_contact)
    };
    let body = match lang {
        Lang::De => format!(
            "<h1>Erklärung zur Barrierefreiheit</h1>\
             <p>Diese Seiten sollen barrierefrei zugänglich sein, nach der \
             Barrierefreie-Informationstechnik-Verordnung (BITV 2.0) und den Web Content \
             Accessibility Guidelines (WCAG) 2.1, Stufe AA.</p>\
             <h2>Stand der Vereinbarkeit</h2><p>Die Seiten sind weitgehend vereinbar. Jede \
             Seite wird bei jeder Änderung automatisch mit axe-core auf Verstöße gegen WCAG 2.1 \
             A und AA geprüft. Alle Inhalte funktionieren ohne JavaScript; jedes Diagramm hat \
             eine gleichwertige Datentabelle und eine Zusammenfassung in Worten; die Karte hat \
             eine Liste derselben Stationen; Live-Aktualisierungen lassen sich anhalten. Die \
             Stationen auf der Karte erreichen Sie mit der Tabulatortaste; die Eingabetaste \
             zeigt ihre Werte, Escape schließt sie wieder.</p>\
             <h2>Nicht barrierefreie Inhalte</h2><p>Verschieben und Zoomen der Karte ist mit \
             der Tastatur nur eingeschränkt möglich (Pfeiltasten, Plus und Minus, wenn die \
             Karte den Fokus hat); dieselben Informationen stehen in der Tabelle.</p>\
             <h2>Feedback und Kontakt</h2><p>Barrieren melden Sie bitte an {contact}.</p>\
             <h2>Durchsetzungsverfahren</h2><p>Wenn Sie auf Ihre Meldung keine zufriedenstellende \
             Antwort erhalten, können Sie sich an die Schlichtungsstelle nach dem \
             Behindertengleichstellungsrecht Ihres Landes wenden.</p>"
        ),
        Lang::En => format!(
            "<h1>Accessibility statement</h1>\
             <p>These pages aim to be accessible under the German Barrierefreie-\
             Informationstechnik-Verordnung (BITV 2.0) and the Web Content Accessibility \
             Guidelines (WCAG) 2.1, level AA.</p>\
             <h2>Compliance status</h2><p>The pages are largely compliant. Every page is checked \
             with axe-core for WCAG 2.1 A and AA violations on every change. All content works \
             without JavaScript; every chart has an equivalent data table and a text summary; \
             the map has a list of the same stations; live updates can be paused. The stations on \
             the map can be reached with the Tab key; Enter shows their values, Escape closes \
             them again.</p>\
             <h2>Content that is not accessible</h2><p>Panning and zooming the map by keyboard \
             is limited (arrow keys, plus and minus while the map has the focus); the same \
             information is in the table.</p>\
             <h2>Feedback and contact</h2><p>Please report barriers to {contact}.</p>\
             <h2>Enforcement procedure</h2><p>If your report gets no satisfactory answer, you can \
             turn to the arbitration board under your Land's disability equality law.</p>"
        ),
    };
    let path = lang.t("/barrierefreiheit", "/accessibility");
    page(
        &query,
        layout(
            &state,
            lang,
            lang.t("Barrierefreiheit", "Accessibility"),
            path,
            &body,
            "",
            &[],
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn language_follows_query_then_cookie_then_accept_language_then_german() {
        let none = PageQuery::default();
        let accept = |v| headers(header::ACCEPT_LANGUAGE, v);
        assert_eq!(
            choose_lang(&none, &accept("en-GB,en;q=0.9,de;q=0.8")),
            Lang::En
        );
        assert_eq!(
            choose_lang(&none, &accept("fr-FR,de;q=0.5,en;q=0.3")),
            Lang::De
        );
        assert_eq!(choose_lang(&none, &accept("fr")), Lang::De);
        assert_eq!(
            choose_lang(&none, &headers(header::COOKIE, "a=b; lang=en")),
            Lang::En
        );
        let en = PageQuery {
            lang: Some("en".into()),
            ..PageQuery::default()
        };
        assert_eq!(choose_lang(&en, &accept("de")), Lang::En);
    }

    fn history(times_h: &[i64]) -> History {
        let t0 = 1_700_000_000_000;
        History {
            station: "pegel-wyk".into(),
            quantity: "water_level".into(),
            label_de: "Wasserstand".into(),
            label_en: "Water level".into(),
            unit: "m".into(),
            resolution: sensorhub_store::Resolution::QuarterHour,
            since: String::new(),
            until: String::new(),
            points: times_h
                .iter()
                .map(|h| crate::public::Point {
                    time: sensorhub_store::time::format_rfc3339(t0 + h * 3_600_000),
                    mean: 2.0,
                    min: 1.5,
                    max: 2.5,
                    count: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn summaries_name_the_gaps_the_chart_breaks_at() {
        let gap = gap_ms(Range::Day, 3 * 3_600_000);
        assert_eq!(
            gap,
            3 * 3_600_000,
            "stale_after outweighs four quarter hours"
        );
        assert_eq!(gap_ms(Range::Month, 3 * 3_600_000), 4 * 86_400_000);
        // Hourly values: no gap.
        let steady = history(&[0, 1, 2, 3, 4, 5]);
        assert!(!summary(Lang::De, &steady, Range::Day, gap).contains("Keine Werte"));
        // Silent from hour 1 to hour 9, and (shorter) from 10 to 14.
        let broken = history(&[0, 1, 9, 10, 14]);
        assert_eq!(gaps(&broken, gap).len(), 2);
        let de = summary(Lang::De, &broken, Range::Day, gap);
        assert!(
            de.ends_with(" 2 Lücken ohne Werte, die längste zwischen 14.11.2023 23:13 UTC und 15.11.2023 07:13 UTC."),
            "{de}"
        );
        let one = history(&[0, 1, 9]);
        let en = summary(Lang::En, &one, Range::Day, gap);
        assert!(en.contains(" No values between "), "{en}");
    }

    #[test]
    fn numbers_times_and_text_are_localised_and_escaped() {
        assert_eq!(number(Lang::De, 27.2), "27,2");
        assert_eq!(number(Lang::En, 27.2), "27.2");
        assert_eq!(
            time_text(Lang::De, "2022-07-18T09:34:15.775Z"),
            "18.07.2022 09:34 UTC"
        );
        assert_eq!(escape("<b>\"x\"</b>"), "&lt;b&gt;&quot;x&quot;&lt;/b&gt;");
        assert_eq!(url_part("a b/ä"), "a%20b%2F%C3%A4");
    }
}
