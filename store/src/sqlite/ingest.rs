//! The write path: one transaction per batch, with the latest values and hourly rollups kept
//! current in the same transaction.
//!
//! Readings are idempotent (same series and time: last write wins). A new reading adds to its
//! hour's rollup; a reading that replaces a different value marks its hour for recomputation
//! from raw data; an identical redelivery changes nothing. Rollup deltas are summed in memory
//! first, so a batch costs one rollup upsert per touched hour, not per reading.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{params, Connection, Transaction};

use crate::error::Context;
use crate::{DeadLetterLimits, IngestBatch, Reading, StoreError};

type SeriesIds = HashMap<String, HashMap<String, i64>>;

const HOUR_MS: i64 = 3_600_000;

/// The writer connection with what it remembers between batches.
pub struct Writer {
    pub conn: Connection,
    /// station -> quantity -> series id; series are never deleted, so the cache never lies.
    series_ids: SeriesIds,
    limits: DeadLetterLimits,
}

impl Writer {
    pub fn new(conn: Connection, limits: DeadLetterLimits) -> Self {
        Writer {
            conn,
            series_ids: HashMap::new(),
            limits,
        }
    }

    pub fn limits(&self) -> DeadLetterLimits {
        self.limits
    }

    /// Commits the parts (what each message produced) in one transaction; their readings too
    /// unless another backend keeps them.
    pub fn commit(&mut self, parts: &[IngestBatch], readings: bool) -> Result<(), StoreError> {
        let result = commit_parts(
            &mut self.conn,
            &mut self.series_ids,
            &self.limits,
            parts,
            readings,
        );
        if result.is_err() {
            // Series created by the rolled-back transaction do not exist: forget every id.
            self.series_ids.clear();
        }
        result
    }
}

fn commit_parts(
    conn: &mut Connection,
    series_ids: &mut SeriesIds,
    limits: &DeadLetterLimits,
    parts: &[IngestBatch],
    readings: bool,
) -> Result<(), StoreError> {
    let tx = conn.transaction().during("begin ingest")?;
    if readings {
        write_readings(
            &tx,
            series_ids,
            parts.iter().flat_map(|p| p.readings.iter()),
        )?;
    }
    {
        let mut statements = Statements::prepare(&tx)?;
        for part in parts {
            write_metadata(&mut statements, part, limits)?;
        }
        write_uplinks(&mut statements, parts)?;
    }
    if parts.iter().any(|p| !p.dead_letters.is_empty()) {
        prune_dead_letters(&tx, limits, crate::time::now_ms())?;
    }
    tx.commit().during("commit ingest")
}

/// Removes the oldest dead letters beyond the row limit and those older than the age limit.
pub(super) fn prune_dead_letters(
    conn: &Connection,
    limits: &DeadLetterLimits,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut removed = conn
        .prepare_cached(
            "DELETE FROM dead_letters WHERE id IN
               (SELECT id FROM dead_letters ORDER BY id DESC LIMIT -1 OFFSET ?1)",
        )
        .during("prune dead letters")?
        .execute([limits.max_rows as i64])
        .during("prune dead letters")?;
    if limits.keep_days > 0 {
        let cutoff = now_ms - i64::from(limits.keep_days) * 86_400_000;
        removed += conn
            .prepare_cached("DELETE FROM dead_letters WHERE ts < ?1")
            .during("prune dead letters")?
            .execute([cutoff])
            .during("prune dead letters")?;
    }
    Ok(removed as u64)
}

#[derive(Clone, Copy)]
struct Delta {
    count: i64,
    sum: f64,
    min: f64,
    max: f64,
}

fn series_id(tx: &Transaction<'_>, cache: &mut SeriesIds, r: &Reading) -> Result<i64, StoreError> {
    if let Some(id) = cache.get(&r.station).and_then(|q| q.get(&r.quantity)) {
        return Ok(*id);
    }
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO series (station, quantity, unit) VALUES (?1, ?2, ?3)
             ON CONFLICT (station, quantity) DO UPDATE SET unit = excluded.unit
             RETURNING id",
        )
        .during("write series")?
        .query_row(params![r.station, r.quantity, r.unit], |row| row.get(0))
        .during("write series")?;
    cache
        .entry(r.station.clone())
        .or_default()
        .insert(r.quantity.clone(), id);
    Ok(id)
}

