//! Batteries people understand: a percentage where the decoder gives one, else one from the
//! voltage through a discharge curve per device type (`[batteries]`), and from the last weeks'
//! percentages a trend and an estimate of the weeks left.
//!
//! The two built-in curves are read off the manufacturers' published discharge curves at room
//! temperature and a light load, the kind a sensor draws, and rounded:
//! - `lisocl2`: one 3.6 V lithium–thionyl chloride cell (Saft LS 14500, Tadiran TL-5903 class).
//!   The cell holds about 3.6 V for most of its life and falls only near the end, so the
//!   percentage says little until then; the trend and the alert are what to watch.
//! - `alkaline`: alkaline cells in series, two by default (2 × AA, Energizer E91 class),
//!   from 1.55 V a cell when new to 0.9 V when empty.
//!
//! ```toml
//! [batteries]
//! default = "lisocl2"                  # the curve of devices that no rule below names
//!
//! [[batteries.types]]
//! device_type = "ttn:dragino/lht65"    # as in the registry
//! curve = "alkaline"                   # "lisocl2", "alkaline", or points
//! cells = 2                            # cells in series (the curve is per cell)
//!
//! [[batteries.types]]
//! device_type = "ttn:acme/probe"
//! curve = [[2.0, 0], [2.6, 20], [3.0, 100]]   # volts of the pack, percent
//! ```

use serde::{Deserialize, Serialize};

/// A discharge curve: percent over volts, piecewise linear between its points, clamped to
/// 0 and 100 outside them. Made only through [`Curve::new`], so the points are ordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// (volts, percent), volts strictly rising, percent rising, within 0..=100.
    points: Vec<(f64, f64)>,
    /// What it is, for people: `lisocl2`, `alkaline × 2`, `points`.
    label: String,
}

/// One 3.6 V LiSOCl2 cell (volts, percent).
const LISOCL2: &[(f64, f64)] = &[
    (2.50, 0.0),
    (3.00, 3.0),
    (3.20, 8.0),
    (3.30, 15.0),
    (3.40, 35.0),
    (3.50, 70.0),
    (3.60, 100.0),
];

/// One alkaline cell (volts, percent).
const ALKALINE: &[(f64, f64)] = &[
    (0.90, 0.0),
    (1.00, 3.0),
    (1.10, 10.0),
    (1.20, 25.0),
    (1.25, 40.0),
    (1.30, 55.0),
    (1.35, 70.0),
    (1.40, 82.0),
    (1.45, 90.0),
    (1.50, 96.0),
    (1.55, 100.0),
];

impl Curve {
    /// A curve of (volts, percent) points: at least two, volts strictly rising, percent
    /// rising from 0 to 100 at most.
    pub fn new(points: Vec<(f64, f64)>) -> Result<Curve, String> {
        if points.len() < 2 {
            return Err("a curve needs at least two points".into());
        }
        if points
            .iter()
            .any(|(v, p)| !v.is_finite() || !(0.0..=100.0).contains(p))
        {
            return Err("a curve's volts must be numbers and its percents within 0..100".into());
        }
        if points
            .windows(2)
            .any(|w| w[1].0 <= w[0].0 || w[1].1 < w[0].1)
        {
            return Err(
                "a curve's volts must rise from point to point, and its percents not fall".into(),
            );
        }
        Ok(Curve {
            points,
            label: "points".into(),
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// A built-in curve (`lisocl2`, `alkaline`) for `cells` cells in series.
    pub fn named(name: &str, cells: u8) -> Result<Curve, String> {
        let per_cell = match name {
            "lisocl2" => LISOCL2,
            "alkaline" => ALKALINE,
            other => {
                return Err(format!(
                    "`{other}` is not a built-in curve (lisocl2, alkaline)"
                ))
            }
        };
        if cells == 0 {
            return Err("cells: at least 1".into());
        }
        let n = f64::from(cells);
        let mut curve = Curve::new(per_cell.iter().map(|(v, p)| (v * n, *p)).collect())?;
        curve.label = if cells == 1 {
            name.to_owned()
        } else {
            format!("{name} × {cells}")
        };
        Ok(curve)
    }

    /// The percentage at `volts`.
    pub fn percent(&self, volts: f64) -> f64 {
        let first = self.points[0];
        let last = self.points[self.points.len() - 1];
        if volts <= first.0 {
            return first.1;
        }
        if volts >= last.0 {
            return last.1;
        }
        let i = self
            .points
            .iter()
            .position(|(v, _)| *v >= volts)
            .unwrap_or(1);
        let ((v0, p0), (v1, p1)) = (self.points[i - 1], self.points[i]);
        p0 + (p1 - p0) * (volts - v0) / (v1 - v0)
    }
}

/// A curve as the config names it: built in, or points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CurveSpec {
    Named(String),
    Points(Vec<[f64; 2]>),
}

/// `[[batteries.types]]`: the battery of one device type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeBattery {
    pub device_type: String,
    pub curve: CurveSpec,
    /// Cells in series; the built-in curves are per cell (default: 1 for `lisocl2`, 2 for
    /// `alkaline`, 1 for points, which are of the whole pack).
    #[serde(default)]
    pub cells: Option<u8>,
}

/// `[batteries]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatteryConfig {
    /// The curve of devices no rule names.
    pub default: String,
    pub types: Vec<TypeBattery>,
}

