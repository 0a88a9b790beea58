//! The time-series store: what the gateway writes and the dashboards and publisher read.
//!
//! [`TimeSeries`] is the one interface over readings, with two backends: embedded SQLite (the
//! default, [`SqliteStore`]) and InfluxDB ([`InfluxStore`]). [`Store`] is what the rest of the
//! system holds: the configured time-series backend plus the SQLite file that always keeps the
//! operational state (device registry, uplink metadata, dead letters, unknown devices).
//! Readings carry no device identifiers or radio metadata; those stay in the state.

pub mod battery;
mod config;
mod device;
pub mod device_file;
mod device_type;
mod error;
mod gateway;
pub mod influx;
mod model;
mod reason;
pub mod sqlite;
mod station;
pub mod time;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;

pub use battery::{Batteries, BatteryConfig};
pub use config::{Backend, DeadLetterLimits, InfluxApi, StoreConfig};
pub use device::DeviceError;
pub use device_type::{BuiltIn, DeviceType, DeviceTypeError, JsCodec, TtnCodec};
pub use error::StoreError;
pub use gateway::{GatewayError, GatewayInfo};
pub use influx::InfluxStore;
pub use model::{
    shown_value, suggested_rule, AdminSession, AlertKind, Bucket, DeadLetter, DeadLetterCount,
    Device, DeviceHealth, DeviceStatus, GatewaySeen, GatewayStatus, Heard, IngestBatch,
    LatestValue, Link, PageQuery, RangeQuery, Reading, ReadingQuery, Resolution, SeriesStart,
    SessionState, Sighting, Station, TimeSource, UnknownDevice, UnmappedField, Uplink,
    UNMAPPED_FIELDS_PER_DEVICE,
};
pub use reason::DeadLetterReason;
pub use sqlite::SqliteStore;
pub use station::{Gauge, Level, NotATheme, StationError, StationInfo, Theme};

/// A stream of reading chunks from an export.
pub type ExportStream = mpsc::Receiver<Result<Vec<Reading>, StoreError>>;

