//! What happens to a codec's output, field by field: which values become readings (quantity,
//! value in the vocabulary's unit) and which are kept aside as unmapped fields for technicians.
//!
//! In order:
//! 1. `normalizeUplink`'s output, where the codec has one, maps term by term (see
//!    [`super::normalized`]); the schema fixes every unit.
//! 2. Every numeric value of the decoded `data` at any depth (`a.b.c`, list items as `a.0`),
//!    every `{value, unit}` pair and every numeric string (`"23.50"`, `"2000 mm"`) is a
//!    candidate. A candidate the normalized output already covers (same quantity and value, or
//!    the same number) is skipped.
//! 3. A candidate becomes a reading only when its quantity *and* unit are known: from a
//!    `[[normalisation]]` rule, from the unit the codec gives, or from the built-in dictionary
//!    of vendor field names ([`super::fields`]). The value is converted into the vocabulary's
//!    unit (Pa -> hPa, mm -> m, °F -> °C); a unit of the wrong dimension is never stored.
//! 4. A value outside its quantity's physical range that is an integer-limit sentinel
//!    (327.67, 65535, ...: what vendors document as "no sensor") is no reading.
//! 5. Everything else is an unmapped field: name, value, why, and a rule to paste.
//!
//! Two readings of one quantity in one uplink become distinct series (`air_temperature`,
//! `air_temperature_2`), unless a rule names them.

use sensorhub_core::units::Unit;
use sensorhub_core::Quantity;
use serde_json::Value as Json;

use super::normalized::{self, Term};
use super::{fields, Measurement};
use crate::normalise::{rule_for, NormalisationRule};

/// How deep decoded data is searched, and how many candidates one uplink may give: a hostile
/// codec's output costs bounded work.
const MAX_DEPTH: usize = 8;
const MAX_CANDIDATES: usize = 256;

/// Longest key (in bytes) and path kept while searching decoded data.
const MAX_KEY: usize = 64;
const MAX_PATH: usize = 256;

/// `key`, cut to [`MAX_KEY`] bytes at a character boundary.
fn truncated(key: &str) -> &str {
    let mut end = key.len().min(MAX_KEY);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

/// What a decoder produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Built-in decoders speak the vocabulary already.
    Vocabulary(Vec<Measurement>),
    /// A JavaScript codec's or a network server's `data`, and `normalizeUplink`'s output.
    Json {
        data: Json,
        normalized: Option<Json>,
    },
}

/// Why a value is no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Neither a rule nor the dictionary knows the field.
    UnknownName,
    /// The quantity is known, but neither the codec nor the dictionary says the unit.
    UnknownUnit,
    /// The codec's unit does not fit the quantity (a length for a temperature).
    WrongUnit,
    /// A "no sensor" sentinel outside the physical range.
    NoSensor,
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::UnknownName => "unknown_name",
            Why::UnknownUnit => "unknown_unit",
            Why::WrongUnit => "wrong_unit",
            Why::NoSensor => "no_sensor",
        }
    }
}

/// A numeric field that did not become a reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    /// The field's path in the decoded data (`battery.value` is reported as `battery`), or
    /// `normalized:PATH` for a term of the normalized output this version does not know.
    pub field: String,
    pub value: f64,
    /// The unit the codec gave, if it gave one.
    pub unit: Option<String>,
    pub why: Why,
    /// The quantity it probably is, for the suggested rule.
    pub quantity: Option<&'static str>,
}

impl Unmapped {
    /// A `[[normalisation]]` rule a technician can paste into the config, after checking it.
    pub fn suggested_rule(&self, device_type: &str) -> String {
        sensorhub_store::suggested_rule(
            device_type,
            &self.field,
            self.unit.as_deref(),
            self.quantity,
        )
    }
}

/// The readings and the unmapped fields of one uplink.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    pub measurements: Vec<Measurement>,
    pub unmapped: Vec<Unmapped>,
}

/// A numeric value found in decoded data.
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    path: String,
    /// The key it was found under (the last segment of the path that is no list index).
    name: String,
    value: f64,
    unit: Option<String>,
    /// A `true`/`false` flag: a reading only where the dictionary names it as a count
    /// (`occupied`); otherwise ignored, since flags are states, not measurements.
    boolean: bool,
}

