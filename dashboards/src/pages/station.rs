//! A station's page: current values, charts with their data tables and text summaries, gaps, the CSV download, and the page for a station that is not public.

use super::*;
use crate::html::chart::{chart, Chart, ChartPoint};
use sensorhub_core::Quantity;

pub(super) async fn station_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let Some(station) = public::station(&state, &id).await? else {
        return Ok(not_found_page(&state, lang));
    };
    let range = Range::parse(query.range.as_deref());
    let now = sensorhub_store::time::now_ms();
    let mut histories = Vec::new();
    for v in &station.latest {
        let span = (range.resolution(), now - range.span_ms(), now);
        if let Some(h) =
            public::history_of(&state, &station, &v.quantity, span.0, span.1, span.2).await?
        {
            histories.push(as_shown(lang, &station, h));
        }
    }
    Ok(page(
        &query,
        render_station(&state, lang, &station, range, &histories),
    ))
}

/// A history in the unit the page shows it in (a gauge's level in cm above its datum).
fn as_shown(lang: Lang, station: &PublicStation, mut h: History) -> History {
    let (factor, unit) = shown(lang, station, &h.quantity, &h.unit);
    if factor != 1.0 {
        let scale = |v: f64| (v * factor * 100.0).round() / 100.0;
        for p in &mut h.points {
            (p.mean, p.min, p.max) = (scale(p.mean), scale(p.min), scale(p.max));
        }
        h.unit = unit;
    }
    h
}

