//! A chart with its data table, as `chart.js` draws it: the figure names its table, its window
//! (`data-since` to `data-until`, the x-axis) and how to draw; the table holds the numbers, so
//! that screen-reader users and a page without JavaScript have them too.

use maud::{html, Markup};

use super::i18n::{number, time_text, Lang};

/// One point: start time (RFC 3339), mean, minimum, maximum.
pub(crate) struct ChartPoint<'a> {
    pub time: &'a str,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// What a chart shows and how.
pub(crate) struct Chart<'a> {
    /// The table's id (the figure refers to it).
    pub id: &'a str,
    pub label: &'a str,
    pub unit: &'a str,
    pub since: &'a str,
    pub until: &'a str,
    /// Longest silence (seconds) still drawn as a line.
    pub gap_s: i64,
    /// The y-axis starts at zero (counts).
    pub zero: bool,
    /// Level lines, comma-separated values in the chart's unit.
    pub levels: Option<&'a str>,
    /// The element describing the chart, for `aria-describedby`.
    pub described_by: Option<&'a str>,
    /// The table's caption.
    pub caption: &'a str,
    /// The points are interval totals (precipitation, counts): one value a row, no band.
    pub total: bool,
}

pub(crate) fn chart<'a>(
    lang: Lang,
    c: &Chart<'_>,
    points: impl Iterator<Item = ChartPoint<'a>>,
) -> Markup {
    html! {
        figure.chart data-table=(c.id) data-label=(c.label) data-unit=(c.unit)
            data-gap=(c.gap_s) data-since=(c.since) data-until=(c.until)
            data-zero=[c.zero.then_some("true")]
            data-levels=[c.levels] aria-describedby=[c.described_by] {
            div.chart-canvas aria-hidden="true" {}
            figcaption {
                (lang.t(
                    "Diagramm; dieselben Werte stehen in der Datentabelle.",
                    "Chart; the same values are in the data table."
                ))
            }
        }
        details {
            summary { (lang.t("Datentabelle anzeigen", "Show data table")) }
            div.scroll {
                table id=(c.id) class="data-table" {
                    caption { (c.caption) }
                    thead {
                        tr {
                            th scope="col" { (lang.t("Zeit (Beginn)", "Time (start)")) }
                            @if c.total {
                                th scope="col" { (lang.t("Summe im Intervall", "Total in the interval")) }
                            } @else {
                                th scope="col" { (lang.t("Mittel", "Mean")) }
                                th scope="col" { (lang.t("Minimum", "Minimum")) }
                                th scope="col" { (lang.t("Maximum", "Maximum")) }
                            }
                        }
                    }
                    tbody {
                        @for p in points {
                            tr data-t=(p.time) data-v=(p.mean) data-min=(p.min) data-max=(p.max) {
                                th scope="row" { time datetime=(p.time) { (time_text(lang, p.time)) } }
                                td { (number(lang, p.mean)) }
                                @if !c.total {
                                    td { (number(lang, p.min)) }
                                    td { (number(lang, p.max)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
