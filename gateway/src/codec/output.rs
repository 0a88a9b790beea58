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
use sensorhub_store::DeviceType;
use serde_json::Value as Json;

use super::normalized::{self, Term};
use super::{fields, Measurement};
use crate::normalise::{rule_for, NormalisationRule};

mod candidates;
use candidates::candidates;

/// How deep decoded data is searched, and how many candidates one uplink may give: a hostile
/// codec's output costs bounded work.
const MAX_DEPTH: usize = 8;
const MAX_CANDIDATES: usize = 256;

/// Longest key (in bytes) and path kept while searching decoded data.
const MAX_KEY: usize = 64;
const MAX_PATH: usize = 256;

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

/// What a candidate's name implies: the quantities it can mean, its unit where the name says
/// one, and whether the series keeps the codec's name. In order: the codec's own meaning of
/// the field; a compound vocabulary name (`water_level`, `air_temperature_2`), sensorhub's own
/// interface, in the vocabulary's unit; the dictionary; a single vocabulary word; either with a
/// unit suffix (`co2_ppm`, `Bat_mV`, `distance_mm`). Single words (`distance`, `voltage`) are
/// vendors' words too, in their units: the dictionary decides those before the vocabulary.
struct Named {
    quantities: &'static [&'static str],
    unit: Option<String>,
    keeps_name: bool,
}

fn known_name(device_type: &str, name: &str) -> Option<Named> {
    let named = |known: fields::Known| Named {
        quantities: known.quantities,
        unit: known.unit.map(str::to_owned),
        keeps_name: false,
    };
    let vocabulary = |name: &str, keeps_name: bool| {
        Quantity::by_name(name).map(|q| Named {
            quantities: std::slice::from_ref(&q.name),
            unit: Some(q.unit.to_owned()),
            keeps_name,
        })
    };
    let common = match fields::meaning(device_type, name) {
        fields::Meaning::ByCodec(known) => return known.map(named),
        fields::Meaning::Common(known) => Some(known),
        fields::Meaning::Unknown => None,
    };
    if name.contains('_') {
        if let Some(named) = vocabulary(name, true) {
            return Some(named);
        }
    }
    if let Some(known) = common {
        return Some(named(known));
    }
    if let Some(named) = vocabulary(name, false) {
        return Some(named);
    }
    let (base, suffix) = name.rsplit_once(['_', '-'])?;
    Unit::parse(suffix).filter(|u| !u.symbol.is_empty())?;
    let quantities = fields::lookup(device_type, base)
        .map(|k| k.quantities)
        .or_else(|| Quantity::by_name(base).map(|q| std::slice::from_ref(&q.name)))?;
    Some(Named {
        quantities,
        unit: Some(suffix.to_owned()),
        keeps_name: false,
    })
}

/// A value under a rule: `value * scale + offset`, converted from `unit` (the rule's, else
/// the one the value came with) into the unit of the rule's quantity. `Err` carries that
/// quantity when the unit does not fit it, `None` when the rule names no vocabulary quantity.
fn apply_rule(
    rule: &NormalisationRule,
    value: f64,
    unit: Option<&str>,
) -> Result<Measurement, Option<&'static str>> {
    let q = Quantity::by_name(&rule.quantity).ok_or(None)?;
    let value = value * rule.scale + rule.offset;
    let value = match rule.unit.as_deref().or(unit) {
        Some(unit) => Unit::parse_as(unit, q.unit().dimension)
            .and_then(|u| u.convert(value, q.unit()))
            .ok_or(Some(q.name))?,
        None => value,
    };
    Ok(Measurement {
        quantity: rule.quantity.clone(),
        unit: q.unit.to_owned(),
        value,
    })
}

/// Why a rule gave no reading, from [`apply_rule`]'s error.
fn rule_refused(quantity: Option<&'static str>) -> Why {
    match quantity {
        Some(_) => Why::WrongUnit,
        None => Why::UnknownName,
    }
}

