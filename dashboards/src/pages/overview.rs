//! The overview page: every public station with its current values, live.

use super::*;

pub(super) async fn overview(
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
    let stale_after = state.http.stale_after;
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
