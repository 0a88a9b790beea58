//! The records the store keeps.

use crate::{DeadLetterReason, DeviceType};
use sensorhub_core::{AesKey, DevAddr, DevEui};
use serde::{Deserialize, Serialize};

/// One measured value of one quantity at one station. The unit of analysis of everything
/// published: it carries no device identifier and no radio metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Public station id (from the device registry), never a DevEUI.
    pub station: String,
    /// Vocabulary name, for example `air_temperature`.
    pub quantity: String,
    pub unit: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: i64,
    pub value: f64,
}

/// Where the time of an uplink (and of its readings) came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeSource {
    /// The network server's time of the uplink (ChirpStack `time`, TTS `received_at`).
    Network,
    /// The receiving gateway's own (GPS) time.
    Gateway,
    /// The moment sensorhub received the message: the sender gave no time of its own. For raw
    /// frames these times are made strictly increasing per device in frame-counter order.
    Receipt,
}

impl TimeSource {
    pub fn name(self) -> &'static str {
        match self {
            TimeSource::Network => "network",
            TimeSource::Gateway => "gateway",
            TimeSource::Receipt => "receipt",
        }
    }

    pub fn parse(text: &str) -> Option<TimeSource> {
        [
            TimeSource::Network,
            TimeSource::Gateway,
            TimeSource::Receipt,
        ]
        .into_iter()
        .find(|s| s.name() == text)
    }
}

/// Metadata of one received uplink, kept for device health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uplink {
    pub dev_eui: String,
    pub time_ms: i64,
    /// Where `time_ms` came from. Raw frames the gateway checked itself have times strictly
    /// increasing per device in frame-counter order (moved on by a millisecond where needed),
    /// so (device, time) names one frame: a second gateway's copy (same time) replaces the
    /// first copy's record, and two frames never overwrite each other.
    pub time_source: TimeSource,
    /// Frame counter as the network server reported it; absent when it omits a zero.
    pub f_cnt: Option<u32>,
    pub f_port: Option<u8>,
    /// The network server's deduplication id, where it gives one.
    pub dedup_id: Option<String>,
    /// RSSI of the best gateway that heard the frame (dBm).
    pub rssi: Option<f64>,
    /// SNR of the best gateway that heard the frame (dB).
    pub snr: Option<f64>,
    pub gateway_count: u32,
    /// The gateways that heard it, where the message names them. For raw frames, each copy
    /// names its own gateway; the store keeps them all.
    pub gateways: Vec<Heard>,
}

/// A gateway that heard an uplink, with the signal it measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heard {
    pub gateway_id: String,
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
}

/// What a gateway said of itself (ChirpStack Gateway Bridge `stats` and `conn` events).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayStatus {
    pub gateway_id: String,
    /// When the event was received, ms since the epoch.
    pub time_ms: i64,
    /// From a `conn` event: whether the gateway is connected.
    pub online: Option<bool>,
    /// From a `stats` event: radio packets received, with a valid CRC, and downlinks sent,
    /// over the gateway's stats interval.
    pub rx_received: Option<u32>,
    pub rx_ok: Option<u32>,
    pub tx_emitted: Option<u32>,
}

/// How well a gateway hears a device over a window: uplinks and mean signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub dev_eui: String,
    pub gateway_id: String,
    pub uplinks: u64,
    pub rssi_mean: Option<f64>,
    pub snr_mean: Option<f64>,
}

/// An uplink one gateway heard, with the signal it measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    pub dev_eui: String,
    pub time_ms: i64,
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
}

/// A gateway as the uplinks it heard show it: never published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewaySeen {
    pub gateway_id: String,
    pub last_seen_ms: i64,
    /// Uplinks it heard in the window asked for.
    pub uplinks: u64,
    /// Devices it heard in the window.
    pub devices: u64,
    pub rssi_min: Option<f64>,
    pub rssi_max: Option<f64>,
    pub rssi_mean: Option<f64>,
    pub snr_mean: Option<f64>,
    /// What the gateway last said of itself, where it sends stats or connection events.
    pub online: Option<bool>,
    pub stats_ms: Option<i64>,
    pub rx_received: Option<u32>,
    pub rx_ok: Option<u32>,
}