fn not_found_page(state: &AppState, lang: Lang) -> Response {
    let main = html! {
        h1 { (lang.t("Station nicht gefunden", "Station not found")) }
        p { a href="/" { (lang.t("Zur Übersicht", "To the overview")) } }
    };
    let frame = Frame::new(lang.t("Nicht gefunden", "Not found"), "");
    (
        StatusCode::NOT_FOUND,
        Html(layout::resident(state, lang, &frame, main).into_string()),
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
pub(super) fn gap_ms(range: Range, stale_ms: i64) -> i64 {
    let step = match range {
        Range::Day => 900_000,
        Range::Week => 3_600_000,
        Range::Month => 3_600_000,
    };
    (4 * step).max(stale_ms)
}

/// Stretches without values longer than `gap_ms`: the last time before and the first after.
pub(super) fn gaps(h: &History, gap_ms: i64) -> Vec<(String, String)> {
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

pub(super) fn summary(lang: Lang, h: &History, range: Range, gap_ms: i64) -> String {
    let label = lang.t(&h.label_de, &h.label_en);
    if h.points.is_empty() {
        return format!(
            "{label}: {} ({}).",
            lang.t("keine Werte", "no values"),
            range_label(lang, range)
        );
    }
    if is_total(&h.quantity) {
        let total: f64 = h.points.iter().map(|p| p.sum).sum();
        let busiest = h
            .points
            .iter()
            .max_by(|a, b| a.sum.total_cmp(&b.sum))
            .map(|p| (p.sum, time_text(lang, &p.time)))
            .unwrap_or_default();
        let unit = if h.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", h.unit)
        };
        return format!(
            "{label}, {}: {} {}{unit}; {} {}{unit} ({}).",
            range_label(lang, range),
            lang.t("zusammen", "in all"),
            number(lang, (total * 10.0).round() / 10.0),
            lang.t("am meisten in einem Intervall:", "most in one interval:"),
            number(lang, busiest.0),
            busiest.1
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
        number(lang, (mean * 10.0).round() / 10.0),
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
) -> Markup {
    let id = &station.id;
    let name = station.name_in(lang == Lang::En);
    let description = match (&station.description_en, lang) {
        (Some(en), Lang::En) => en.as_str(),
        _ => station.description.as_str(),
    };
    let path = format!("/stations/{}", url_part(id));
    let gap = gap_ms(range, state.http.stale_after.as_ms_i64());
    let main = html! {
        h1 { (name) }
        @if !description.is_empty() {
            p.description { (description) }
        }
        @if let Some(theme) = station.theme {
            p.theme { (lang.t("Thema", "Theme")) ": " (lang.t(theme.label_de(), theme.label_en())) }
        }
        @if let (Some(lat), Some(lon)) = (station.lat, station.lon) {
            p.position { (lang.t("Lage (gerundet)", "Position (rounded)")) ": " (lat) ", " (lon) }
        }
        section aria-labelledby="now-title" {
            h2 id="now-title" { (lang.t("Aktuelle Werte", "Current values")) }
            (live_controls(lang))
            div.scroll {
                table id="current" {
                    caption { (lang.t("Aktuelle Werte der Station", "Current values of station")) " " (name) }
                    thead {
                        tr {
                            th scope="col" { (lang.t("Messgröße", "Quantity")) }
                            th scope="col" { (lang.t("Wert", "Value")) }
                            th scope="col" { (lang.t("Zuletzt aktualisiert", "Last updated")) }
                        }
                    }
                    tbody { (value_rows(lang, station, false)) }
                }
            }
            @if !station.levels.is_empty() {
                (levels_note(lang))
            }
        }
        section aria-labelledby="history-title" {
            h2 id="history-title" { (lang.t("Verlauf", "History")) }
            nav aria-label=(lang.t("Zeitraum", "Period")) {
                ul.ranges {
                    @for r in [Range::Day, Range::Week, Range::Month] {
                        li {
                            a href={ (path) "?range=" (r.code()) } aria-current=[(r == range).then_some("true")] {
                                (range_label(lang, r))
                            }
                        }
                    }
                }
            }
            @for h in histories {
                @let (factor, _) = shown(lang, station, &h.quantity, "");
                @let levels: Vec<String> = station.levels.iter()
                    .filter(|l| l.quantity == h.quantity)
                    .map(|l| (l.above * factor).to_string())
                    .collect();
                (history_section(lang, h, &levels.join(","), range, gap, &path))
            }
        }
    };
    let title = name.to_owned();
    let frame = Frame {
        stylesheet: Some("/assets/vendor/uplot/uPlot.min.css"),
        scripts: &["vendor/uplot/uPlot.iife.min.js", "chart.js", "live.js"],
        ..Frame::new(&title, &path)
    };
    layout::resident(state, lang, &frame, main)
}

/// Where a series is heading over its last three hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trend {
    Rising,
    Falling,
    Steady,
}

/// The trend of the last three hours of a history: the newest value against the last one at
/// least three hours (at least one) older, steady within a twentieth of the window's spread.
pub(super) fn trend(h: &History) -> Option<Trend> {
    let times: Vec<(i64, f64)> = h
        .points
        .iter()
        .filter_map(|p| Some((sensorhub_store::time::parse_rfc3339(&p.time)?, p.mean)))
        .collect();
    let &(last_t, last) = times.last()?;
    let &(_, before) = times
        .iter()
        .rev()
        .find(|(t, _)| last_t - t >= 3 * 3_600_000)
        .or_else(|| times.iter().find(|(t, _)| last_t - t >= 3_600_000))?;
    let (min, max) = times
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let change = last - before;
    Some(if change.abs() <= (max - min) / 20.0 {
        Trend::Steady
    } else if change > 0.0 {
        Trend::Rising
    } else {
        Trend::Falling
    })
}

/// The trend in words, with an arrow that screen readers skip (the words say it).
fn trend_text(lang: Lang, trend: Trend) -> Markup {
    html! {
        (lang.t("Tendenz der letzten Stunden:", "Trend of the last hours:")) " " (trend_words(lang, trend))
    }
}

/// An arrow and a word: `↗ steigend`.
pub(super) fn trend_words(lang: Lang, trend: Trend) -> Markup {
    let (arrow, words) = match trend {
        Trend::Rising => ("↗", lang.t("steigend", "rising")),
        Trend::Falling => ("↘", lang.t("fallend", "falling")),
        Trend::Steady => ("→", lang.t("gleichbleibend", "steady")),
    };
    html! {
        span aria-hidden="true" { (arrow) } " " (words)
    }
}

/// Whether zero means something on a quantity's axis (counts, precipitation), so that its
/// chart starts there; other charts follow their data.
/// Whether the quantity's intervals are shown as totals (a series `visitor_count_2` too).
pub(super) fn is_total(quantity: &str) -> bool {
    Quantity::by_name(quantity).is_some_and(|q| q.is_total())
}

fn from_zero(quantity: &str) -> bool {
    sensorhub_policy::is_people_count(quantity)
        || quantity.starts_with("precipitation")
        || quantity.ends_with("_count")
}

/// One quantity's history: the summary, the chart, its data table and the CSV link.
/// `levels`: the station's levels of the quantity in the shown unit, comma-separated.
fn history_section(
    lang: Lang,
    h: &History,
    levels: &str,
    range: Range,
    gap: i64,
    path: &str,
) -> Markup {
    let q = &h.quantity;
    let label = lang.t(&h.label_de, &h.label_en);
    let unit = &h.unit;
    let (table_id, summary_id) = (format!("table-{q}"), format!("summary-{q}"));
    let total = is_total(q);
    let caption = format!(
        "{}: {label}, {} ({unit})",
        lang.t("Datentabelle", "Data table"),
        range_label(lang, range)
    );
    html! {
        section.history aria-labelledby={ "h-" (q) } {
            h3 id={ "h-" (q) } { (label) }
            @if let Some(trend) = trend(h) {
                p.trend { (trend_text(lang, trend)) }
            }
            p.summary id=(summary_id) { (summary(lang, h, range, gap)) }
            // The chart's x-axis is the window (`data-since` to `data-until`), not the data.
            (chart(lang, &Chart {
                id: &table_id,
                label,
                unit,
                since: &h.since,
                until: &h.until,
                gap_s: gap / 1000,
                zero: from_zero(q),
                levels: (!levels.is_empty()).then_some(levels),
                described_by: Some(&summary_id),
                caption: &caption,
                total,
            }, h.points.iter().map(|p| if total {
                ChartPoint { time: &p.time, mean: p.sum, min: p.sum, max: p.sum }
            } else {
                ChartPoint { time: &p.time, mean: p.mean, min: p.min, max: p.max }
            })))
            p {
                a href={ (path) "/data.csv?quantity=" (url_part(q)) "&range=" (range.code()) } download {
                    (lang.t("Als CSV herunterladen", "Download as CSV"))
                }
            }
        }
    }
}

/// `GET /stations/{id}/data.csv?quantity=Q&range=24h`: the history shown, as CSV.
pub(super) async fn station_csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let Some(quantity) = query.quantity.as_deref() else {
        return Err(AppError::BadRequest("quantity=... is needed\n"));
    };
    let range = Range::parse(query.range.as_deref());
    let now = sensorhub_store::time::now_ms();
    let span = (range.resolution(), now - range.span_ms(), now);
    let Some(history) = public::history(&state, &id, quantity, span.0, span.1, span.2).await?
    else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let mut csv = sensorhub_policy::Csv::new(&[
        "time", "station", "quantity", "unit", "mean", "min", "max", "count",
    ]);
    for p in &history.points {
        csv.value(&p.time)
            .text(&history.station)
            .text(&history.quantity)
            .text(&history.unit)
            .value(p.mean)
            .value(p.min)
            .value(p.max)
            .value(p.count)
            .end_row();
    }
    let file = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        url_part(&history.station),
        url_part(&history.quantity),
        range.code()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        csv.into_string(),
    )
        .into_response())
}
