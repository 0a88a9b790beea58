//! The Things Network's normalized payload (`normalizeUplink`'s output, schema `lib/payload.json`
//! of the device repository) mapped onto the quantity vocabulary, every term of it.
//!
//! The schema fixes each term's unit, so a normalized value is always a reading; it is converted
//! where the vocabulary's unit differs (soil depth in cm, water meter totals in L). Booleans and
//! the two-valued strings of the schema become 0/1. When one normalized list carries a term
//! twice (indoor and outdoor air temperature), the second is `air_temperature_2`, the third
//! `air_temperature_3`: never one overwriting the other.

use serde_json::Value as Json;

/// One term: its path in a measurement object, the quantity, and the unit the schema gives.
const TERMS: &[(&str, &str, &str)] = &[
    ("battery", "battery_voltage", "V"),
    ("air.temperature", "air_temperature", "°C"),
    ("air.relativeHumidity", "relative_humidity", "%"),
    ("air.pressure", "air_pressure", "hPa"),
    ("air.co2", "co2", "ppm"),
    ("air.lightIntensity", "illuminance", "lx"),
    ("soil.depth", "soil_depth", "cm"),
    ("soil.moisture", "soil_moisture", "%"),
    ("soil.temperature", "soil_temperature", "°C"),
    ("soil.ec", "soil_ec", "dS/m"),
    ("soil.pH", "soil_ph", ""),
    ("soil.n", "soil_nitrogen", "ppm"),
    ("soil.p", "soil_phosphorus", "ppm"),
    ("soil.k", "soil_potassium", "ppm"),
    ("wind.speed", "wind_speed", "m/s"),
    ("wind.direction", "wind_direction", "°"),
    ("water.leak", "water_leak", ""),
    ("water.temperature.current", "water_temperature", "°C"),
    ("water.temperature.avg", "water_temperature_avg", "°C"),
    ("water.temperature.min", "water_temperature_min", "°C"),
    ("water.temperature.max", "water_temperature_max", "°C"),
    ("metering.water.total", "water_volume", "L"),
    ("action.motion.detected", "motion_detected", ""),
    ("action.motion.count", "motion_count", ""),
    ("action.contactState", "contact_open", ""),
    ("position.latitude", "latitude", "°"),
    ("position.longitude", "longitude", "°"),
];

/// Terms that are descriptions of a measurement, not values.
const CONTEXT: &[&str] = &["time", "air.location"];

/// A value of the normalized payload: its path (`air.temperature`, or `2:air.temperature` for
/// the third item of a list), the quantity and value in the vocabulary's unit, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Reading {
        path: String,
        quantity: &'static str,
        value: f64,
    },
    /// A number the schema of this version has no term for.
    Unknown { path: String, value: f64 },
}

fn get<'a>(item: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.').try_fold(item, |v, key| v.get(key))
}

/// The schema's booleans and two-valued strings as numbers.
fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::String(s) => match s.as_str() {
            "open" | "true" => Some(1.0),
            "closed" | "false" => Some(0.0),
            _ => s.trim().parse().ok(),
        },
        _ => None,
    }
}

/// Items of a normalized list read, and values taken from one payload, at most.
const MAX_ITEMS: usize = 64;
const MAX_TERMS: usize = 256;

/// Numeric leaves below `value` (a few levels, a bounded number), with their dotted paths.
fn leaves(value: &Json, path: &str, depth: usize, out: &mut Vec<(String, f64)>) {
    if depth > 4 || out.len() >= MAX_TERMS {
        return;
    }
    match value {
        Json::Object(map) => {
            for (k, v) in map.iter().take(MAX_TERMS) {
                let k: String = k.chars().take(64).collect();
                let p = if path.is_empty() {
                    k
                } else {
                    format!("{path}.{k}")
                };
                leaves(v, &p, depth + 1, out);
            }
        }
        Json::Number(n) => out.extend(n.as_f64().map(|v| (path.to_owned(), v))),
        _ => {}
    }
}

/// All values of a normalized payload (one measurement object or a list of them).
pub fn terms(normalized: &Json) -> Vec<Term> {
    let items: Vec<&Json> = match normalized {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    // A normalized payload is a few measurements; a hostile one (a network server passes it
    // through) costs bounded work.
    for (index, item) in items.into_iter().enumerate().take(MAX_ITEMS) {
        if out.len() >= MAX_TERMS {
            break;
        }
        let prefix = if index == 0 {
            String::new()
        } else {
            format!("{index}:")
        };
        for (path, quantity, unit) in TERMS {
            let Some(value) = get(item, path).and_then(number) else {
                continue;
            };
            let q = sensorhub_core::Quantity::by_name(quantity).expect("terms name quantities");
            let from = sensorhub_core::units::Unit::by_symbol(unit)
                .filter(|u| u.dimension == q.unit().dimension)
                .expect("terms give units of their quantity's dimension");
            let Some(value) = from.convert(value, q.unit()).filter(|v| v.is_finite()) else {
                continue;
            };
            out.push(Term::Reading {
                path: format!("{prefix}{path}"),
                quantity,
                value,
            });
        }
        let mut numbers = Vec::new();
        leaves(item, "", 0, &mut numbers);
        for (path, value) in numbers {
            let known = TERMS.iter().any(|(p, _, _)| *p == path) || CONTEXT.contains(&&*path);
            if !known && value.is_finite() {
                out.push(Term::Unknown {
                    path: format!("{prefix}{path}"),
                    value,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_converts_into_its_quantity() {
        let all = serde_json::json!({
            "battery": 3.6,
            "air": {"temperature": 21.5, "relativeHumidity": 40, "pressure": 1013.2, "co2": 415,
                    "lightIntensity": 300, "location": "indoor"},
            "soil": {"depth": 20, "moisture": 31, "temperature": 9.5, "ec": 1.2, "pH": 6.5,
                     "n": 10, "p": 5, "k": 20},
            "wind": {"speed": 7.5, "direction": 270},
            "water": {"leak": true, "temperature": {"min": 4, "max": 6, "avg": 5, "current": 5.5}},
            "metering": {"water": {"total": 1234}},
            "action": {"motion": {"detected": false, "count": 17}, "contactState": "open"},
            "position": {"latitude": 54.7, "longitude": 8.5},
            "time": "2024-05-01T00:00:00Z",
            "newTerm": 5
        });
        let got = terms(&all);
        let reading = |q: &str| {
            got.iter().find_map(|t| match t {
                Term::Reading {
                    quantity, value, ..
                } if *quantity == q => Some(*value),
                _ => None,
            })
        };
        assert_eq!(reading("soil_depth"), Some(0.2));
        assert_eq!(reading("water_volume"), Some(1.234));
        assert_eq!(reading("water_leak"), Some(1.0));
        assert_eq!(reading("contact_open"), Some(1.0));
        assert_eq!(reading("motion_count"), Some(17.0));
        assert_eq!(reading("water_temperature_max"), Some(6.0));
        assert_eq!(
            got.iter()
                .filter(|t| matches!(t, Term::Reading { .. }))
                .count(),
            TERMS.len()
        );
        assert_eq!(
            got.iter()
                .filter(|t| matches!(t, Term::Unknown { .. }))
                .collect::<Vec<_>>(),
            [&Term::Unknown {
                path: "newTerm".into(),
                value: 5.0
            }]
        );
    }
}
