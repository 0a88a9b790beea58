//! The `[mqtt]` config section: which broker, which topics, in which format.

use sensorhub_core::duration::HumanDuration;
use serde::{Deserialize, Serialize};

/// How to reach the broker and what to subscribe to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttConfig {
    /// `mqtt://host:port`, or `mqtts://host:port` for TLS with the system's CA certificates.
    pub url: String,
    /// Fixed client id: with a persistent session, the broker keeps QoS 1 messages for it
    /// while the gateway is down.
    pub client_id: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub subscriptions: Vec<Subscription>,
    /// Messages committed in one store transaction at most. Under load a batch holds what
    /// arrived while the one before it committed, up to this: a larger batch writes each
    /// store page once for more readings.
    pub batch_size: usize,
    /// How long the first message of a batch waits for more before the batch is committed.
    pub batch_wait_ms: u64,
    /// Seconds between MQTT keep-alive pings.
    pub keep_alive_s: u64,
    /// Raw gateway frames: copies of one frame heard by several gateways within this many
    /// milliseconds of the first are merged into one uplink; later ones are replays.
    pub dedup_window_ms: u64,
    /// Messages larger than this are acknowledged and dead-lettered `too_large` (their first
    /// bytes and size kept), never decoded; no size is ever a connection error.
    pub max_message_bytes: usize,
    /// Bytes of messages received but not yet committed, at most: bounds a batch and the
    /// queue before it, whatever the senders send.
    pub batch_max_bytes: usize,
    /// Uplinks dated further ahead of this machine's clock (`10m`, `30s`) are dead-lettered
    /// `time_in_future`: a wrong clock must not make a value "current" forever.
    pub max_clock_skew: HumanDuration,
}

/// The MQTT maximum packet size (a 268,435,455-byte remaining length and its fixed header):
/// the client accepts every packet a broker can send, so that size alone never breaks the
/// connection; what is too large for us is decided per message.
pub const MQTT_MAX_PACKET: usize = 268_435_455 + 5;

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            client_id: "sensorhub".into(),
            user: None,
            password: None,
            subscriptions: vec![Subscription::default()],
            batch_size: 10_000,
            batch_wait_ms: 50,
            keep_alive_s: 30,
            dedup_window_ms: 1_000,
            max_message_bytes: 256 << 10,
            batch_max_bytes: 16 << 20,
            max_clock_skew: HumanDuration::from_mins(10),
        }
    }
}

/// One topic filter and the format of the messages on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub topic: String,
    pub format: PayloadFormat,
    /// MQTT QoS to subscribe with: 1 (default) so that the broker redelivers what was not
    /// acknowledged; 0 where the server offers nothing else.
    #[serde(default = "default_qos")]
    pub qos: u8,
}

fn default_qos() -> u8 {
    1
}

impl Default for Subscription {
    fn default() -> Self {
        Subscription {
            topic: "application/+/device/+/event/up".into(),
            format: PayloadFormat::Chirpstack,
            qos: 1,
        }
    }
}

/// Message formats of the network servers and gateway bridges we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadFormat {
    /// ChirpStack v4 application integration events, JSON encoding.
    #[serde(rename = "chirpstack")]
    Chirpstack,
    /// The Things Stack v3 application uplinks.
    #[serde(rename = "tts")]
    Tts,
    /// Raw frames from ChirpStack Gateway Bridge / MQTT Forwarder.
    #[serde(rename = "chirpstack-gateway")]
    ChirpstackGateway,
}

impl PayloadFormat {
    pub fn name(self) -> &'static str {
        match self {
            PayloadFormat::Chirpstack => "chirpstack",
            PayloadFormat::Tts => "tts",
            PayloadFormat::ChirpstackGateway => "chirpstack-gateway",
        }
    }

    /// Whether this build decodes the format (the protobuf encoding of gateway frames is not
    /// read yet; the JSON one is).
    pub fn is_supported(self) -> bool {
        true
    }
}

impl MqttConfig {
    /// `max_clock_skew` in milliseconds.
    pub fn max_clock_skew_ms(&self) -> u64 {
        self.max_clock_skew.as_ms()
    }

    /// Problems a person must fix before the gateway can run, one sentence each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_message_bytes == 0 || self.max_message_bytes > 268_435_455 {
            problems.push("mqtt.max_message_bytes: between 1 and 268435455".into());
        }
        if self.batch_max_bytes < self.max_message_bytes {
            problems.push("mqtt.batch_max_bytes: must be at least mqtt.max_message_bytes".into());
        }
        if !(self.url.starts_with("mqtt://") || self.url.starts_with("mqtts://")) {
            problems.push(format!(
                "mqtt.url: `{}` must start with mqtt:// or mqtts://",
                self.url
            ));
        }
        if self.client_id.is_empty() {
            problems.push("mqtt.client_id: must not be empty".into());
        }
        if self.user.is_some() != self.password.is_some() {
            problems.push("mqtt.user and mqtt.password: give both or neither".into());
        }
        if self.subscriptions.is_empty() {
            problems.push("mqtt.subscriptions: at least one subscription is needed".into());
        }
        if self.batch_size == 0 {
            problems.push("mqtt.batch_size: must be at least 1".into());
        }
        for (i, s) in self.subscriptions.iter().enumerate() {
            if !s.format.is_supported() {
                problems.push(format!(
                    "mqtt.subscriptions[{i}].format: `{}` is not built yet; not built",
                    s.format.name()
                ));
            }
            if s.qos > 1 {
                problems.push(format!("mqtt.subscriptions[{i}].qos: use 0 or 1"));
            }
        }
        problems
    }
}
