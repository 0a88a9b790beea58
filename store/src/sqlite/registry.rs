//! The device registry: which DevEUI is which station, with what codec, where, and whether
//! it is public. Stations are derived from the devices that report under them.

use rusqlite::{params, Connection, Row};

use super::{optional, SqliteStore};
use crate::error::Context;
use crate::{Device, Station, StoreError};

const DEVICE_COLUMNS: &str =
    "dev_eui, name, station, device_type, lat, lon, public, dev_addr, nwk_s_key, app_s_key";

fn device_from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        dev_eui: row.get(0)?,
        name: row.get(1)?,
        station: row.get(2)?,
        device_type: row.get(3)?,
        lat: row.get(4)?,
        lon: row.get(5)?,
        public: row.get(6)?,
        dev_addr: row.get(7)?,
        nwk_s_key: row.get(8)?,
        app_s_key: row.get(9)?,
    })
}

fn upsert(conn: &Connection, d: &Device) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO devices ({DEVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .during("write device")?
    .execute(params![
        d.dev_eui,
        d.name,
        d.station,
        d.device_type,
        d.lat,
        d.lon,
        d.public,
        d.dev_addr,
        d.nwk_s_key,
        d.app_s_key
    ])
    .during("write device")?;
    Ok(())
}

impl SqliteStore {
    /// Adds or replaces devices, all or none.
    pub async fn put_devices(&self, devices: Vec<Device>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().during("begin device import")?;
            for d in &devices {
                upsert(&tx, d)?;
            }
            tx.commit().during("commit device import")
        })
        .await
    }

    /// Every registered device, ordered by station then DevEUI. Includes session keys: callers
    /// decide whether to show them.
    pub async fn devices(&self) -> Result<Vec<Device>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY station, dev_eui"
                ))
                .during("list devices")?;
            let rows = stmt.query_map([], device_from_row).during("list devices")?;
            rows.collect::<Result<_, _>>().during("list devices")
        })
        .await
    }

    pub async fn device(&self, dev_eui: &str) -> Result<Option<Device>, StoreError> {
        let dev_eui = dev_eui.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE dev_eui = ?1"
                ))
                .during("read device")?;
            optional(stmt.query_row([dev_eui], device_from_row)).during("read device")
        })
        .await
    }

    /// The saved network sessions of ABP devices, by DevEUI.
    pub async fn sessions(&self) -> Result<Vec<(String, crate::SessionState)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT dev_eui, f_cnt_up, last_uplink FROM sessions")
                .during("read sessions")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get(0)?,
                        crate::SessionState {
                            f_cnt_up: row.get(1)?,
                            last_uplink_ms: row.get(2)?,
                        },
                    ))
                })
                .during("read sessions")?;
            rows.collect::<Result<_, _>>().during("read sessions")
        })
        .await
    }

    /// Removes a device from the registry; its stored readings stay with the station.
    pub async fn remove_device(&self, dev_eui: &str) -> Result<(), StoreError> {
        let dev_eui = dev_eui.to_owned();
        self.write(move |conn| {
            let removed = conn
                .execute("DELETE FROM devices WHERE dev_eui = ?1", [&dev_eui])
                .during("remove device")?;
            if removed == 0 {
                return Err(StoreError::UnknownDevice(dev_eui));
            }
            Ok(())
        })
        .await
    }

    /// Stations with the devices' mean position. A station is public only if every device
    /// reporting under it is public: one private device keeps the station off public pages.
    pub async fn stations(&self) -> Result<Vec<Station>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT station, MIN(public), AVG(lat), AVG(lon), COUNT(*)
                     FROM devices GROUP BY station ORDER BY station",
                )
                .during("list stations")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(Station {
                        id: row.get(0)?,
                        public: row.get(1)?,
                        lat: row.get(2)?,
                        lon: row.get(3)?,
                        devices: row.get::<_, i64>(4)? as u32,
                    })
                })
                .during("list stations")?;
            rows.collect::<Result<_, _>>().during("list stations")
        })
        .await
    }
}
