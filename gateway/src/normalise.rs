//! Normalisation: decoder output -> the quantity vocabulary.
//!
//! Built-in decoders already speak the vocabulary. For anything else (a JavaScript codec's
//! vendor field names, an LPP channel that measures water rather than air) the config maps a
//! decoder field of a device type onto a vocabulary quantity, with an optional linear
//! conversion:
//!
//! ```toml
//! [[normalisation]]
//! device_type = "js:/etc/sensorhub/codecs/level.js"   # or "cayenne-lpp", or "*" for all
//! field = "level_mm"
//! quantity = "water_level"
//! scale = 0.001                                        # value * scale + offset
//! ```
//!
//! Fields that end up outside the vocabulary are dropped (and logged once per batch at debug
//! level): published data and dashboards speak only the vocabulary.

use sensorhub_core::Quantity;
use serde::{Deserialize, Serialize};

use crate::codec::Measurement;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisationRule {
    /// A device type (`cayenne-lpp`, `js:PATH`, ...) or `*` for every type.
    pub device_type: String,
    /// The field as the decoder names it.
    pub field: String,
    /// The vocabulary quantity it becomes.
    pub quantity: String,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
}

fn one() -> f64 {
    1.0
}

/// Problems with the rules, one sentence each.
pub fn problems(rules: &[NormalisationRule]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        if Quantity::by_name(&r.quantity).is_none() {
            problems.push(format!(
                "normalisation[{i}].quantity: `{}` is not in the quantity vocabulary",
                r.quantity
            ));
        }
        let known = r.device_type == "*"
            || r.device_type.starts_with("js:")
            || crate::codec::is_known(&r.device_type);
        if !known {
            problems.push(format!(
                "normalisation[{i}].device_type: `{}` is not a device type",
                r.device_type
            ));
        }
        if !(r.scale.is_finite() && r.offset.is_finite()) {
            problems.push(format!(
                "normalisation[{i}]: scale and offset must be numbers"
            ));
        }
    }
    problems
}

/// Applies the rules of `device_type` and keeps what is in the vocabulary, with its unit.
pub fn normalise(
    rules: &[NormalisationRule],
    device_type: &str,
    measurements: Vec<Measurement>,
) -> Vec<Measurement> {
    measurements
        .into_iter()
        .filter_map(|mut m| {
            let rule = rules
                .iter()
                .find(|r| r.field == m.quantity && r.device_type == device_type)
                .or_else(|| rules.iter().find(|r| r.field == m.quantity && r.device_type == "*"));
            if let Some(rule) = rule {
                m.quantity = rule.quantity.clone();
                m.value = m.value * rule.scale + rule.offset;
                m.unit.clear();
            }
            let Some(q) = Quantity::by_name(&m.quantity) else {
                tracing::debug!(device_type, field = %m.quantity, "decoder field outside the vocabulary dropped; map it with [[normalisation]]");
                return None;
            };
            if m.unit.is_empty() {
                m.unit = q.unit.to_owned();
            }
            Some(m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, v: f64) -> Measurement {
        Measurement {
            quantity: q.into(),
            unit: String::new(),
            value: v,
        }
    }

    #[test]
    fn rules_rename_convert_and_unknown_fields_drop() {
        let rules = vec![
            NormalisationRule {
                device_type: "cayenne-lpp".into(),
                field: "air_temperature_3".into(),
                quantity: "water_temperature".into(),
                scale: 1.0,
                offset: 0.0,
            },
            NormalisationRule {
                device_type: "*".into(),
                field: "level_mm".into(),
                quantity: "water_level".into(),
                scale: 0.001,
                offset: 0.0,
            },
        ];
        let out = normalise(
            &rules,
            "cayenne-lpp",
            vec![
                m("air_temperature_3", 8.5),
                m("air_temperature_5", 20.0),
                m("level_mm", 1234.0),
                m("vendor_status", 7.0),
            ],
        );
        let got: Vec<_> = out
            .iter()
            .map(|m| (m.quantity.as_str(), m.value, m.unit.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("water_temperature", 8.5, "°C"),
                ("air_temperature_5", 20.0, "°C"),
                ("water_level", 1.234, "m")
            ]
        );
        // A rule of another device type does not apply.
        let out = normalise(&rules, "dragino-lht65", vec![m("air_temperature_3", 8.5)]);
        assert_eq!(out[0].quantity, "air_temperature_3");
    }

    #[test]
    fn config_problems_name_the_rule() {
        let rules = vec![NormalisationRule {
            device_type: "acme-x".into(),
            field: "f".into(),
            quantity: "flux".into(),
            scale: 1.0,
            offset: 0.0,
        }];
        let p = problems(&rules);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("normalisation[0].quantity"));
    }
}
