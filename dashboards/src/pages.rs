//! Resident pages: server-rendered HTML that works without JavaScript; a small script makes the
//! values live. German is the default language; `?lang=en` or the browser's Accept-Language
//! switches to English.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::public::{self, PublicStation};
use crate::AppState;

const STYLE: &str = include_str!("../assets/style.css");
const LIVE_JS: &str = include_str!("../assets/live.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route(
            "/assets/style.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .route(
            "/assets/live.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    LIVE_JS,
                )
            }),
        )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    De,
    En,
}

/// Texts of the page in both languages.
struct Texts {
    code: &'static str,
    title: &'static str,
    intro: &'static str,
    quantity: &'static str,
    value: &'static str,
    updated: &'static str,
    no_stations: &'static str,
    station: &'static str,
    position: &'static str,
    other_lang_label: &'static str,
    other_lang_code: &'static str,
    live_pause: &'static str,
    live_resume: &'static str,
    api: &'static str,
}

const DE: Texts = Texts {
    code: "de",
    title: "Messwerte",
    intro: "Aktuelle Werte der öffentlichen Messstationen. Die Werte werden laufend aktualisiert.",
    quantity: "Messgröße",
    value: "Wert",
    updated: "Zuletzt aktualisiert",
    no_stations: "Noch keine öffentlichen Messstationen mit Werten.",
    station: "Station",
    position: "Lage (gerundet)",
    other_lang_label: "English",
    other_lang_code: "en",
    live_pause: "Live-Aktualisierung anhalten",
    live_resume: "Live-Aktualisierung fortsetzen",
    api: "Daten als JSON",
};

const EN: Texts = Texts {
    code: "en",
    title: "Measurements",
    intro: "Current values of the public measuring stations. Values update continuously.",
    quantity: "Quantity",
    value: "Value",
    updated: "Last updated",
    no_stations: "No public stations with values yet.",
    station: "Station",
    position: "Position (rounded)",
    other_lang_label: "Deutsch",
    other_lang_code: "de",
    live_pause: "Pause live updates",
    live_resume: "Resume live updates",
    api: "Data as JSON",
};

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn choose_lang(query: &LangQuery, headers: &HeaderMap) -> Lang {
    match query.lang.as_deref() {
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

async fn overview(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let lang = choose_lang(&query, &headers);
    match public::stations(&state).await {
        Ok(stations) => Html(render_overview(lang, &stations)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read stations for the overview page");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
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

/// Formats a value the way the language writes numbers (decimal comma in German).
fn number(lang: Lang, value: f64) -> String {
    let text = format!("{}", (value * 1000.0).round() / 1000.0);
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// `2022-07-18T09:34:15.775Z` as people read it: `18.07.2022 09:34 UTC` in German,
/// `2022-07-18 09:34 UTC` in English. The live script shows local time instead.
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

fn render_overview(lang: Lang, stations: &[PublicStation]) -> String {
    let t = if lang == Lang::De { &DE } else { &EN };
    let mut body = String::new();
    if stations.iter().all(|s| s.latest.is_empty()) {
        body.push_str(&format!("<p>{}</p>", t.no_stations));
    }
    for station in stations.iter().filter(|s| !s.latest.is_empty()) {
        let id = escape(&station.id);
        body.push_str(&format!(
            "<section class=\"station\" aria-labelledby=\"st-{id}\" data-station=\"{id}\">\
             <h2 id=\"st-{id}\">{} {id}</h2>",
            t.station
        ));
        if let (Some(lat), Some(lon)) = (station.lat, station.lon) {
            body.push_str(&format!(
                "<p class=\"position\">{}: {lat}, {lon}</p>",
                t.position
            ));
        }
        body.push_str(&format!(
            "<table><caption>{} {id}</caption><thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             </tr></thead><tbody>",
            t.title, t.quantity, t.value, t.updated
        ));
        for v in &station.latest {
            let label = if lang == Lang::De {
                &v.label_de
            } else {
                &v.label_en
            };
            body.push_str(&format!(
                "<tr data-quantity=\"{q}\"><th scope=\"row\">{label}</th>\
                 <td class=\"value\"><span class=\"number\">{value}</span> {unit}</td>\
                 <td><time datetime=\"{time}\">{time_text}</time></td></tr>",
                q = escape(&v.quantity),
                label = escape(label),
                value = number(lang, v.value),
                unit = escape(&v.unit),
                time = escape(&v.time),
                time_text = escape(&time_text(lang, &v.time)),
            ));
        }
        body.push_str("</tbody></table></section>");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – sensorhub</title><link rel=\"stylesheet\" href=\"/assets/style.css\">\
         </head><body><a class=\"skip\" href=\"#main\">{skip}</a>\
         <header><p class=\"site\">sensorhub</p>\
         <nav aria-label=\"{lang_nav}\"><a href=\"/?lang={other}\" lang=\"{other}\" hreflang=\"{other}\">{other_label}</a></nav>\
         </header><main id=\"main\"><h1>{title}</h1><p>{intro}</p>\
         <p><button type=\"button\" id=\"live-toggle\" hidden data-pause=\"{pause}\" data-resume=\"{resume}\">{pause}</button>\
         <span id=\"live-status\" role=\"status\" aria-live=\"polite\"></span></p>\
         {body}<p><a href=\"/api/v1/stations\">{api}</a></p></main>\
         <script src=\"/assets/live.js\" defer></script></body></html>",
        code = t.code,
        title = t.title,
        skip = if lang == Lang::De { "Zum Inhalt springen" } else { "Skip to content" },
        lang_nav = if lang == Lang::De { "Sprache" } else { "Language" },
        other = t.other_lang_code,
        other_label = t.other_lang_label,
        intro = t.intro,
        pause = t.live_pause,
        resume = t.live_resume,
        api = t.api,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, accept.parse().unwrap());
        h
    }

    #[test]
    fn language_follows_query_then_accept_language_then_german() {
        let none = LangQuery { lang: None };
        assert!(choose_lang(&none, &headers("en-GB,en;q=0.9,de;q=0.8")) == Lang::En);
        assert!(choose_lang(&none, &headers("fr-FR,de;q=0.5,en;q=0.3")) == Lang::De);
        assert!(choose_lang(&none, &headers("fr")) == Lang::De);
        let en = LangQuery {
            lang: Some("en".into()),
        };
        assert!(choose_lang(&en, &headers("de")) == Lang::En);
    }

    #[test]
    fn station_ids_are_escaped_and_numbers_localised() {
        let station = PublicStation {
            id: "<b>x</b>".into(),
            lat: None,
            lon: None,
            latest: vec![public::PublicValue {
                quantity: "air_temperature".into(),
                label_de: "Lufttemperatur".into(),
                label_en: "Air temperature".into(),
                value: 27.2,
                unit: "°C".into(),
                time: "2022-07-18T09:34:15.775Z".into(),
            }],
        };
        let html = render_overview(Lang::De, std::slice::from_ref(&station));
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"));
        assert!(html.contains(">27,2</span> °C"));
        assert!(html.contains(">18.07.2022 09:34 UTC</time>"));
        assert!(render_overview(Lang::En, &[station]).contains(">27.2</span> °C"));
    }
}
