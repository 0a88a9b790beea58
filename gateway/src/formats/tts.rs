//! The Things Stack v3 application uplinks, JSON.
//!
//! Topic: `v3/{application_id}@{tenant_id}/devices/{device_id}/up` (open-source deployments
//! leave out `@{tenant_id}`). TTS omits empty and zero fields (so `f_cnt` 0 is absent) and
//! delivers MQTT with QoS 0 only: a message lost between TTS and the broker cannot be
//! redelivered, whatever the gateway does.

use serde::Deserialize;

use sensorhub_store::TimeSource;

use super::{FormatError, Message, Uplink};

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    end_device_ids: Option<DeviceIds>,
    #[serde(default)]
    received_at: Option<String>,
    #[serde(default)]
    uplink_message: Option<UplinkMessage>,
}

#[derive(Deserialize)]
struct DeviceIds {
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    dev_eui: Option<String>,
}

#[derive(Deserialize)]
struct UplinkMessage {
    #[serde(default)]
    f_port: Option<u8>,
    #[serde(default)]
    f_cnt: Option<u32>,
    #[serde(default)]
    frm_payload: Option<String>,
    #[serde(default)]
    rx_metadata: Option<Vec<RxMetadata>>,
    #[serde(default)]
    received_at: Option<String>,
    #[serde(default)]
    decoded_payload: Option<serde_json::Value>,
    #[serde(default)]
    normalized_payload: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RxMetadata {
    #[serde(default)]
    gateway_ids: Option<GatewayIds>,
    #[serde(default)]
    rssi: Option<f64>,
    #[serde(default)]
    snr: Option<f64>,
    /// The gateway's GPS time of reception, where it has one.
    #[serde(default)]
    time: Option<String>,
    /// When the gateway received the frame by its own clock.
    #[serde(default)]
    received_at: Option<String>,
}

/// A gateway's identifiers: its id in The Things Stack, and its EUI.
#[derive(Deserialize)]
struct GatewayIds {
    #[serde(default)]
    gateway_id: Option<String>,
    #[serde(default)]
    eui: Option<String>,
}

/// The last topic level names the message kind (`up`, `join`, `down/ack`, ...).
fn message_kind(topic: &str) -> &str {
    match topic.split_once("/devices/") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, kind)| kind),
        None => "up",
    }
}

pub fn parse(topic: &str, payload: &[u8], received_ms: i64) -> Result<Message, FormatError> {
    let kind = message_kind(topic);
    if kind != "up" {
        super::is_json(payload)?;
        return Ok(Message::OtherEvent(kind.to_owned()));
    }
    let envelope: Envelope = super::from_json(payload)?;
    let ids = envelope
        .end_device_ids
        .ok_or(FormatError::MissingField("end_device_ids"))?;
    let dev_eui = super::dev_eui_field("end_device_ids.dev_eui", ids.dev_eui)?;
    let up = envelope
        .uplink_message
        .ok_or(FormatError::MissingField("uplink_message"))?;
    let payload = super::base64_field("uplink_message.frm_payload", up.frm_payload)?;
    let rx = up.rx_metadata.unwrap_or_default();
    let gps_time = rx.iter().find_map(|r| r.time.clone());
    let gateway_time = rx.iter().find_map(|r| r.received_at.clone());
    let (time_ms, time_source) = super::best_time(
        [
            (
                "uplink_message.received_at",
                up.received_at,
                TimeSource::Network,
            ),
            ("received_at", envelope.received_at, TimeSource::Network),
            ("rx_metadata.time", gps_time, TimeSource::Gateway),
            ("rx_metadata.received_at", gateway_time, TimeSource::Gateway),
        ],
        received_ms,
    )?;
    let (rssi, snr) = super::best_reception(rx.iter().map(|r| (r.rssi, r.snr)));
    Ok(Message::Uplink(Uplink {
        dev_eui,
        device_name: ids.device_id,
        time_ms,
        time_source,
        f_cnt: Some(up.f_cnt.unwrap_or(0)),
        f_port: up.f_port,
        payload,
        dedup_id: None,
        rssi,
        snr,
        gateway_count: rx.len() as u32,
        gateways: super::heard(rx.iter().map(|r| {
            let ids = r.gateway_ids.as_ref();
            let id = ids.and_then(|i| i.gateway_id.clone().or_else(|| i.eui.clone()));
            (id, r.rssi, r.snr)
        })),
        decoded: up.decoded_payload.filter(|o| !o.is_null()),
        normalized: up.normalized_payload.filter(|o| !o.is_null()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/tts-v3-up.json");

    #[test]
    fn parses_the_documented_uplink() {
        let Message::Uplink(up) =
            parse("v3/app1@tenant/devices/dev1/up", FIXTURE.as_bytes(), 0).unwrap()
        else {
            panic!("not an uplink");
        };
        assert_eq!(up.dev_eui.to_string(), "0004a30b001c0530");
        assert_eq!(up.device_name.as_deref(), Some("dev1"));
        assert_eq!((up.f_port, up.f_cnt), (Some(1), Some(1)));
        // "gkHe" is 0x82 0x41 0xDE.
        assert_eq!(up.payload, vec![0x82, 0x41, 0xde]);
        assert_eq!(
            sensorhub_store::time::format_rfc3339(up.time_ms),
            "2020-02-12T15:15:45.789Z"
        );
        assert_eq!(
            (up.rssi, up.snr, up.gateway_count),
            (Some(-35.0), Some(5.0), 1)
        );
        let decoded = up.decoded.unwrap();
        assert_eq!(decoded["temperature"].as_f64(), Some(1.0));
        assert_eq!(decoded["luminosity"].as_f64(), Some(0.64));
    }

    #[test]
    fn topics_without_tenant_and_other_kinds() {
        assert!(matches!(
            parse("v3/app1/devices/dev1/up", FIXTURE.as_bytes(), 0).unwrap(),
            Message::Uplink(_)
        ));
        assert_eq!(
            parse("v3/app1/devices/dev1/join", b"{}", 0).unwrap(),
            Message::OtherEvent("join".into())
        );
    }

    #[test]
    fn zero_frame_counter_is_left_out_by_tts() {
        let json =
            r#"{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"uplink_message":{"f_port":1}}"#;
        let Message::Uplink(up) = parse("v3/a/devices/d/up", json.as_bytes(), 7).unwrap() else {
            panic!()
        };
        assert_eq!((up.f_cnt, up.time_ms), (Some(0), 7));
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        assert_eq!(
            parse("v3/a/devices/d/up", b"{", 0).unwrap_err().reason(),
            "bad_json"
        );
        assert_eq!(
            parse("v3/a/devices/d/up", br#"{"uplink_message":{}}"#, 0)
                .unwrap_err()
                .reason(),
            "missing_field"
        );
        let json = r#"{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"uplink_message":{"frm_payload":"!!"}}"#;
        assert_eq!(
            parse("v3/a/devices/d/up", json.as_bytes(), 0)
                .unwrap_err()
                .reason(),
            "bad_base64"
        );
    }
}
