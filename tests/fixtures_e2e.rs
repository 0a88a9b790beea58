//! The public samples in `tests/fixtures/` (copied from `shared/fixtures/`), each through a real
//! Mosquitto and the gateway, checked against their documented values through the CLI.
//! (`chirpstack-v4-up.json` and `cayenne-lpp.json` go through `end_to_end.rs`.)

mod common;

use std::time::Duration;

use base64::Engine;
use common::{fixture, publish_all, wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

const SUBSCRIPTIONS: &str = r#"
[[mqtt.subscriptions]]
topic = "v3/+/devices/+/up"
format = "tts"

[[mqtt.subscriptions]]
topic = "eu868/gateway/+/event/up"
format = "chirpstack-gateway"
"#;

fn dead_letters(hub: &Sensorhub) -> Vec<Value> {
    hub.ok(&["dead-letters", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_fixture_decodes_to_its_documented_values() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::with_subscriptions(&broker.url(), "e2e-fixtures", SUBSCRIPTIONS);

    // TTS v3 uplink: DevEUI 0004A30B001C0530; the network server decoded temperature 1.0.
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        "0004A30B001C0530",
        "--name",
        "dev1",
        "--station",
        "tts-station",
        "--device-type",
        "network-server",
        "--public",
    ]);
    // LoRaWAN vector: DevAddr 49be7df1 with published session keys, FCnt 2, payload "test";
    // a JavaScript codec counts the decrypted bytes.
    let vectors: Value = serde_json::from_str(&fixture("lorawan-vectors.json")).unwrap();
    let v = &vectors["data_uplinks"][0];
    let codec = hub.dir.path().join("length.js");
    std::fs::write(&codec, "function decodeUplink(i) { return { data: { count: i.bytes.length, ascii: String.fromCharCode.apply(null, i.bytes) } }; }").unwrap();
    let js = format!("js:{}", codec.display());
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        "70b3d57ed0000049",
        "--name",
        "vector",
        "--station",
        "vector-station",
        "--device-type",
        &js,
        "--dev-addr",
        v["devaddr"].as_str().unwrap(),
        "--nwk-s-key",
        v["nwkskey"].as_str().unwrap(),
        "--app-s-key",
        v["appskey"].as_str().unwrap(),
    ]);
    // ChirpStack gateway frame: DevAddr 016afea6, FCnt 5; its keys are not published, so a
    // device registered with other keys sees the frame parsed, matched and refused on its MIC.
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        "70b3d57ed00016af",
        "--name",
        "unknown keys",
        "--station",
        "gw-station",
        "--device-type",
        "cayenne-lpp",
        "--dev-addr",
        "016afea6",
        "--nwk-s-key",
        "00000000000000000000000000000001",
        "--app-s-key",
        "00000000000000000000000000000002",
    ]);
    hub.start();

    let phy = (0..v["phy_hex"].as_str().unwrap().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v["phy_hex"].as_str().unwrap()[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>();
    let vector_frame = serde_json::json!({
        "phyPayload": base64::engine::general_purpose::STANDARD.encode(&phy),
        "rxInfo": {"gatewayId": "0016c001f153a14c", "rssi": -61, "snr": 9.0},
    });
    publish_all(
        &broker.url(),
        &[
            (
                "v3/app1@tenant1/devices/dev1/up".into(),
                fixture("tts-v3-up.json").into_bytes(),
            ),
            (
                "eu868/gateway/0016c001f153a14c/event/up".into(),
                serde_json::to_vec(&vector_frame).unwrap(),
            ),
            (
                "eu868/gateway/0016c001f153a14c/event/up".into(),
                fixture("chirpstack-gateway-up.json").into_bytes(),
            ),
        ],
    );

    let tts = wait_for("the TTS reading", Duration::from_secs(20), || {
        Some(hub.readings("0004A30B001C0530")).filter(|r| !r.is_empty())
    });
    assert_eq!(tts.len(), 1, "{tts:?}"); // luminosity is outside the vocabulary
    assert_eq!(tts[0]["quantity"], "air_temperature");
    assert_eq!(tts[0]["value"], 1.0);
    assert_eq!(tts[0]["time"], "2020-02-12T15:15:45.789Z");

    let vector = wait_for("the vector's reading", Duration::from_secs(20), || {
        Some(hub.readings("70b3d57ed0000049")).filter(|r| !r.is_empty())
    });
    assert_eq!(vector[0]["quantity"], "count");
    assert_eq!(
        vector[0]["value"],
        v["payload_hex"].as_str().unwrap().len() as f64 / 2.0
    );

    let letters = wait_for(
        "the gateway fixture's dead letter",
        Duration::from_secs(20),
        || Some(dead_letters(&hub)).filter(|l| !l.is_empty()),
    );
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["reason"], "bad_mic");
    assert!(letters[0]["detail"].as_str().unwrap().contains("016afea6"));

    let health: Vec<Value> = hub
        .ok(&["devices", "health", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let vector_health = health
        .iter()
        .find(|h| h["station"] == "vector-station")
        .unwrap();
    assert_eq!(vector_health["last_f_cnt"], v["fcnt"]);
    assert_eq!(vector_health["rssi"], -61.0);
}