/// A number, optionally followed by a unit: `"23.50"`, `"2000 mm"`, `"-4.1°C"`. Anything else
/// (versions `"1.2.3"`, dates, hex) is no number.
fn numeric_string(s: &str) -> Option<(f64, Option<String>)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let value: f64 = s[..end].parse().ok()?;
    let rest = s[end..].trim();
    if rest.is_empty() {
        return Some((value, None));
    }
    // `"5F"` and `"1A"` are hex, not 5 °F and 1 A: a unit right after the digits must hold a
    // letter no hex digit is.
    let spaced = s[end..].starts_with(' ');
    if !spaced && rest.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Unit::parse(rest)?;
    Some((value, Some(rest.to_owned())))
}

fn candidates(value: &Json, path: &str, name: &str, depth: usize, out: &mut Vec<Candidate>) {
    if out.len() >= MAX_CANDIDATES || depth > MAX_DEPTH {
        return;
    }
    let mut push = |name: &str, value: f64, unit: Option<String>, boolean: bool| {
        if value.is_finite() {
            out.push(Candidate {
                path: path.to_owned(),
                name: name.to_owned(),
                value,
                unit,
                boolean,
            });
        }
    };
    match value {
        Json::Number(n) => push(name, n.as_f64().unwrap_or(f64::NAN), None, false),
        Json::String(s) => {
            if let Some((v, unit)) = numeric_string(s) {
                push(name, v, unit, false);
            }
        }
        Json::Bool(b) => push(name, f64::from(u8::from(*b)), None, true),
        Json::Object(map) => {
            // `{value, unit}` (Decentlab, Tektelic and others), or `{value}` alone: one
            // candidate under the object's name, with the unit where there is one.
            let pair_value = map.get("value").and_then(|v| match v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => numeric_string(s)
                    .filter(|(_, u)| u.is_none())
                    .map(|(v, _)| v),
                _ => None,
            });
            if let Some(v) = pair_value {
                let unit = map.get("unit").and_then(Json::as_str).map(str::to_owned);
                push(name, v, unit, false);
                return;
            }
            // SenseCAP's `{measurementId, measurementValue}`: the id names the quantity.
            let id = map.get("measurementId").and_then(Json::as_u64);
            let v = map.get("measurementValue").and_then(Json::as_f64);
            if let (Some(id), Some(v)) = (id, v) {
                push(&format!("sensecap:{id}"), v, None, false);
                return;
            }
            for (key, child) in map {
                if out.len() >= MAX_CANDIDATES || path.len() > MAX_PATH {
                    return;
                }
                let key = truncated(key);
                let child_path = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                candidates(child, &child_path, key, depth + 1, out);
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if out.len() >= MAX_CANDIDATES || path.len() > MAX_PATH {
                    return;
                }
                candidates(child, &format!("{path}.{i}"), name, depth + 1, out);
            }
        }
        Json::Null => {}
    }
}

/// Integer limits that vendors send for "no sensor" (0x7FFF as 327.67 °C, 0xFFFF, ...), read
/// with up to `decimals` decimal places.
fn is_sentinel(value: f64, limits: &[f64], decimals: i32) -> bool {
    (0..=decimals).any(|k| {
        let x = value * 10f64.powi(k);
        limits.iter().any(|l| (x - l).abs() < 1e-6)
    })
}

/// Any integer type's limits, for values outside their quantity's range.
const ANY_LIMIT: [f64; 8] = [
    32767.0,
    -32768.0,
    -32767.0,
    65535.0,
    2147483647.0,
    -2147483648.0,
    4294967295.0,
    255.0,
];
/// 16-bit limits, for temperatures: no probe in this field reports exactly 327.67 °C, so these
/// are sentinels even where the range would allow them.
const TEMPERATURE_LIMIT: [f64; 4] = [32767.0, -32768.0, -32767.0, 65535.0];

