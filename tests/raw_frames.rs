//! Raw gateway frames through a real Mosquitto: the gateway does what a network server would
//! for ABP devices (MIC, frame counter, replay, decryption, merging gateway copies).

mod common;

use std::time::Duration;

use base64::Engine;
use common::{publish_all, wait_for, Mosquitto, Sensorhub};
use serde_json::{json, Value};

const DEV_EUI: &str = "70b3d57ed0001234";
const DEV_ADDR: &str = "260b1234";
const NWK_S_KEY: &str = "44024241ed4ce9a68c6a8bc055233fd3";
const APP_S_KEY: &str = "ec925802ae430ca77fd3dd73cb2cc588";

fn key(hex: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// An unconfirmed data uplink on fPort 1, built and encrypted with the lorawan crate.
fn phy(f_cnt: u32, payload: &[u8]) -> Vec<u8> {
    let mut creator = lorawan::creator::DataPayloadCreator::new();
    // DevAddr 260b1234 goes on air least significant byte first.
    creator
        .set_uplink(true)
        .set_confirmed(false)
        .set_f_port(1)
        .set_dev_addr(&[0x34, 0x12, 0x0b, 0x26])
        .set_fcnt(f_cnt);
    creator
        .build(
            payload,
            &[],
            &lorawan::keys::NewSKey::from(key(NWK_S_KEY)),
            &lorawan::keys::AppSKey::from(key(APP_S_KEY)),
        )
        .unwrap()
        .to_vec()
}

/// A Gateway Bridge `up` event as gateway `gateway` heard the frame.
fn event(gateway: &str, phy: &[u8], rssi: i32) -> (String, Vec<u8>) {
    let body = json!({
        "phyPayload": base64::engine::general_purpose::STANDARD.encode(phy),
        "txInfo": {"frequency": 868100000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}}},
        "rxInfo": {"gatewayId": gateway, "uplinkId": 1, "rssi": rssi, "snr": 7.5},
    });
    (
        format!("eu868/gateway/{gateway}/event/up"),
        serde_json::to_vec(&body).unwrap(),
    )
}

/// The same event in the MQTT Forwarder's default encoding, protobuf `gw.UplinkFrame`:
/// field 1 the PHYPayload, field 5 `rx_info` with gateway_id (1), rssi (6) and snr (7).
fn event_protobuf(gateway: &str, phy: &[u8], rssi: i32) -> (String, Vec<u8>) {
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let mut rx = vec![0x0a, gateway.len() as u8];
    rx.extend(gateway.as_bytes());
    rx.push(0x30);
    varint(i64::from(rssi) as u64, &mut rx);
    rx.push(0x3d);
    rx.extend(7.5f32.to_le_bytes());
    let mut msg = vec![0x0a, phy.len() as u8];
    msg.extend(phy);
    msg.extend([0x2a, rx.len() as u8]);
    msg.extend(rx);
    (format!("eu868/gateway/{gateway}/event/up"), msg)
}

fn hub(broker: &Mosquitto, client: &str) -> Sensorhub {
    let hub = Sensorhub::with_subscriptions(
        &broker.url(),
        client,
        "[[mqtt.subscriptions]]\ntopic = \"eu868/gateway/+/event/up\"\nformat = \"chirpstack-gateway\"\n",
    );
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        DEV_EUI,
        "--name",
        "Pegel Nebel",
        "--station",
        "pegel-nebel",
        "--device-type",
        "cayenne-lpp",
        "--public",
        "--dev-addr",
        DEV_ADDR,
        "--nwk-s-key",
        NWK_S_KEY,
        "--app-s-key",
        APP_S_KEY,
    ]);
    hub
}

fn health(hub: &Sensorhub) -> Value {
    let out = hub.ok(&["devices", "health", "--format", "json"]);
    serde_json::from_str(out.lines().next().unwrap()).unwrap()
}

fn dead_letter_reasons(hub: &Sensorhub) -> Vec<String> {
    hub.ok(&["dead-letters", "--format", "json"])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn one_frame_heard_by_three_gateways_is_one_reading_with_gateway_count_3() {
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, "raw-merge");
    hub.start();
    // channel 1 temperature 21.5 °C
    let frame = phy(7, &[0x01, 0x67, 0x00, 0xd7]);
    publish_all(
        &broker.url(),
        &[
            event("gw-a", &frame, -110),
            event_protobuf("gw-b", &frame, -72),
            event("gw-c", &frame, -95),
        ],
    );
    let readings = wait_for("the reading", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| !r.is_empty())
    });
    assert_eq!(readings.len(), 1, "{readings:?}");
    assert_eq!(readings[0]["quantity"], "air_temperature");
    assert_eq!(readings[0]["value"], 21.5);
    let h = wait_for("three gateways", Duration::from_secs(10), || {
        Some(health(&hub)).filter(|h| h["gateway_count"] == 3)
    });
    assert_eq!(h["rssi"], -72.0);
    assert_eq!(h["last_f_cnt"], 7);
    assert!(dead_letter_reasons(&hub).is_empty());
}

