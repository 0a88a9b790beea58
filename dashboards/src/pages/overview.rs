//! The overview page: every public station with its current values, live.

use super::*;

pub(super) async fn overview(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let stations = public::stations(&state).await?;
    // Each value's trend, from the same day of history its station page draws.
    let now = sensorhub_store::time::now_ms();
    let day = Range::Day;
    let mut trends = Vec::new();
    for s in &stations {
        for v in &s.latest {
            let span = (day.resolution(), now - day.span_ms(), now);
            let h = public::history_of(&state, s, &v.quantity, span.0, span.1, span.2).await?;
            if let Some(t) = h.as_ref().and_then(station::trend) {
                trends.push((s.id.as_str(), v.quantity.as_str(), t));
            }
        }
    }
    Ok(page(
        &query,
        render_overview(&state, lang, &stations, &trends),
    ))
}

/// A value's trend: (station, quantity, trend).
type Trends<'a> = [(&'a str, &'a str, station::Trend)];

fn render_overview(
    state: &AppState,
    lang: Lang,
    stations: &[PublicStation],
    trends: &Trends,
) -> Markup {
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
            (map_region(
                state,
                lang.t(
                    "Karte der Messstationen; die Tabelle unten enthält dieselben Stationen",
                    "Map of the stations; the table below lists the same stations"
                ),
                lang.t(
                    "Die Karte braucht JavaScript. Alle Stationen stehen in der Liste unten.",
                    "The map needs JavaScript. Every station is in the list below."
                ),
            ))
        }
        @if stations.iter().any(|s| !s.latest.is_empty()) {
            (cards(lang, stations, trends))
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

/// The stations as cards, grouped by theme (stations without one last): name, values with
/// their unit, level and trend, and when they were measured.
fn cards(lang: Lang, stations: &[PublicStation], trends: &Trends) -> Markup {
    let mut groups: Vec<(Option<sensorhub_store::Theme>, Vec<&PublicStation>)> = Vec::new();
    for s in stations.iter().filter(|s| !s.latest.is_empty()) {
        match groups.iter_mut().find(|(t, _)| *t == s.theme) {
            Some((_, members)) => members.push(s),
            None => groups.push((s.theme, vec![s])),
        }
    }
    groups.sort_by_key(|(t, _)| {
        t.map_or(usize::MAX, |t| {
            sensorhub_store::Theme::ALL
                .iter()
                .position(|a| *a == t)
                .unwrap_or(usize::MAX)
        })
    });
    html! {
        section aria-labelledby="places-title" {
            h2 id="places-title" { (lang.t("Orte nach Thema", "Places by theme")) }
            @for (theme, members) in &groups {
                @let heading = theme.map_or(lang.t("Weitere Stationen", "Other stations"), |t| lang.t(t.label_de(), t.label_en()));
                h3 { (heading) }
                ul.cards {
                    @for s in members {
                        li.card {
                            h4 { a href={ "/stations/" (url_part(&s.id)) } { (s.name_in(lang == Lang::En)) } }
                            dl {
                                @for v in &s.latest {
                                    @let (factor, unit) = shown(lang, s, &v.quantity, &v.unit);
                                    dt { (lang.t(&v.label_de, &v.label_en)) }
                                    dd data-station=(s.id) data-quantity=(v.quantity)
                                        data-scale=[(factor != 1.0).then_some(factor)] class=[v.stale.then_some("stale")] {
                                        span.number { (number(lang, if factor == 1.0 { v.value } else { (v.value * factor).round() })) }
                                        " " (unit)
                                        (level_badge(lang, s, v))
                                        @if let Some((_, _, t)) = trends.iter().find(|(id, q, _)| *id == s.id && *q == v.quantity) {
                                            br;
                                            span.trend { (station::trend_words(lang, *t)) }
                                        }
                                        br;
                                        time datetime=(v.time) { (time_text(lang, &v.time)) }
                                        @if v.stale {
                                            " " strong.stale-note { (lang.t("(veraltet)", "(outdated)")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
