//! The read path: raw readings, aggregated ranges, streamed exports, and retention.
//!
//! Hourly and daily ranges read the hourly rollups; minute and quarter-hour ranges aggregate
//! raw readings of the one series, which the (series, time) key keeps contiguous on disk.

use rusqlite::{params, Connection};
use tokio::sync::mpsc;

use super::SqliteStore;
use crate::error::Context;
use crate::{
    Bucket, PageQuery, RangeQuery, Reading, ReadingQuery, Resolution, SeriesStart, StoreError,
};

pub(super) fn readings(
    conn: &Connection,
    query: &ReadingQuery,
) -> Result<Vec<Reading>, StoreError> {
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

fn series_id(conn: &Connection, station: &str, quantity: &str) -> Result<Option<i64>, StoreError> {
    super::optional(
        conn.prepare_cached("SELECT id FROM series WHERE station = ?1 AND quantity = ?2")
            .during("find series")?
            .query_row(params![station, quantity], |row| row.get(0)),
    )
    .during("find series")
}

/// The page cache of a connection while it scans many series, KiB.
const SCAN_CACHE_KIB: i64 = 8_192;

fn range(conn: &Connection, query: &RangeQuery) -> Result<Vec<Bucket>, StoreError> {
    buckets(conn, query, None)
}

/// The buckets of a range, oldest first, or ordered and cut as `page` says (newest first,
/// offset, limit).
fn buckets(
    conn: &Connection,
    query: &RangeQuery,
    page: Option<(bool, usize, usize)>,
) -> Result<Vec<Bucket>, StoreError> {
    let Some(id) = series_id(conn, &query.station, &query.quantity)? else {
        return Ok(Vec::new());
    };
    let (since, until) = query.aligned();
    let (select, step) = match query.resolution {
        Resolution::Raw => (
            "SELECT ts AS b, value, value, value, 1, value FROM readings
             WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3",
            1,
        ),
        Resolution::Minute | Resolution::QuarterHour => (
            "SELECT (ts / ?4) * ?4 AS b, AVG(value), MIN(value), MAX(value), COUNT(*), SUM(value)
             FROM readings WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3
             GROUP BY b",
            query.resolution.step_ms().unwrap_or(1),
        ),
        // An hour is one row of the rollup: nothing to group (grouping sorted the rows again).
        Resolution::Hour => (
            "SELECT hour AS b, sum / count, min, max, count, sum
             FROM hourly WHERE series_id = ?1 AND hour >= ?2 AND hour < ?3",
            1,
        ),
        Resolution::Day => (
            "SELECT (hour / ?4) * ?4 AS b, SUM(sum) / SUM(count), MIN(min), MAX(max), SUM(count), SUM(sum)
             FROM hourly WHERE series_id = ?1 AND hour >= ?2 AND hour < ?3
             GROUP BY b",
            query.resolution.step_ms().unwrap_or(1),
        ),
    };
    let sql = match page {
        None => format!("{select} ORDER BY b"),
        Some((newest_first, offset, limit)) => format!(
            "{select} ORDER BY b {} LIMIT {} OFFSET {}",
            if newest_first { "DESC" } else { "ASC" },
            limit.min(i64::MAX as usize),
            offset.min(i64::MAX as usize)
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).during("range query")?;
    let bind: &[&dyn rusqlite::ToSql] =
        if matches!(query.resolution, Resolution::Raw | Resolution::Hour) {
            &[&id, &since, &until]
        } else {
            &[&id, &since, &until, &step]
        };
    let rows = stmt
        .query_map(bind, |row| {
            Ok(Bucket {
                start_ms: row.get(0)?,
                mean: row.get(1)?,
                min: row.get(2)?,
                max: row.get(3)?,
                count: row.get::<_, i64>(4)? as u64,
                sum: row.get(5)?,
            })
        })
        .during("range query")?;
    rows.collect::<Result<_, _>>().during("range query")
}

/// The oldest reading of every series, or its oldest hourly rollup where that is older (the
/// readings before it were retained away): two index lookups a series.
fn starts(conn: &Connection) -> Result<Vec<SeriesStart>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT station, quantity,
                 CASE WHEN r IS NULL THEN h WHEN h < (r / 3600000) * 3600000 THEN h ELSE r END
             FROM (SELECT station, quantity,
                       (SELECT MIN(ts) FROM readings WHERE series_id = s.id) AS r,
                       (SELECT MIN(hour) FROM hourly WHERE series_id = s.id) AS h
                   FROM series s)
             WHERE r IS NOT NULL OR h IS NOT NULL
             ORDER BY station, quantity",
        )
        .during("series starts")?;
    let rows = stmt
        .query_map([], |row| {
            Ok(SeriesStart {
                station: row.get(0)?,
                quantity: row.get(1)?,
                time_ms: row.get(2)?,
            })
        })
        .during("series starts")?;
    rows.collect::<Result<_, _>>().during("series starts")
}