impl Default for BatteryConfig {
    fn default() -> Self {
        BatteryConfig {
            default: "lisocl2".into(),
            types: Vec::new(),
        }
    }
}

fn curve_of(spec: &CurveSpec, cells: Option<u8>) -> Result<Curve, String> {
    match spec {
        CurveSpec::Named(name) => {
            let cells = cells.unwrap_or(if name == "alkaline" { 2 } else { 1 });
            Curve::named(name, cells)
        }
        CurveSpec::Points(points) => {
            let n = f64::from(cells.unwrap_or(1).max(1));
            Curve::new(points.iter().map(|[v, p]| (v * n, *p)).collect())
        }
    }
}

impl BatteryConfig {
    pub fn problems(&self) -> Vec<String> {
        self.batteries().err().unwrap_or_default()
    }

    /// The curves, checked.
    pub fn batteries(&self) -> Result<Batteries, Vec<String>> {
        let mut problems = Vec::new();
        let default = curve_of(&CurveSpec::Named(self.default.clone()), None)
            .map_err(|e| problems.push(format!("batteries.default: {e}")))
            .ok();
        let mut types = Vec::new();
        for (i, t) in self.types.iter().enumerate() {
            match curve_of(&t.curve, t.cells) {
                Ok(c) => types.push((t.device_type.clone(), c)),
                Err(e) => problems.push(format!("batteries.types[{i}].curve: {e}")),
            }
            if self.types[..i]
                .iter()
                .any(|o| o.device_type == t.device_type)
            {
                problems.push(format!(
                    "batteries.types[{i}].device_type: `{}` has a curve already",
                    t.device_type
                ));
            }
        }
        match default {
            Some(default) if problems.is_empty() => Ok(Batteries { default, types }),
            _ => Err(problems),
        }
    }
}

/// The curves of every device type.
#[derive(Debug, Clone, PartialEq)]
pub struct Batteries {
    default: Curve,
    types: Vec<(String, Curve)>,
}

impl Default for Batteries {
    fn default() -> Self {
        BatteryConfig::default()
            .batteries()
            .expect("the default curve is valid")
    }
}

/// Where a percentage came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The decoder or the device's status report gave it.
    Reported,
    /// Read off the device type's curve from the voltage.
    FromVoltage,
}

impl Batteries {
    pub fn curve(&self, device_type: &str) -> &Curve {
        self.types
            .iter()
            .find(|(t, _)| t == device_type)
            .map_or(&self.default, |(_, c)| c)
    }

    /// The percentage of a device's battery: the reported one, else from its voltage.
    pub fn percent(
        &self,
        device_type: &str,
        level: Option<f64>,
        volts: Option<f64>,
    ) -> Option<(f64, Source)> {
        match (level, volts) {
            (Some(l), _) => Some((l.clamp(0.0, 100.0), Source::Reported)),
            (None, Some(v)) => Some((self.curve(device_type).percent(v), Source::FromVoltage)),
            _ => None,
        }
    }
}

/// Where a battery stands and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlook {
    /// The newest percentage.
    pub percent: f64,
    /// Its change per week, from a straight line through the percentages (when they span
    /// at least [`MIN_SPAN_DAYS`] days).
    pub per_week: Option<f64>,
    /// Weeks until 0 % at that pace, when the battery is falling.
    pub weeks_left: Option<f64>,
}

/// The shortest history a trend is drawn from.
pub const MIN_SPAN_DAYS: f64 = 3.0;
/// Less change than this per week counts as steady: no estimate of the weeks left.
const STEADY_PER_WEEK: f64 = 0.05;

