//! ChirpStack's HTTP integration with the protobuf encoding: `integration.UplinkEvent` and
//! `integration.StatusEvent`, read into the same proto3 JSON shape the JSON encoding posts,
//! so one parser ([`super::chirpstack`]) reads both.
//!
//! Field numbers from ChirpStack's `api/proto/integration/integration.proto`: UplinkEvent
//! `deduplication_id = 1`, `time = 2`, `device_info = 3` (DeviceInfo: `device_name = 7`,
//! `dev_eui = 8`), `f_cnt = 7`, `f_port = 8`, `data = 10`, `rx_info = 12` (gw.UplinkRxInfo:
//! `gateway_id = 1`, `gw_time = 3`, `rssi = 6`, `snr = 7`, `ns_time = 17`); StatusEvent `time = 2`,
//! `device_info = 3`, `margin = 5`, `external_power_source = 6`,
//! `battery_level_unavailable = 7`, `battery_level = 8`. The decoded `object` (a
//! `google.protobuf.Struct`) is not read: devices decoded by the network server need JSON.

use base64::Engine;
use serde_json::{Map, Value};

use super::gateway_frame::protobuf::{fields, timestamp, Field};
use super::FormatError;

fn text(b: &[u8]) -> Result<String, FormatError> {
    String::from_utf8(b.to_vec())
        .map_err(|_| FormatError::NotProtobuf("a string is not UTF-8".into()))
}

fn rfc3339(ms: i64) -> Value {
    sensorhub_store::time::format_rfc3339(ms).into()
}

fn device_info(bytes: &[u8]) -> Result<Value, FormatError> {
    let mut info = Map::new();
    let mut reader = fields(bytes);
    while let Some((number, value)) = reader.next()? {
        match (number, value) {
            (7, Field::Bytes(b)) => {
                info.insert("deviceName".into(), text(b)?.into());
            }
            (8, Field::Bytes(b)) => {
                info.insert("devEui".into(), text(b)?.into());
            }
            _ => {}
        }
    }
    Ok(Value::Object(info))
}

fn rx_info(bytes: &[u8]) -> Result<Value, FormatError> {
    let mut rx = Map::new();
    let mut reader = fields(bytes);
    while let Some((number, value)) = reader.next()? {
        match (number, value) {
            (1, Field::Bytes(b)) => {
                rx.insert("gatewayId".into(), text(b)?.into());
            }
            (3, Field::Bytes(b)) => {
                rx.insert("gwTime".into(), rfc3339(timestamp(b)?));
            }
            (17, Field::Bytes(b)) => {
                rx.insert("nsTime".into(), rfc3339(timestamp(b)?));
            }
            (6, Field::Varint(v)) => {
                rx.insert("rssi".into(), (v as i64 as i32).into());
            }
            (7, Field::Fixed32(bits)) => {
                rx.insert("snr".into(), f64::from(f32::from_bits(bits)).into());
            }
            _ => {}
        }
    }
    Ok(Value::Object(rx))
}

/// The JSON of an `event` (`up` or `status`) posted as protobuf.
pub fn to_json(event: &str, bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut out = Map::new();
    let mut rx = Vec::new();
    let mut reader = fields(bytes);
    while let Some((number, value)) = reader.next()? {
        match (event, number, value) {
            (_, 2, Field::Bytes(b)) => {
                out.insert("time".into(), rfc3339(timestamp(b)?));
            }
            (_, 3, Field::Bytes(b)) => {
                out.insert("deviceInfo".into(), device_info(b)?);
            }
            ("up", 1, Field::Bytes(b)) => {
                out.insert("deduplicationId".into(), text(b)?.into());
            }
            ("up", 7, Field::Varint(v)) => {
                out.insert("fCnt".into(), (v as u32).into());
            }
            ("up", 8, Field::Varint(v)) => {
                out.insert("fPort".into(), (v as u32).into());
            }
            ("up", 10, Field::Bytes(b)) => {
                out.insert(
                    "data".into(),
                    base64::engine::general_purpose::STANDARD.encode(b).into(),
                );
            }
            ("up", 12, Field::Bytes(b)) => rx.push(rx_info(b)?),
            ("status", 5, Field::Varint(v)) => {
                out.insert("margin".into(), (v as i64 as i32).into());
            }
            ("status", 6, Field::Varint(v)) => {
                out.insert("externalPowerSource".into(), (v != 0).into());
            }
            ("status", 7, Field::Varint(v)) => {
                out.insert("batteryLevelUnavailable".into(), (v != 0).into());
            }
            ("status", 8, Field::Fixed32(bits)) => {
                out.insert(
                    "batteryLevel".into(),
                    f64::from(f32::from_bits(bits)).into(),
                );
            }
            _ => {}
        }
    }
    if event == "up" {
        out.insert("rxInfo".into(), Value::Array(rx));
    }
    if !out.contains_key("deviceInfo") {
        return Err(FormatError::MissingField("device_info"));
    }
    serde_json::to_vec(&Value::Object(out)).map_err(|e| FormatError::NotProtobuf(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `integration.UplinkEvent` written out field by field, read as the JSON encoding.
    #[test]
    fn an_uplink_event_reads_as_its_json() {
        let mut info = vec![0x3a, 4];
        info.extend(b"wyk1"); // 7: device_name
        info.extend([0x42, 16]);
        info.extend(b"0101010101010101"); // 8: dev_eui
        let mut rx = vec![0x0a, 16];
        rx.extend(b"0016c001f153a14c"); // 1: gateway_id
        rx.extend([
            0x30, 0xb0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]); // 6: rssi -80
        rx.push(0x3d);
        rx.extend(7.5f32.to_le_bytes()); // 7: snr
        let mut up = vec![0x0a, 3];
        up.extend(b"abc"); // 1: deduplication_id
        up.extend([0x12, 0x06, 0x08, 0xb7, 0x90, 0xaa, 0x97, 0x06]); // 2: time 1659537463 s
        up.push(0x1a);
        up.push(info.len() as u8);
        up.extend(&info);
        up.extend([0x38, 5, 0x40, 1]); // 7: f_cnt 5, 8: f_port 1
        up.extend([0x52, 4, 0x01, 0x67, 0x00, 0xd7]); // 10: data (LPP 21.5 °C)
        up.push(0x62);
        up.push(rx.len() as u8);
        up.extend(&rx);
        let json: Value = serde_json::from_slice(&to_json("up", &up).unwrap()).unwrap();
        assert_eq!(json["deviceInfo"]["devEui"], "0101010101010101");
        assert_eq!(
            (json["fCnt"].as_u64(), json["fPort"].as_u64()),
            (Some(5), Some(1))
        );
        assert_eq!(json["data"], "AWcA1w==");
        assert_eq!(json["time"], "2022-08-03T14:37:43.000Z");
        assert_eq!(json["rxInfo"][0]["gatewayId"], "0016c001f153a14c");
        assert_eq!(
            (
                json["rxInfo"][0]["rssi"].as_i64(),
                json["rxInfo"][0]["snr"].as_f64()
            ),
            (Some(-80), Some(7.5))
        );
        let parsed = super::super::chirpstack::parse(
            "webhook/chirpstack/event/up",
            &to_json("up", &up).unwrap(),
            0,
        );
        assert!(
            matches!(parsed, Ok(super::super::Message::Uplink(_))),
            "{parsed:?}"
        );
        // Without device info it is refused; garbage is not protobuf.
        assert!(matches!(
            to_json("up", &[0x38, 5]),
            Err(FormatError::MissingField(_))
        ));
        assert!(to_json("up", &[0x52, 40, 1]).is_err());
    }
}
