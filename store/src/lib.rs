//! The time-series store: what the gateway writes and the dashboards and publisher read.
//!
//! Readings (station, quantity, value, unit, time) are kept apart from uplink metadata (frame
//! counters, radio figures), which serves device health and never reaches published data.
//! The embedded SQLite backend also holds the operational state every deployment needs:
//! the device registry, dead letters and unknown devices.

mod config;
mod error;
mod model;
pub mod sqlite;
pub mod time;

pub use config::{Backend, StoreConfig};
pub use error::StoreError;
pub use model::{
    DeadLetter, DeadLetterCount, Device, IngestBatch, LatestValue, Reading, ReadingQuery, Station,
    UnknownDevice, Uplink,
};
pub use sqlite::SqliteStore;
