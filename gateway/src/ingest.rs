//! One MQTT message -> what to commit.
//!
//! The outcome of every message is one of: readings (with the uplink's metadata), nothing to
//! store (a non-uplink event), or a dead letter that keeps the raw bytes and the reason.
//! Nothing here fails on bad input: only a store error (the registry could not be read)
//! propagates, and then the message is retried, not lost.

use sensorhub_store::DeadLetterReason;
use std::sync::atomic::Ordering;

use sensorhub_store::{
    DeadLetter, DeviceType, IngestBatch, Reading, SqliteStore, StoreError, UnknownDevice,
    UnmappedField, Uplink as UplinkRecord,
};

use crate::codec::{self, runner::Submitted};
use crate::formats::{self, Message, Uplink};
use crate::metrics::GatewayMetrics;
use crate::network::{Phy, Sessions, Verdict};
use crate::registry::RegistryCache;
use crate::PayloadFormat;

mod frame;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Readings stored; `implausible` readings of the same uplink were set aside in a dead
    /// letter `implausible_value`.
    Stored {
        readings: usize,
        implausible: usize,
    },
    Skipped,
    DeadLettered(DeadLetterReason),
}

impl Outcome {
    /// Counts the outcome once its batch is committed.
    pub fn count(self, metrics: &GatewayMetrics) {
        match self {
            Outcome::Stored {
                readings,
                implausible,
            } => {
                if implausible > 0 {
                    metrics.dead_lettered(DeadLetterReason::ImplausibleValue);
                }
                metrics.stored.fetch_add(1, Ordering::Relaxed);
                metrics
                    .readings
                    .fetch_add(readings as u64, Ordering::Relaxed);
            }
            Outcome::Skipped => {
                metrics.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::DeadLettered(reason) => metrics.dead_lettered(reason),
        }
    }
}

/// Characters of an unmapped field's name (and unit) kept.
const MAX_FIELD_NAME: usize = 200;

/// A message after [`Ingest::start`]: done, or waiting for its JavaScript codec.
pub enum Handled {
    Done(Outcome),
    Pending(Box<Pending>),
}

impl From<Outcome> for Handled {
    fn from(outcome: Outcome) -> Handled {
        Handled::Done(outcome)
    }
}

/// An uplink whose JavaScript decode runs on the codec thread.
pub struct Pending {
    decode: codec::runner::PendingDecode,
    message: Decoding,
}

/// What storing an uplink needs besides its decoded output.
struct Decoding {
    topic: String,
    /// The message as received, for a dead letter.
    raw: Vec<u8>,
    received_ms: i64,
    device: sensorhub_store::Device,
    uplink: Uplink,
}

/// How many recent uplink identities are remembered to skip redeliveries.
const RECENT_UPLINKS: usize = 100_000;

pub struct Ingest {
    registry: RegistryCache,
    /// Identities (DevEUI, network server deduplication id) of recent uplinks: a redelivered
    /// message is recognised and skipped. Readings are idempotent anyway (same station,
    /// quantity and time), so after a restart, when this is empty, a redelivery changes nothing.
    recent: std::collections::HashSet<(String, String)>,
    recent_order: std::collections::VecDeque<(String, String)>,
    /// Config rules mapping decoder fields onto the vocabulary.
    rules: Vec<crate::NormalisationRule>,
    /// Network sessions of ABP devices, for raw gateway frames.
    sessions: Sessions,
    dedup_window_ms: i64,
    /// Uplinks dated further ahead of our clock than this are refused.
    max_clock_skew_ms: i64,
    codecs: codec::CodecRunner,
}

impl Ingest {
    pub async fn new(
        store: SqliteStore,
        config: &crate::MqttConfig,
        rules: Vec<crate::NormalisationRule>,
        codecs: crate::CodecsConfig,
    ) -> Result<Self, StoreError> {
        let sessions = Sessions::new(store.sessions().await?);
        let registry = RegistryCache::load(store, sensorhub_store::time::now_ms()).await?;
        Ok(Ingest {
            registry,
            recent: std::collections::HashSet::new(),
            recent_order: std::collections::VecDeque::new(),
            rules,
            sessions,
            dedup_window_ms: config.dedup_window_ms as i64,
            max_clock_skew_ms: config.max_clock_skew_ms() as i64,
            codecs: codec::CodecRunner::new(codecs),
        })
    }

    /// Adds what the message on `topic` produces to `batch`, waiting for its codec.
    pub async fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
        format: PayloadFormat,
        received_ms: i64,
        batch: &mut IngestBatch,
    ) -> Result<Outcome, StoreError> {
        Ok(
            match self
                .start(topic, payload, format, received_ms, batch)
                .await?
            {
                Handled::Done(outcome) => outcome,
                Handled::Pending(pending) => self.finish(pending, batch).await,
            },
        )
    }

