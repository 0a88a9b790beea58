//! The gateway: MQTT in -> decode -> normalise -> store.
//!
//! - `config`: the `[mqtt]` section and its subscriptions.
//! - `formats`: what network servers send (ChirpStack v4 application events, ...), parsed into
//!   one [`formats::Uplink`] shape.
//! - `codec`: payload bytes of a device type -> readings in the quantity vocabulary.
//! - `ingest`: one MQTT message -> what to commit (readings, uplink metadata, dead letter).
//! - `mqtt`: the session with the broker: subscribe, batch, then acknowledge.
//! - `commit`: a batch into the store; what the store refuses is found and set aside.
//! - `replay`: dead letters through ingestion again.
//! - `webhook`: The Things Stack and ChirpStack posting uplinks over HTTP, into the same queue.
//! - `metrics`: the counters every stage keeps (received, stored, dead-lettered by reason).

pub mod codec;
mod commit;
pub mod config;
pub mod formats;
pub mod ingest;
pub mod metrics;
pub mod mqtt;
pub mod network;
pub mod normalise;
mod queue;
pub mod registry;
pub mod replay;
mod subscribing;
pub mod webhook;

pub use codec::ttn::CodecsConfig;
pub use config::{MqttConfig, PayloadFormat, Subscription};
pub use metrics::GatewayMetrics;
pub use mqtt::{queue, run, run_queued, Intake, Queue};
pub use normalise::NormalisationRule;
pub use webhook::IngestConfig;
