//! ChirpStack Gateway Bridge's gateway events through a real Mosquitto into `sensorhub run`:
//! `stats` (JSON and protobuf) count as the gateway being heard even when no device sends,
//! `conn` says whether it is connected; a broken one is a dead letter, and ingestion goes on.

mod common;

use std::time::Duration;

use common::{publish_all, wait_for, Mosquitto, Sensorhub, ADMIN_TOKEN};
use serde_json::Value;

#[test]
fn gateway_stats_and_connection_states_reach_the_gateways_view() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::with_subscriptions(
        &broker.url(),
        "e2e-gateway-events",
        "[[mqtt.subscriptions]]\ntopic = \"eu868/gateway/+/event/stats\"\nformat = \"chirpstack-gateway\"\n\n\
         [[mqtt.subscriptions]]\ntopic = \"eu868/gateway/+/state/conn\"\nformat = \"chirpstack-gateway\"\n",
    );
    hub.start();
    // gw.GatewayStats in protobuf: gateway_id (17) "7276ff0039030a02", rx 7, rx ok 7.
    let mut stats = vec![0x8a, 0x01, 16];
    stats.extend(b"7276ff0039030a02");
    stats.extend([0x28, 7, 0x30, 7]);
    publish_all(
        &broker.url(),
        &[
            (
                "eu868/gateway/0016c001f153a14c/event/stats".into(),
                br#"{"gatewayId":"0016c001f153a14c","time":"2026-12-01T10:00:00Z","rxPacketsReceived":12,"rxPacketsReceivedOk":10}"#.to_vec(),
            ),
            (
                "eu868/gateway/0016c001f153a14c/state/conn".into(),
                br#"{"gatewayId":"0016c001f153a14c","state":"ONLINE"}"#.to_vec(),
            ),
            ("eu868/gateway/7276ff0039030a02/event/stats".into(), stats),
            // proto3 JSON leaves OFFLINE out.
            ("eu868/gateway/7276ff0039030a02/state/conn".into(), b"{}".to_vec()),
            ("eu868/gateway/x/event/stats".into(), b"{not json".to_vec()),
        ],
    );
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
    let gateways = wait_for("both gateways", Duration::from_secs(20), || {
        let r = common::http_get(hub.http_port, "/admin/api/v1/gateways", &auth)?;
        let list: Vec<Value> = serde_json::from_str(&r.body).ok()?;
        (list.len() == 2 && list.iter().all(|g| !g["heard"]["online"].is_null())).then_some(list)
    });
    let by = |id: &str| gateways.iter().find(|g| g["gateway_id"] == id).unwrap()["heard"].clone();
    let wyk = by("0016c001f153a14c");
    assert_eq!(
        (
            wyk["online"].as_bool(),
            wyk["rx_received"].as_u64(),
            wyk["rx_ok"].as_u64()
        ),
        (Some(true), Some(12), Some(10))
    );
    assert_eq!(wyk["uplinks"], 0, "stats are not uplinks");
    let now = sensorhub_store::time::now_ms();
    assert!(
        (now - wyk["last_seen_ms"].as_i64().unwrap()).abs() < 60_000,
        "{wyk}"
    );
    let other = by("7276ff0039030a02");
    assert_eq!(
        (other["online"].as_bool(), other["rx_received"].as_u64()),
        (Some(false), Some(7))
    );
    let listed = hub.ok(&["gateways", "list"]);
    assert!(
        listed.contains("0016c001f153a14c") && listed.contains("7276ff0039030a02"),
        "{listed}"
    );
    let letters = hub.ok(&["dead-letters", "--format", "json"]);
    assert!(
        letters.contains("bad_json") && letters.contains("eu868/gateway/x/event/stats"),
        "{letters}"
    );
}