/// The outlook from percentages over time (milliseconds, percent), oldest first.
pub fn outlook(samples: &[(i64, f64)]) -> Option<Outlook> {
    let &(_, percent) = samples.last()?;
    const WEEK_MS: f64 = 7.0 * 86_400_000.0;
    let span_days = (samples.last()?.0 - samples.first()?.0) as f64 / 86_400_000.0;
    let per_week = (span_days >= MIN_SPAN_DAYS && samples.len() >= 3).then(|| {
        // Least squares over weeks since the first sample.
        let t0 = samples[0].0;
        let n = samples.len() as f64;
        let xs = samples.iter().map(|(t, _)| (t - t0) as f64 / WEEK_MS);
        let mean_x = xs.clone().sum::<f64>() / n;
        let mean_y = samples.iter().map(|(_, p)| p).sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (x, (_, y)) in xs.zip(samples) {
            sxy += (x - mean_x) * (y - mean_y);
            sxx += (x - mean_x) * (x - mean_x);
        }
        if sxx > 0.0 {
            sxy / sxx
        } else {
            0.0
        }
    });
    let weeks_left = per_week
        .filter(|s| *s < -STEADY_PER_WEEK)
        .map(|s| percent / -s);
    Some(Outlook {
        percent,
        per_week,
        weeks_left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_interpolate_and_clamp() {
        let li = Curve::named("lisocl2", 1).unwrap();
        assert_eq!(li.percent(3.7), 100.0);
        assert_eq!(li.percent(2.0), 0.0);
        assert!((li.percent(3.45) - 52.5).abs() < 1e-9);
        let aa = Curve::named("alkaline", 2).unwrap();
        // Two fresh cells are full, two at 1.2 V a quarter, two at 0.9 V empty.
        assert_eq!(aa.percent(3.1), 100.0);
        assert!((aa.percent(2.4) - 25.0).abs() < 1e-9);
        assert_eq!(aa.percent(1.8), 0.0);
    }

    #[test]
    fn bad_curves_are_refused() {
        assert!(Curve::new(vec![(3.0, 0.0)]).is_err());
        assert!(Curve::new(vec![(3.0, 0.0), (2.9, 100.0)]).is_err());
        assert!(Curve::new(vec![(3.0, 50.0), (3.1, 10.0)]).is_err());
        assert!(Curve::new(vec![(3.0, 0.0), (3.1, 120.0)]).is_err());
        assert!(Curve::named("nimh", 1).is_err());
        let config = BatteryConfig {
            default: "lisocl2".into(),
            types: vec![
                TypeBattery {
                    device_type: "cayenne-lpp".into(),
                    curve: CurveSpec::Points(vec![[3.0, 0.0], [2.0, 100.0]]),
                    cells: None,
                },
                TypeBattery {
                    device_type: "cayenne-lpp".into(),
                    curve: CurveSpec::Named("alkaline".into()),
                    cells: None,
                },
            ],
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("batteries.types[0].curve"));
        assert!(problems[1].contains("has a curve already"));
    }

    #[test]
    fn a_reported_percentage_wins_over_the_voltage() {
        let config: BatteryConfig = serde_json::from_value(serde_json::json!({
            "types": [{"device_type": "ttn:acme/probe", "curve": "alkaline"}]
        }))
        .unwrap();
        let b = config.batteries().unwrap();
        assert_eq!(
            b.percent("ttn:acme/probe", Some(77.0), Some(3.6)),
            Some((77.0, Source::Reported))
        );
        // 3.0 V is 96 % for two alkaline cells, 3 % for one LiSOCl2 cell.
        let (aa, _) = b.percent("ttn:acme/probe", None, Some(3.0)).unwrap();
        let (li, source) = b.percent("cayenne-lpp", None, Some(3.0)).unwrap();
        assert!((aa - 96.0).abs() < 1e-9 && (li - 3.0).abs() < 1e-9);
        assert_eq!(source, Source::FromVoltage);
        assert_eq!(b.percent("cayenne-lpp", None, None), None);
    }

    #[test]
    fn a_falling_battery_gets_weeks_left_and_a_steady_one_none() {
        let day = 86_400_000i64;
        // 1 % a week down from 80 %, daily for four weeks.
        let falling: Vec<(i64, f64)> = (0..28).map(|d| (d * day, 80.0 - d as f64 / 7.0)).collect();
        let o = outlook(&falling).unwrap();
        assert!((o.per_week.unwrap() + 1.0).abs() < 1e-9);
        let expected = (80.0 - 27.0 / 7.0) / 1.0;
        assert!((o.weeks_left.unwrap() - expected).abs() < 1e-6);
        let steady: Vec<(i64, f64)> = (0..28).map(|d| (d * day, 90.0)).collect();
        assert_eq!(outlook(&steady).unwrap().weeks_left, None);
        // A day of history is too short for a trend.
        let short: Vec<(i64, f64)> = (0..24).map(|h| (h * day / 24, 90.0 - h as f64)).collect();
        assert_eq!(outlook(&short).unwrap().per_week, None);
        assert_eq!(outlook(&[]), None);
    }
}
