//! Checking a registry entry once, where it enters (the command line, an import, the web
//! workbench): after this, its identifiers are canonical and its codec file, if any, exists.

use sensorhub_core::ids::parse_hex;
use sensorhub_core::DevEui;

use crate::{Device, DeviceType};

/// Why a registry entry is refused; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("dev_eui `{text}`: {why}")]
    DevEui { text: String, why: String },
    #[error(
        "station `{}`: a station id is 1 to 64 of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit (the name for people goes in `name`)",
        .0.escape_default()
    )]
    Station(String),
    #[error("device_type `{device_type}`: no codec file at {path}")]
    NoCodecFile { device_type: String, path: String },
    #[error("{field}: {why}")]
    Hex { field: &'static str, why: String },
    #[error("dev_addr, nwk_s_key and app_s_key: give all three (ABP) or none")]
    PartialAbp,
}

impl Device {
    /// Checks a device and brings its identifiers into canonical form (lowercase hex).
    /// The web workbench and the command line share it.
    pub fn validate(self) -> Result<Device, DeviceError> {
        let mut device = self;
        let eui: DevEui = device
            .dev_eui
            .trim()
            .parse()
            .map_err(|e| DeviceError::DevEui {
                text: device.dev_eui.clone(),
                why: format!("{e}"),
            })?;
        device.dev_eui = eui.to_string();
        if !sensorhub_core::ids::is_station_id(&device.station) {
            return Err(DeviceError::Station(device.station));
        }
        if let DeviceType::Js(js) = &device.device_type {
            if !js.path().is_file() {
                return Err(DeviceError::NoCodecFile {
                    device_type: device.device_type.to_string(),
                    path: js.path().display().to_string(),
                });
            }
        }
        if let Some(addr) = &device.dev_addr {
            parse_hex::<4>(addr).map_err(|e| DeviceError::Hex {
                field: "dev_addr",
                why: e.to_string(),
            })?;
            device.dev_addr = Some(addr.to_ascii_lowercase());
        }
        for (field, key) in [
            ("nwk_s_key", &mut device.nwk_s_key),
            ("app_s_key", &mut device.app_s_key),
        ] {
            if let Some(k) = key {
                parse_hex::<16>(k).map_err(|e| DeviceError::Hex {
                    field,
                    why: e.to_string(),
                })?;
                *key = Some(k.to_ascii_lowercase());
            }
        }
        let abp = [&device.dev_addr, &device.nwk_s_key, &device.app_s_key];
        if abp.iter().any(|v| v.is_some()) && !abp.iter().all(|v| v.is_some()) {
            return Err(DeviceError::PartialAbp);
        }
        Ok(device)
    }
}
