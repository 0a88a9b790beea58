//! The embedded SQLite backend: one writer connection, a pool of readers, WAL.
//!
//! SQLite calls block, so every operation runs on tokio's blocking pool. Writes go through the
//! single writer (SQLite allows one at a time anyway); reads take a pooled connection and,
//! thanks to WAL, never wait for the writer.

mod ingest;
mod portal;
mod query;
mod registry;
pub(crate) mod schema;
mod uplinks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::Context;
use crate::{
    DeadLetter, DeadLetterCount, DeadLetterLimits, DeadLetterReason, IngestBatch, LatestValue,
    Reading, ReadingQuery, StoreError, UnknownDevice, UnmappedField,
};

/// Handle to the SQLite store; cheap to clone, shared by every task.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<ingest::Writer>,
    /// Idle reader connections; a reader is opened when none is idle.
    readers: Mutex<Vec<Connection>>,
    /// A connection of its own for [`SqliteStore::data_version`] (the number is per
    /// connection), opened when first asked; with the last number read and when.
    watcher: Mutex<Watcher>,
    /// Counts up where the data version cannot be read, so that nothing is taken as unchanged.
    unknown: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Watcher {
    conn: Option<Connection>,
    last: Option<(std::time::Instant, u64)>,
}

/// How long a data version read is used before it is read again: other processes' commits are
/// seen this much later at most (after a write of this process it is read again at once).
const DATA_VERSION_FRESH: std::time::Duration = std::time::Duration::from_millis(50);