/// A message the gateway could not turn into readings, kept verbatim for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub time_ms: i64,
    pub topic: String,
    /// The message's bytes; at most `store.dead_letter_payload_bytes` of them are kept.
    pub payload: Vec<u8>,
    /// The message's size in bytes as received (the payload kept may be shorter).
    pub size: usize,
    /// Why, for example `bad_json`; also the label of the metric.
    pub reason: DeadLetterReason,
    /// What exactly was wrong, for people.
    pub detail: String,
}

/// An uplink from a DevEUI that is not in the registry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownDevice {
    pub dev_eui: String,
    /// The name the network server gave the device, if any: a hint for registering it.
    pub name_hint: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub uplinks: u64,
    pub last_topic: String,
}

/// What a device alert is about; `as_str()` is its name in the store, the metrics and
/// webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    Silent,
    LowBattery,
    /// A gateway not heard for `alerts.gateway_silent_after`; its alert is kept under the
    /// gateway's id where the others keep a DevEUI.
    GatewayOffline,
}

impl AlertKind {
    pub const ALL: [AlertKind; 3] = [
        AlertKind::Silent,
        AlertKind::LowBattery,
        AlertKind::GatewayOffline,
    ];

    /// The kinds about a device (the others are about a gateway).
    pub const DEVICE: [AlertKind; 2] = [AlertKind::Silent, AlertKind::LowBattery];

    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::Silent => "silent",
            AlertKind::LowBattery => "low_battery",
            AlertKind::GatewayOffline => "gateway_offline",
        }
    }

    /// The kind with this name.
    pub fn parse(name: &str) -> Option<AlertKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for AlertKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl rusqlite::ToSql for AlertKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for AlertKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let name = value.as_str()?;
        AlertKind::parse(name).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown alert kind `{name}`").into())
        })
    }
}

/// A numeric field of a device's codec output that became no reading (its name or unit is
/// unknown, its unit does not fit, or it is a "no sensor" sentinel).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmappedField {
    pub dev_eui: String,
    pub device_type: String,
    /// The path in the decoded data (`sensor.level`), or `normalized:PATH`.
    pub field: String,
    pub last_value: f64,
    /// The unit the codec gave, if any.
    pub unit: Option<String>,
    /// Why it is no reading: `unknown_name`, `unknown_unit`, `wrong_unit`, `no_sensor`.
    pub why: String,
    /// The quantity it probably is, if the gateway could tell.
    pub quantity: Option<String>,
    /// Uplinks that carried it (in a batch: this batch's).
    pub seen: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

impl UnmappedField {
    /// The last value as technicians read it: `2000 mm`, or `3` without a unit.
    pub fn shown_value(&self) -> String {
        shown_value(self.last_value, self.unit.as_deref())
    }

    /// A `[[normalisation]]` rule a technician can paste into the config, after checking it.
    pub fn suggested_rule(&self) -> String {
        let quantity = self
            .quantity
            .as_deref()
            .and_then(sensorhub_core::Quantity::by_name)
            .map(|q| q.name);
        suggested_rule(
            &self.device_type,
            &self.field,
            self.unit.as_deref(),
            quantity,
        )
    }
}

/// A value with its unit, if it has one: `2000 mm`, `3`.
pub fn shown_value(value: f64, unit: Option<&str>) -> String {
    match unit {
        Some(unit) => format!("{value} {unit}"),
        None => value.to_string(),
    }
}

/// The `[[normalisation]]` rule for a field of `device_type`: the quantity it probably is (or
/// the first of its unit's dimension), the unit the codec gave (or the quantity's).
pub fn suggested_rule(
    device_type: &str,
    field: &str,
    unit: Option<&str>,
    quantity: Option<&'static str>,
) -> String {
    use sensorhub_core::units::Unit;
    use sensorhub_core::Quantity;
    let quantity = quantity.or_else(|| {
        let unit = Unit::parse(unit?)?;
        sensorhub_core::quantity::VOCABULARY
            .iter()
            .find(|q| q.unit().dimension == unit.dimension)
            .map(|q| q.name)
    });
    let unit = unit.map(str::to_owned).or_else(|| {
        quantity
            .and_then(Quantity::by_name)
            .map(|q| q.unit.to_owned())
    });
    let toml_string = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut rule = format!(
        "[[normalisation]]\ndevice_type = {}\nfield = {}\nquantity = {}",
        toml_string(device_type),
        toml_string(field),
        toml_string(quantity.unwrap_or("CHOOSE_A_QUANTITY")),
    );
    if let Some(unit) = unit {
        rule.push_str(&format!(
            "\nunit = {}   # the unit of the codec's value: check the vendor's documentation",
            toml_string(&unit)
        ));
    }
    rule
}

