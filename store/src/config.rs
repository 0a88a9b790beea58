//! The `[store]` config section.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// `sqlite` (embedded, the default) or `influxdb`.
    pub backend: Backend,
    /// SQLite file. With every backend it also holds the device registry, uplink metadata and
    /// dead letters; with `sqlite` it holds the readings too.
    pub path: String,
    /// Raw readings older than this many days are deleted (0: keep everything). With SQLite,
    /// hourly rollups stay, so hourly and daily history outlives the raw data.
    pub retention_days: u32,
    /// InfluxDB: base URL, for example `http://127.0.0.1:8086`.
    pub url: String,
    /// InfluxDB write API: `v1` (`/write`, InfluxDB 1.x) or `v2` (`/api/v2/write`, 2.x and 3.x).
    pub api: InfluxApi,
    /// InfluxDB database for InfluxQL queries (1.x; on 2.x the DBRP-mapped name of the bucket).
    pub database: String,
    /// InfluxDB 2.x/3.x organisation and bucket, for `api = "v2"` writes.
    pub org: String,
    pub bucket: String,
    /// InfluxDB API token (2.x, 3.x); better set as SENSORHUB_STORE_TOKEN.
    pub token: Option<String>,
    /// InfluxDB 1.x user and password; better set the password as SENSORHUB_STORE_PASSWORD.
    pub user: Option<String>,
    pub password: Option<String>,
    /// Dead letters kept at most; beyond this the oldest go first.
    pub dead_letters_max: u64,
    /// Bytes of a dead letter's message kept (its original size is kept beside them).
    pub dead_letter_payload_bytes: usize,
    /// Dead letters older than this many days are removed (0: kept until `dead_letters_max`).
    pub dead_letters_keep_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Influxdb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InfluxApi {
    V1,
    V2,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: Backend::Sqlite,
            path: "sensorhub-data/sensorhub.db".into(),
            retention_days: 0,
            url: "http://127.0.0.1:8086".into(),
            api: InfluxApi::V1,
            database: "sensorhub".into(),
            org: String::new(),
            bucket: String::new(),
            token: None,
            user: None,
            password: None,
            dead_letters_max: 100_000,
            dead_letter_payload_bytes: 64 << 10,
            dead_letters_keep_days: 30,
        }
    }
}

impl StoreConfig {
    /// The bounds of the dead-letter table this config sets.
    pub fn dead_letter_limits(&self) -> DeadLetterLimits {
        DeadLetterLimits {
            max_rows: self.dead_letters_max.max(1),
            payload_bytes: self.dead_letter_payload_bytes,
            keep_days: self.dead_letters_keep_days,
        }
    }

    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.path.is_empty() {
            problems.push("store.path: must name a file".into());
        }
        if self.dead_letters_max == 0 {
            problems.push("store.dead_letters_max: must be at least 1".into());
        }
        if self.backend == Backend::Influxdb {
            if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
                problems.push(format!(
                    "store.url: `{}` must start with http:// or https://",
                    self.url
                ));
            }
            if self.database.is_empty() {
                problems.push("store.database: InfluxQL queries need a database name".into());
            }
            if self.api == InfluxApi::V2 {
                if self.org.is_empty() || self.bucket.is_empty() {
                    problems.push("store.org and store.bucket: needed for api = \"v2\"".into());
                }
                if self.token.is_none() {
                    problems.push(
                        "store.token: needed for api = \"v2\" (set SENSORHUB_STORE_TOKEN)".into(),
                    );
                }
            }
            if self.user.is_some() != self.password.is_some() {
                problems.push("store.user and store.password: give both or neither".into());
            }
        }
        problems
    }
}

/// How much of what senders got wrong is kept: dead letters never grow without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterLimits {
    pub max_rows: u64,
    pub payload_bytes: usize,
    /// 0: no age limit.
    pub keep_days: u32,
}

impl Default for DeadLetterLimits {
    fn default() -> Self {
        StoreConfig::default().dead_letter_limits()
    }
}