/// The merge window is measured from when each copy arrived, not from when it was handled: a
/// commit held up behind another process's write lock (here 2 s) must not turn the second
/// gateway's copy, which came 0.3 s after the first, into a replay.
#[test]
fn a_copy_that_waited_behind_a_slow_commit_is_still_merged() {
    use std::io::Read;
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, "raw-slow-commit");
    hub.start();
    let db = hub.dir.path().join("data/sensorhub.db");
    let mut locker = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('locked', flush=True)\n\
             time.sleep(2)\n\
             c.execute('ROLLBACK')\n",
            db.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 7];
    locker.stdout.take().unwrap().read_exact(&mut line).unwrap();
    assert_eq!(&line, b"locked\n");
    let frame = phy(9, &[0x01, 0x67, 0x00, 0xd7]);
    publish_all(&broker.url(), &[event("gw-a", &frame, -100)]);
    std::thread::sleep(Duration::from_millis(300));
    publish_all(&broker.url(), &[event("gw-b", &frame, -70)]);
    assert!(locker.wait().unwrap().success());
    let h = wait_for("two gateways", Duration::from_secs(20), || {
        Some(health(&hub)).filter(|h| h["gateway_count"] == 2)
    });
    assert_eq!(h["rssi"], -70.0);
    assert_eq!(hub.readings(DEV_EUI).len(), 1);
    assert!(
        dead_letter_reasons(&hub).is_empty(),
        "{:?}",
        dead_letter_reasons(&hub)
    );
}

#[test]
fn a_wrong_mic_is_dead_lettered_and_a_replay_rejected() {
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, "raw-reject");
    hub.start();
    let good = phy(3, &[0x01, 0x67, 0x00, 0x64]); // 10.0 °C
    let mut bad_mic = phy(4, &[0x01, 0x67, 0x00, 0xc8]); // 20.0 °C, then one MIC byte flipped
    let last = bad_mic.len() - 1;
    bad_mic[last] ^= 0x01;
    let older = phy(2, &[0x01, 0x67, 0x01, 0x2c]); // 30.0 °C with an older counter
    publish_all(
        &broker.url(),
        &[event("gw-a", &good, -80), event("gw-a", &bad_mic, -80)],
    );
    wait_for("the good reading", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| !r.is_empty())
    });
    // Past the merge window, the same frame again and an older one are replays.
    std::thread::sleep(Duration::from_millis(1_200));
    publish_all(
        &broker.url(),
        &[event("gw-b", &good, -80), event("gw-a", &older, -80)],
    );
    let reasons = wait_for("three dead letters", Duration::from_secs(20), || {
        Some(dead_letter_reasons(&hub)).filter(|r| r.len() == 3)
    });
    assert_eq!(
        reasons.iter().filter(|r| *r == "bad_mic").count(),
        1,
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "replay").count(),
        2,
        "{reasons:?}"
    );
    let readings = hub.readings(DEV_EUI);
    assert_eq!(
        readings.len(),
        1,
        "only the good frame is stored: {readings:?}"
    );
    assert_eq!(readings[0]["value"], 10.0);

    // Replay protection survives a restart: the counter is saved with each batch.
    hub.kill();
    hub.start();
    publish_all(&broker.url(), &[event("gw-a", &good, -80)]);
    wait_for("a fourth dead letter", Duration::from_secs(20), || {
        Some(dead_letter_reasons(&hub)).filter(|r| r.len() == 4)
    });
    assert_eq!(hub.readings(DEV_EUI).len(), 1);
}

/// Frames queued at the broker while the gateway was down carry no gateway time and arrive
/// within one millisecond: each is still an uplink and a reading of its own, in counter order.
#[test]
fn twenty_frames_queued_while_the_gateway_was_down_are_twenty_readings() {
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, "raw-backlog");
    hub.start();
    hub.kill();
    let frames: Vec<_> = (1..=20u32)
        .map(|f_cnt| {
            // channel 1 temperature: 10.0 °C + f_cnt / 10
            let t = (100 + f_cnt as i16).to_be_bytes();
            event("gw-a", &phy(f_cnt, &[0x01, 0x67, t[0], t[1]]), -90)
        })
        .collect();
    publish_all(&broker.url(), &frames);
    hub.start();
    let readings = wait_for("20 readings", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| r.len() >= 20)
    });
    assert_eq!(readings.len(), 20, "{readings:?}");
    let values: Vec<f64> = readings
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    let expected: Vec<f64> = (1..=20).map(|i| (100.0 + f64::from(i)) / 10.0).collect();
    assert_eq!(values, expected, "oldest first, in frame-counter order");
    assert!(readings.iter().all(|r| r["time_source"] == "receipt"));
    let h = health(&hub);
    assert_eq!(h["uplinks"], 20, "{h}");
    assert_eq!(h["packet_loss"], 0.0, "{h}");
    assert_eq!(h["last_f_cnt"], 20, "{h}");
}
