//! Units of measurement: the spellings vendors and codecs use, and conversion into the unit
//! of a vocabulary quantity.
//!
//! A codec's value becomes a reading only when its unit is known (see the gateway's field
//! mapping). This module answers two questions, without allocating: which unit a spelling
//! means (`"μg⋅m⁻³"`, `"ug/m3"` and `"µg/m³"` are one unit), and what a value in one unit is in
//! another of the same dimension (102115 Pa is 1021.15 hPa; 2000 mm is 2 m; 68 °F is 20 °C).
//! Units of different dimensions never convert.

/// What a unit measures; only units of one dimension convert into each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Temperature,
    Ratio,
    Pressure,
    Length,
    Voltage,
    Current,
    Power,
    Energy,
    /// Parts per million / billion by volume.
    MixingRatio,
    MassConcentration,
    NumberConcentration,
    Illuminance,
    Speed,
    Angle,
    Conductivity,
    Volume,
    Acceleration,
    AngularRate,
    Frequency,
    Irradiance,
    Count,
}

/// One unit: its canonical symbol, dimension, and `base = value * scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub symbol: &'static str,
    pub dimension: Dimension,
    scale: f64,
    offset: f64,
}

const fn u(symbol: &'static str, dimension: Dimension, scale: f64, offset: f64) -> Unit {
    Unit {
        symbol,
        dimension,
        scale,
        offset,
    }
}

use Dimension::*;

/// Every unit the gateway understands, with the spellings seen in published codecs and
/// datasheets (compared without case, spaces, `⋅`/`·`/`*`, and with `μ` read as `µ`).
const UNITS: &[(Unit, &[&str])] = &[
    (
        u("°C", Temperature, 1.0, 0.0),
        &["°c", "c", "degc", "celsius", "℃", "°"],
    ),
    (
        u("°F", Temperature, 5.0 / 9.0, -32.0 * 5.0 / 9.0),
        &["°f", "f", "degf", "fahrenheit", "℉"],
    ),
    (u("K", Temperature, 1.0, -273.15), &["k", "kelvin"]),
    (
        u("%", Ratio, 1.0, 0.0),
        &["%", "%rh", "rh", "%rel", "pct", "percent", "%vol", "vol%"],
    ),
    // Volumetric water content as a fraction (Decentlab's `m³⋅m⁻³`), in percent.
    (u("m³/m³", Ratio, 100.0, 0.0), &["m³/m³", "m³m⁻³", "m3/m3"]),
    (u("Pa", Pressure, 0.01, 0.0), &["pa"]),
    (u("hPa", Pressure, 1.0, 0.0), &["hpa", "mbar", "mb"]),
    (u("kPa", Pressure, 10.0, 0.0), &["kpa"]),
    (u("bar", Pressure, 1000.0, 0.0), &["bar"]),
    (u("mm", Length, 0.001, 0.0), &["mm"]),
    (u("cm", Length, 0.01, 0.0), &["cm"]),
    (u("m", Length, 1.0, 0.0), &["m", "meter", "metre"]),
    (u("km", Length, 1000.0, 0.0), &["km"]),
    (u("V", Voltage, 1.0, 0.0), &["v", "volt"]),
    (u("mV", Voltage, 0.001, 0.0), &["mv"]),
    (u("A", Current, 1.0, 0.0), &["a"]),
    (u("mA", Current, 0.001, 0.0), &["ma"]),
    (u("W", Power, 1.0, 0.0), &["w"]),
    (u("kW", Power, 1000.0, 0.0), &["kw"]),
    (u("Wh", Energy, 0.001, 0.0), &["wh"]),
    (u("kWh", Energy, 1.0, 0.0), &["kwh"]),
    (u("ppm", MixingRatio, 1.0, 0.0), &["ppm"]),
    (u("ppb", MixingRatio, 0.001, 0.0), &["ppb"]),
    (
        u("µg/m³", MassConcentration, 1.0, 0.0),
        &[
            "µg/m³",
            "µg/m3",
            "ug/m3",
            "ug/m³",
            "µgm⁻³",
            "µgm-3",
            "ugm-3",
        ],
    ),
    (
        u("mg/m³", MassConcentration, 1000.0, 0.0),
        &["mg/m³", "mg/m3", "mgm⁻³"],
    ),
    (
        u("1/cm³", NumberConcentration, 1.0, 0.0),
        &[
            "1/cm³", "1/cm3", "#/cm3", "#/cm³", "cm⁻³", "1cm⁻³", "pcs/cm3",
        ],
    ),
    (u("lx", Illuminance, 1.0, 0.0), &["lx", "lux"]),
    (u("klx", Illuminance, 1000.0, 0.0), &["klx"]),
    (u("m/s", Speed, 1.0, 0.0), &["m/s", "ms⁻¹", "ms-1", "mps"]),
    (u("km/h", Speed, 1.0 / 3.6, 0.0), &["km/h", "kmh", "kph"]),
    (u("kn", Speed, 1852.0 / 3600.0, 0.0), &["kn", "kt", "knots"]),
    (u("mph", Speed, 0.44704, 0.0), &["mph"]),
    (u("°", Angle, 1.0, 0.0), &["°", "deg", "degree", "degrees"]),
    (
        u("dS/m", Conductivity, 1.0, 0.0),
        &["ds/m", "dsm⁻¹", "ms/cm", "mscm⁻¹"],
    ),
    (
        u("µS/cm", Conductivity, 0.001, 0.0),
        &["µs/cm", "us/cm", "µscm⁻¹", "uscm⁻¹"],
    ),
    (u("L", Volume, 0.001, 0.0), &["l", "liter", "litre"]),
    (u("m³", Volume, 1.0, 0.0), &["m³", "m3"]),
    (u("g", Acceleration, 1.0, 0.0), &["g"]),
    (u("mg", Acceleration, 0.001, 0.0), &["mg"]),
    (u("°/s", AngularRate, 1.0, 0.0), &["°/s", "deg/s", "dps"]),
    (u("Hz", Frequency, 1.0, 0.0), &["hz"]),
    (u("W/m²", Irradiance, 1.0, 0.0), &["w/m²", "w/m2", "wm⁻²"]),
    (u("", Count, 1.0, 0.0), &["", "count", "counts", "pcs", "#"]),
    (u("nm", Length, 1e-9, 0.0), &["nm"]),
    (u("µm", Length, 1e-6, 0.0), &["µm", "um"]),
];

