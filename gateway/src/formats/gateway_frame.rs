//! Raw uplink frames from ChirpStack Gateway Bridge / MQTT Forwarder, in either encoding: JSON,
//! or protobuf (`gw.UplinkFrame`, the MQTT Forwarder's default). A message starting with `{` is
//! JSON; anything else is read as protobuf.
//!
//! Topic: `{region}/gateway/{gateway_id}/event/up`. The frame is the PHYPayload as the gateway
//! received it, still encrypted; the reception time is absent on gateways without GPS.

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
    /// The gateway's GPS time (`time` in Gateway Bridge v3 JSON, `gwTime` in v4).
    #[serde(default, alias = "gwTime")]
    time: Option<String>,
}

/// The gateway id from a `{region}/gateway/{id}/event/up` topic.
pub(super) fn gateway_of_topic(topic: &str) -> Option<&str> {
    let mut parts = topic.split('/');
    while let Some(part) = parts.next() {
        if part == "gateway" {
            return parts.next();
        }
    }
    None
}

pub fn parse(topic: &str, payload: &[u8]) -> Result<Frame, FormatError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return protobuf::uplink_frame(topic, payload);
    }
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

/// Just enough of the protobuf wire format for `gw.UplinkFrame`:
/// `phy_payload = 1` (bytes), `rx_info = 5` (`UplinkRxInfo`: `gateway_id = 1` string,
/// `gw_time = 3` Timestamp {`seconds = 1`, `nanos = 2`}, `rssi = 6` int32, `snr = 7` float).
/// Unknown fields are skipped, as protobuf requires.
pub(super) mod protobuf {
    use super::{gateway_of_topic, FormatError, Frame};

    fn bad(detail: impl Into<String>) -> FormatError {
        FormatError::NotProtobuf(detail.into())
    }