/// A row of `id, ts, topic, payload, reason, detail, size` as (id, dead letter).
fn letter_with_id(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, DeadLetter)> {
    Ok((
        row.get(0)?,
        DeadLetter {
            time_ms: row.get(1)?,
            topic: row.get(2)?,
            payload: row.get(3)?,
            reason: row.get(4)?,
            detail: row.get(5)?,
            size: row.get::<_, i64>(6)? as usize,
        },
    ))
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, DeadLetterLimits::default())
    }

    /// Like [`SqliteStore::open`], with the bounds of the dead-letter table. Fails, naming the
    /// file, when it cannot be written: a gateway that cannot commit must not start.
    pub fn open_with(path: impl AsRef<Path>, limits: DeadLetterLimits) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        let mut writer = open_connection(&path, false)?;
        let read_only = writer.is_readonly(rusqlite::MAIN_DB).unwrap_or(true);
        if read_only {
            return Err(StoreError::ReadOnly(path.display().to_string()));
        }
        schema::migrate(&mut writer)?;
        ingest::prune_dead_letters(&writer, &limits, crate::time::now_ms())?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(ingest::Writer::new(writer, limits)),
                readers: Mutex::new(Vec::new()),
                watcher: Mutex::new(Watcher::default()),
                unknown: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer on the blocking pool.
    async fn write_with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ingest::Writer) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut writer = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let result = f(&mut writer);
            // What this process wrote is seen by the next data version at once.
            inner.watcher.lock().unwrap_or_else(|p| p.into_inner()).last = None;
            result
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_with(move |writer| f(&mut writer.conn)).await
    }

    /// Runs `f` on a pooled reader connection, on the calling thread (for streaming exports,
    /// which already run on the blocking pool).
    fn read_blocking<T>(
        inner: &Inner,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
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
    }

    /// Runs `f` on a pooled reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || Self::read_blocking(&inner, f))
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
        self.commit_parts(Arc::new(vec![batch]), 0..1).await
    }

    /// Commits `parts[range]` (what each of several messages produced) in one transaction,
    /// without copying them: a caller that must retry, or split a batch, keeps the `Arc`.
    pub async fn commit_parts(
        &self,
        parts: Arc<Vec<IngestBatch>>,
        range: std::ops::Range<usize>,
    ) -> Result<(), StoreError> {
        if parts[range.clone()].iter().all(IngestBatch::is_empty) {
            return Ok(());
        }
        self.write_with(move |writer| writer.commit(&parts[range], true))
            .await
    }

    /// Like [`SqliteStore::commit_parts`], leaving out the readings (which went to another
    /// time-series backend): the state only.
    pub async fn commit_state(
        &self,
        parts: Arc<Vec<IngestBatch>>,
        range: std::ops::Range<usize>,
    ) -> Result<(), StoreError> {
        self.write_with(move |writer| writer.commit(&parts[range], false))
            .await
    }

    /// Removes dead letters beyond the configured count and age; returns how many.
    pub async fn prune_dead_letters(&self) -> Result<u64, StoreError> {
        self.write_with(|writer| {
            let limits = writer.limits();
            ingest::prune_dead_letters(&writer.conn, &limits, crate::time::now_ms())
        })
        .await
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
        self.read(move |conn| query::readings(conn, &query)).await
    }

    /// Dead letters, newest first.
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT ts, topic, payload, reason, detail, COALESCE(size, length(payload))
                     FROM dead_letters ORDER BY id DESC LIMIT ?1",
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
                        size: row.get::<_, i64>(5)? as usize,
                    })
                })
                .during("dead letters")?;
            rows.collect::<Result<_, _>>().during("dead letters")
        })
        .await
    }

    /// Dead letters that name a device, newest first: its DevEUI in the message (network servers'
    /// JSON) or in the detail, or its DevAddr in the detail (raw frames). With their ids.
    pub async fn dead_letters_of(
        &self,
        dev_eui: &str,
        dev_addr: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, DeadLetter)>, StoreError> {
        let eui = dev_eui.to_ascii_lowercase();
        let addr = dev_addr.map(str::to_ascii_lowercase);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, ts, topic, payload, reason, detail, COALESCE(size, length(payload))
                     FROM dead_letters
                     WHERE instr(lower(CAST(payload AS TEXT)), ?1) > 0
                        OR instr(lower(detail), ?1) > 0
                        OR (?2 IS NOT NULL AND instr(lower(detail), ?2) > 0)
                     ORDER BY id DESC LIMIT ?3",
                )
                .during("dead letters of a device")?;
            let rows = stmt
                .query_map(rusqlite::params![eui, addr, limit as i64], letter_with_id)
                .during("dead letters of a device")?;
            rows.collect::<Result<_, _>>()
                .during("dead letters of a device")
        })
        .await
    }

    /// Dead letters with ids above `after_id`, oldest first, optionally of one reason only
    /// (for replay).
    pub async fn dead_letters_to_replay(
        &self,
        reason: Option<DeadLetterReason>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<(i64, DeadLetter)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, ts, topic, payload, reason, detail, COALESCE(size, length(payload))
                     FROM dead_letters WHERE (?1 IS NULL OR reason = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .during("dead letters")?;
            let rows = stmt
                .query_map(
                    rusqlite::params![reason, after_id, limit as i64],
                    letter_with_id,
                )
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

    /// Unmapped fields of one device (or of all), most recently seen first.
    pub async fn unmapped_fields(
        &self,
        dev_eui: Option<&str>,
    ) -> Result<Vec<UnmappedField>, StoreError> {
        let dev_eui = dev_eui.map(str::to_owned);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT dev_eui, device_type, field, last_value, unit, why, quantity, seen,
                            first_seen, last_seen
                     FROM unmapped_fields
                     WHERE ?1 IS NULL OR dev_eui = ?1
                     ORDER BY dev_eui, last_seen DESC, field",
                )
                .during("unmapped fields")?;
            let rows = stmt
                .query_map([dev_eui], |row| {
                    Ok(UnmappedField {
                        dev_eui: row.get(0)?,
                        device_type: row.get(1)?,
                        field: row.get(2)?,
                        last_value: row.get(3)?,
                        unit: row.get(4)?,
                        why: row.get(5)?,
                        quantity: row.get(6)?,
                        seen: row.get::<_, i64>(7)? as u64,
                        first_seen_ms: row.get(8)?,
                        last_seen_ms: row.get(9)?,
                    })
                })
                .during("unmapped fields")?;
            rows.collect::<Result<_, _>>().during("unmapped fields")
        })
        .await
    }

    /// Whether the store answers a trivial query (for readiness checks).
    /// SQLite's `data_version`: changes whenever any connection, of this process or another,
    /// committed. Read (a read transaction on a connection of its own) at most every
    /// [`DATA_VERSION_FRESH`], so callers may ask on every request. Where it cannot be read, a
    /// number never seen before.
    pub fn data_version(&self) -> u64 {
        let mut watcher = self.inner.watcher.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, version)) = watcher.last {
            if at.elapsed() < DATA_VERSION_FRESH {
                return version;
            }
        }
        if watcher.conn.is_none() {
            watcher.conn = open_connection(&self.inner.path, true).ok();
        }
        let version = watcher.conn.as_ref().and_then(|conn| {
            conn.prepare_cached("PRAGMA data_version")
                .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)))
                .ok()
        });
        match version {
            Some(v) => {
                watcher.last = Some((std::time::Instant::now(), v as u64));
                v as u64
            }
            None => {
                *watcher = Watcher::default();
                (1 << 63)
                    | self
                        .inner
                        .unknown
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            }
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).during("ping"))
            .await
    }
}

/// Each connection's page cache, KiB.
const CACHE_KIB: i64 = 65_536;

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
    conn.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(fail)?;
    Ok(conn)
}

/// Used by the registry module for single-row lookups.
fn optional<T>(result: rusqlite::Result<T>) -> rusqlite::Result<Option<T>> {
    result.optional()
}

#[cfg(test)]
mod tests;
