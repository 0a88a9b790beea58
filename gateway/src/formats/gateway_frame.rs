//! Raw uplink frames from ChirpStack Gateway Bridge / MQTT Forwarder, JSON encoding.
//!
//! Topic: `{region}/gateway/{gateway_id}/event/up`. The frame is the PHYPayload as the gateway
//! received it, still encrypted; `rxInfo.time` is absent on gateways without GPS. (The MQTT
//! Forwarder's default encoding is protobuf, `gw.UplinkFrame`; configure it for JSON.)

use base64::Engine;
use serde::Deserialize;

use super::FormatError;

/// One reception of a frame by one gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub phy_payload: Vec<u8>,
    pub gateway_id: String,
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
    /// Gateway (GPS) time of reception, where the gateway has one.
    pub time_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UplinkFrame {
    #[serde(default)]
    phy_payload: Option<String>,
    #[serde(default)]
    rx_info: Option<RxInfo>,
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
    #[serde(default)]
    time: Option<String>,
}

/// The gateway id from a `{region}/gateway/{id}/event/up` topic.
fn gateway_of_topic(topic: &str) -> Option<&str> {
    let mut parts = topic.split('/');
    while let Some(part) = parts.next() {
        if part == "gateway" {
            return parts.next();
        }
    }
    None
}

pub fn parse(topic: &str, payload: &[u8]) -> Result<Frame, FormatError> {
    let text = std::str::from_utf8(payload)
        .map_err(|e| FormatError::NotJson(format!("not UTF-8: {e}")))?;
    let frame: UplinkFrame = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => FormatError::BadShape(e.to_string()),
        _ => FormatError::NotJson(e.to_string()),
    })?;
    let phy = frame
        .phy_payload
        .ok_or(FormatError::MissingField("phyPayload"))?;
    let phy_payload = base64::engine::general_purpose::STANDARD
        .decode(phy.as_bytes())
        .map_err(|e| FormatError::BadBase64 {
            field: "phyPayload",
            detail: e.to_string(),
        })?;
    let rx = frame.rx_info.ok_or(FormatError::MissingField("rxInfo"))?;
    let gateway_id = rx
        .gateway_id
        .or_else(|| gateway_of_topic(topic).map(str::to_owned))
        .ok_or(FormatError::MissingField("rxInfo.gatewayId"))?;
    let time_ms = rx
        .time
        .as_deref()
        .and_then(sensorhub_store::time::parse_rfc3339);
    Ok(Frame {
        phy_payload,
        gateway_id,
        rssi: rx.rssi,
        snr: rx.snr,
        time_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/chirpstack-gateway-up.json");

    #[test]
    fn parses_the_documented_frame() {
        let frame = parse(
            "eu868/gateway/0016c001f153a14c/event/up",
            FIXTURE.as_bytes(),
        )
        .unwrap();
        assert_eq!(frame.gateway_id, "0016c001f153a14c");
        assert_eq!((frame.rssi, frame.snr), (Some(-52.0), Some(13.75)));
        // ConfirmedDataUp (0x80) from DevAddr 016afea6 (a6 fe 6a 01 on air), FCnt 5, FPort 1.
        assert_eq!(&frame.phy_payload[..5], &[0x80, 0xa6, 0xfe, 0x6a, 0x01]);
        assert_eq!(frame.phy_payload[6..8], [0x05, 0x00]);
        assert_eq!(frame.phy_payload[8], 0x01);
        assert_eq!(
            sensorhub_store::time::format_rfc3339(frame.time_ms.unwrap()),
            "2022-08-03T14:37:43.383Z"
        );
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        assert_eq!(parse("t", b"nope").unwrap_err().reason(), "bad_json");
        assert_eq!(
            parse("t", br#"{"rxInfo":{}}"#).unwrap_err().reason(),
            "missing_field"
        );
        assert_eq!(
            parse("t", br#"{"phyPayload":"@@","rxInfo":{}}"#)
                .unwrap_err()
                .reason(),
            "bad_base64"
        );
    }
}
