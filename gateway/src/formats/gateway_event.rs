//! ChirpStack Gateway Bridge / MQTT Forwarder gateway events: `{region}/gateway/{id}/event/stats`
//! (`gw.GatewayStats`) and `{region}/gateway/{id}/state/conn` (`gw.ConnState`), JSON or
//! protobuf like the uplink frames (a message starting with `{` is JSON).
//!
//! Field numbers from ChirpStack's `api/proto/gw/gw.proto`: `GatewayStats` has
//! `gateway_id = 17` (string; `gateway_id_legacy = 1`, bytes), `time = 2`,
//! `rx_packets_received = 5`, `rx_packets_received_ok = 6`, `tx_packets_received = 7`,
//! `tx_packets_emitted = 8`; `ConnState` has `gateway_id = 3` (`gateway_id_legacy = 1`) and
//! `state = 2` (`OFFLINE = 0`, `ONLINE = 1`; proto3 leaves a 0 out, so no state is OFFLINE).

use serde::Deserialize;

use super::gateway_frame::gateway_of_topic;
use super::gateway_frame::protobuf::{fields, timestamp, Field};
use super::FormatError;
use sensorhub_store::GatewayStatus;

/// Whether `topic` is a gateway event this module reads.
pub fn is_gateway_event(topic: &str) -> bool {
    topic.ends_with("/event/stats") || topic.ends_with("/state/conn")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatsJson {
    #[serde(default)]
    gateway_id: Option<String>,
    #[serde(default)]
    rx_packets_received: Option<u32>,
    #[serde(default)]
    rx_packets_received_ok: Option<u32>,
    #[serde(default)]
    tx_packets_emitted: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnJson {
    #[serde(default)]
    gateway_id: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The gateway's id: the message's, else the topic's; at most 64 characters.
fn gateway_id(given: Option<String>, topic: &str) -> Result<String, FormatError> {
    let id = given
        .filter(|g| !g.trim().is_empty())
        .or_else(|| gateway_of_topic(topic).map(str::to_owned))
        .ok_or(FormatError::MissingField("gatewayId"))?;
    if id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(FormatError::BadShape(format!(
            "gateway id `{}` is not 1 to 64 of a-z, 0-9, `.`, `_`, `-`",
            id.escape_default()
        )));
    }
    Ok(id)
}

/// A gateway event received at `received_ms` on `topic`.
pub fn parse(topic: &str, payload: &[u8], received_ms: i64) -> Result<GatewayStatus, FormatError> {
    let json = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let stats = topic.ends_with("/event/stats");
    let bad_json = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => FormatError::BadShape(e.to_string()),
        _ => FormatError::NotJson(e.to_string()),
    };
    let mut status = GatewayStatus {
        gateway_id: String::new(),
        time_ms: received_ms,
        online: None,
        rx_received: None,
        rx_ok: None,
        tx_emitted: None,
    };
    match (json, stats) {
        (true, true) => {
            let s: StatsJson = serde_json::from_slice(payload).map_err(bad_json)?;
            status.gateway_id = gateway_id(s.gateway_id, topic)?;
            // The gateway's clock (`time`) may be wrong: stats count when they arrive.
            (status.rx_received, status.rx_ok, status.tx_emitted) = (
                s.rx_packets_received,
                s.rx_packets_received_ok,
                s.tx_packets_emitted,
            );
        }
        (true, false) => {
            let c: ConnJson = serde_json::from_slice(payload).map_err(bad_json)?;
            status.gateway_id = gateway_id(c.gateway_id, topic)?;
            status.online = Some(c.state.as_deref() == Some("ONLINE"));
        }
        (false, true) => {
            let (mut id, mut legacy) = (None, None);
            let (mut rx, mut ok, mut tx) = (0u32, 0u32, 0u32);
            let mut reader = fields(payload);
            while let Some((number, value)) = reader.next()? {
                match (number, value) {
                    (1, Field::Bytes(b)) => legacy = Some(hex(b)),
                    (17, Field::Bytes(b)) => id = Some(String::from_utf8_lossy(b).into_owned()),
                    // 2: the gateway's time, checked but not used (stats count when they arrive).
                    (2, Field::Bytes(b)) => {
                        timestamp(b)?;
                    }
                    (5, Field::Varint(v)) => rx = v as u32,
                    (6, Field::Varint(v)) => ok = v as u32,
                    (8, Field::Varint(v)) => tx = v as u32,
                    _ => {}
                }
            }
            status.gateway_id = gateway_id(id.or(legacy), topic)?;
            (status.rx_received, status.rx_ok, status.tx_emitted) = (Some(rx), Some(ok), Some(tx));
        }
        (false, false) => {
            let (mut id, mut legacy, mut online) = (None, None, false);
            let mut reader = fields(payload);
            while let Some((number, value)) = reader.next()? {
                match (number, value) {
                    (1, Field::Bytes(b)) => legacy = Some(hex(b)),
                    (3, Field::Bytes(b)) => id = Some(String::from_utf8_lossy(b).into_owned()),
                    (2, Field::Varint(v)) => online = v == 1,
                    _ => {}
                }
            }
            status.gateway_id = gateway_id(id.or(legacy), topic)?;
            status.online = Some(online);
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "eu868/gateway/0016c001f153a14c/event/stats";
    const CONN: &str = "eu868/gateway/0016c001f153a14c/state/conn";

    #[test]
    fn json_stats_and_connection_states() {
        let json = br#"{"gatewayId":"0016c001f153a14c","time":"2026-12-01T10:00:00Z",
            "rxPacketsReceived":12,"rxPacketsReceivedOk":10,"txPacketsReceived":1,"txPacketsEmitted":1}"#;
        let s = parse(STATS, json, 42).unwrap();
        assert_eq!(
            (
                s.gateway_id.as_str(),
                s.time_ms,
                s.rx_received,
                s.rx_ok,
                s.tx_emitted,
                s.online
            ),
            ("0016c001f153a14c", 42, Some(12), Some(10), Some(1), None)
        );
        let online = parse(
            CONN,
            br#"{"gatewayId":"0016c001f153a14c","state":"ONLINE"}"#,
            1,
        )
        .unwrap();
        assert_eq!(online.online, Some(true));
        // proto3 JSON leaves the default (OFFLINE) out; the id comes from the topic then too.
        let offline = parse(CONN, b"{}", 1).unwrap();
        assert_eq!(
            (offline.gateway_id.as_str(), offline.online),
            ("0016c001f153a14c", Some(false))
        );
        assert!(matches!(
            parse(CONN, br#"{"gatewayId":"a b"}"#, 1),
            Err(FormatError::BadShape(_))
        ));
    }

    /// `gw.GatewayStats` and `gw.ConnState` written out field by field.
    #[test]
    fn protobuf_stats_and_connection_states() {
        let mut stats = Vec::new();
        stats.extend([0x8a, 0x01, 16]); // 17: gateway_id (key 17<<3|2 = 138 as varint), 16 bytes
        stats.extend(b"0016c001f153a14c");
        stats.extend([0x12, 0x06, 0x08, 0xb7, 0x90, 0xaa, 0x97, 0x06]); // 2: time {seconds}
        stats.extend([0x28, 12, 0x30, 10, 0x38, 1, 0x40, 1]); // 5, 6, 7, 8
        let s = parse(STATS, &stats, 7).unwrap();
        assert_eq!(
            (s.gateway_id.as_str(), s.rx_received, s.rx_ok, s.tx_emitted),
            ("0016c001f153a14c", Some(12), Some(10), Some(1))
        );
        // ConnState with the legacy 8-byte id and ONLINE; then OFFLINE (state left out).
        let mut conn = vec![0x0a, 8, 0x00, 0x16, 0xc0, 0x01, 0xf1, 0x53, 0xa1, 0x4c];
        conn.extend([0x10, 0x01]);
        let c = parse("eu868/gateway/x/state/conn", &conn, 1).unwrap();
        assert_eq!(
            (c.gateway_id.as_str(), c.online),
            ("0016c001f153a14c", Some(true))
        );
        let c = parse(CONN, &[0x1a, 3, b'g', b'w', b'1'], 1).unwrap();
        assert_eq!((c.gateway_id.as_str(), c.online), ("gw1", Some(false)));
        assert!(parse(CONN, &[0x1a, 30, b'g'], 1).is_err());
    }
}