fn write_readings<'a>(
    tx: &Transaction<'_>,
    cache: &mut SeriesIds,
    readings: impl Iterator<Item = &'a Reading>,
) -> Result<(), StoreError> {
    let mut readings = readings.peekable();
    if readings.peek().is_none() {
        return Ok(());
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO readings (series_id, ts, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (series_id, ts) DO NOTHING",
        )
        .during("write readings")?;
    let mut replace = tx
        .prepare_cached(
            "UPDATE readings SET value = ?3 WHERE series_id = ?1 AND ts = ?2 AND value IS NOT ?3",
        )
        .during("write readings")?;
    // In key order: consecutive inserts land on the same leaf page while it is hot, instead
    // of one page per series in turn (live ingest interleaves every series). The sort is
    // stable, so of two readings of one series and time the later still wins.
    let mut keyed = Vec::with_capacity(readings.size_hint().0);
    for r in readings {
        keyed.push((series_id(tx, cache, r)?, r));
    }
    keyed.sort_by_key(|(id, r)| (*id, r.time_ms));
    let mut deltas: HashMap<(i64, i64), Delta> = HashMap::new();
    let mut recompute: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut newest: HashMap<i64, (i64, f64)> = HashMap::new();
    for (id, r) in keyed {
        let hour = r.time_ms.div_euclid(HOUR_MS) * HOUR_MS;
        if insert
            .execute(params![id, r.time_ms, r.value])
            .during("write readings")?
            == 1
        {
            let d = deltas.entry((id, hour)).or_insert(Delta {
                count: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            });
            d.count += 1;
            d.sum += r.value;
            d.min = d.min.min(r.value);
            d.max = d.max.max(r.value);
        } else if replace
            .execute(params![id, r.time_ms, r.value])
            .during("write readings")?
            == 1
        {
            recompute.insert((id, hour));
        }
        let entry = newest.entry(id).or_insert((r.time_ms, r.value));
        if r.time_ms >= entry.0 {
            *entry = (r.time_ms, r.value);
        }
    }

    let mut add = tx
        .prepare_cached(
            "INSERT INTO hourly (series_id, hour, count, sum, min, max)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (series_id, hour) DO UPDATE SET
               count = count + excluded.count, sum = sum + excluded.sum,
               min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
        )
        .during("write rollups")?;
    for ((id, hour), d) in &deltas {
        if !recompute.contains(&(*id, *hour)) {
            add.execute(params![id, hour, d.count, d.sum, d.min, d.max])
                .during("write rollups")?;
        }
    }
    let mut rebuild = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO hourly (series_id, hour, count, sum, min, max)
             SELECT series_id, ?2, COUNT(*), SUM(value), MIN(value), MAX(value)
             FROM readings WHERE series_id = ?1 AND ts >= ?2 AND ts < ?2 + 3600000",
        )
        .during("rebuild rollups")?;
    for (id, hour) in &recompute {
        rebuild
            .execute(params![id, hour])
            .during("rebuild rollups")?;
    }

    let mut latest = tx
        .prepare_cached(
            "INSERT INTO latest (series_id, ts, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
             WHERE excluded.ts >= latest.ts",
        )
        .during("write latest")?;
    for (id, (ts, value)) in &newest {
        latest
            .execute(params![id, ts, value])
            .during("write latest")?;
    }
    Ok(())
}

/// The statements a batch's metadata needs, prepared once a commit (not once a message).
struct Statements<'t> {
    session: rusqlite::CachedStatement<'t>,
    status: rusqlite::CachedStatement<'t>,
    replayed: rusqlite::CachedStatement<'t>,
    uplink: rusqlite::CachedStatement<'t>,
    heard: rusqlite::CachedStatement<'t>,
    stats: rusqlite::CachedStatement<'t>,
    state: rusqlite::CachedStatement<'t>,
    dead: rusqlite::CachedStatement<'t>,
    unknown: rusqlite::CachedStatement<'t>,
    unmapped: rusqlite::CachedStatement<'t>,
}

