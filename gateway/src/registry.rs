//! The gateway's view of the registry: an in-memory copy of the store's devices and of the
//! gauge datums of their stations, reloaded when an unknown DevEUI shows up (at most once per
//! `RELOAD_INTERVAL_MS`) and at least every `REFRESH_MS`, so that a device added with
//! `sensorhub devices add` or a datum set with `sensorhub stations add` is picked up without
//! a restart.

use sensorhub_core::{DevAddr, DevEui};
use sensorhub_store::{Device, Gauge, SqliteStore, StoreError};
use std::collections::HashMap;

const RELOAD_INTERVAL_MS: i64 = 2_000;
const REFRESH_MS: i64 = 60_000;

pub struct RegistryCache {
    store: SqliteStore,
    devices: HashMap<DevEui, Device>,
    /// Gauge datums by station id.
    gauges: HashMap<String, Gauge>,
    loaded_at_ms: i64,
}

impl RegistryCache {
    pub async fn load(store: SqliteStore, now_ms: i64) -> Result<Self, StoreError> {
        let mut cache = RegistryCache {
            store,
            devices: HashMap::new(),
            gauges: HashMap::new(),
            loaded_at_ms: now_ms,
        };
        cache.reload(now_ms).await?;
        Ok(cache)
    }

    async fn reload(&mut self, now_ms: i64) -> Result<(), StoreError> {
        let devices = self.store.devices().await?;
        self.devices = devices.into_iter().map(|d| (d.dev_eui, d)).collect();
        self.gauges = self
            .store
            .station_infos()
            .await?
            .into_iter()
            .filter_map(|i| Some((i.station, i.gauge?)))
            .collect();
        self.loaded_at_ms = now_ms;
        Ok(())
    }

    /// ABP devices registered with this DevAddr, reloading the registry once if there are
    /// none.
    pub async fn by_dev_addr(
        &mut self,
        dev_addr: DevAddr,
        now_ms: i64,
    ) -> Result<Vec<&Device>, StoreError> {
        let known = self.devices.values().any(|d| d.dev_addr == Some(dev_addr));
        if !known && now_ms - self.loaded_at_ms >= RELOAD_INTERVAL_MS {
            self.reload(now_ms).await?;
        }
        Ok(self
            .devices
            .values()
            .filter(|d| d.dev_addr == Some(dev_addr))
            .collect())
    }

    /// The registered device, reloading the registry once if the DevEUI is not known yet.
    pub async fn lookup(
        &mut self,
        dev_eui: &str,
        now_ms: i64,
    ) -> Result<Option<&Device>, StoreError> {
        // Text that is no DevEUI names no registered device.
        let Ok(eui) = dev_eui.parse::<DevEui>() else {
            return Ok(None);
        };
        let age = now_ms - self.loaded_at_ms;
        if !self.devices.contains_key(&eui) && age >= RELOAD_INTERVAL_MS || age >= REFRESH_MS {
            self.reload(now_ms).await?;
        }
        Ok(self.devices.get(&eui))
    }

    /// The gauge datum of a station, if it is a gauge.
    pub fn gauge(&self, station: &str) -> Option<&Gauge> {
        self.gauges.get(station)
    }
}