/// The quantities and unit a candidate's name implies: a dictionary name, a vocabulary name as
/// such (a codec that speaks the vocabulary gives the vocabulary's unit), or either with a unit
/// suffix (`co2_ppm`, `Bat_mV`, `distance_mm`).
fn known_name(device_type: &str, name: &str) -> Option<(&'static [&'static str], Option<String>)> {
    let vocabulary = |name: &str| {
        Quantity::by_name(name).map(|q| (std::slice::from_ref(&q.name), Some(q.unit.to_owned())))
    };
    // A compound vocabulary name (`water_level`, `air_temperature_2`) is sensorhub's own
    // interface: a codec written for it gives the vocabulary's unit. Single words
    // (`distance`, `voltage`) are vendors' words too, in their units: the dictionary decides.
    if name.contains('_') && !fields::is_scoped(device_type, name) {
        if let Some(known) = vocabulary(name) {
            return Some(known);
        }
    }
    if let Some(known) = fields::lookup(device_type, name) {
        return Some((known.quantities, known.unit.map(str::to_owned)));
    }
    if fields::is_scoped(device_type, name) {
        return None;
    }
    if let Some(known) = vocabulary(name) {
        return Some(known);
    }
    let (base, suffix) = name.rsplit_once(['_', '-'])?;
    Unit::parse(suffix).filter(|u| !u.symbol.is_empty())?;
    let known = fields::lookup(device_type, base)
        .map(|k| k.quantities)
        .or_else(|| Quantity::by_name(base).map(|q| std::slice::from_ref(&q.name)))?;
    Some((known, Some(suffix.to_owned())))
}

/// One candidate's fate: a reading, or why not.
fn map_candidate(
    c: &Candidate,
    rules: &[NormalisationRule],
    device_type: &str,
) -> Result<Measurement, Unmapped> {
    let unmapped = |why: Why, quantity: Option<&'static str>| Unmapped {
        field: c.path.clone(),
        value: c.value,
        unit: c.unit.clone(),
        why,
        quantity,
    };
    if let Some(rule) = rule_for(rules, device_type, &c.path) {
        let Some(q) = Quantity::by_name(&rule.quantity) else {
            return Err(unmapped(Why::UnknownName, None));
        };
        let value = c.value * rule.scale + rule.offset;
        let value = match rule.unit.as_deref().or(c.unit.as_deref()) {
            Some(unit) => Unit::parse_as(unit, q.unit().dimension)
                .and_then(|u| u.convert(value, q.unit()))
                .ok_or_else(|| unmapped(Why::WrongUnit, Some(q.name)))?,
            None => value,
        };
        return Ok(Measurement {
            quantity: rule.quantity.clone(),
            unit: q.unit.to_owned(),
            value,
        });
    }
    let Some((quantities, implied_unit)) = known_name(device_type, &c.name) else {
        return Err(unmapped(Why::UnknownName, None));
    };
    if c.boolean && implied_unit.as_deref() != Some("") {
        return Err(unmapped(Why::UnknownName, None));
    }
    // A compound vocabulary name keeps its series (`air_temperature_3`).
    let series_name = (c.name.contains('_')
        && !fields::is_scoped(device_type, &c.name)
        && Quantity::by_name(&c.name).is_some())
    .then(|| c.name.clone());
    let Some(unit) = c.unit.clone().or(implied_unit) else {
        return Err(unmapped(Why::UnknownUnit, quantities.first().copied()));
    };
    let chosen = quantities.iter().find_map(|name| {
        let q = Quantity::by_name(name)?;
        let from = Unit::parse_as(&unit, q.unit().dimension)?;
        Some((q, from.convert(c.value, q.unit())?))
    });
    let Some((q, value)) = chosen else {
        return Err(unmapped(Why::WrongUnit, quantities.first().copied()));
    };
    let temperature = q.unit().dimension == sensorhub_core::units::Dimension::Temperature;
    let sentinel = (!q.is_plausible(value) && is_sentinel(c.value, &ANY_LIMIT, 3))
        || (temperature && is_sentinel(c.value, &TEMPERATURE_LIMIT, 2));
    if sentinel {
        return Err(unmapped(Why::NoSensor, Some(q.name)));
    }
    Ok(Measurement {
        quantity: series_name.unwrap_or_else(|| q.name.to_owned()),
        unit: q.unit.to_owned(),
        value,
    })
}

/// The base quantity of a series name (`air_temperature_2` -> `air_temperature`).
fn base(series: &str) -> &'static str {
    Quantity::by_name(series).map_or("", |q| q.name)
}

/// The same number, but for the last bits of a conversion.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Adds `m` under a series name not yet used in this uplink.
/// Readings one uplink may give at most, and series of one name: a payload that repeats a
/// term thousands of times costs bounded work and creates no thousands of series.
const MAX_READINGS: usize = MAX_CANDIDATES;
const MAX_SERIES_PER_NAME: usize = 16;

