//! Pages for an iframe on the municipality's own website: a station's current values
//! (`/embed/stations/{id}`) and the map with its list (`/embed/map`), without the site's menu,
//! with the licence and a link to the full page. Which sites may frame them is
//! `http.frame_ancestors` (the CSP `frame-ancestors` of every public page).

use super::*;

pub(super) async fn embed_station(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let Some(station) = public::station(&state, &id).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let name = station.name_in(lang == Lang::En);
    let full = format!("/stations/{}", url_part(&station.id));
    let main = html! {
        h1 { (name) }
        (live_controls(lang))
        div.scroll { table id="current" {
            caption { (lang.t("Aktuelle Werte", "Current values")) }
            thead {
                tr {
                    th scope="col" { (lang.t("Messgröße", "Quantity")) }
                    th scope="col" { (lang.t("Wert", "Value")) }
                    th scope="col" { (lang.t("Zuletzt aktualisiert", "Last updated")) }
                }
            }
            tbody { (value_rows(lang, &station, false)) }
        } }
        p { a href=(full) target="_top" { (lang.t("Verlauf und Daten", "History and data")) } }
    };
    let frame = Frame {
        scripts: &["live.js"],
        ..Frame::new(name, &full)
    };
    Ok(page(&query, layout::embedded(&state, lang, &frame, main)))
}

pub(super) async fn embed_map(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let stations = public::stations(&state).await?;
    let title = lang.t("Messstationen", "Measuring stations");
    let main = html! {
        h1 { (title) }
        (map_region(
            &state,
            lang.t(
                "Karte der Messstationen; die Liste darunter enthält dieselben Stationen",
                "Map of the stations; the list below has the same stations"
            ),
            lang.t(
                "Die Karte braucht JavaScript. Alle Stationen stehen in der Liste.",
                "The map needs JavaScript. Every station is in the list."
            ),
        ))
        ul.stations {
            @for s in &stations {
                li {
                    a href={ "/stations/" (url_part(&s.id)) } target="_top" { (s.name_in(lang == Lang::En)) }
                }
            }
        }
    };
    let frame = Frame {
        stylesheet: Some("/assets/vendor/leaflet/leaflet.css"),
        scripts: &["vendor/leaflet/leaflet.js", "map.js"],
        ..Frame::new(title, "/")
    };
    Ok(page(&query, layout::embedded(&state, lang, &frame, main)))
}
