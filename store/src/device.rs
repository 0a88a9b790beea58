//! Checking a registry entry once, where it enters (the command line, an import, the web
//! workbench): its identifiers are typed already (`DevEui`, `DevAddr`, `AesKey`,
//! `DeviceType`); what is left is what needs more than one field or the file system.

use crate::{Device, DeviceType};

/// Why a registry entry is refused; the text names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "station `{}`: a station id is 1 to 64 of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit (the name for people goes in `name`)",
        .0.escape_default()
    )]
    Station(String),
    #[error("device_type `{device_type}`: no codec file at {path}")]
    NoCodecFile { device_type: String, path: String },
    #[error("dev_addr, nwk_s_key and app_s_key: give all three (ABP) or none")]
    PartialAbp,
    #[error("{name}: {value} is outside ±{limit}")]
    Coordinate {
        name: &'static str,
        value: f64,
        limit: f64,
    },
}

impl Device {
    /// Checks a device: its station id, its codec file, its ABP session complete or absent.
    /// The web workbench and the command line share it.
    pub fn validate(self) -> Result<Device, DeviceError> {
        if !sensorhub_core::ids::is_station_id(&self.station) {
            return Err(DeviceError::Station(self.station));
        }
        for (name, value, limit) in [("lat", self.lat, 90.0), ("lon", self.lon, 180.0)] {
            if let Some(value) = value.filter(|v| !(-limit..=limit).contains(v) || !v.is_finite()) {
                return Err(DeviceError::Coordinate { name, value, limit });
            }
        }
        if let DeviceType::Js(js) = &self.device_type {
            if !js.path().is_file() {
                return Err(DeviceError::NoCodecFile {
                    device_type: self.device_type.to_string(),
                    path: js.path().display().to_string(),
                });
            }
        }
        let abp = [
            self.dev_addr.is_some(),
            self.nwk_s_key.is_some(),
            self.app_s_key.is_some(),
        ];
        if abp.contains(&true) && abp.contains(&false) {
            return Err(DeviceError::PartialAbp);
        }
        Ok(self)
    }
}