    /// Starts on the message on `topic`: what it produces goes to `batch`, at once or, for
    /// an uplink whose JavaScript codec is still running, with [`Ingest::finish`].
    pub async fn start(
        &mut self,
        topic: &str,
        payload: &[u8],
        format: PayloadFormat,
        received_ms: i64,
        batch: &mut IngestBatch,
    ) -> Result<Handled, StoreError> {
        let parsed = match format {
            PayloadFormat::Chirpstack => formats::chirpstack::parse(topic, payload, received_ms),
            PayloadFormat::Tts => formats::tts::parse(topic, payload, received_ms),
            PayloadFormat::ChirpstackGateway if formats::gateway_event::is_gateway_event(topic) => {
                return Ok(
                    match formats::gateway_event::parse(topic, payload, received_ms) {
                        Ok(status) => {
                            batch.gateway_statuses.push(status);
                            Outcome::Skipped.into()
                        }
                        Err(e) => {
                            let reason = e.reason();
                            dead_letter(batch, topic, payload, received_ms, reason, e.to_string())
                                .into()
                        }
                    },
                );
            }
            PayloadFormat::ChirpstackGateway => {
                return self.frame(topic, payload, received_ms, batch).await;
            }
        };
        match parsed {
            // A network server's time is checked here; raw frames get theirs from `Sessions`,
            // which does not use a gateway time beyond the skew.
            Ok(Message::Uplink(uplink))
                if uplink.time_ms > received_ms.saturating_add(self.max_clock_skew_ms) =>
            {
                let detail = format!(
                    "device {}: uplink dated {} ({} time), more than {} s ahead of this gateway's clock (mqtt.max_clock_skew)",
                    uplink.dev_eui,
                    sensorhub_store::time::format_rfc3339(uplink.time_ms),
                    uplink.time_source.name(),
                    self.max_clock_skew_ms / 1000,
                );
                Ok(dead_letter(
                    batch,
                    topic,
                    payload,
                    received_ms,
                    DeadLetterReason::TimeInFuture,
                    detail,
                )
                .into())
            }
            Ok(Message::Uplink(uplink)) => {
                self.uplink(topic, payload, received_ms, uplink, batch)
                    .await
            }
            Ok(Message::Status(status)) => {
                batch.statuses.push(status);
                Ok(Outcome::Skipped.into())
            }
            Ok(Message::OtherEvent(kind)) => {
                tracing::debug!(topic, kind, "event without readings");
                Ok(Outcome::Skipped.into())
            }
            Err(e) => Ok(dead_letter(
                batch,
                topic,
                payload,
                received_ms,
                e.reason(),
                e.to_string(),
            )
            .into()),
        }
    }

    async fn uplink(
        &mut self,
        topic: &str,
        raw: &[u8],
        received_ms: i64,
        uplink: Uplink,
        batch: &mut IngestBatch,
    ) -> Result<Handled, StoreError> {
        let dev_eui = uplink.dev_eui.to_string();
        let identity = uplink
            .dedup_id
            .as_ref()
            .map(|id| (dev_eui.clone(), id.clone()));
        if let Some(identity) = identity.as_ref().filter(|i| self.recent.contains(*i)) {
            tracing::debug!(dev_eui, dedup_id = %identity.1, "redelivered uplink skipped");
            return Ok(Outcome::Skipped.into());
        }
        let device = self.registry.lookup(&dev_eui, received_ms).await?;
        // Remembered only once the registry answered: a message retried after a failed lookup
        // must not look like its own redelivery.
        if let Some(identity) = identity {
            if self.recent_order.len() == RECENT_UPLINKS {
                if let Some(oldest) = self.recent_order.pop_front() {
                    self.recent.remove(&oldest);
                }
            }
            self.recent.insert(identity.clone());
            self.recent_order.push_back(identity);
        }
        let Some(device) = device else {
            batch.unknown_devices.push(UnknownDevice {
                dev_eui: dev_eui.clone(),
                name_hint: uplink.device_name.clone(),
                first_seen_ms: received_ms,
                last_seen_ms: received_ms,
                uplinks: 1,
                last_topic: topic.to_owned(),
            });
            let detail = format!("device {dev_eui} is not in the registry; register it and replay");
            return Ok(dead_letter(
                batch,
                topic,
                raw,
                received_ms,
                DeadLetterReason::UnknownDevice,
                detail,
            )
            .into());
        };
        let device = device.clone();
        let output = if device.device_type == DeviceType::NetworkServer {
            match &uplink.decoded {
                Some(decoded) => Ok(codec::from_decoded(decoded, uplink.normalized.as_ref())),
                None => {
                    let detail = format!(
                        "device {dev_eui}: type `network-server`, but the network server sent no decoded payload"
                    );
                    return Ok(dead_letter(
                        batch,
                        topic,
                        raw,
                        received_ms,
                        DeadLetterReason::CodecError,
                        detail,
                    )
                    .into());
                }
            }
        } else if uplink.payload.is_empty() {
            Ok(codec::Output::Vocabulary(Vec::new()))
        } else {
            let submitted = self.codecs.submit(
                &device.device_type,
                uplink.f_port,
                &uplink.payload,
                uplink.time_ms,
            );
            match submitted {
                Submitted::Ready(result) => result,
                Submitted::Pending(decode) => {
                    return Ok(Handled::Pending(Box::new(Pending {
                        decode,
                        message: Decoding {
                            topic: topic.to_owned(),
                            raw: raw.to_vec(),
                            received_ms,
                            device,
                            uplink,
                        },
                    })));
                }
            }
        };
        Ok(self
            .store(topic, raw, received_ms, device, uplink, output, batch)
            .into())
    }

