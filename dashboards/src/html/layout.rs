//! The frames around every page: the residents' (site name, menu, language switch, licence,
//! API link) and the technicians'. Pages hand in their `<main>` content as [`Markup`].

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::i18n::{remember_lang, Lang, PageQuery};
use crate::AppState;

/// What a resident page puts into the frame besides its content.
pub(crate) struct Frame<'a> {
    pub(crate) title: &'a str,
    /// The page's own path, for the menu and the language switch.
    pub(crate) path: &'a str,
    /// A stylesheet the page needs besides ours.
    pub(crate) stylesheet: Option<&'a str>,
    /// Scripts under `/assets/`, loaded deferred.
    pub(crate) scripts: &'a [&'a str],
}

impl<'a> Frame<'a> {
    pub(crate) fn new(title: &'a str, path: &'a str) -> Frame<'a> {
        Frame {
            title,
            path,
            stylesheet: None,
            scripts: &[],
        }
    }
}

/// The licence of the data, with its link and the attribution.
pub(crate) fn licence(state: &AppState, lang: Lang) -> Markup {
    let licence = state.http.licence;
    html! {
        (lang.t("Daten:", "Data:")) " "
        a href=(licence.url) rel="license" { (licence.title) }
        @if !state.http.attribution.is_empty() {
            ", " (lang.t("Namensnennung:", "attribution:")) " " (state.http.attribution)
        }
    }
}

/// The frame of every resident page.
pub(crate) fn resident(state: &AppState, lang: Lang, frame: &Frame<'_>, main: Markup) -> Markup {
    let other = lang.other();
    let site = &state.http.site_name;
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
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " – " (site) }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/style.css";
                @if let Some(css) = frame.stylesheet {
                    link rel="stylesheet" href=(css);
                }
            }
            body {
                a.skip href="#main" { (lang.t("Zum Inhalt springen", "Skip to content")) }
                header {
                    p.site { a href="/" { (site) } }
                    nav aria-label=(lang.t("Hauptmenü", "Main menu")) {
                        ul {
                            @for (href, label) in nav {
                                li {
                                    a href=(href) aria-current=[(href == frame.path).then_some("page")] {
                                        (label)
                                    }
                                }
                            }
                        }
                    }
                    p.lang {
                        a href={ (frame.path) "?lang=" (other.code()) } lang=(other.code())
                            hreflang=(other.code()) id="lang-switch" {
                            (lang.t("English", "Deutsch"))
                        }
                    }
                }
                main id="main" { (main) }
                footer {
                    p {
                        (licence(state, lang)) ". "
                        a href="/api/v1/openapi.json" { (lang.t("Schnittstelle (API)", "API")) }
                        @if let Some(portal) = &state.http.portal_url {
                            " · "
                            a href=(portal) {
                                (lang.t("Datensatz im Open-Data-Portal", "Dataset on the open-data portal"))
                            }
                        }
                    }
                }
                @for script in frame.scripts {
                    script src={ "/assets/" (script) } defer {}
                }
            }
        }
    }
}

/// The frame of a page for an iframe: no menu, the licence and where the data comes from.
pub(crate) fn embedded(state: &AppState, lang: Lang, frame: &Frame<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " – " (state.http.site_name) }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/style.css";
                @if let Some(css) = frame.stylesheet {
                    link rel="stylesheet" href=(css);
                }
            }
            body.embed {
                main id="main" { (main) }
                footer {
                    p {
                        (licence(state, lang)) ". "
                        a href=(frame.path) target="_top" { (state.http.site_name) }
                    }
                }
                @for script in frame.scripts {
                    script src={ "/assets/" (script) } defer {}
                }
            }
        }
    }
}

/// The frame of the technicians' pages (not indexed, with the admin stylesheet).
pub(crate) fn admin(lang: Lang, title: &str, main: Markup) -> Markup {
    admin_with(lang, title, main, &[])
}

/// [`admin`] with scripts from `/assets/` (charts: `vendor/uplot/uPlot.iife.min.js`,
/// `chart.js`; the map: `vendor/leaflet/leaflet.js`); uPlot's and Leaflet's stylesheets come
/// along when they are among them.
pub(crate) fn admin_with(lang: Lang, title: &str, main: Markup, scripts: &[&str]) -> Markup {
    let other = lang.other().code();
    let uplot = scripts.iter().any(|s| s.contains("uplot"));
    let leaflet = scripts.iter().any(|s| s.contains("leaflet"));
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " – sensorhub" }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/style.css";
                link rel="stylesheet" href="/assets/admin.css";
                @if uplot {
                    link rel="stylesheet" href="/assets/vendor/uplot/uPlot.min.css";
                }
                @if leaflet {
                    link rel="stylesheet" href="/assets/vendor/leaflet/leaflet.css";
                }
                @for script in scripts {
                    script src={ "/assets/" (script) } defer {}
                }
            }
            body {
                header {
                    p.site { (lang.t("sensorhub – Technik", "sensorhub – technicians")) }
                    p.lang {
                        a href={ "?lang=" (other) } lang=(other) hreflang=(other) {
                            (lang.t("English", "Deutsch"))
                        }
                    }
                }
                main id="main" { (main) }
            }
        }
    }
}

/// An HTML answer that browsers check again before reusing; a `?lang=` choice is remembered
/// in a cookie for the next pages.
pub(crate) fn page(query: &PageQuery, markup: Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    remember_lang(query, &mut response);
    response
}

/// The pause button and status line of the live updates.
pub(crate) fn live_controls(lang: Lang) -> Markup {
    let pause = lang.t("Live-Aktualisierung anhalten", "Pause live updates");
    html! {
        p.live {
            button type="button" id="live-toggle" hidden aria-pressed="false" data-pause=(pause)
                data-resume=(lang.t("Live-Aktualisierung fortsetzen", "Resume live updates")) {
                (pause)
            }
            " "
            span id="live-status" role="status" aria-live="polite" {}
        }
    }
}
