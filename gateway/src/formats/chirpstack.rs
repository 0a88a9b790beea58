//! ChirpStack v4 application integration events, JSON encoding.
//!
//! Topic: `application/{application_id}/device/{dev_eui}/event/{up|status|join|ack|txack|log|location|integration}`.
//! ChirpStack serialises protobuf messages with proto3 JSON rules, which omit default values
//! (`fCnt` 0, `confirmed` false, an empty `object`), and some 4.x releases wrote `null`
//! instead: every optional field here accepts absent and `null` alike.

use serde::Deserialize;

use sensorhub_store::TimeSource;

use super::{FormatError, Message, Uplink};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpEvent {
    #[serde(default)]
    deduplication_id: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    device_info: Option<DeviceInfo>,
    #[serde(default)]
    f_cnt: Option<u32>,
    #[serde(default)]
    f_port: Option<u8>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    rx_info: Option<Vec<RxInfo>>,
    #[serde(default)]
    object: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceInfo {
    #[serde(default)]
    dev_eui: Option<String>,
    #[serde(default)]
    device_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RxInfo {
    #[serde(default)]
    gateway_id: Option<String>,
    #[serde(default)]
    rssi: Option<f64>,
    #[serde(default)]
    snr: Option<f64>,
    /// When ChirpStack received the frame from this gateway.
    #[serde(default)]
    ns_time: Option<String>,
    /// The gateway's own (GPS) time of reception, where it has one.
    #[serde(default)]
    gw_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusEvent {
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    device_info: Option<DeviceInfo>,
    #[serde(default)]
    margin: Option<i32>,
    #[serde(default)]
    external_power_source: Option<bool>,
    #[serde(default)]
    battery_level_unavailable: Option<bool>,
    #[serde(default)]
    battery_level: Option<f64>,
}

/// A `status` event: the device's answer to DevStatusReq.
fn status(payload: &[u8], received_ms: i64) -> Result<Message, FormatError> {
    let event: StatusEvent = super::from_json(payload)?;
    let dev_eui = super::dev_eui_field(
        "deviceInfo.devEui",
        event.device_info.and_then(|i| i.dev_eui),
    )?;
    let time_ms = event
        .time
        .as_deref()
        .and_then(sensorhub_store::time::parse_rfc3339)
        .unwrap_or(received_ms);
    let external_power = event.external_power_source.unwrap_or(false);
    let unavailable = event.battery_level_unavailable.unwrap_or(false) || external_power;
    Ok(Message::Status(sensorhub_store::DeviceStatus {
        dev_eui: dev_eui.to_string(),
        time_ms,
        // proto3 JSON leaves out a battery level of 0 %.
        battery_level: (!unavailable).then(|| event.battery_level.unwrap_or(0.0)),
        margin: Some(event.margin.unwrap_or(0)),
        external_power,
    }))
}

/// The event kind named by the topic's last segment; topics in another shape are taken as `up`.
fn event_kind(topic: &str) -> &str {
    let mut parts = topic.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some(kind), Some("event")) => kind,
        _ => "up",
    }
}

/// Parses one message received on `topic`. `received_ms` stands in for an absent `time`.
pub fn parse(topic: &str, payload: &[u8], received_ms: i64) -> Result<Message, FormatError> {
    let kind = event_kind(topic);
    if kind == "status" {
        return status(payload, received_ms);
    }
    if kind != "up" {
        super::is_json(payload)?;
        return Ok(Message::OtherEvent(kind.to_owned()));
    }
    let event: UpEvent = super::from_json(payload)?;

    let info = event
        .device_info
        .ok_or(FormatError::MissingField("deviceInfo"))?;
    let dev_eui = super::dev_eui_field("deviceInfo.devEui", info.dev_eui)?;
    let payload = super::base64_field("data", event.data)?;
    let rx = event.rx_info.unwrap_or_default();
    let ns_time = rx.iter().find_map(|r| r.ns_time.clone());
    let gw_time = rx.iter().find_map(|r| r.gw_time.clone());
    let (time_ms, time_source) = super::best_time(
        [
            ("time", event.time, TimeSource::Network),
            ("rxInfo.nsTime", ns_time, TimeSource::Network),
            ("rxInfo.gwTime", gw_time, TimeSource::Gateway),
        ],
        received_ms,
    )?;
    let (rssi, snr) = super::best_reception(rx.iter().map(|r| (r.rssi, r.snr)));
    Ok(Message::Uplink(Uplink {
        dev_eui,
        device_name: info.device_name,
        time_ms,
        time_source,
        // proto3 JSON leaves out a zero counter.
        f_cnt: Some(event.f_cnt.unwrap_or(0)),
        f_port: event.f_port,
        payload,
        dedup_id: event.deduplication_id,
        rssi,
        snr,
        gateway_count: rx.len() as u32,
        gateways: super::heard(rx.iter().map(|r| (r.gateway_id.clone(), r.rssi, r.snr))),
        decoded: event.object.filter(|o| !o.is_null()),
        normalized: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/chirpstack-v4-up.json");
    const TOPIC: &str =
        "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up";

    fn uplink(message: Message) -> Uplink {
        match message {
            Message::Uplink(u) => u,
            other => panic!("expected an uplink, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_documented_up_event() {
        let up = uplink(parse(TOPIC, FIXTURE.as_bytes(), 0).unwrap());
        assert_eq!(up.dev_eui.to_string(), "0101010101010101");
        assert_eq!(up.device_name.as_deref(), Some("Test device"));
        assert_eq!(
            sensorhub_store::time::format_rfc3339(up.time_ms),
            "2022-07-18T09:34:15.775Z"
        );
        assert_eq!(up.f_port, Some(1));
        assert_eq!(up.payload, vec![0xaa]); // "qg==" is one byte, 0xAA
        assert_eq!(
            up.dedup_id.as_deref(),
            Some("3ac7e3c4-4401-4b8d-9386-a5c902f9202d")
        );
        assert_eq!(
            (up.rssi, up.snr, up.gateway_count),
            (Some(-36.0), Some(10.5), 1)
        );
        // The fixture omits fCnt, as proto3 JSON does for 0.
        assert_eq!(up.f_cnt, Some(0));
    }

    #[test]
    fn null_and_absent_optional_fields_parse() {
        let json = r#"{"deviceInfo":{"devEui":"0101010101010101"},"fCnt":null,"data":null,
                       "object":null,"rxInfo":null,"time":null}"#;
        let up = uplink(parse(TOPIC, json.as_bytes(), 1234).unwrap());
        assert_eq!((up.time_ms, up.f_cnt, up.gateway_count), (1234, Some(0), 0));
        assert!(up.payload.is_empty());
    }

    #[test]
    fn best_gateway_is_the_strongest() {
        let json = r#"{"deviceInfo":{"devEui":"0101010101010101"},"rxInfo":[
            {"rssi":-110,"snr":-3.0},{"rssi":-80,"snr":7.5},{"rssi":-95,"snr":9.0}]}"#;
        let up = uplink(parse(TOPIC, json.as_bytes(), 0).unwrap());
        assert_eq!(
            (up.rssi, up.snr, up.gateway_count),
            (Some(-80.0), Some(7.5), 3)
        );
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        let cases: [(&[u8], &str); 5] = [
            (b"not json", "bad_json"),
            (b"\xff\xfe", "bad_json"),
            (br#"{"time":"2022-07-18T09:34:15Z"}"#, "missing_field"),
            (
                br#"{"deviceInfo":{"devEui":"0101010101010101"},"data":"%%%"}"#,
                "bad_base64",
            ),
            (br#"{"deviceInfo":{"devEui":"01"}}"#, "bad_field"),
        ];
        for (payload, reason) in cases {
            let err = parse(TOPIC, payload, 0).unwrap_err();
            assert_eq!(err.reason(), reason, "{err}");
        }
    }

    #[test]
    fn broken_json_is_judged_by_its_syntax_before_its_shape() {
        // Read into the event directly, the wrong type comes first; the message is still
        // broken JSON, as a tree of it would have shown.
        let err = parse(TOPIC, br#"{"fCnt":"seven","data":"#, 0).unwrap_err();
        assert_eq!(err.reason(), "bad_json", "{err}");
        let err = parse(TOPIC, br#"{"fCnt":"seven"}"#, 0).unwrap_err();
        assert_eq!(err.reason(), "missing_field", "{err}");
        // Events without readings are still read as JSON.
        let join = TOPIC.replace("/up", "/join");
        assert_eq!(parse(&join, b"{", 0).unwrap_err().reason(), "bad_json");
        let status = TOPIC.replace("/up", "/status");
        let err = parse(&status, br#"{"margin":"x","#, 0).unwrap_err();
        assert_eq!(err.reason(), "bad_json", "{err}");
    }

    #[test]
    fn status_events_carry_battery_and_margin() {
        let topic = TOPIC.replace("/up", "/status");
        let json = r#"{"deviceInfo":{"devEui":"0101010101010101"},"margin":7,"batteryLevel":84.5}"#;
        let Message::Status(s) = parse(&topic, json.as_bytes(), 42).unwrap() else {
            panic!()
        };
        assert_eq!(
            (s.battery_level, s.margin, s.time_ms),
            (Some(84.5), Some(7), 42)
        );
        let json = r#"{"deviceInfo":{"devEui":"0101010101010101"},"batteryLevelUnavailable":true}"#;
        let Message::Status(s) = parse(&topic, json.as_bytes(), 0).unwrap() else {
            panic!()
        };
        assert_eq!((s.battery_level, s.margin), (None, Some(0)));
    }

    #[test]
    fn other_events_are_recognised_by_topic() {
        let topic = TOPIC.replace("/up", "/join");
        assert_eq!(
            parse(&topic, b"{}", 0).unwrap(),
            Message::OtherEvent("join".into())
        );
    }
}