    pub(in crate::formats) struct Reader<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    pub(in crate::formats) enum Field<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
        Fixed32(u32),
        Fixed64,
    }

    impl<'a> Reader<'a> {
        fn varint(&mut self) -> Result<u64, FormatError> {
            let mut value = 0u64;
            for shift in (0..64).step_by(7) {
                let byte = *self
                    .bytes
                    .get(self.pos)
                    .ok_or_else(|| bad("truncated varint"))?;
                self.pos += 1;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err(bad("varint longer than 10 bytes"))
        }

        fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
            let slice = self
                .bytes
                .get(self.pos..self.pos.saturating_add(n))
                .ok_or_else(|| bad(format!("field of {n} bytes runs past the message")))?;
            self.pos += n;
            Ok(slice)
        }

        /// The next (field number, value), or `None` at the end.
        pub(in crate::formats) fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, FormatError> {
            if self.pos >= self.bytes.len() {
                return Ok(None);
            }
            let key = self.varint()?;
            let value = match key & 7 {
                0 => Field::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Field::Fixed64
                }
                2 => {
                    let len = self.varint()? as usize;
                    Field::Bytes(self.take(len)?)
                }
                5 => {
                    let b = self.take(4)?;
                    Field::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                }
                other => return Err(bad(format!("unsupported wire type {other}"))),
            };
            Ok(Some((key >> 3, value)))
        }
    }

    pub(in crate::formats) fn fields(bytes: &[u8]) -> Reader<'_> {
        Reader { bytes, pos: 0 }
    }

    pub fn uplink_frame(topic: &str, bytes: &[u8]) -> Result<Frame, FormatError> {
        let mut phy_payload = None;
        let mut frame = Frame {
            phy_payload: Vec::new(),
            gateway_id: String::new(),
            rssi: None,
            snr: None,
            time_ms: None,
        };
        let mut reader = fields(bytes);
        while let Some((number, value)) = reader.next()? {
            match (number, value) {
                (1, Field::Bytes(b)) => phy_payload = Some(b.to_vec()),
                (5, Field::Bytes(b)) => rx_info(b, &mut frame)?,
                _ => {}
            }
        }
        frame.phy_payload = phy_payload.ok_or(FormatError::MissingField("phy_payload"))?;
        if frame.gateway_id.is_empty() {
            frame.gateway_id = gateway_of_topic(topic)
                .ok_or(FormatError::MissingField("rx_info.gateway_id"))?
                .to_owned();
        }
        Ok(frame)
    }

    fn rx_info(bytes: &[u8], frame: &mut Frame) -> Result<(), FormatError> {
        let mut reader = fields(bytes);
        while let Some((number, value)) = reader.next()? {
            match (number, value) {
                (1, Field::Bytes(b)) => {
                    frame.gateway_id = String::from_utf8(b.to_vec())
                        .map_err(|_| bad("gateway_id is not UTF-8"))?;
                }
                (3, Field::Bytes(b)) => frame.time_ms = Some(timestamp(b)?),
                // int32 is a varint of the 64-bit two's complement.
                (6, Field::Varint(v)) => frame.rssi = Some(f64::from(v as i64 as i32)),
                (7, Field::Fixed32(bits)) => frame.snr = Some(f64::from(f32::from_bits(bits))),
                _ => {}
            }
        }
        Ok(())
    }

    pub(in crate::formats) fn timestamp(bytes: &[u8]) -> Result<i64, FormatError> {
        let (mut seconds, mut nanos) = (0i64, 0i64);
        let mut reader = fields(bytes);
        while let Some((number, value)) = reader.next()? {
            match (number, value) {
                (1, Field::Varint(v)) => seconds = v as i64,
                (2, Field::Varint(v)) => nanos = i64::from(v as i64 as i32),
                _ => {}
            }
        }
        Ok(seconds * 1000 + nanos / 1_000_000)
    }
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

    /// A `gw.UplinkFrame` written out field by field.
    #[test]
    fn parses_the_protobuf_encoding() {
        let phy = [
            0x40, 0xf1, 0x7d, 0xbe, 0x49, 0x00, 0x02, 0x00, 0x01, 0x95, 0x43, 0x78, 0x76, 0x2b,
            0x11, 0xff, 0x0d,
        ];
        let mut rx = Vec::new();
        rx.extend([0x0a, 16]); // 1: gateway_id, 16 bytes
        rx.extend(b"0016c001f153a14c");
        rx.extend([0x10, 0xd7, 0x3d]); // 2: uplink_id 7895 (skipped)
        rx.extend([
            0x1a, 0x0a, 0x08, 0xb7, 0x90, 0xaa, 0x97, 0x06, 0x10, 0xa0, 0x8d, 0x06,
        ]); // 3: gw_time {seconds 1659537463, nanos 100000}
        rx.extend([
            0x30, 0xcc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]); // 6: rssi -52
        rx.push(0x3d); // 7: snr, fixed32 float 13.75
        rx.extend(13.75f32.to_le_bytes());
        let mut msg = vec![0x0a, phy.len() as u8]; // 1: phy_payload
        msg.extend(phy);
        msg.extend([0x22, 0x00]); // 4: tx_info, empty (skipped)
        msg.extend([0x2a, rx.len() as u8]); // 5: rx_info
        msg.extend(&rx);
        let frame = parse("eu868/gateway/x/event/up", &msg).unwrap();
        assert_eq!(frame.phy_payload, phy);
        assert_eq!(frame.gateway_id, "0016c001f153a14c");
        assert_eq!((frame.rssi, frame.snr), (Some(-52.0), Some(13.75)));
        assert_eq!(frame.time_ms, Some(1_659_537_463_000)); // + 100 µs, below a millisecond
        assert!(parse("t", &msg[..msg.len() - 3]).is_err(), "truncated");
        assert_eq!(
            parse("t", &[0x2a, 0x00]).unwrap_err().reason(),
            "missing_field"
        );
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        assert_eq!(parse("t", b"{ nope").unwrap_err().reason(), "bad_json");
        assert_eq!(parse("t", b"nope").unwrap_err().reason(), "bad_protobuf");
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
