//! Normalisation rules: how the config maps a decoder's field onto the quantity vocabulary.
//!
//! Built-in decoders already speak the vocabulary, and the field mapping
//! ([`crate::codec::output`]) reads units that codecs give and vendor names it knows. For
//! anything else (a field only the vendor's datasheet explains, an LPP channel that measures
//! water rather than air, a second temperature that deserves its own name) the config maps a
//! decoder field of a device type onto a vocabulary quantity, with an optional unit and linear
//! conversion:
//!
//! ```toml
//! [[normalisation]]
//! device_type = "js:/etc/sensorhub/codecs/level.js"   # or "ttn:VENDOR/CODEC", "cayenne-lpp", "*"
//! field = "sensor.level"       # the path in the decoded data, or a normalized term ("air.temperature", "1:air.temperature")
//! quantity = "water_level"
//! unit = "mm"                  # optional: the unit of the (scaled) value, converted into the quantity's
//! scale = 1.0                  # value * scale + offset
//! ```

use sensorhub_core::units::Unit;
use sensorhub_core::Quantity;
use sensorhub_store::{DeviceType, DeviceTypeError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The devices a rule is for: those of one device type, or (`*`) every device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForDevices {
    All,
    Type(DeviceType),
}

impl ForDevices {
    pub fn includes(&self, device_type: &DeviceType) -> bool {
        match self {
            ForDevices::All => true,
            ForDevices::Type(t) => t == device_type,
        }
    }
}

impl std::str::FromStr for ForDevices {
    type Err = DeviceTypeError;

    fn from_str(text: &str) -> Result<Self, DeviceTypeError> {
        match text {
            "*" => Ok(ForDevices::All),
            _ => text.parse().map(ForDevices::Type),
        }
    }
}

impl std::fmt::Display for ForDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForDevices::All => f.write_str("*"),
            ForDevices::Type(t) => f.write_str(t.as_str()),
        }
    }
}

impl Serialize for ForDevices {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ForDevices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisationRule {
    /// A device type (`cayenne-lpp`, `js:PATH`, `ttn:VENDOR/CODEC`, ...) or `*` for every type.
    pub device_type: ForDevices,
    /// The field as the decoder names it: its dotted path in the decoded data.
    pub field: String,
    /// The vocabulary quantity (or series name, `air_temperature_2`) it becomes.
    pub quantity: String,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
    /// The unit of `value * scale + offset`; without it, the quantity's own unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// Problems with the rules, one sentence each.
pub fn problems(rules: &[NormalisationRule]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let quantity = Quantity::by_name(&r.quantity);
        if quantity.is_none() {
            problems.push(format!(
                "normalisation[{i}].quantity: `{}` is not in the quantity vocabulary",
                r.quantity
            ));
        }
        if !(r.scale.is_finite() && r.offset.is_finite()) {
            problems.push(format!(
                "normalisation[{i}]: scale and offset must be numbers"
            ));
        }
        if let (Some(unit), Some(q)) = (&r.unit, quantity) {
            if Unit::parse_as(unit, q.unit().dimension).is_none() {
                problems.push(format!(
                    "normalisation[{i}].unit: `{unit}` is no unit of {} (its unit is `{}`)",
                    q.name, q.unit
                ));
            }
        }
    }
    problems
}

/// The rule for `field` of `device_type`: the device type's own first, then one for `*`.
pub fn rule_for<'a>(
    rules: &'a [NormalisationRule],
    device_type: &DeviceType,
    field: &str,
) -> Option<&'a NormalisationRule> {
    rules
        .iter()
        .find(|r| {
            r.field == field && matches!(&r.device_type, ForDevices::Type(t) if t == device_type)
        })
        .or_else(|| {
            rules
                .iter()
                .find(|r| r.field == field && r.device_type == ForDevices::All)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        device_type: &str,
        field: &str,
        quantity: &str,
        unit: Option<&str>,
    ) -> NormalisationRule {
        NormalisationRule {
            device_type: device_type.parse().unwrap(),
            field: field.into(),
            quantity: quantity.into(),
            scale: 1.0,
            offset: 0.0,
            unit: unit.map(str::to_owned),
        }
    }

    #[test]
    fn a_device_types_own_rule_comes_before_the_wildcard() {
        let rules = vec![
            rule("*", "level", "distance", None),
            rule("cayenne-lpp", "level", "water_level", None),
        ];
        assert_eq!(
            rule_for(&rules, &DeviceType::CayenneLpp, "level")
                .unwrap()
                .quantity,
            "water_level"
        );
        assert_eq!(
            rule_for(&rules, &"dragino-lht65".parse().unwrap(), "level")
                .unwrap()
                .quantity,
            "distance"
        );
        assert!(rule_for(&rules, &DeviceType::CayenneLpp, "other").is_none());
    }

    #[test]
    fn config_problems_name_the_rule() {
        let rules = vec![
            rule("cayenne-lpp", "f", "flux", None),
            rule("ttn:dragino/lht65", "f", "air_temperature", Some("mm")),
        ];
        let p = problems(&rules);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("normalisation[0].quantity"));
        assert!(p[1].contains("normalisation[1].unit"), "{p:?}");
        // A device type that does not exist is refused where the config is read.
        let err = serde_json::from_str::<NormalisationRule>(
            r#"{"device_type": "acme-x", "field": "f", "quantity": "water_level"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`acme-x`: no such decoder"),
            "{err}"
        );
        assert!("*"
            .parse::<ForDevices>()
            .unwrap()
            .includes(&DeviceType::CayenneLpp));
    }
}
