//! The device registry: which DevEUI is which station, with what codec, where, and whether
//! it is public. Stations are derived from the devices that report under them.

use rusqlite::{params, Connection, Row};

use super::{optional, SqliteStore};
use crate::error::Context;
use crate::{
    AdminSession, AlertKind, Device, DeviceHealth, Gauge, Station, StationInfo, StoreError,
};

const DEVICE_COLUMNS: &str =
    "dev_eui, name, station, device_type, lat, lon, public, dev_addr, nwk_s_key, app_s_key";

/// A column holding an identifier as text, read back into its type.
fn parsed<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let Some(text) = row.get::<_, Option<String>>(i)? else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn device_from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        dev_eui: parsed(row, 0)?.ok_or(rusqlite::Error::InvalidColumnType(
            0,
            "dev_eui".into(),
            rusqlite::types::Type::Null,
        ))?,
        name: row.get(1)?,
        station: row.get(2)?,
        device_type: row.get(3)?,
        lat: row.get(4)?,
        lon: row.get(5)?,
        public: row.get(6)?,
        dev_addr: parsed(row, 7)?,
        nwk_s_key: parsed(row, 8)?,
        app_s_key: parsed(row, 9)?,
    })
}

const STATION_COLUMNS: &str = "s.station, s.name, s.name_en, s.description, s.description_en, \
     s.theme, s.lat, s.lon, s.datum, s.sensor_height_m, s.levels";

/// A station entry from `STATION_COLUMNS`, starting at column `at`.
fn station_info_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<StationInfo> {
    let gauge = match (
        row.get::<_, Option<String>>(at + 8)?,
        row.get::<_, Option<f64>>(at + 9)?,
    ) {
        (Some(datum), Some(sensor_height_m)) => Some(Gauge {
            datum,
            sensor_height_m,
        }),
        _ => None,
    };
    Ok(StationInfo {
        station: row.get(at)?,
        name: row.get(at + 1)?,
        name_en: row.get(at + 2)?,
        description: row.get(at + 3)?,
        description_en: row.get(at + 4)?,
        theme: parsed(row, at + 5)?,
        lat: row.get(at + 6)?,
        lon: row.get(at + 7)?,
        gauge,
        levels: serde_json::from_str(&row.get::<_, String>(at + 10)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                at + 10,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })?,
    })
}