impl SqliteStore {
    /// One series over a window at a resolution; see [`RangeQuery`].
    pub async fn range(&self, query: RangeQuery) -> Result<Vec<Bucket>, StoreError> {
        self.read(move |conn| range(conn, &query)).await
    }

    /// Several series' ranges on one reader connection; see [`TimeSeries::ranges`]. The
    /// connection's page cache is cut to `SCAN_CACHE_KIB` meanwhile: a scan reads each page
    /// once, and a full cache would only hold what was read (the default, 64 MiB, holds more
    /// than a month of 500 stations).
    pub async fn ranges(&self, queries: Vec<RangeQuery>) -> Result<Vec<Vec<Bucket>>, StoreError> {
        self.read(move |conn| {
            conn.pragma_update(None, "cache_size", -SCAN_CACHE_KIB)
                .during("range scan")?;
            let answers: Result<Vec<_>, _> = queries.iter().map(|q| range(conn, q)).collect();
            conn.pragma_update(None, "cache_size", -super::CACHE_KIB)
                .during("range scan")?;
            answers
        })
        .await
    }

    /// One page of a series; see [`PageQuery`].
    pub async fn page(&self, query: PageQuery) -> Result<Vec<Bucket>, StoreError> {
        self.read(move |conn| {
            buckets(
                conn,
                &query.range,
                Some((query.newest_first, query.offset, query.limit)),
            )
        })
        .await
    }

    /// When every series begins; see [`SeriesStart`].
    pub async fn starts(&self) -> Result<Vec<SeriesStart>, StoreError> {
        self.read(starts).await
    }

    /// Every reading in `[since_ms, until_ms)`, in chunks of up to `chunk` readings, ordered by
    /// series and then time. The export runs on the blocking pool while the caller consumes
    /// chunks, so memory stays bounded by the channel, not by the window.
    pub fn export(
        &self,
        since_ms: i64,
        until_ms: i64,
        chunk: usize,
    ) -> mpsc::Receiver<Result<Vec<Reading>, StoreError>> {
        let (tx, rx) = mpsc::channel(4);
        let inner = self.inner.clone();
        let chunk = chunk.max(1);
        tokio::task::spawn_blocking(move || {
            let result = Self::read_blocking(&inner, |conn| {
                let mut series = conn
                    .prepare(
                        "SELECT id, station, quantity, unit FROM series ORDER BY station, quantity",
                    )
                    .during("export")?;
                let series: Vec<(i64, String, String, String)> = series
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .during("export")?
                    .collect::<Result<_, _>>()
                    .during("export")?;
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT ts, value FROM readings
                         WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                    )
                    .during("export")?;
                let mut buffer = Vec::with_capacity(chunk);
                for (id, station, quantity, unit) in &series {
                    let mut rows = stmt
                        .query(params![id, since_ms, until_ms])
                        .during("export")?;
                    while let Some(row) = rows.next().during("export")? {
                        buffer.push(Reading {
                            station: station.clone(),
                            quantity: quantity.clone(),
                            unit: unit.clone(),
                            time_ms: row.get(0).during("export")?,
                            value: row.get(1).during("export")?,
                        });
                        if buffer.len() == chunk {
                            let full = std::mem::replace(&mut buffer, Vec::with_capacity(chunk));
                            if tx.blocking_send(Ok(full)).is_err() {
                                return Ok(()); // the consumer went away
                            }
                        }
                    }
                }
                if !buffer.is_empty() {
                    let _ = tx.blocking_send(Ok(buffer));
                }
                Ok(())
            });
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
            }
        });
        rx
    }

    /// Deletes raw readings, and the uplinks' radio metadata, older than `cutoff_ms`. Hourly
    /// rollups and latest values stay, so long-term hourly and daily history survives raw
    /// retention. Returns the readings deleted.
    pub async fn retain(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let deleted = conn
                .execute(
                    "DELETE FROM readings WHERE series_id IN (SELECT id FROM series) AND ts < ?1",
                    [cutoff_ms],
                )
                .during("retention")?;
            conn.execute("DELETE FROM uplink_gateways WHERE ts < ?1", [cutoff_ms])
                .during("retention of uplink gateways")?;
            conn.execute("DELETE FROM uplinks WHERE ts < ?1", [cutoff_ms])
                .during("retention of uplinks")?;
            Ok(deleted as u64)
        })
        .await
    }
}