/// One candidate's fate: a reading, or why not.
fn map_candidate(
    c: &Candidate,
    rules: &[NormalisationRule],
    device_type: &DeviceType,
) -> Result<Measurement, Unmapped> {
    let unmapped = |why: Why, quantity: Option<&'static str>| Unmapped {
        field: c.path.clone(),
        value: c.value,
        unit: c.unit.clone(),
        why,
        quantity,
    };
    if let Some(rule) = rule_for(rules, device_type, &c.path) {
        return apply_rule(rule, c.value, c.unit.as_deref())
            .map_err(|q| unmapped(rule_refused(q), q));
    }
    let Some(Named {
        quantities,
        unit: implied_unit,
        keeps_name,
    }) = known_name(device_type.as_str(), &c.name)
    else {
        return Err(unmapped(Why::UnknownName, None));
    };
    if c.boolean && implied_unit.as_deref() != Some("") {
        return Err(unmapped(Why::UnknownName, None));
    }
    // A compound vocabulary name keeps its series (`air_temperature_3`).
    let series_name = keeps_name.then(|| c.name.clone());
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

/// Readings one uplink may give at most, and series of one name: a payload that repeats a
/// term thousands of times costs bounded work and creates no thousands of series.
const MAX_READINGS: usize = MAX_CANDIDATES;
const MAX_SERIES_PER_NAME: usize = 16;

/// Adds `m` under a series name not yet used in this uplink; drops it when the uplink gave
/// too many already.
fn push_distinct(out: &mut Vec<Measurement>, mut m: Measurement) {
    if out.len() >= MAX_READINGS {
        return;
    }
    if out.iter().any(|o| o.quantity == m.quantity) {
        let stem = m.quantity.clone();
        let free = (2..=MAX_SERIES_PER_NAME).find(|n| {
            let name = format!("{stem}_{n}");
            !out.iter().any(|o| o.quantity == name)
        });
        let Some(n) = free else {
            return;
        };
        m.quantity = format!("{stem}_{n}");
    }
    out.push(m);
}

/// Maps one decoder's output onto the vocabulary (see the module doc).
pub fn map(output: Output, rules: &[NormalisationRule], device_type: &DeviceType) -> Mapped {
    let mut mapped = Mapped::default();
    match output {
        Output::Vocabulary(measurements) => {
            // Built-in decoders name their series already: only rules rename them.
            for m in measurements {
                let m = match rule_for(rules, device_type, &m.quantity) {
                    Some(rule) => match apply_rule(rule, m.value, Some(&m.unit)) {
                        Ok(renamed) => renamed,
                        Err(q) => {
                            mapped.unmapped.push(Unmapped {
                                field: m.quantity,
                                value: m.value,
                                unit: Some(m.unit),
                                why: rule_refused(q),
                                quantity: q,
                            });
                            continue;
                        }
                    },
                    None if Quantity::by_name(&m.quantity).is_some() => m,
                    None => {
                        mapped.unmapped.push(Unmapped {
                            field: m.quantity,
                            value: m.value,
                            unit: Some(m.unit),
                            why: Why::UnknownName,
                            quantity: None,
                        });
                        continue;
                    }
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
                        let quantity = fields::normalized_term(device_type.as_str(), &path)
                            .unwrap_or(quantity);
                        from_normalized.push((value, quantity));
                        let m = match rule_for(rules, device_type, &path) {
                            // The term's value is in its quantity's unit already.
                            Some(rule) => match apply_rule(rule, value, None) {
                                Ok(m) => m,
                                Err(_) => continue,
                            },
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
                    Ok(m) => push_distinct(&mut mapped.measurements, m),
                    Err(u) => mapped.unmapped.push(u),
                }
            }
        }
    }
    mapped.unmapped.truncate(MAX_CANDIDATES);
    mapped
}

#[cfg(test)]
mod tests;
