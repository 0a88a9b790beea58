//! The gateway's view of the device registry: an in-memory copy of the store's devices,
//! reloaded when an unknown DevEUI shows up (at most once per `RELOAD_INTERVAL_MS`), so that a
//! device added with `sensorhub devices add` is picked up without a restart.

use std::collections::HashMap;
use std::path::Path;

use sensorhub_core::ids::parse_hex;
use sensorhub_core::DevEui;
use sensorhub_store::{Device, SqliteStore, StoreError};

const RELOAD_INTERVAL_MS: i64 = 2_000;

pub struct RegistryCache {
    store: SqliteStore,
    devices: HashMap<String, Device>,
    loaded_at_ms: i64,
}

impl RegistryCache {
    pub async fn load(store: SqliteStore, now_ms: i64) -> Result<Self, StoreError> {
        let mut cache = RegistryCache {
            store,
            devices: HashMap::new(),
            loaded_at_ms: now_ms,
        };
        cache.reload(now_ms).await?;
        Ok(cache)
    }

    async fn reload(&mut self, now_ms: i64) -> Result<(), StoreError> {
        let devices = self.store.devices().await?;
        self.devices = devices
            .into_iter()
            .map(|d| (d.dev_eui.clone(), d))
            .collect();
        self.loaded_at_ms = now_ms;
        Ok(())
    }

    /// ABP devices registered with this DevAddr (8 hex digits, most significant first),
    /// reloading the registry once if there are none.
    pub async fn by_dev_addr(
        &mut self,
        dev_addr: &str,
        now_ms: i64,
    ) -> Result<Vec<&Device>, StoreError> {
        let known = self
            .devices
            .values()
            .any(|d| d.dev_addr.as_deref() == Some(dev_addr));
        if !known && now_ms - self.loaded_at_ms >= RELOAD_INTERVAL_MS {
            self.reload(now_ms).await?;
        }
        Ok(self
            .devices
            .values()
            .filter(|d| d.dev_addr.as_deref() == Some(dev_addr))
            .collect())
    }

    /// The registered device, reloading the registry once if the DevEUI is not known yet.
    pub async fn lookup(
        &mut self,
        dev_eui: &str,
        now_ms: i64,
    ) -> Result<Option<&Device>, StoreError> {
        if !self.devices.contains_key(dev_eui) && now_ms - self.loaded_at_ms >= RELOAD_INTERVAL_MS {
            self.reload(now_ms).await?;
        }
        Ok(self.devices.get(dev_eui))
    }
}

/// Checks a device and brings its identifiers into canonical form (lowercase hex).
/// The web workbench and the command line share it.
pub fn validate(mut device: Device) -> Result<Device, String> {
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
    } else if !crate::codec::is_known(&device.device_type) {
        return Err(format!(
            "device_type `{}`: no such decoder in this version (known: {})",
            device.device_type,
            crate::codec::DEVICE_TYPES.join(", ")
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
