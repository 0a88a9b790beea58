//! A station's page: current values, charts with their data tables and text summaries, gaps, the CSV download, and the page for a station that is not public.

use super::*;

pub(super) async fn station_page(
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
pub(super) fn gap_ms(range: Range, stale_ms: i64) -> i64 {
    let step = match range {
        Range::Day => 900_000,
        Range::Week => 3_600_000,
        Range::Month => 86_400_000,
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
    let stale_ms = state.http.stale_after.as_ms_i64();
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
pub(super) async fn station_csv(
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