/// Adds `m` under a series name not yet used in this uplink; `false` when it is dropped
/// because the uplink already gave too many.
fn push_distinct(out: &mut Vec<Measurement>, mut m: Measurement) -> bool {
    if out.len() >= MAX_READINGS {
        return false;
    }
    if out.iter().any(|o| o.quantity == m.quantity) {
        let stem = m.quantity.clone();
        let free = (2..=MAX_SERIES_PER_NAME).find(|n| {
            let name = format!("{stem}_{n}");
            !out.iter().any(|o| o.quantity == name)
        });
        let Some(n) = free else {
            return false;
        };
        m.quantity = format!("{stem}_{n}");
    }
    out.push(m);
    true
}

/// Maps one decoder's output onto the vocabulary (see the module doc).
pub fn map(output: Output, rules: &[NormalisationRule], device_type: &str) -> Mapped {
    let mut mapped = Mapped::default();
    match output {
        Output::Vocabulary(measurements) => {
            for m in measurements {
                let c = Candidate {
                    path: m.quantity.clone(),
                    name: m.quantity.clone(),
                    value: m.value,
                    unit: Some(m.unit.clone()),
                    boolean: false,
                };
                // Built-in decoders name their series already: only rules rename them.
                if Quantity::by_name(&m.quantity).is_none()
                    && rule_for(rules, device_type, &c.path).is_none()
                {
                    mapped.unmapped.push(Unmapped {
                        field: c.path,
                        value: c.value,
                        unit: c.unit,
                        why: Why::UnknownName,
                        quantity: None,
                    });
                    continue;
                }
                let m = match rule_for(rules, device_type, &c.path) {
                    Some(_) => match map_candidate(&c, rules, device_type) {
                        Ok(m) => m,
                        Err(u) => {
                            mapped.unmapped.push(u);
                            continue;
                        }
                    },
                    None => m,
                };
                push_distinct(&mut mapped.measurements, m);
            }
        }
        Output::Json { data, normalized } => {
            let mut from_normalized: Vec<(f64, &'static str)> = Vec::new();
            for term in normalized
                .as_ref()
                .map(normalized::terms)
                .unwrap_or_default()
            {
                match term {
                    Term::Reading {
                        path,
                        quantity,
                        value,
                    } => {
                        let quantity =
                            fields::normalized_term(device_type, &path).unwrap_or(quantity);
                        from_normalized.push((value, quantity));
                        let m = match rule_for(rules, device_type, &path) {
                            Some(rule) => {
                                let Some(q) = Quantity::by_name(&rule.quantity) else {
                                    continue;
                                };
                                let value = value * rule.scale + rule.offset;
                                let converted = match rule.unit.as_deref() {
                                    Some(unit) => Unit::parse_as(unit, q.unit().dimension)
                                        .and_then(|u| u.convert(value, q.unit())),
                                    None => Some(value),
                                };
                                let Some(value) = converted else {
                                    continue;
                                };
                                Measurement {
                                    quantity: rule.quantity.clone(),
                                    unit: q.unit.to_owned(),
                                    value,
                                }
                            }
                            None => Measurement {
                                quantity: quantity.to_owned(),
                                unit: Quantity::by_name(quantity)
                                    .map_or("", |q| q.unit)
                                    .to_owned(),
                                value,
                            },
                        };
                        push_distinct(&mut mapped.measurements, m);
                    }
                    Term::Unknown { path, value } => mapped.unmapped.push(Unmapped {
                        field: format!("normalized:{path}"),
                        value,
                        unit: None,
                        why: Why::UnknownName,
                        quantity: None,
                    }),
                }
            }
            let mut found = Vec::new();
            candidates(&data, "", "", 0, &mut found);
            for c in found {
                let result = map_candidate(&c, rules, device_type);
                // Given already: the same quantity with the same value; for a field that
                // became no reading, the same number (it is listed nowhere then).
                let covered = from_normalized.iter().any(|&(v, q)| match &result {
                    Ok(m) => base(&m.quantity) == q && same(m.value, v),
                    Err(_) => same(c.value, v),
                });
                // A flag the dictionary does not name is a state, not a measurement.
                let ignored = c.boolean && result.is_err();
                if covered || ignored {
                    continue;
                }
                match result {
                    Ok(m) => {
                        push_distinct(&mut mapped.measurements, m);
                    }
                    Err(u) => mapped.unmapped.push(u),
                }
            }
        }
    }
    mapped.unmapped.truncate(MAX_CANDIDATES);
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json(data: Json, normalized: Option<Json>) -> Mapped {
        map(Output::Json { data, normalized }, &[], "js:test.js")
    }

    fn reading<'a>(m: &'a Mapped, q: &str) -> Option<&'a Measurement> {
        m.measurements.iter().find(|x| x.quantity == q)
    }

    #[test]
    fn value_unit_pairs_at_any_depth_are_converted() {
        // Decentlab's shape: {value, unit} under vocabulary-like names.
        let m = json(
            json!({"barometric_pressure": {"displayName": "Barometric pressure", "unit": "Pa", "value": 102115},
                   "distance": {"unit": "mm", "value": 2000},
                   "sensor": {"inner": {"TempC_SHT": 21.25}}}),
            None,
        );
        assert_eq!(reading(&m, "air_pressure").unwrap().value, 1021.15);
        assert_eq!(reading(&m, "distance").unwrap().value, 2.0);
        assert_eq!(reading(&m, "air_temperature").unwrap().value, 21.25);
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    }

    #[test]
    fn a_known_name_without_a_unit_is_never_stored() {
        let m = json(
            json!({"distance": 2000, "pressure": 102115, "AirPressure": 1013}),
            None,
        );
        assert!(m.measurements.is_empty(), "{:?}", m.measurements);
        assert_eq!(m.unmapped.len(), 3);
        assert!(m.unmapped.iter().all(|u| u.why == Why::UnknownUnit));
        let distance = m.unmapped.iter().find(|u| u.field == "distance").unwrap();
        let rule = distance.suggested_rule("js:test.js");
        assert!(rule.contains("quantity = \"distance\""), "{rule}");
    }

    #[test]
    fn hex_strings_are_no_numbers_with_units() {
        let m = json(
            json!({"temperature": "5F", "current": "1A", "t2": "-4.1°C"}),
            None,
        );
        assert!(m.measurements.is_empty(), "{:?}", m.measurements);
        assert_eq!(m.unmapped.len(), 1, "{:?}", m.unmapped); // t2: a number, unknown name
        assert_eq!(numeric_string("20 F"), Some((20.0, Some("F".into()))));
    }

    #[test]
    fn built_in_series_keep_their_names_unless_a_rule_renames_them() {
        let m = map(
            Output::Vocabulary(vec![Measurement {
                quantity: "motion".into(),
                unit: String::new(),
                value: 3.0,
            }]),
            &[],
            "elsys-ers",
        );
        assert_eq!(m.measurements[0].quantity, "motion");
    }

    #[test]
    fn compound_vocabulary_names_speak_the_vocabularys_unit() {
        let m = json(
            json!({"water_level": 1.234, "air_temperature_3": 8.5, "voltage": 3300}),
            None,
        );
        assert_eq!(reading(&m, "water_level").unwrap().value, 1.234);
        assert_eq!(reading(&m, "air_temperature_3").unwrap().value, 8.5);
        // A single word is a vendor's word too, in the vendor's unit (here mV): not stored.
        assert_eq!(m.unmapped.len(), 1);
        assert_eq!(m.unmapped[0].why, Why::UnknownUnit);
    }

    #[test]
    fn vendor_names_numeric_strings_and_unit_suffixes() {
        let m = json(
            json!({"Temp": "23.50", "Humi": 41, "CO2_ppm": 612, "PM2_5": 7, "pm1_0": 3, "BatV": 3.05,
                   "Distance": "1234 mm", "battery": {"value": 87, "unit": "%"}, "Bat_mV": 3600,
                   "firmware": "1.2.3", "status": "ok"}),
            None,
        );
        let got = |q: &str| reading(&m, q).map(|x| x.value);
        assert_eq!(got("air_temperature"), Some(23.5));
        assert_eq!(got("relative_humidity"), Some(41.0));
        assert_eq!(got("co2"), Some(612.0));
        assert_eq!(got("pm2_5"), Some(7.0));
        assert_eq!(got("pm1_0"), Some(3.0));
        assert_eq!(got("battery_voltage"), Some(3.05));
        assert_eq!(got("battery_voltage_2"), Some(3.6));
        assert_eq!(got("battery_level"), Some(87.0));
        assert_eq!(got("distance"), Some(1.234));
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    }

    #[test]
    fn wrong_units_and_sentinels_are_no_readings() {
        let m = json(
            json!({"temperature": {"value": 20, "unit": "mm"}, "TempC_DS": 327.67, "x": 5}),
            None,
        );
        assert!(m.measurements.is_empty(), "{:?}", m.measurements);
        let why: Vec<_> = m
            .unmapped
            .iter()
            .map(|u| (u.field.as_str(), u.why))
            .collect();
        assert_eq!(
            why,
            [
                ("TempC_DS", Why::NoSensor),
                ("temperature", Why::WrongUnit),
                ("x", Why::UnknownName)
            ]
        );
    }

    #[test]
    fn normalized_first_then_what_it_leaves_out_and_duplicates_apart() {
        let normalized = json!([
            {"air": {"temperature": 21.3, "location": "indoor"}},
            {"air": {"temperature": 4.5, "location": "outdoor"}}
        ]);
        let data = json!({"temperature": 21.3, "temperature_out": 4.5, "co2": 800, "raw": 17});
        let m = json(data, Some(normalized));
        let names: Vec<_> = m
            .measurements
            .iter()
            .map(|m| (m.quantity.as_str(), m.value))
            .collect();
        assert_eq!(
            names,
            [
                ("air_temperature", 21.3),
                ("air_temperature_2", 4.5),
                ("co2", 800.0)
            ]
        );
        assert_eq!(m.unmapped.len(), 1);
        assert_eq!(m.unmapped[0].field, "raw");
    }

    #[test]
    fn rules_name_fields_by_path_and_convert_units() {
        let rules = vec![NormalisationRule {
            device_type: "js:test.js".into(),
            field: "sensor.level".into(),
            quantity: "water_level".into(),
            scale: 1.0,
            offset: 0.0,
            unit: Some("cm".into()),
        }];
        let m = map(
            Output::Json {
                data: json!({"sensor": {"level": 250}}),
                normalized: None,
            },
            &rules,
            "js:test.js",
        );
        assert_eq!(reading(&m, "water_level").unwrap().value, 2.5);
    }

    #[test]
    fn a_rule_names_the_second_of_two_normalized_terms() {
        let rules = vec![NormalisationRule {
            device_type: "js:test.js".into(),
            field: "1:air.temperature".into(),
            quantity: "water_temperature".into(),
            scale: 1.0,
            offset: 0.0,
            unit: None,
        }];
        let normalized = json!([{"air": {"temperature": 21.3}}, {"air": {"temperature": 8.5}}]);
        let m = map(
            Output::Json {
                data: json!({}),
                normalized: Some(normalized),
            },
            &rules,
            "js:test.js",
        );
        assert_eq!(reading(&m, "air_temperature").unwrap().value, 21.3);
        assert_eq!(reading(&m, "water_temperature").unwrap().value, 8.5);
        assert!(reading(&m, "air_temperature_2").is_none());
    }

    #[test]
    fn hostile_output_costs_bounded_work() {
        let wide: serde_json::Map<String, Json> =
            (0..10_000).map(|i| (format!("f{i}"), json!(i))).collect();
        let m = json(Json::Object(wide), None);
        assert_eq!(m.unmapped.len(), MAX_CANDIDATES);
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!({ "a": deep });
        }
        assert!(json(deep, None).unmapped.is_empty());
        // A network server passes a sender's normalized payload through: 10,000 repeats of one
        // term give a bounded number of series, at once.
        let many: Vec<Json> = (0..10_000)
            .map(|i| json!({"air": {"temperature": i % 50}, "x": i}))
            .collect();
        let started = std::time::Instant::now();
        let m = json(json!({}), Some(Json::Array(many)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(m.measurements.len(), MAX_SERIES_PER_NAME);
        assert!(m.unmapped.len() <= MAX_CANDIDATES);
        // Long keys and wide lists are cut, not copied into every path.
        let long = "k".repeat(1 << 20);
        let wide = json!({ long: (0..100_000).collect::<Vec<_>>() });
        let m = json(wide, None);
        assert!(m.unmapped.len() <= MAX_CANDIDATES);
        assert!(m.unmapped.iter().all(|u| u.field.len() <= MAX_PATH + 16));
    }
}