/// Fields kept per device at most: a codec that invents names cannot fill the disk.
pub const UNMAPPED_FIELDS_PER_DEVICE: usize = 200;

/// The network session state of an ABP device after an accepted uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    /// The last accepted 32-bit uplink frame counter.
    pub f_cnt_up: u32,
    /// The time given to that uplink, ms since the epoch: uplink times of raw frames are
    /// strictly increasing per device, so the next one is later than this.
    pub last_uplink_ms: i64,
}

/// A device's own status report: battery and the link margin of its last LinkCheck.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    pub dev_eui: String,
    pub time_ms: i64,
    /// Battery in percent; `None` when the device cannot measure it.
    pub battery_level: Option<f64>,
    /// Demodulation margin in dB.
    pub margin: Option<i32>,
    pub external_power: bool,
}

/// Everything one batch of MQTT messages produced, committed in one transaction.
#[derive(Debug, Default, Clone)]
pub struct IngestBatch {
    /// Status reports of devices.
    pub statuses: Vec<DeviceStatus>,
    /// Ids of dead letters that a replay turned into data: deleted in the same transaction.
    pub replayed_dead_letters: Vec<i64>,
    /// Session states to save, by DevEUI.
    pub sessions: Vec<(String, SessionState)>,
    pub readings: Vec<Reading>,
    pub uplinks: Vec<Uplink>,
    pub dead_letters: Vec<DeadLetter>,
    /// Sightings of unregistered devices; `uplinks` counts sightings in this batch.
    pub unknown_devices: Vec<UnknownDevice>,
    /// Fields of codec output that became no reading.
    pub unmapped_fields: Vec<UnmappedField>,
    /// Gateways' own stats and connection events.
    pub gateway_statuses: Vec<GatewayStatus>,
}

impl IngestBatch {
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
            && self.uplinks.is_empty()
            && self.dead_letters.is_empty()
            && self.unknown_devices.is_empty()
            && self.unmapped_fields.is_empty()
            && self.sessions.is_empty()
            && self.statuses.is_empty()
            && self.replayed_dead_letters.is_empty()
            && self.gateway_statuses.is_empty()
    }
}

/// The newest value of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestValue {
    pub station: String,
    pub quantity: String,
    pub unit: String,
    pub time_ms: i64,
    pub value: f64,
}

/// Which readings to return. Times are milliseconds since the epoch; `since` is inclusive,
/// `until` exclusive.
#[derive(Debug, Clone, Default)]
pub struct ReadingQuery {
    pub stations: Vec<String>,
    pub quantity: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub limit: Option<usize>,
}

/// A device in the registry. Its session keys never show through `{:?}` ([`AesKey`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub dev_eui: DevEui,
    pub name: String,
    /// Public station id under which the device's readings appear.
    pub station: String,
    /// Codec: `cayenne-lpp`, a built-in vendor decoder, `js:PATH`, `ttn:VENDOR/CODEC`.
    pub device_type: DeviceType,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Whether the station may appear on public pages and in published data.
    pub public: bool,
    /// ABP session: device address.
    #[serde(default)]
    pub dev_addr: Option<DevAddr>,
    /// ABP network session key (secret).
    #[serde(default)]
    pub nwk_s_key: Option<AesKey>,
    /// ABP application session key (secret).
    #[serde(default)]
    pub app_s_key: Option<AesKey>,
}

impl Device {
    /// The device without its session keys, for listings and exports that did not ask for them.
    pub fn without_keys(&self) -> Device {
        Device {
            nwk_s_key: None,
            app_s_key: None,
            ..self.clone()
        }
    }
}

/// Dead letters per reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterCount {
    pub reason: DeadLetterReason,
    pub count: u64,
}

/// A measuring place: an id, whether it is public, a position (its own, else the average of
/// its devices') and what people read about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub id: String,
    pub public: bool,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// How many registered devices report under this station.
    pub devices: u32,
    /// Its name, description, theme and gauge datum (all empty without an entry).
    pub info: crate::StationInfo,
}

