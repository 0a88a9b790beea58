//! What network servers send, parsed into one shape.
//!
//! Every format module turns one MQTT message into a [`Message`]: an uplink in the
//! network-neutral [`Uplink`] form, or another event the gateway does not store readings for.
//! Parse errors are typed, and each carries the short reason under which it is counted and
//! dead-lettered.

pub mod chirpstack;
pub mod chirpstack_protobuf;
pub mod gateway_event;
pub mod gateway_frame;
pub mod tts;

use sensorhub_core::DevEui;
use sensorhub_store::DeadLetterReason;
use sensorhub_store::TimeSource;

/// One uplink as every format reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Uplink {
    pub dev_eui: DevEui,
    /// The device's name at the network server: a hint when the device is not registered.
    pub device_name: Option<String>,
    /// When the frame was received, ms since the epoch, from the best clock the message has.
    pub time_ms: i64,
    pub time_source: TimeSource,
    pub f_cnt: Option<u32>,
    pub f_port: Option<u8>,
    /// The application payload (decrypted FRMPayload).
    pub payload: Vec<u8>,
    /// The network server's deduplication id, where it gives one.
    pub dedup_id: Option<String>,
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
    pub gateway_count: u32,
    /// The gateways that heard it, where the message names them.
    pub gateways: Vec<sensorhub_store::Heard>,
    /// What the network server's own payload decoder produced (`object` in ChirpStack,
    /// `decoded_payload` in The Things Stack), for devices of type `network-server`.
    pub decoded: Option<serde_json::Value>,
    /// The Things Stack's normalized payload (`normalized_payload`), where its device
    /// repository codec gives one.
    pub normalized: Option<serde_json::Value>,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Uplink(Uplink),
    /// A device's status report (battery, link margin), for device health.
    Status(sensorhub_store::DeviceStatus),
    /// An event the gateway recognises but stores no readings for (join, ack, log, ...).
    OtherEvent(String),
}

/// Why a message could not be parsed. Each variant maps to a dead-letter reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    #[error("payload is not valid JSON: {0}")]
    NotJson(String),
    #[error("payload is not a valid protobuf message: {0}")]
    NotProtobuf(String),
    #[error("JSON does not match the expected event: {0}")]
    BadShape(String),
    #[error("required field `{0}` is missing")]
    MissingField(&'static str),
    #[error("field `{field}` is not valid base64: {detail}")]
    BadBase64 { field: &'static str, detail: String },
    #[error("field `{field}` is invalid: {detail}")]
    BadField { field: &'static str, detail: String },
}

impl FormatError {
    /// The short reason this error is counted and dead-lettered under.
    pub fn reason(&self) -> DeadLetterReason {
        match self {
            FormatError::NotJson(_) => DeadLetterReason::BadJson,
            FormatError::NotProtobuf(_) => DeadLetterReason::BadProtobuf,
            FormatError::BadShape(_) | FormatError::MissingField(_) => {
                DeadLetterReason::MissingField
            }
            FormatError::BadBase64 { .. } => DeadLetterReason::BadBase64,
            FormatError::BadField { .. } => DeadLetterReason::BadField,
        }
    }
}

/// Gateways that heard an uplink, from (id, RSSI, SNR); copies without an id are left out,
/// ids are cut to 64 characters, and at most 32 gateways are kept (the strongest first).
pub(crate) fn heard(
    rx: impl Iterator<Item = (Option<String>, Option<f64>, Option<f64>)>,
) -> Vec<sensorhub_store::Heard> {
    let mut out: Vec<sensorhub_store::Heard> = rx
        .filter_map(|(id, rssi, snr)| {
            let id = id?.trim().chars().take(64).collect::<String>();
            (!id.is_empty()).then_some(sensorhub_store::Heard {
                gateway_id: id,
                rssi,
                snr,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.rssi
            .unwrap_or(f64::MIN)
            .total_cmp(&a.rssi.unwrap_or(f64::MIN))
    });
    let mut seen = std::collections::HashSet::new();
    out.retain(|h| seen.insert(h.gateway_id.clone()));
    out.truncate(32);
    out
}

/// The time of an uplink from the best source the message has: the first present candidate,
/// named by its field and the clock it comes from (network server first, then gateway), else
/// `received_ms`, the moment of receipt. A present but malformed timestamp is an error.
pub(crate) fn best_time(
    candidates: impl IntoIterator<Item = (&'static str, Option<String>, TimeSource)>,
    received_ms: i64,
) -> Result<(i64, TimeSource), FormatError> {
    for (field, value, source) in candidates {
        if let Some(t) = value {
            return match sensorhub_store::time::parse_rfc3339(&t) {
                Some(ms) => Ok((ms, source)),
                None => Err(FormatError::BadField {
                    field,
                    detail: format!("`{t}` is not an RFC 3339 timestamp"),
                }),
            };
        }
    }
    Ok((received_ms, TimeSource::Receipt))
}

/// A base64 payload field; absent means an empty payload.
pub(crate) fn base64_field(
    field: &'static str,
    value: Option<String>,
) -> Result<Vec<u8>, FormatError> {
    use base64::Engine;
    match value {
        Some(data) => base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .map_err(|e| FormatError::BadBase64 {
                field,
                detail: e.to_string(),
            }),
        None => Ok(Vec::new()),
    }
}

/// (RSSI, SNR) of the strongest of the gateways that heard an uplink.
pub(crate) fn best_reception(
    receptions: impl Iterator<Item = (Option<f64>, Option<f64>)>,
) -> (Option<f64>, Option<f64>) {
    receptions
        .filter(|(rssi, _)| rssi.is_some())
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal))
        .unwrap_or((None, None))
}

/// A required DevEUI field (16 hex digits).
pub(crate) fn dev_eui_field(
    field: &'static str,
    value: Option<String>,
) -> Result<DevEui, FormatError> {
    value
        .ok_or(FormatError::MissingField(field))?
        .parse()
        .map_err(|e| FormatError::BadField {
            field,
            detail: format!("{e}"),
        })
}

/// A message's JSON read straight into the event it should be: fields the event does not name
/// are skipped as they are read, so no tree of the whole message is built first (it would cost
/// a map entry for every key of every `rxInfo`, `txInfo` and tag, and memory a multiple of a
/// large message's size). JSON of another shape is `BadShape`, anything else `NotJson`; a
/// message that breaks both ways early is judged by its syntax, as a tree would have been.
/// What is skipped is checked for syntax only: a number out of `f64`'s range or a lone
/// surrogate in a field nobody reads no longer makes the message a dead letter, and a named
/// field given twice does (`BadShape`: which of the two would count is ambiguous).
pub(crate) fn from_json<'a, T: serde::Deserialize<'a>>(
    payload: &'a [u8],
) -> Result<T, FormatError> {
    let text = utf8(payload)?;
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => match is_json(payload) {
            Ok(()) => FormatError::BadShape(e.to_string()),
            Err(syntax) => syntax,
        },
        _ => FormatError::NotJson(e.to_string()),
    })
}

/// Whether `payload` is one JSON value, read without keeping it.
pub(crate) fn is_json(payload: &[u8]) -> Result<(), FormatError> {
    serde_json::from_str::<serde::de::IgnoredAny>(utf8(payload)?)
        .map(|_| ())
        .map_err(|e| FormatError::NotJson(e.to_string()))
}

fn utf8(payload: &[u8]) -> Result<&str, FormatError> {
    std::str::from_utf8(payload).map_err(|e| FormatError::NotJson(format!("not UTF-8: {e}")))
}
