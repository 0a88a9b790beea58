//! Uplinks' radio metadata and the gateways: a device's recent uplinks, the gateways that
//! heard them, and the gateways' registry entries (name, position), for the technicians.

use rusqlite::params;

use super::SqliteStore;
use crate::error::Context;
use crate::{GatewayInfo, GatewaySeen, Heard, Link, Sighting, StoreError, TimeSource, Uplink};

impl SqliteStore {
    /// Uplinks of `dev_eui` (as the registry writes it) since `since_ms`, newest first, at
    /// most `limit`.
    pub async fn uplinks(
        &self,
        dev_eui: &str,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Uplink>, StoreError> {
        let eui = dev_eui.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT dev_eui, ts, time_source, f_cnt, f_port, dedup_id, rssi, snr, gateway_count
                     FROM uplinks WHERE dev_eui = ?1 AND ts >= ?2 ORDER BY ts DESC LIMIT ?3",
                )
                .during("uplinks of a device")?;
            let rows = stmt
                .query_map(params![eui, since_ms, limit as i64], |row| {
                    Ok(Uplink {
                        dev_eui: row.get(0)?,
                        time_ms: row.get(1)?,
                        time_source: TimeSource::parse(&row.get::<_, String>(2)?)
                            .unwrap_or(TimeSource::Network),
                        f_cnt: row.get(3)?,
                        f_port: row.get(4)?,
                        dedup_id: row.get(5)?,
                        rssi: row.get(6)?,
                        snr: row.get(7)?,
                        gateway_count: row.get::<_, i64>(8)?.max(0) as u32,
                        gateways: Vec::new(),
                    })
                })
                .during("uplinks of a device")?;
            let mut list: Vec<Uplink> = rows.collect::<Result<_, _>>().during("uplinks of a device")?;
            let mut heard = conn
                .prepare_cached(
                    "SELECT gateway_id, rssi, snr FROM uplink_gateways
                     WHERE dev_eui = ?1 AND ts = ?2 ORDER BY rssi DESC",
                )
                .during("gateways of an uplink")?;
            for u in &mut list {
                let rows = heard
                    .query_map(params![u.dev_eui, u.time_ms], |row| {
                        Ok(Heard {
                            gateway_id: row.get(0)?,
                            rssi: row.get(1)?,
                            snr: row.get(2)?,
                        })
                    })
                    .during("gateways of an uplink")?;
                u.gateways = rows.collect::<Result<_, _>>().during("gateways of an uplink")?;
            }
            Ok(list)
        })
        .await
    }

    /// Every gateway that heard an uplink or sent its stats, with what it heard since
    /// `since_ms`; last seen is its last uplink or stats, whichever is newer.
    pub async fn gateways(&self, since_ms: i64) -> Result<Vec<GatewaySeen>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "WITH heard AS (
                       SELECT gateway_id, MAX(ts) AS last,
                         SUM(ts >= ?1) AS uplinks,
                         COUNT(DISTINCT CASE WHEN ts >= ?1 THEN dev_eui END) AS devices,
                         MIN(CASE WHEN ts >= ?1 THEN rssi END) AS rssi_min,
                         MAX(CASE WHEN ts >= ?1 THEN rssi END) AS rssi_max,
                         AVG(CASE WHEN ts >= ?1 THEN rssi END) AS rssi_mean,
                         AVG(CASE WHEN ts >= ?1 THEN snr END) AS snr_mean
                       FROM uplink_gateways GROUP BY gateway_id),
                     ids AS (SELECT gateway_id FROM heard
                             UNION SELECT gateway_id FROM gateway_status WHERE stats_ms IS NOT NULL)
                     SELECT ids.gateway_id, MAX(COALESCE(h.last, 0), COALESCE(s.stats_ms, 0)),
                       COALESCE(h.uplinks, 0), COALESCE(h.devices, 0), h.rssi_min, h.rssi_max,
                       h.rssi_mean, h.snr_mean, s.online, s.stats_ms, s.rx_received, s.rx_ok
                     FROM ids LEFT JOIN heard h ON h.gateway_id = ids.gateway_id
                     LEFT JOIN gateway_status s ON s.gateway_id = ids.gateway_id
                     ORDER BY ids.gateway_id",
                )
                .during("gateways")?;
            let rows = stmt
                .query_map([since_ms], |row| {
                    Ok(GatewaySeen {
                        gateway_id: row.get(0)?,
                        last_seen_ms: row.get(1)?,
                        uplinks: row.get::<_, i64>(2)?.max(0) as u64,
                        devices: row.get::<_, i64>(3)?.max(0) as u64,
                        rssi_min: row.get(4)?,
                        rssi_max: row.get(5)?,
                        rssi_mean: row.get(6)?,
                        snr_mean: row.get(7)?,
                        online: row.get(8)?,
                        stats_ms: row.get(9)?,
                        rx_received: row.get(10)?,
                        rx_ok: row.get(11)?,
                    })
                })
                .during("gateways")?;
            rows.collect::<Result<_, _>>().during("gateways")
        })
        .await
    }

    /// The gateways that heard each device since `since_ms`: (DevEUI, gateway ids).
    pub async fn gateways_by_device(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT DISTINCT dev_eui, gateway_id FROM uplink_gateways
                     WHERE ts >= ?1 ORDER BY dev_eui, gateway_id",
                )
                .during("gateways by device")?;
            let rows = stmt
                .query_map([since_ms], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .during("gateways by device")?;
            let mut out: Vec<(String, Vec<String>)> = Vec::new();
            for row in rows {
                let (eui, gateway) = row.during("gateways by device")?;
                match out.last_mut() {
                    Some((last, list)) if *last == eui => list.push(gateway),
                    _ => out.push((eui, vec![gateway])),
                }
            }
            Ok(out)
        })
        .await
    }

    /// Registers gateways (an entry replaces the one with the same id), all or none.
    pub async fn put_gateway_infos(&self, entries: Vec<GatewayInfo>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction().during("begin gateways")?;
            for g in &entries {
                tx.execute(
                    "INSERT OR REPLACE INTO gateways (gateway_id, name, lat, lon) VALUES (?1, ?2, ?3, ?4)",
                    params![g.gateway_id, g.name, g.lat, g.lon],
                )
                .during("write gateway")?;
            }
            tx.commit().during("commit gateways")
        })
        .await
    }

    /// The gateways' registry entries, by id.
    pub async fn gateway_infos(&self) -> Result<Vec<GatewayInfo>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT gateway_id, name, lat, lon FROM gateways ORDER BY gateway_id",
                )
                .during("read gateways")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(GatewayInfo {
                        gateway_id: row.get(0)?,
                        name: row.get(1)?,
                        lat: row.get(2)?,
                        lon: row.get(3)?,
                    })
                })
                .during("read gateways")?;
            rows.collect::<Result<_, _>>().during("read gateways")
        })
        .await
    }

    /// Removes a gateway's entry; `false` when it had none (what it heard stays).
    pub async fn remove_gateway_info(&self, gateway_id: &str) -> Result<bool, StoreError> {
        let id = gateway_id.to_owned();
        self.write(move |conn| {
            let n = conn
                .execute("DELETE FROM gateways WHERE gateway_id = ?1", [id])
                .during("remove gateway")?;
            Ok(n > 0)
        })
        .await
    }

    /// What `gateway_id` heard since `since_ms`, oldest first, at most `limit`.
    pub async fn heard_by(
        &self,
        gateway_id: &str,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<Sighting>, StoreError> {
        let id = gateway_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT dev_eui, ts, rssi, snr FROM uplink_gateways
                     WHERE gateway_id = ?1 AND ts >= ?2 ORDER BY ts LIMIT ?3",
                )
                .during("what a gateway heard")?;
            let rows = stmt
                .query_map(params![id, since_ms, limit as i64], |row| {
                    Ok(Sighting {
                        dev_eui: row.get(0)?,
                        time_ms: row.get(1)?,
                        rssi: row.get(2)?,
                        snr: row.get(3)?,
                    })
                })
                .during("what a gateway heard")?;
            rows.collect::<Result<_, _>>()
                .during("what a gateway heard")
        })
        .await
    }

    /// Every device-gateway pair heard since `since_ms`, with its uplinks and mean signal.
    pub async fn links(&self, since_ms: i64) -> Result<Vec<Link>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT dev_eui, gateway_id, COUNT(*), AVG(rssi), AVG(snr) FROM uplink_gateways
                     WHERE ts >= ?1 GROUP BY dev_eui, gateway_id ORDER BY dev_eui, gateway_id",
                )
                .during("links")?;
            let rows = stmt
                .query_map([since_ms], |row| {
                    Ok(Link {
                        dev_eui: row.get(0)?,
                        gateway_id: row.get(1)?,
                        uplinks: row.get::<_, i64>(2)?.max(0) as u64,
                        rssi_mean: row.get(3)?,
                        snr_mean: row.get(4)?,
                    })
                })
                .during("links")?;
            rows.collect::<Result<_, _>>().during("links")
        })
        .await
    }
}