fn upsert(conn: &Connection, d: &Device) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO devices ({DEVICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .during("write device")?
    .execute(params![
        d.dev_eui.to_string(),
        d.name,
        d.station,
        d.device_type,
        d.lat,
        d.lon,
        d.public,
        d.dev_addr.map(|a| a.to_string()),
        d.nwk_s_key.map(|k| k.secret_hex().to_string()),
        d.app_s_key.map(|k| k.secret_hex().to_string())
    ])
    .during("write device")?;
    Ok(())
}

impl SqliteStore {
    /// Where the times of a station's uplinks in `[since_ms, until_ms)` came from, by time:
    /// the time source of the readings stored at those times.
    pub async fn time_sources(
        &self,
        station: String,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<std::collections::HashMap<i64, crate::TimeSource>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT u.ts, u.time_source FROM uplinks u
                     JOIN devices d ON d.dev_eui = u.dev_eui
                     WHERE d.station = ?1 AND u.ts >= ?2 AND u.ts < ?3",
                )
                .during("uplink time sources")?;
            let rows = stmt
                .query_map(params![station, since_ms, until_ms], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .during("uplink time sources")?;
            let mut out = std::collections::HashMap::new();
            for row in rows {
                let (ts, source) = row.during("uplink time sources")?;
                if let Some(source) = crate::TimeSource::parse(&source) {
                    out.insert(ts, source);
                }
            }
            Ok(out)
        })
        .await
    }

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

    /// Health of every registered device over uplinks since `since_ms`.
    pub async fn device_health(&self, since_ms: i64) -> Result<Vec<DeviceHealth>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT d.dev_eui, d.name, d.station,
                       (SELECT MAX(ts) FROM uplinks WHERE dev_eui = d.dev_eui),
                       (SELECT COUNT(*) FROM uplinks WHERE dev_eui = d.dev_eui AND ts >= ?1),
                       (SELECT MIN(f_cnt) FROM uplinks WHERE dev_eui = d.dev_eui AND ts >= ?1),
                       (SELECT MAX(f_cnt) FROM uplinks WHERE dev_eui = d.dev_eui AND ts >= ?1),
                       l.f_cnt, l.rssi, l.snr, l.gateway_count,
                       COALESCE(
                         (SELECT battery_level FROM device_status WHERE dev_eui = d.dev_eui),
                         (SELECT lv.value FROM latest lv JOIN series s ON s.id = lv.series_id
                          WHERE s.station = d.station AND s.quantity = 'battery_level')),
                       (SELECT lv.value FROM latest lv JOIN series s ON s.id = lv.series_id
                        WHERE s.station = d.station AND s.quantity = 'battery_voltage'),
                       (SELECT COUNT(*) FROM dead_letters WHERE ts >= ?1 AND reason = 'codec_error'
                        AND detail LIKE 'device ' || d.dev_eui || ':%'),
                       (SELECT margin FROM device_status WHERE dev_eui = d.dev_eui),
                       d.device_type
                     FROM devices d
                     LEFT JOIN uplinks l ON l.dev_eui = d.dev_eui
                       AND l.ts = (SELECT MAX(ts) FROM uplinks WHERE dev_eui = d.dev_eui)
                     ORDER BY d.station, d.dev_eui",
                )
                .during("device health")?;
            let rows = stmt
                .query_map([since_ms], |row| {
                    let uplinks = row.get::<_, i64>(4)? as u64;
                    let (min, max): (Option<i64>, Option<i64>) = (row.get(5)?, row.get(6)?);
                    let packet_loss = match (min, max) {
                        (Some(min), Some(max)) if max >= min => {
                            let expected = (max - min + 1) as f64;
                            Some(((expected - uplinks as f64) / expected).max(0.0))
                        }
                        _ => None,
                    };
                    Ok(DeviceHealth {
                        dev_eui: row.get(0)?,
                        name: row.get(1)?,
                        station: row.get(2)?,
                        last_seen_ms: row.get(3)?,
                        uplinks,
                        packet_loss,
                        last_f_cnt: row.get(7)?,
                        rssi: row.get(8)?,
                        snr: row.get(9)?,
                        gateway_count: row.get(10)?,
                        battery_level: row.get(11)?,
                        battery_voltage: row.get(12)?,
                        decode_errors: row.get::<_, i64>(13)? as u64,
                        margin: row.get(14)?,
                        device_type: row.get(15)?,
                    })
                })
                .during("device health")?;
            rows.collect::<Result<_, _>>().during("device health")
        })
        .await
    }

    /// Open device alerts: DevEUI, kind and since when (ms), in no particular order.
    pub async fn open_alerts(&self) -> Result<Vec<(String, AlertKind, i64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT dev_eui, kind, since FROM alerts")
                .during("read alerts")?;
            let rows = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .during("read alerts")?;
            rows.collect::<Result<_, _>>().during("read alerts")
        })
        .await
    }

    /// Records alerts as opened (DevEUI, kind, since) and closed (DevEUI, kind), all or none.
    pub async fn update_alerts(
        &self,
        opened: Vec<(String, AlertKind, i64)>,
        closed: Vec<(String, AlertKind)>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().during("begin alerts")?;
            for (dev_eui, kind, since) in &opened {
                tx.execute(
                    "INSERT OR REPLACE INTO alerts (dev_eui, kind, since) VALUES (?1, ?2, ?3)",
                    params![dev_eui, kind, since],
                )
                .during("open alert")?;
            }
            for (dev_eui, kind) in &closed {
                tx.execute(
                    "DELETE FROM alerts WHERE dev_eui = ?1 AND kind = ?2",
                    params![dev_eui, kind],
                )
                .during("close alert")?;
            }
            tx.commit().during("commit alerts")
        })
        .await
    }

    /// Stores a technician's login session (expired ones are dropped on the way).
    pub async fn put_admin_session(&self, session: AdminSession) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().during("begin session")?;
            tx.execute(
                "DELETE FROM admin_sessions WHERE expires <= ?1",
                [crate::time::now_ms()],
            )
            .during("drop expired sessions")?;
            tx.execute(
                "INSERT OR REPLACE INTO admin_sessions (id_hash, user, account, csrf, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.id_hash,
                    session.user,
                    session.account,
                    session.csrf,
                    session.expires_ms
                ],
            )
            .during("write session")?;
            tx.commit().during("commit session")
        })
        .await
    }

    /// The unexpired session with this id hash.
    pub async fn admin_session(&self, id_hash: &str) -> Result<Option<AdminSession>, StoreError> {
        let id_hash = id_hash.to_owned();
        self.read(move |conn| {
            optional(conn.query_row(
                "SELECT id_hash, user, account, csrf, expires FROM admin_sessions
                 WHERE id_hash = ?1 AND expires > ?2",
                params![id_hash, crate::time::now_ms()],
                |row| {
                    Ok(AdminSession {
                        id_hash: row.get(0)?,
                        user: row.get(1)?,
                        account: row.get(2)?,
                        csrf: row.get(3)?,
                        expires_ms: row.get(4)?,
                    })
                },
            ))
            .during("read session")
        })
        .await
    }

    /// Ends a session (logout).
    pub async fn remove_admin_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let id_hash = id_hash.to_owned();
        self.write(move |conn| {
            conn.execute("DELETE FROM admin_sessions WHERE id_hash = ?1", [&id_hash])
                .during("remove session")?;
            Ok(())
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
                .prepare_cached(&format!(
                    "SELECT d.station, MIN(d.public), AVG(d.lat), AVG(d.lon), COUNT(*), {STATION_COLUMNS}
                     FROM devices d LEFT JOIN stations s ON s.station = d.station
                     GROUP BY d.station ORDER BY d.station"
                ))
                .during("list stations")?;
            let rows = stmt
                .query_map([], |row| {
                    let id: String = row.get(0)?;
                    let info = match row.get::<_, Option<String>>(5)? {
                        Some(_) => station_info_from_row(row, 5)?,
                        None => StationInfo {
                            station: id.clone(),
                            ..StationInfo::default()
                        },
                    };
                    // A station's own position comes first; else its devices' average.
                    let (lat, lon) = match (info.lat, info.lon) {
                        (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
                        _ => (row.get(2)?, row.get(3)?),
                    };
                    Ok(Station {
                        id,
                        public: row.get(1)?,
                        lat,
                        lon,
                        devices: row.get::<_, i64>(4)? as u32,
                        info,
                    })
                })
                .during("list stations")?;
            rows.collect::<Result<_, _>>().during("list stations")
        })
        .await
    }

    /// Every station entry (name, theme, datum ...), by station id; also of stations that
    /// have no device yet.
    pub async fn station_infos(&self) -> Result<Vec<StationInfo>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {STATION_COLUMNS} FROM stations s ORDER BY s.station"
                ))
                .during("list station entries")?;
            let rows = stmt
                .query_map([], |row| station_info_from_row(row, 0))
                .during("list station entries")?;
            rows.collect::<Result<_, _>>()
                .during("list station entries")
        })
        .await
    }

    /// Adds or replaces station entries, all or none.
    pub async fn put_station_infos(&self, infos: Vec<StationInfo>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().during("begin stations")?;
            for i in &infos {
                tx.execute(
                    "INSERT OR REPLACE INTO stations (station, name, name_en, description,
                       description_en, theme, lat, lon, datum, sensor_height_m, levels)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        i.station,
                        i.name,
                        i.name_en,
                        i.description,
                        i.description_en,
                        i.theme.map(|t| t.as_str()),
                        i.lat,
                        i.lon,
                        i.gauge.as_ref().map(|g| g.datum.as_str()),
                        i.gauge.as_ref().map(|g| g.sensor_height_m),
                        serde_json::to_string(&i.levels).unwrap_or_else(|_| "[]".into()),
                    ],
                )
                .during("write station")?;
            }
            tx.commit().during("commit stations")
        })
        .await
    }

    /// Removes a station's entry (its devices and readings stay); whether there was one.
    pub async fn remove_station_info(&self, station: &str) -> Result<bool, StoreError> {
        let station = station.to_owned();
        self.write(move |conn| {
            conn.execute("DELETE FROM stations WHERE station = ?1", [station])
                .map(|n| n > 0)
                .during("remove station")
        })
        .await
    }
}
