//! Checking a registry entry once, where it enters (the command line, an import, the web
//! workbench): after this, its identifiers are canonical and its device type is one that exists.

use std::path::Path;

use sensorhub_core::ids::parse_hex;
use sensorhub_core::DevEui;

use crate::Device;

impl Device {
    /// Checks a device and brings its identifiers into canonical form (lowercase hex).
    /// The web workbench and the command line share it.
    pub fn validate(self) -> Result<Device, String> {
        let mut device = self;
        let eui: DevEui = device
            .dev_eui
            .trim()
            .parse()
            .map_err(|e| format!("dev_eui `{}`: {e}", device.dev_eui))?;
        device.dev_eui = eui.to_string();
        if !sensorhub_core::ids::is_station_id(&device.station) {
            return Err(format!(
                "station `{}`: a station id is 1 to 64 of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit (the name for people goes in `name`)",
                device.station.escape_default()
            ));
        }
        if let Some(path) = device.device_type.strip_prefix("js:") {
            if !path.ends_with(".js") {
                return Err(format!(
                    "device_type `{}`: a JavaScript codec file's name ends in .js",
                    device.device_type
                ));
            }
            if !Path::new(path).is_file() {
                return Err(format!(
                    "device_type `{}`: no codec file at {path}",
                    device.device_type
                ));
            }
        } else if let Some(id) = device.device_type.strip_prefix("ttn:") {
            if id.split('/').count() != 2 || id.split('/').any(str::is_empty) {
                return Err(format!(
                    "device_type `{}`: a device repository codec is ttn:VENDOR/CODEC, for example ttn:dragino/lht65",
                    device.device_type
                ));
            }
        } else if !sensorhub_core::device_type::is_built_in(&device.device_type) {
            return Err(format!(
                "device_type `{}`: no such decoder in this version (known: {})",
                device.device_type,
                sensorhub_core::device_type::BUILT_IN.join(", ")
            ));
        }
        if let Some(addr) = &device.dev_addr {
            parse_hex::<4>(addr).map_err(|e| format!("dev_addr: {e}"))?;
            device.dev_addr = Some(addr.to_ascii_lowercase());
        }
        for (name, key) in [
            ("nwk_s_key", &mut device.nwk_s_key),
            ("app_s_key", &mut device.app_s_key),
        ] {
            if let Some(k) = key {
                parse_hex::<16>(k).map_err(|e| format!("{name}: {e}"))?;
                *key = Some(k.to_ascii_lowercase());
            }
        }
        let abp = [&device.dev_addr, &device.nwk_s_key, &device.app_s_key];
        if abp.iter().any(|v| v.is_some()) && !abp.iter().all(|v| v.is_some()) {
            return Err("dev_addr, nwk_s_key and app_s_key: give all three (ABP) or none".into());
        }
        Ok(device)
    }
}
