//! The embedded SQLite backend: one writer connection, a pool of readers, WAL.
//!
//! SQLite calls block, so every operation runs on tokio's blocking pool. Writes go through the
//! single writer (SQLite allows one at a time anyway); reads take a pooled connection and,
//! thanks to WAL, never wait for the writer.

mod registry;
pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::error::Context;
use crate::{
    DeadLetter, DeadLetterCount, IngestBatch, LatestValue, Reading, ReadingQuery, StoreError,
    UnknownDevice,
};

/// Handle to the SQLite store; cheap to clone, shared by every task.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle reader connections; a reader is opened when none is idle.
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        let mut writer = open_connection(&path, false)?;
        schema::migrate(&mut writer)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` on a pooled reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let idle = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let conn = match idle {
                Some(conn) => conn,
                None => open_connection(&inner.path, true)?,
            };
            let result = f(&conn);
            inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Commits everything one batch of messages produced, atomically and durably: when this
    /// returns `Ok`, the batch survives a crash or power loss.
    ///
    /// Readings are idempotent: a reading for the same station, quantity and time replaces the
    /// stored one (last write wins), so a redelivered message changes nothing.
    pub async fn commit(&self, batch: IngestBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(move |conn| commit_batch(conn, &batch)).await
    }

    /// Convenience for writing readings alone.
    pub async fn write_readings(&self, readings: Vec<Reading>) -> Result<(), StoreError> {
        self.commit(IngestBatch {
            readings,
            ..IngestBatch::default()
        })
        .await
    }

    /// The newest value of every series.
    pub async fn latest(&self) -> Result<Vec<LatestValue>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT s.station, s.quantity, s.unit, l.ts, l.value
                     FROM latest l JOIN series s ON s.id = l.series_id
                     ORDER BY s.station, s.quantity",
                )
                .during("latest values")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(LatestValue {
                        station: row.get(0)?,
                        quantity: row.get(1)?,
                        unit: row.get(2)?,
                        time_ms: row.get(3)?,
                        value: row.get(4)?,
                    })
                })
                .during("latest values")?;
            rows.collect::<Result<_, _>>().during("latest values")
        })
        .await
    }

    /// Raw readings matching `query`, oldest first.
    pub async fn readings(&self, query: ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        self.read(move |conn| query_readings(conn, &query)).await
    }

    /// Dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT ts, topic, payload, reason, detail FROM dead_letters
                     ORDER BY id DESC LIMIT ?1",
                )
                .during("dead letters")?;
            let rows = stmt
                .query_map([limit as i64], |row| {
                    Ok(DeadLetter {
                        time_ms: row.get(0)?,
                        topic: row.get(1)?,
                        payload: row.get(2)?,
                        reason: row.get(3)?,
                        detail: row.get(4)?,
                    })
                })
                .during("dead letters")?;
            rows.collect::<Result<_, _>>().during("dead letters")
        })
        .await
    }

    /// How many dead letters are kept, per reason.
    pub async fn dead_letter_counts(&self) -> Result<Vec<DeadLetterCount>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT reason, COUNT(*) FROM dead_letters GROUP BY reason ORDER BY reason",
                )
                .during("dead letter counts")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(DeadLetterCount {
                        reason: row.get(0)?,
                        count: row.get::<_, i64>(1)? as u64,
                    })
                })
                .during("dead letter counts")?;
            rows.collect::<Result<_, _>>().during("dead letter counts")
        })
        .await
    }

    /// Devices that sent uplinks but are not registered, most recently seen first.
    pub async fn unknown_devices(&self) -> Result<Vec<UnknownDevice>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT dev_eui, name_hint, first_seen, last_seen, uplinks, last_topic
                     FROM unknown_devices
                     WHERE dev_eui NOT IN (SELECT dev_eui FROM devices)
                     ORDER BY last_seen DESC",
                )
                .during("unknown devices")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(UnknownDevice {
                        dev_eui: row.get(0)?,
                        name_hint: row.get(1)?,
                        first_seen_ms: row.get(2)?,
                        last_seen_ms: row.get(3)?,
                        uplinks: row.get::<_, i64>(4)? as u64,
                        last_topic: row.get(5)?,
                    })
                })
                .during("unknown devices")?;
            rows.collect::<Result<_, _>>().during("unknown devices")
        })
        .await
    }

    /// Whether the store answers a trivial query (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).during("ping"))
            .await
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let fail = |source| StoreError::Open {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(fail)?;
    if !read_only {
        // WAL lets readers run beside the writer; FULL makes every commit durable on power loss.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        conn.pragma_update(None, "wal_autocheckpoint", 100_000)
            .map_err(fail)?;
    }
    conn.pragma_update(None, "cache_size", -65_536)
        .map_err(fail)?;
    Ok(conn)
}

fn commit_batch(conn: &mut Connection, batch: &IngestBatch) -> Result<(), StoreError> {
    let tx = conn.transaction().during("begin ingest")?;
    {
        let mut series = tx
            .prepare_cached(
                "INSERT INTO series (station, quantity, unit) VALUES (?1, ?2, ?3)
                 ON CONFLICT (station, quantity) DO UPDATE SET unit = excluded.unit
                 RETURNING id",
            )
            .during("write series")?;
        let mut reading = tx
            .prepare_cached(
                "INSERT INTO readings (series_id, ts, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
            )
            .during("write readings")?;
        let mut latest = tx
            .prepare_cached(
                "INSERT INTO latest (series_id, ts, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
                 WHERE excluded.ts >= latest.ts",
            )
            .during("write latest")?;
        for r in &batch.readings {
            let id: i64 = series
                .query_row(params![r.station, r.quantity, r.unit], |row| row.get(0))
                .during("write series")?;
            reading
                .execute(params![id, r.time_ms, r.value])
                .during("write readings")?;
            latest
                .execute(params![id, r.time_ms, r.value])
                .during("write latest")?;
        }

        let mut uplink = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO uplinks
                 (dev_eui, ts, f_cnt, f_port, dedup_id, rssi, snr, gateway_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .during("write uplinks")?;
        for u in &batch.uplinks {
            uplink
                .execute(params![
                    u.dev_eui,
                    u.time_ms,
                    u.f_cnt,
                    u.f_port,
                    u.dedup_id,
                    u.rssi,
                    u.snr,
                    u.gateway_count
                ])
                .during("write uplinks")?;
        }

        let mut dead = tx
            .prepare_cached(
                "INSERT INTO dead_letters (ts, topic, payload, reason, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .during("write dead letters")?;
        for d in &batch.dead_letters {
            dead.execute(params![d.time_ms, d.topic, d.payload, d.reason, d.detail])
                .during("write dead letters")?;
        }

        let mut unknown = tx
            .prepare_cached(
                "INSERT INTO unknown_devices
                 (dev_eui, name_hint, first_seen, last_seen, uplinks, last_topic)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (dev_eui) DO UPDATE SET
                   name_hint = COALESCE(excluded.name_hint, name_hint),
                   first_seen = MIN(first_seen, excluded.first_seen),
                   last_seen = MAX(last_seen, excluded.last_seen),
                   uplinks = uplinks + excluded.uplinks,
                   last_topic = excluded.last_topic",
            )
            .during("write unknown devices")?;
        for u in &batch.unknown_devices {
            unknown
                .execute(params![
                    u.dev_eui,
                    u.name_hint,
                    u.first_seen_ms,
                    u.last_seen_ms,
                    u.uplinks as i64,
                    u.last_topic
                ])
                .during("write unknown devices")?;
        }
    }
    tx.commit().during("commit ingest")
}

fn query_readings(conn: &Connection, query: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
    let mut sql = String::from(
        "SELECT s.station, s.quantity, s.unit, r.ts, r.value
         FROM readings r JOIN series s ON s.id = r.series_id WHERE 1 = 1",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if !query.stations.is_empty() {
        let marks = vec!["?"; query.stations.len()].join(", ");
        sql.push_str(&format!(" AND s.station IN ({marks})"));
        args.extend(query.stations.iter().cloned().map(Into::into));
    }
    if let Some(q) = &query.quantity {
        sql.push_str(" AND s.quantity = ?");
        args.push(q.clone().into());
    }
    if let Some(since) = query.since_ms {
        sql.push_str(" AND r.ts >= ?");
        args.push(since.into());
    }
    if let Some(until) = query.until_ms {
        sql.push_str(" AND r.ts < ?");
        args.push(until.into());
    }
    sql.push_str(" ORDER BY r.ts, s.station, s.quantity");
    if let Some(limit) = query.limit {
        sql.push_str(" LIMIT ?");
        args.push((limit as i64).into());
    }
    let mut stmt = conn.prepare_cached(&sql).during("read readings")?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |row| {
            Ok(Reading {
                station: row.get(0)?,
                quantity: row.get(1)?,
                unit: row.get(2)?,
                time_ms: row.get(3)?,
                value: row.get(4)?,
            })
        })
        .during("read readings")?;
    rows.collect::<Result<_, _>>().during("read readings")
}

/// Used by the registry module for single-row lookups.
fn optional<T>(result: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    result.optional()
}

#[cfg(test)]
mod tests;
