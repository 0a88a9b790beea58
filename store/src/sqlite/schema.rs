//! Versioned migrations of the SQLite schema.
//!
//! `PRAGMA user_version` holds the version the file is at; each migration runs once, in its
//! own transaction, in order. Never edit a released migration: add the next one.

use rusqlite::Connection;

use crate::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: readings keyed by (series, time), latest values, uplink metadata, registry, dead letters.
    "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        station TEXT NOT NULL,
        quantity TEXT NOT NULL,
        unit TEXT NOT NULL,
        UNIQUE (station, quantity)
    );
    CREATE TABLE readings (
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE latest (
        series_id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        value REAL NOT NULL
    );
    CREATE TABLE uplinks (
        dev_eui TEXT NOT NULL,
        ts INTEGER NOT NULL,
        f_cnt INTEGER,
        f_port INTEGER,
        dedup_id TEXT,
        rssi REAL,
        snr REAL,
        gateway_count INTEGER NOT NULL,
        PRIMARY KEY (dev_eui, ts)
    ) WITHOUT ROWID;
    CREATE TABLE devices (
        dev_eui TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        station TEXT NOT NULL,
        device_type TEXT NOT NULL,
        lat REAL,
        lon REAL,
        public INTEGER NOT NULL,
        dev_addr TEXT,
        nwk_s_key TEXT,
        app_s_key TEXT
    );
    CREATE INDEX devices_station ON devices (station);
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX dead_letters_reason ON dead_letters (reason);
    CREATE TABLE unknown_devices (
        dev_eui TEXT PRIMARY KEY,
        name_hint TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        uplinks INTEGER NOT NULL,
        last_topic TEXT NOT NULL
    );",
    // 2: hourly rollups, kept current on every write, so that dashboards and the publisher
    // never scan raw readings for hourly or daily views. Backfilled from what is stored.
    "CREATE TABLE hourly (
        series_id INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        PRIMARY KEY (series_id, hour)
    ) WITHOUT ROWID;
    INSERT INTO hourly (series_id, hour, count, sum, min, max)
        SELECT series_id, (ts / 3600000) * 3600000, COUNT(*), SUM(value), MIN(value), MAX(value)
        FROM readings GROUP BY series_id, (ts / 3600000);",
    // 3: the network session of each ABP device whose raw frames the gateway checks: the last
    // accepted 32-bit uplink frame counter, so replays stay rejected across restarts.
    "CREATE TABLE sessions (
        dev_eui TEXT PRIMARY KEY,
        f_cnt_up INTEGER NOT NULL,
        last_uplink INTEGER NOT NULL
    );",
    // 4: the latest status report of each device (ChirpStack `status` events): battery and
    // link margin for device health.
    "CREATE TABLE device_status (
        dev_eui TEXT PRIMARY KEY,
        ts INTEGER NOT NULL,
        battery_level REAL,
        margin INTEGER,
        external_power INTEGER NOT NULL
    );",
    // 5: device alerts that are open (a silent device, a low battery) and since when, so an
    // alert is sent once when it opens and once when it clears, across restarts too.
    "CREATE TABLE alerts (
        dev_eui TEXT NOT NULL,
        kind TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (dev_eui, kind)
    );",
    // 6: technicians' login sessions, so a restart logs nobody out. The session id is stored
    // only as a SHA-256 hash; `account` fingerprints the password hash the login was made
    // with, so changing a password ends the sessions made with the old one.
    "CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        account TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires INTEGER NOT NULL
    );",
    // 7: where an uplink's time came from; a dead letter's size as received (its payload may
    // be cut), and an index to remove old ones.
    "ALTER TABLE uplinks ADD COLUMN time_source TEXT NOT NULL DEFAULT 'network';
    ALTER TABLE dead_letters ADD COLUMN size INTEGER;
    CREATE INDEX dead_letters_ts ON dead_letters (ts);",
    // 8: numeric fields of codec output that became no reading, per device: what technicians
    // map next. Never public.
    "CREATE TABLE unmapped_fields (
        dev_eui TEXT NOT NULL,
        field TEXT NOT NULL,
        device_type TEXT NOT NULL,
        last_value REAL NOT NULL,
        unit TEXT,
        why TEXT NOT NULL,
        quantity TEXT,
        seen INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (dev_eui, field)
    ) WITHOUT ROWID;",
    // 9: stations as places: a name for people, a description, a theme, a position of their
    // own, and for a gauge its datum and the sensor's height above it.
    "CREATE TABLE stations (
        station TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_en TEXT,
        description TEXT NOT NULL DEFAULT '',
        description_en TEXT,
        theme TEXT,
        lat REAL,
        lon REAL,
        datum TEXT,
        sensor_height_m REAL
    ) WITHOUT ROWID;",
    // 10: levels that mean something (a gauge's `erhöht`, CO2's `lüften`), as JSON.
    "ALTER TABLE stations ADD COLUMN levels TEXT NOT NULL DEFAULT '[]';",
    // 11: which gateways heard each uplink, with their signal, for the gateways' views and
    // the device page; looked up by gateway and time too.
    "CREATE TABLE uplink_gateways (
        dev_eui TEXT NOT NULL,
        ts INTEGER NOT NULL,
        gateway_id TEXT NOT NULL,
        rssi REAL,
        snr REAL,
        PRIMARY KEY (dev_eui, ts, gateway_id)
    ) WITHOUT ROWID;
    CREATE INDEX uplink_gateways_by_gateway ON uplink_gateways (gateway_id, ts);",
    // 12: gateways in the registry: a name and a position for a network server's gateway id.
    "CREATE TABLE gateways (
        gateway_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        lat REAL,
        lon REAL
    );",
    // 13: what gateways say of themselves (ChirpStack `stats` and `conn` events), newest only.
    "CREATE TABLE gateway_status (
        gateway_id TEXT PRIMARY KEY,
        stats_ms INTEGER,
        rx_received INTEGER,
        rx_ok INTEGER,
        tx_emitted INTEGER,
        online INTEGER,
        state_ms INTEGER
    );",
    // 14: the id a portal gave each published dataset, so that a dataset the portal renamed is
    // still found (and never created twice).
    "CREATE TABLE portal_datasets (
        portal TEXT NOT NULL,
        name TEXT NOT NULL,
        ckan_id TEXT NOT NULL,
        PRIMARY KEY (portal, name)
    );",
];

/// The schema version this build writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the file up to [`VERSION`], refusing files written by a newer sensorhub.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|source| StoreError::Migration { version: 0, source })?;
    if found > VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let fail = |source| StoreError::Migration { version, source };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}
