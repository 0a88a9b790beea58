//! The overview page: every public station with its current values, live.

use super::*;

pub(super) async fn overview(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let stations = public::stations(&state).await?;
    Ok(page(&query, render_overview(&state, lang, &stations)))
}

fn render_overview(state: &AppState, lang: Lang, stations: &[PublicStation]) -> Markup {
    let stale_after = state.http.stale_after;
    let intro = match lang {
        Lang::De => format!(
            "Aktuelle Werte der öffentlichen Messstationen. Die Werte werden laufend \
             aktualisiert; ein Wert, der älter als {stale_after} ist, ist als veraltet markiert."
        ),
        Lang::En => format!(
            "Current values of the public measuring stations. Values update continuously; \
             a value older than {stale_after} is marked as outdated."
        ),
    };
    let main = html! {
        h1 { (lang.t("Messwerte", "Measurements")) }
        p { (intro) }
        section aria-labelledby="map-title" {
            h2 id="map-title" { (lang.t("Karte", "Map")) }
            div id="map" class="map" data-tile-url=(state.http.tile_url.as_deref().unwrap_or(""))
                data-tile-attribution=(state.http.tile_attribution) role="region"
                aria-label=(lang.t(
                    "Karte der Messstationen; die Tabelle unten enthält dieselben Stationen",
                    "Map of the stations; the table below lists the same stations"
                )) {
                p.map-fallback {
                    (lang.t(
                        "Die Karte braucht JavaScript. Alle Stationen stehen in der Liste unten.",
                        "The map needs JavaScript. Every station is in the list below."
                    ))
                }
            }
        }
        section aria-labelledby="list-title" {
            h2 id="list-title" {
                (lang.t("Stationen und aktuelle Werte", "Stations and current values"))
            }
            (live_controls(lang))
            @if stations.iter().all(|s| s.latest.is_empty()) {
                p {
                    (lang.t(
                        "Noch keine öffentlichen Messstationen mit Werten.",
                        "No public stations with values yet."
                    ))
                }
            } @else {
                div.scroll {
                    table id="stations" {
                        caption {
                            (lang.t("Aktuelle Werte aller Stationen", "Current values of all stations"))
                        }
                        thead {
                            tr {
                                th scope="col" { (lang.t("Station", "Station")) }
                                th scope="col" { (lang.t("Messgröße", "Quantity")) }
                                th scope="col" { (lang.t("Wert", "Value")) }
                                th scope="col" { (lang.t("Zuletzt aktualisiert", "Last updated")) }
                            }
                        }
                        tbody {
                            @for station in stations.iter().filter(|s| !s.latest.is_empty()) {
                                (value_rows(lang, station, true))
                            }
                        }
                    }
                }
                @if stations.iter().any(|s| !s.levels.is_empty()) {
                    (levels_note(lang))
                }
            }
        }
    };
    let frame = Frame {
        stylesheet: Some("/assets/vendor/leaflet/leaflet.css"),
        scripts: &["vendor/leaflet/leaflet.js", "map.js", "live.js"],
        ..Frame::new(lang.t("Messwerte", "Measurements"), "/")
    };
    layout::resident(state, lang, &frame, main)
}