/// Whether `spelling`, read leniently, is `candidate` (already in the lenient form).
fn spells(spelling: &str, candidate: &str) -> bool {
    let mut given = spelling
        .chars()
        .filter(|c| !matches!(c, ' ' | '⋅' | '·' | '*' | '\u{a0}'))
        .map(|c| match c {
            'μ' => 'µ',
            c => c.to_ascii_lowercase(),
        });
    let mut wanted = candidate.chars();
    loop {
        match (given.next(), wanted.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

impl Unit {
    /// The unit a spelling means, if it is one this module knows. `°` alone reads as degrees
    /// of angle only through [`Unit::parse_as`] with an angle in mind; on its own it is °C,
    /// as temperature codecs write it.
    pub fn parse(spelling: &str) -> Option<&'static Unit> {
        UNITS
            .iter()
            .find(|(_, spellings)| spellings.iter().any(|s| spells(spelling, s)))
            .map(|(unit, _)| unit)
    }

    /// The unit a spelling means when the value is known to be of `dimension` (`°` is an
    /// angle for a wind direction, a temperature for a thermometer).
    pub fn parse_as(spelling: &str, dimension: Dimension) -> Option<&'static Unit> {
        UNITS
            .iter()
            .filter(|(unit, _)| unit.dimension == dimension)
            .find(|(_, spellings)| spellings.iter().any(|s| spells(spelling, s)))
            .map(|(unit, _)| unit)
    }

    /// The unit whose canonical symbol is `symbol` (the vocabulary's units are such symbols).
    pub fn by_symbol(symbol: &str) -> Option<&'static Unit> {
        UNITS
            .iter()
            .map(|(unit, _)| unit)
            .find(|u| u.symbol == symbol)
    }

    /// `value` in this unit, expressed in `to`; `None` across dimensions.
    pub fn convert(&self, value: f64, to: &Unit) -> Option<f64> {
        if self.dimension != to.dimension {
            return None;
        }
        if self.symbol == to.symbol {
            return Some(value);
        }
        let base = value * self.scale + self.offset;
        Some((base - to.offset) / to.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(v: f64, from: &str, to: &str) -> Option<f64> {
        Unit::parse(from)?.convert(v, Unit::by_symbol(to)?)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    }

    #[test]
    fn spellings_from_published_codecs_are_one_unit() {
        for s in ["μg⋅m⁻³", "ug/m3", "µg/m³", "UG/M3"] {
            assert_eq!(Unit::parse(s).map(|u| u.symbol), Some("µg/m³"), "{s}");
        }
        assert_eq!(Unit::parse("m⋅s⁻¹").map(|u| u.symbol), Some("m/s"));
        assert_eq!(Unit::parse("%RH").map(|u| u.symbol), Some("%"));
        assert_eq!(Unit::parse("mbar").map(|u| u.symbol), Some("hPa"));
        assert_eq!(Unit::parse("°").map(|u| u.symbol), Some("°C"));
        assert_eq!(
            Unit::parse_as("°", Dimension::Angle).map(|u| u.symbol),
            Some("°")
        );
        assert!(Unit::parse("furlongs").is_none());
    }

    #[test]
    fn conversions_into_the_vocabulary_units() {
        assert!(close(convert(102115.0, "Pa", "hPa"), 1021.15));
        assert!(close(convert(2000.0, "mm", "m"), 2.0));
        assert!(close(convert(68.0, "°F", "°C"), 20.0));
        assert!(close(convert(293.15, "K", "°C"), 20.0));
        assert!(close(convert(3600.0, "mV", "V"), 3.6));
        assert!(close(convert(36.0, "km/h", "m/s"), 10.0));
        assert!(close(convert(1500.0, "µS/cm", "dS/m"), 1.5));
        assert!(close(convert(1234.0, "L", "m³"), 1.234));
        assert!(close(convert(400.0, "ppb", "ppm"), 0.4));
        assert_eq!(convert(20.0, "°C", "m"), None);
        assert_eq!(
            convert(20.0, "mg", "µg/m³"),
            None,
            "milli-g is an acceleration"
        );
    }
}