/// The time resolution of a range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    /// Every stored reading.
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "15m")]
    QuarterHour,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
}

impl Resolution {
    /// Bucket width in milliseconds; `None` for raw.
    pub fn step_ms(self) -> Option<i64> {
        match self {
            Resolution::Raw => None,
            Resolution::Minute => Some(60_000),
            Resolution::QuarterHour => Some(900_000),
            Resolution::Hour => Some(3_600_000),
            Resolution::Day => Some(86_400_000),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Resolution::Raw => "raw",
            Resolution::Minute => "1m",
            Resolution::QuarterHour => "15m",
            Resolution::Hour => "1h",
            Resolution::Day => "1d",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        [
            Resolution::Raw,
            Resolution::Minute,
            Resolution::QuarterHour,
            Resolution::Hour,
            Resolution::Day,
        ]
        .into_iter()
        .find(|r| r.name() == text)
    }
}

/// One series over a time window at a resolution. Aggregated windows are widened to whole
/// buckets (UTC, aligned to the epoch) so that every backend answers alike.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub station: String,
    pub quantity: String,
    /// Inclusive, ms since the epoch.
    pub since_ms: i64,
    /// Exclusive, ms since the epoch.
    pub until_ms: i64,
    pub resolution: Resolution,
}

impl RangeQuery {
    /// The window widened to whole buckets of the resolution.
    pub fn aligned(&self) -> (i64, i64) {
        match self.resolution.step_ms() {
            None => (self.since_ms, self.until_ms),
            Some(step) => (
                self.since_ms.div_euclid(step) * step,
                (self.until_ms + step - 1).div_euclid(step) * step,
            ),
        }
    }
}

/// A page of one series: the buckets of `range`, newest first when asked, after the first
/// `offset`, at most `limit` of them. For APIs that page through long histories without
/// reading all of them (the SensorThings Observations).
#[derive(Debug, Clone, PartialEq)]
pub struct PageQuery {
    pub range: RangeQuery,
    pub newest_first: bool,
    pub offset: usize,
    pub limit: usize,
}

/// When a series begins: its oldest reading, or its oldest hourly rollup where raw readings
/// were retained away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesStart {
    pub station: String,
    pub quantity: String,
    pub time_ms: i64,
}

/// One bucket of a range query (for raw queries, one reading: count 1, all values equal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket (the reading's time when raw), ms since the epoch.
    pub start_ms: i64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
    /// The values added up: for precipitation and counts, where a bucket's total is what
    /// matters (the raw value when raw).
    pub sum: f64,
}

/// How a device is doing, for technicians: never published.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceHealth {
    pub dev_eui: String,
    pub name: String,
    pub station: String,
    /// Its codec, as the registry names it (`cayenne-lpp`, `ttn:VENDOR/CODEC`, ...).
    pub device_type: String,
    /// Time of the last uplink, ms since the epoch; `None` if never heard.
    pub last_seen_ms: Option<i64>,
    /// Uplinks received in the window.
    pub uplinks: u64,
    /// Share of frames lost in the window, from gaps in the frame counter (0.0 to 1.0).
    pub packet_loss: Option<f64>,
    pub last_f_cnt: Option<u32>,
    /// Best gateway's RSSI (dBm) and SNR (dB) of the last uplink, and how many heard it.
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
    pub gateway_count: Option<u32>,
    /// Battery of the last status report or decoded battery reading, where there is one.
    pub battery_level: Option<f64>,
    pub battery_voltage: Option<f64>,
    /// Link margin (dB) of the last status report.
    pub margin: Option<i32>,
    /// Messages from this device dead-lettered as undecodable in the window.
    pub decode_errors: u64,
}

impl DeviceHealth {
    /// The battery in percent: as reported, else from the voltage on the device type's curve.
    pub fn battery_percent(
        &self,
        batteries: &crate::Batteries,
    ) -> Option<(f64, crate::battery::Source)> {
        batteries.percent(&self.device_type, self.battery_level, self.battery_voltage)
    }
}

/// A technician's login session as stored: the id only as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSession {
    /// SHA-256 of the session cookie's value, hex.
    pub id_hash: String,
    pub user: String,
    /// Fingerprint of the password hash the login was made with.
    pub account: String,
    pub csrf: String,
    pub expires_ms: i64,
}
