//! The battery on a device's page: in percent (as reported, else from the voltage on the
//! device type's curve, `[batteries]`), charted over the chosen window, with the trend and
//! the weeks left from the last 30 days.

use maud::{html, Markup};
use sensorhub_store::battery::{outlook, Outlook, Source};
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{Device, RangeQuery, Resolution, TimeSeries};
use serde::Serialize;

use super::device::Stat;
use crate::error::AppError;
use crate::html::chart::{chart, Chart, ChartPoint};
use crate::html::i18n::{number, Lang};
use crate::AppState;

/// The history the trend is drawn from.
const TREND_MS: i64 = 30 * 86_400_000;

/// A device's battery as its page shows it.
#[derive(Debug, Serialize)]
pub struct Battery {
    /// The quantity it comes from: `battery_level` (%) or `battery_voltage` (V).
    pub quantity: String,
    pub source: Source,
    /// The curve of the percentages from volts (`lisocl2`, `alkaline × 2`, `points`).
    pub curve: Option<String>,
    /// The newest hour's voltage, where the device gives volts.
    pub volts: Option<f64>,
    /// Percent per hour over the window (time, stat).
    pub points: Vec<(String, Stat)>,
    pub outlook: Option<Outlook>,
}

/// The battery of `device` over `[since, now)`, with the outlook of the last 30 days.
pub(super) async fn load(
    state: &AppState,
    device: &Device,
    since: i64,
    now: i64,
) -> Result<Option<Battery>, AppError> {
    let device_type = device.device_type.to_string();
    let curve = state.batteries.curve(&device_type);
    for quantity in ["battery_level", "battery_voltage"] {
        let history = state
            .store
            .range(RangeQuery {
                station: device.station.clone(),
                quantity: quantity.into(),
                since_ms: since.min(now - TREND_MS),
                until_ms: now,
                resolution: Resolution::Hour,
            })
            .await?;
        if history.is_empty() {
            continue;
        }
        let reported = quantity == "battery_level";
        let percent = |v: f64| {
            if reported {
                v.clamp(0.0, 100.0)
            } else {
                curve.percent(v)
            }
        };
        let trend: Vec<(i64, f64)> = history
            .iter()
            .filter(|b| b.start_ms >= now - TREND_MS)
            .map(|b| (b.start_ms, percent(b.mean)))
            .collect();
        let points = history
            .iter()
            .filter(|b| b.start_ms >= since)
            .map(|b| {
                let stat = Stat {
                    mean: (percent(b.mean) * 10.0).round() / 10.0,
                    min: percent(b.min),
                    max: percent(b.max),
                };
                (format_rfc3339(b.start_ms), stat)
            })
            .collect();
        return Ok(Some(Battery {
            quantity: quantity.to_owned(),
            source: if reported {
                Source::Reported
            } else {
                Source::FromVoltage
            },
            curve: (!reported).then(|| curve.label().to_owned()),
            volts: history.last().filter(|_| !reported).map(|b| b.mean),
            points,
            outlook: outlook(&trend),
        }));
    }
    Ok(None)
}

/// What the numbers say, in a sentence each.
fn summary(lang: Lang, b: &Battery) -> Markup {
    let round = |v: f64, digits: i32| {
        let f = 10f64.powi(digits);
        number(lang, (v * f).round() / f)
    };
    html! {
        @if let Some(o) = &b.outlook {
            p id="battery-now" {
                strong { (round(o.percent, 0)) " %" }
                @if let (Some(v), Some(curve)) = (b.volts, &b.curve) {
                    " (" (lang.t("aus", "from")) " " (round(v, 2)) " V, "
                    (lang.t("Entladekurve", "discharge curve")) " " (curve) ")"
                } @else {
                    " (" (lang.t("vom Gerät gemeldet", "as the device reports it")) ")"
                }
            }
            p id="battery-trend" {
                @match (o.per_week, o.weeks_left) {
                    (None, _) => {
                        (lang.t("Für einen Trend sind es noch zu wenige Tage.", "Too few days yet for a trend."))
                    }
                    (Some(per_week), Some(weeks)) => {
                        (lang.t("Trend: ", "Trend: ")) (round(per_week, 2)) " % " (lang.t("je Woche; ", "a week; "))
                        @if weeks > 520.0 {
                            (lang.t("das reicht noch mehr als zehn Jahre.", "that lasts more than ten years."))
                        } @else {
                            (lang.t("leer in etwa ", "empty in about ")) (round(weeks, 0)) " " (lang.t("Wochen.", "weeks."))
                        }
                    }
                    (Some(_), None) => {
                        (lang.t("Trend: gleichbleibend.", "Trend: steady."))
                    }
                }
            }
        }
    }
}

/// The battery's part of the page.
pub(super) fn section(lang: Lang, b: &Battery, since: &str, until: &str, gap_s: i64) -> Markup {
    let caption = format!(
        "{}: {} (%)",
        lang.t("Datentabelle", "Data table"),
        lang.t("Batterie", "Battery")
    );
    html! {
        section aria-labelledby="h-battery" {
            h3 id="h-battery" { (lang.t("Batterie", "Battery")) }
            (summary(lang, b))
            (chart(lang, &Chart {
                id: "battery",
                label: lang.t("Batterie", "Battery"),
                unit: "%",
                since,
                until,
                gap_s,
                zero: true,
                levels: None,
                described_by: Some("battery-trend"),
                caption: &caption,
                total: false,
            }, b.points.iter().map(|(t, s)| ChartPoint { time: t, mean: s.mean, min: s.min, max: s.max })))
        }
    }
}