impl<'t> Statements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> Result<Statements<'t>, StoreError> {
        Ok(Statements {
            session: tx
                .prepare_cached(
                    "INSERT INTO sessions (dev_eui, f_cnt_up, last_uplink) VALUES (?1, ?2, ?3)
                     ON CONFLICT (dev_eui) DO UPDATE SET f_cnt_up = excluded.f_cnt_up,
                       last_uplink = excluded.last_uplink",
                )
                .during("write sessions")?,
            status: tx
                .prepare_cached(
                    "INSERT INTO device_status (dev_eui, ts, battery_level, margin, external_power)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (dev_eui) DO UPDATE SET ts = excluded.ts,
                       battery_level = excluded.battery_level, margin = excluded.margin,
                       external_power = excluded.external_power
                     WHERE excluded.ts >= device_status.ts",
                )
                .during("write device status")?,
            replayed: tx
                .prepare_cached(
                    "DELETE FROM dead_letters WHERE id = ?1",
                )
                .during("remove replayed dead letters")?,
            uplink: tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO uplinks
                     (dev_eui, ts, f_cnt, f_port, dedup_id, rssi, snr, gateway_count, time_source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .during("write uplinks")?,
            heard: tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO uplink_gateways (dev_eui, ts, gateway_id, rssi, snr)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .during("write uplink gateways")?,
            stats: tx
                .prepare_cached(
                    "INSERT INTO gateway_status (gateway_id, stats_ms, rx_received, rx_ok, tx_emitted)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (gateway_id) DO UPDATE SET stats_ms = excluded.stats_ms,
                       rx_received = excluded.rx_received, rx_ok = excluded.rx_ok,
                       tx_emitted = excluded.tx_emitted",
                )
                .during("write gateway stats")?,
            state: tx
                .prepare_cached(
                    "INSERT INTO gateway_status (gateway_id, online, state_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (gateway_id) DO UPDATE SET online = excluded.online,
                       state_ms = excluded.state_ms",
                )
                .during("write gateway state")?,
            dead: tx
                .prepare_cached(
                    "INSERT INTO dead_letters (ts, topic, payload, reason, detail, size)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .during("write dead letters")?,
            unknown: tx
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
                .during("write unknown devices")?,
            unmapped: tx
                .prepare_cached(
                    "INSERT INTO unmapped_fields
                     (dev_eui, field, device_type, last_value, unit, why, quantity, seen, first_seen, last_seen)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
                     WHERE EXISTS (SELECT 1 FROM unmapped_fields WHERE dev_eui = ?1 AND field = ?2)
                        OR (SELECT COUNT(*) FROM unmapped_fields WHERE dev_eui = ?1) < ?11
                     ON CONFLICT (dev_eui, field) DO UPDATE SET
                       device_type = excluded.device_type,
                       last_value = excluded.last_value,
                       unit = excluded.unit,
                       why = excluded.why,
                       quantity = excluded.quantity,
                       seen = seen + excluded.seen,
                       first_seen = MIN(first_seen, excluded.first_seen),
                       last_seen = MAX(last_seen, excluded.last_seen)",
                )
                .during("write unmapped fields")?,
        })
    }
}

/// The uplinks of every part in key order (device, time), as the readings: the later of two
/// with the same key still replaces the earlier.
fn write_uplinks(st: &mut Statements<'_>, parts: &[IngestBatch]) -> Result<(), StoreError> {
    let mut uplinks: Vec<&crate::Uplink> = parts.iter().flat_map(|p| &p.uplinks).collect();
    uplinks.sort_by(|a, b| (&a.dev_eui, a.time_ms).cmp(&(&b.dev_eui, b.time_ms)));
    for u in uplinks {
        st.uplink
            .execute(params![
                u.dev_eui,
                u.time_ms,
                u.f_cnt,
                u.f_port,
                u.dedup_id,
                u.rssi,
                u.snr,
                u.gateway_count,
                u.time_source.name(),
            ])
            .during("write uplinks")?;
        for g in &u.gateways {
            st.heard
                .execute(params![u.dev_eui, u.time_ms, g.gateway_id, g.rssi, g.snr])
                .during("write uplink gateways")?;
        }
    }
    Ok(())
}

fn write_metadata(
    st: &mut Statements<'_>,
    batch: &IngestBatch,
    limits: &DeadLetterLimits,
) -> Result<(), StoreError> {
    let Statements {
        session,
        status,
        replayed,
        stats,
        state,
        dead,
        unknown,
        unmapped,
        ..
    } = st;
    for s in &batch.statuses {
        status
            .execute(params![
                s.dev_eui,
                s.time_ms,
                s.battery_level,
                s.margin,
                s.external_power
            ])
            .during("write device status")?;
    }
    for id in &batch.replayed_dead_letters {
        replayed
            .execute([id])
            .during("remove replayed dead letters")?;
    }
    for (dev_eui, s) in &batch.sessions {
        session
            .execute(params![dev_eui, s.f_cnt_up, s.last_uplink_ms])
            .during("write sessions")?;
    }
    for g in &batch.gateway_statuses {
        match g.online {
            Some(online) => state.execute(params![g.gateway_id, online, g.time_ms]),
            None => stats.execute(params![
                g.gateway_id,
                g.time_ms,
                g.rx_received,
                g.rx_ok,
                g.tx_emitted
            ]),
        }
        .during("write gateway status")?;
    }
    for d in &batch.dead_letters {
        let kept = &d.payload[..d.payload.len().min(limits.payload_bytes)];
        let size = d.size.max(d.payload.len()) as i64;
        dead.execute(params![d.time_ms, d.topic, kept, d.reason, d.detail, size])
            .during("write dead letters")?;
    }
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
    // One row per device and field however often the batch saw it.
    let mut merged: Vec<&crate::UnmappedField> = Vec::new();
    let mut seen: std::collections::HashMap<(&str, &str), (usize, u64, i64)> =
        std::collections::HashMap::new();
    for u in &batch.unmapped_fields {
        match seen.entry((u.dev_eui.as_str(), u.field.as_str())) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let (at, count, first) = e.get_mut();
                *count += u.seen;
                *first = (*first).min(u.first_seen_ms);
                if u.last_seen_ms >= merged[*at].last_seen_ms {
                    merged[*at] = u;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((merged.len(), u.seen, u.first_seen_ms));
                merged.push(u);
            }
        }
    }
    for u in merged {
        let (_, count, first) = seen[&(u.dev_eui.as_str(), u.field.as_str())];
        unmapped
            .execute(params![
                u.dev_eui,
                u.field,
                u.device_type,
                u.last_value,
                u.unit,
                u.why,
                u.quantity,
                count as i64,
                first,
                u.last_seen_ms,
                crate::model::UNMAPPED_FIELDS_PER_DEVICE as i64,
            ])
            .during("write unmapped fields")?;
    }
    Ok(())
}
