//! Gateways in the registry: a name and a position for the id the network server uses
//! (ChirpStack's 16 hex digits, The Things Stack's gateway id), for the technicians' views.
//! Gateways are also known without an entry, from the uplinks they heard.

use serde::{Deserialize, Serialize};

/// A gateway's registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayInfo {
    pub gateway_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

/// Why a gateway entry is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "gateway `{}`: an id is 1 to 64 of a-z, A-Z, 0-9, `.`, `_` and `-`, as the network server names it",
        .0.escape_default()
    )]
    Id(String),
    #[error("{0}: {1} is outside ±{2}")]
    Coordinate(&'static str, f64, f64),
    #[error("give lat and lon together, or neither")]
    HalfPosition,
    #[error("name: at most 200 characters, no control characters")]
    Name,
}

impl GatewayInfo {
    /// The entry, checked; ids are kept as given (ChirpStack's hex is lowercase).
    pub fn validate(mut self) -> Result<GatewayInfo, GatewayError> {
        self.gateway_id = self.gateway_id.trim().to_owned();
        let id_ok = (1..=64).contains(&self.gateway_id.len())
            && self
                .gateway_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !id_ok {
            return Err(GatewayError::Id(self.gateway_id));
        }
        for (name, value, limit) in [("lat", self.lat, 90.0), ("lon", self.lon, 180.0)] {
            if let Some(v) = value {
                if !v.is_finite() || !(-limit..=limit).contains(&v) {
                    return Err(GatewayError::Coordinate(name, v, limit));
                }
            }
        }
        if self.lat.is_some() != self.lon.is_some() {
            return Err(GatewayError::HalfPosition);
        }
        self.name = self.name.trim().to_owned();
        if self.name.chars().count() > 200 || self.name.chars().any(char::is_control) {
            return Err(GatewayError::Name);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, lat: Option<f64>, lon: Option<f64>) -> GatewayInfo {
        GatewayInfo {
            gateway_id: id.into(),
            name: "Hafen Wyk".into(),
            lat,
            lon,
        }
    }

    #[test]
    fn ids_positions_and_names_are_checked() {
        assert!(entry("0016c001f153a14c", Some(54.69), Some(8.57))
            .validate()
            .is_ok());
        assert!(entry("eui-9c5c8e00001a05c4", None, None).validate().is_ok());
        assert_eq!(
            entry("gw 1", None, None).validate(),
            Err(GatewayError::Id("gw 1".into()))
        );
        assert!(entry("", None, None).validate().is_err());
        assert_eq!(
            entry("gw", Some(91.0), Some(8.0)).validate(),
            Err(GatewayError::Coordinate("lat", 91.0, 90.0))
        );
        assert_eq!(
            entry("gw", Some(54.0), None).validate(),
            Err(GatewayError::HalfPosition)
        );
        let mut bad = entry("gw", None, None);
        bad.name = "a\u{7}b".into();
        assert_eq!(bad.validate(), Err(GatewayError::Name));
    }
}