    /// Collects a pending decode and adds what the uplink produces to `batch`.
    pub async fn finish(&mut self, pending: Box<Pending>, batch: &mut IngestBatch) -> Outcome {
        let Pending { decode, message } = *pending;
        let output = decode.wait().await;
        let Decoding {
            topic,
            raw,
            received_ms,
            device,
            uplink,
        } = message;
        self.store(&topic, &raw, received_ms, device, uplink, output, batch)
    }

    /// An uplink's decoded output -> readings, unmapped fields, metadata (or a dead letter).
    #[allow(clippy::too_many_arguments)]
    fn store(
        &self,
        topic: &str,
        raw: &[u8],
        received_ms: i64,
        device: sensorhub_store::Device,
        uplink: Uplink,
        output: Result<codec::Output, codec::RunError>,
        batch: &mut IngestBatch,
    ) -> Outcome {
        let dev_eui = uplink.dev_eui.to_string();
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                let detail = format!("device {dev_eui}: {e}");
                return dead_letter(batch, topic, raw, received_ms, e.reason(), detail);
            }
        };
        let codec::Mapped {
            measurements,
            unmapped,
        } = codec::output::map(output, &self.rules, &device.device_type);
        batch
            .unmapped_fields
            .extend(unmapped.into_iter().map(|u| UnmappedField {
                dev_eui: dev_eui.clone(),
                device_type: device.device_type.to_string(),
                field: u.field.chars().take(MAX_FIELD_NAME).collect(),
                last_value: u.value,
                unit: u.unit.map(|s| s.chars().take(MAX_FIELD_NAME).collect()),
                why: u.why.as_str().to_owned(),
                quantity: u.quantity.map(str::to_owned),
                seen: 1,
                first_seen_ms: received_ms,
                last_seen_ms: received_ms,
            }));
        let (measurements, implausible): (Vec<_>, Vec<_>) =
            measurements.into_iter().partition(is_plausible);
        if !implausible.is_empty() {
            let values: Vec<String> = implausible
                .iter()
                .map(|m| format!("{} = {} {}", m.quantity, m.value, m.unit))
                .collect();
            let detail = format!(
                "device {dev_eui}: outside the physical range of its quantity, not stored: {}",
                values.join(", ")
            );
            dead_letter(
                batch,
                topic,
                raw,
                received_ms,
                DeadLetterReason::ImplausibleValue,
                detail,
            );
        }
        let mut measurements = measurements;
        if let Some(gauge) = self.registry.gauge(&device.station) {
            measurements.extend(water_level(gauge, &measurements));
        }
        let readings = measurements.len();
        batch
            .readings
            .extend(measurements.into_iter().map(|m| Reading {
                station: device.station.clone(),
                quantity: m.quantity,
                unit: m.unit,
                time_ms: uplink.time_ms,
                value: m.value,
            }));
        batch.uplinks.push(UplinkRecord {
            dev_eui,
            time_ms: uplink.time_ms,
            time_source: uplink.time_source,
            f_cnt: uplink.f_cnt,
            f_port: uplink.f_port,
            dedup_id: uplink.dedup_id,
            rssi: uplink.rssi,
            snr: uplink.snr,
            gateway_count: uplink.gateway_count,
            gateways: uplink.gateways.clone(),
        });
        Outcome::Stored {
            readings,
            implausible: implausible.len(),
        }
    }
}

/// Whether a measurement is a finite value within its quantity's physical range.
fn is_plausible(m: &codec::Measurement) -> bool {
    match sensorhub_core::Quantity::by_name(&m.quantity) {
        Some(q) => q.is_plausible(m.value),
        None => m.value.is_finite(),
    }
}

/// At a gauge, the water level above its datum from the distance measured down to the water
/// (unless the device reports a water level itself, or the result is no plausible level).
fn water_level(
    gauge: &sensorhub_store::Gauge,
    measured: &[codec::Measurement],
) -> Option<codec::Measurement> {
    if measured.iter().any(|m| m.quantity == "water_level") {
        return None;
    }
    let distance = measured
        .iter()
        .find(|m| m.quantity == "distance" && m.unit == "m")?;
    let level = codec::Measurement {
        quantity: "water_level".into(),
        unit: "m".into(),
        value: (gauge.water_level(distance.value) * 1e4).round() / 1e4,
    };
    is_plausible(&level).then_some(level)
}

fn dead_letter(
    batch: &mut IngestBatch,
    topic: &str,
    payload: &[u8],
    received_ms: i64,
    reason: DeadLetterReason,
    detail: String,
) -> Outcome {
    tracing::warn!(topic, reason = reason.as_str(), %detail, bytes = payload.len(), "message dead-lettered");
    batch.dead_letters.push(DeadLetter {
        time_ms: received_ms,
        topic: topic.to_owned(),
        payload: payload.to_vec(),
        size: payload.len(),
        reason,
        detail,
    });
    Outcome::DeadLettered(reason)
}
