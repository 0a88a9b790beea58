//! Station entries on the workbench: the list of stations with their names and themes, and a
//! form to describe one (name, description, theme, gauge datum), as `sensorhub stations add`
//! does. Position and levels of an existing entry stay as they are (they are set on the
//! command line or by an import).

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use sensorhub_store::{Gauge, Station, StationInfo, Theme};
use serde::Deserialize;

use super::auth::AdminSession;
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

/// The stations section of the workbench; `editing` fills the form.
pub(super) fn section(
    lang: Lang,
    stations: &[Station],
    editing: Option<&str>,
    csrf: &str,
) -> Markup {
    let edit = lang.t("Bearbeiten", "Edit");
    let current = editing.and_then(|id| stations.iter().find(|s| s.id == id));
    let info = current.map(|s| s.info.clone()).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    html! {
        section aria-labelledby="stations-title" {
            h2 id="stations-title" { (lang.t("Stationen", "Stations")) }
            div.scroll {
                table id="station-entries" {
                    thead {
                        tr {
                            th scope="col" { "Station" }
                            th scope="col" { (lang.t("Name", "Name")) }
                            th scope="col" { (lang.t("Thema", "Theme")) }
                            th scope="col" { (lang.t("Pegelnull", "Datum")) }
                            th scope="col" { (lang.t("Ändern", "Change")) }
                        }
                    }
                    tbody {
                        @for s in stations {
                            tr {
                                th scope="row" { (s.id) }
                                td { (s.info.name) }
                                td { (s.info.theme.map(|t| lang.t(t.label_de(), t.label_en())).unwrap_or("–")) }
                                td { (s.info.gauge.as_ref().map_or("–", |g| g.datum.as_str())) }
                                td {
                                    a href={ "/admin?station=" (s.id) "#stations-form" } aria-label={ (edit) ": " (s.id) } { (edit) }
                                }
                            }
                        }
                    }
                }
            }
            h3 id="stations-form" { (lang.t("Station beschreiben", "Describe a station")) }
            form method="post" action="/admin/stations" class="device-form" {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    label for="s-station" { "Station" }
                    br;
                    input id="s-station" name="station" value=(current.map_or("", |s| s.id.as_str())) required autocomplete="off";
                }
                p {
                    label for="s-name" { (lang.t("Name", "Name")) }
                    br;
                    input id="s-name" name="name" value=(info.name) autocomplete="off";
                }
                p {
                    label for="s-name-en" { (lang.t("Name (englisch)", "Name (English)")) }
                    br;
                    input id="s-name-en" name="name_en" value=(text(&info.name_en)) autocomplete="off";
                }
                p {
                    label for="s-description" { (lang.t("Beschreibung", "Description")) }
                    br;
                    input id="s-description" name="description" value=(info.description) autocomplete="off";
                }
                p {
                    label for="s-description-en" { (lang.t("Beschreibung (englisch)", "Description (English)")) }
                    br;
                    input id="s-description-en" name="description_en" value=(text(&info.description_en)) autocomplete="off";
                }
                p {
                    label for="s-theme" { (lang.t("Thema", "Theme")) }
                    br;
                    select id="s-theme" name="theme" {
                        option value="" selected[info.theme.is_none()] { "–" }
                        @for t in Theme::ALL {
                            option value=(t.as_str()) selected[info.theme == Some(t)] { (lang.t(t.label_de(), t.label_en())) }
                        }
                    }
                }
                p {
                    label for="s-datum" { (lang.t("Pegelnull (nur Pegel, z. B. NHN)", "Datum (gauges only, e.g. NHN)")) }
                    br;
                    input id="s-datum" name="datum" value=(info.gauge.as_ref().map_or("", |g| g.datum.as_str())) autocomplete="off";
                }
                p {
                    label for="s-height" { (lang.t("Höhe des Sensors über dem Pegelnull (m)", "Sensor height above the datum (m)")) }
                    br;
                    input id="s-height" name="sensor_height_m" inputmode="decimal" autocomplete="off"
                        value=(info.gauge.as_ref().map(|g| g.sensor_height_m.to_string()).unwrap_or_default());
                }
                p { button type="submit" { (lang.t("Speichern", "Save")) } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct StationForm {
    csrf: String,
    station: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    description_en: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    datum: String,
    #[serde(default)]
    sensor_height_m: String,
}

fn given(t: &str) -> Option<String> {
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The entry the form describes, on top of the existing one (its position and levels stay).
fn entry_of(form: &StationForm, existing: Option<StationInfo>) -> Result<StationInfo, String> {
    let theme = match given(&form.theme) {
        Some(t) => Some(t.parse::<Theme>().map_err(|e| e.to_string())?),
        None => None,
    };
    let height = match given(&form.sensor_height_m) {
        Some(h) => Some(
            h.replace(',', ".")
                .parse::<f64>()
                .map_err(|_| format!("sensor_height_m: `{h}` is not a number"))?,
        ),
        None => None,
    };
    let gauge = Gauge::from_parts(given(&form.datum), height).map_err(|e| e.to_string())?;
    let base = existing.unwrap_or_default();
    StationInfo {
        station: form.station.trim().to_owned(),
        name: form.name.trim().to_owned(),
        name_en: given(&form.name_en),
        description: form.description.trim().to_owned(),
        description_en: given(&form.description_en),
        theme,
        gauge,
        ..base
    }
    .validate()
    .map_err(|e| e.to_string())
}

/// `POST /admin/stations`: describes a station, as `sensorhub stations add` does.
pub(super) async fn save_station(
    session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<StationForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    let lang = choose_lang(&query, &headers);
    let store = state.store.state();
    let existing = store
        .station_infos()
        .await?
        .into_iter()
        .find(|i| i.station == form.station.trim());
    let entry = match entry_of(&form, existing) {
        Ok(e) => e,
        Err(problem) => {
            let main = html! {
                h1 { (lang.t("Station nicht gespeichert", "Station not saved")) }
                p.error role="alert" { (problem) }
                p { a href="/admin#stations-form" { (lang.t("Zurück zum Formular", "Back to the form")) } }
            };
            let page = layout::admin(lang, lang.t("Fehler", "Error"), main).into_string();
            return Ok(no_store(
                (StatusCode::BAD_REQUEST, Html(page)).into_response(),
            ));
        }
    };
    let id = entry.station.clone();
    store.put_station_infos(vec![entry]).await?;
    tracing::info!(user = %session.user, station = %id, "station described");
    Ok(no_store(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin#stations-title")],
        )
            .into_response(),
    ))
}