/// What every time-series backend does, with the same behaviour (the shared test suite in
/// `store/tests/backends.rs` holds every backend to it).
pub trait TimeSeries: Clone + Send + Sync + 'static {
    /// Writes readings idempotently: the same station, quantity and time replaces the stored
    /// value (last write wins), never duplicates it. Durable when it returns `Ok`.
    fn write(&self, readings: Vec<Reading>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The newest value of every series.
    fn latest(&self) -> impl Future<Output = Result<Vec<LatestValue>, StoreError>> + Send;

    /// One series over a window, raw or aggregated (mean, min, max, count per bucket).
    fn range(
        &self,
        query: RangeQuery,
    ) -> impl Future<Output = Result<Vec<Bucket>, StoreError>> + Send;

    /// Several series over their windows, answered in order: what `range` answers for each,
    /// read in one go (SQLite: one connection, with a small page cache, since a scan reads
    /// each page once). The publisher reads a month of every series this way.
    fn ranges(
        &self,
        queries: Vec<RangeQuery>,
    ) -> impl Future<Output = Result<Vec<Vec<Bucket>>, StoreError>> + Send {
        async move {
            let mut answers = Vec::with_capacity(queries.len());
            for query in queries {
                answers.push(self.range(query).await?);
            }
            Ok(answers)
        }
    }

    /// One page of a series over a window: `range`, ordered and cut in the store.
    fn page(
        &self,
        query: PageQuery,
    ) -> impl Future<Output = Result<Vec<Bucket>, StoreError>> + Send;

    /// When every series begins.
    fn starts(&self) -> impl Future<Output = Result<Vec<SeriesStart>, StoreError>> + Send;

    /// Raw readings of stations, oldest first.
    fn readings(
        &self,
        query: ReadingQuery,
    ) -> impl Future<Output = Result<Vec<Reading>, StoreError>> + Send;

    /// Every reading in `[since_ms, until_ms)`, streamed in chunks of at most `chunk`.
    fn export(&self, since_ms: i64, until_ms: i64, chunk: usize) -> ExportStream;

    /// Deletes raw readings older than `cutoff_ms`.
    fn retain(&self, cutoff_ms: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

impl TimeSeries for SqliteStore {
    async fn write(&self, readings: Vec<Reading>) -> Result<(), StoreError> {
        self.write_readings(readings).await
    }
    async fn latest(&self) -> Result<Vec<LatestValue>, StoreError> {
        SqliteStore::latest(self).await
    }
    async fn range(&self, query: RangeQuery) -> Result<Vec<Bucket>, StoreError> {
        SqliteStore::range(self, query).await
    }
    async fn ranges(&self, queries: Vec<RangeQuery>) -> Result<Vec<Vec<Bucket>>, StoreError> {
        SqliteStore::ranges(self, queries).await
    }
    async fn page(&self, query: PageQuery) -> Result<Vec<Bucket>, StoreError> {
        SqliteStore::page(self, query).await
    }
    async fn starts(&self) -> Result<Vec<SeriesStart>, StoreError> {
        SqliteStore::starts(self).await
    }
    async fn readings(&self, query: ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        SqliteStore::readings(self, query).await
    }
    fn export(&self, since_ms: i64, until_ms: i64, chunk: usize) -> ExportStream {
        SqliteStore::export(self, since_ms, until_ms, chunk)
    }
    async fn retain(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        SqliteStore::retain(self, cutoff_ms).await
    }
}

impl TimeSeries for InfluxStore {
    async fn write(&self, readings: Vec<Reading>) -> Result<(), StoreError> {
        InfluxStore::write(self, &readings).await
    }
    async fn latest(&self) -> Result<Vec<LatestValue>, StoreError> {
        InfluxStore::latest(self).await
    }
    async fn range(&self, query: RangeQuery) -> Result<Vec<Bucket>, StoreError> {
        InfluxStore::range(self, &query).await
    }
    async fn page(&self, query: PageQuery) -> Result<Vec<Bucket>, StoreError> {
        InfluxStore::page(self, &query).await
    }
    async fn starts(&self) -> Result<Vec<SeriesStart>, StoreError> {
        InfluxStore::starts(self).await
    }
    async fn readings(&self, query: ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        InfluxStore::readings(self, &query).await
    }
    fn export(&self, since_ms: i64, until_ms: i64, chunk: usize) -> ExportStream {
        InfluxStore::export(self, since_ms, until_ms, chunk)
    }
    async fn retain(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        InfluxStore::retain(self, cutoff_ms).await
    }
}

#[derive(Clone)]
enum SeriesBackend {
    Sqlite(SqliteStore),
    Influx(Box<InfluxStore>),
}

/// The store as the system holds it: the configured time-series backend and the SQLite state.
#[derive(Clone)]
pub struct Store {
    state: SqliteStore,
    series: SeriesBackend,
    /// Counts commits that stored readings, so readers in this process (the live feed) learn
    /// of new values at once instead of polling.
    commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Store {
    /// Opens the store the config describes. The SQLite file is always opened (and created).
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        let state = SqliteStore::open_with(&config.path, config.dead_letter_limits())?;
        let series = match config.backend {
            Backend::Sqlite => SeriesBackend::Sqlite(state.clone()),
            Backend::Influxdb => SeriesBackend::Influx(Box::new(InfluxStore::new(config)?)),
        };
        Ok(Store {
            state,
            series,
            commits: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// The SQLite store with the registry, uplink metadata and dead letters.
    pub fn state(&self) -> &SqliteStore {
        &self.state
    }

    /// Commits what one batch of messages produced: readings to the time-series backend, the
    /// rest to the state. With SQLite both go in one transaction; with InfluxDB the readings
    /// are written first, so a crash in between at worst writes them again (idempotently).
    pub async fn commit(&self, batch: IngestBatch) -> Result<(), StoreError> {
        self.commit_parts(Arc::new(vec![batch]), 0..1).await
    }

    /// Commits `parts[range]`, what each of several messages produced, as [`Store::commit`]
    /// does one batch; the parts are shared, not copied, so a retry or a split costs nothing.
    pub async fn commit_parts(
        &self,
        parts: Arc<Vec<IngestBatch>>,
        range: std::ops::Range<usize>,
    ) -> Result<(), StoreError> {
        let readings = parts[range.clone()].iter().any(|p| !p.readings.is_empty());
        match &self.series {
            SeriesBackend::Sqlite(_) => self.state.commit_parts(parts, range).await?,
            SeriesBackend::Influx(influx) => {
                if readings {
                    let all: Vec<Reading> = parts[range.clone()]
                        .iter()
                        .flat_map(|p| p.readings.iter().cloned())
                        .collect();
                    influx.write(&all).await?;
                }
                self.state.commit_state(parts, range).await?
            }
        }
        if readings {
            self.commits.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// Changes with every commit through this store (or a clone of it) that stored readings.
    /// Writers in other processes are not seen: who needs them must also poll.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// A number that changes whenever something was committed: by this process (at once:
    /// the commit counter, and SQLite's `data_version`, read again after each of its writes)
    /// or by any other writer of its SQLite file (`data_version`, within 50 ms). With InfluxDB, another process's readings are seen through the state it
    /// commits after them. For caches of answers built from the store.
    pub fn version(&self) -> u64 {
        let commits = *self.commits.borrow();
        commits.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.state.data_version()
    }

    /// Whether both parts answer (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.state.ping().await?;
        if let SeriesBackend::Influx(influx) = &self.series {
            influx.ping().await?;
        }
        Ok(())
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match &$self.series {
            SeriesBackend::Sqlite($store) => $call,
            SeriesBackend::Influx(boxed) => {
                let $store = boxed.as_ref();
                $call
            }
        }
    };
}

impl TimeSeries for Store {
    async fn write(&self, readings: Vec<Reading>) -> Result<(), StoreError> {
        let any = !readings.is_empty();
        delegate!(self, s => TimeSeries::write(s, readings).await)?;
        if any {
            self.commits.send_modify(|n| *n += 1);
        }
        Ok(())
    }
    async fn latest(&self) -> Result<Vec<LatestValue>, StoreError> {
        delegate!(self, s => TimeSeries::latest(s).await)
    }
    async fn range(&self, query: RangeQuery) -> Result<Vec<Bucket>, StoreError> {
        delegate!(self, s => TimeSeries::range(s, query).await)
    }
    async fn ranges(&self, queries: Vec<RangeQuery>) -> Result<Vec<Vec<Bucket>>, StoreError> {
        delegate!(self, s => TimeSeries::ranges(s, queries).await)
    }
    async fn page(&self, query: PageQuery) -> Result<Vec<Bucket>, StoreError> {
        delegate!(self, s => TimeSeries::page(s, query).await)
    }
    async fn starts(&self) -> Result<Vec<SeriesStart>, StoreError> {
        delegate!(self, s => TimeSeries::starts(s).await)
    }
    async fn readings(&self, query: ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        delegate!(self, s => TimeSeries::readings(s, query).await)
    }
    fn export(&self, since_ms: i64, until_ms: i64, chunk: usize) -> ExportStream {
        delegate!(self, s => TimeSeries::export(s, since_ms, until_ms, chunk))
    }
    async fn retain(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        delegate!(self, s => TimeSeries::retain(s, cutoff_ms).await)
    }
}
