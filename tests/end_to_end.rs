//! The whole path through the public interface, against a real Mosquitto:
//! ChirpStack event -> broker -> gateway -> SQLite -> `sensorhub readings`, the dashboard and
//! `GET /api/v1/stations`.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{fixture, http_get, publish_all, wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

const DEV_EUI: &str = "0101010101010101";
const TOPIC: &str =
    "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up";

/// The documented LPP example of `cayenne-lpp.json`, as (bytes, [(channel, value)]).
fn lpp_example() -> (Vec<u8>, Vec<(u64, f64)>) {
    let doc: Value = serde_json::from_str(&fixture("cayenne-lpp.json")).unwrap();
    let example = &doc["examples"][0];
    let hex = example["hex"].as_str().unwrap();
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let expect = example["expect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["channel"].as_u64().unwrap(), e["value"].as_f64().unwrap()))
        .collect();
    (bytes, expect)
}

/// The ChirpStack v4 fixture with its `data` replaced by `payload`, its time by `time`, and a
/// deduplication id of its own (ChirpStack gives every uplink a new one).
fn chirpstack_up(payload: &[u8], time: Option<&str>) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut event: Value = serde_json::from_str(&fixture("chirpstack-v4-up.json")).unwrap();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    event["deduplicationId"] = format!("3ac7e3c4-4401-4b8d-9386-{n:012x}").into();
    event["data"] = base64::engine::general_purpose::STANDARD
        .encode(payload)
        .into();
    if let Some(time) = time {
        event["time"] = time.into();
    }
    serde_json::to_vec(&event).unwrap()
}

#[test]
fn chirpstack_lpp_uplink_reaches_readings_dashboard_and_api() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-path");
    hub.register(DEV_EUI, "pegel-wyk", true);
    hub.register("0202020202020202", "garten-privat", false);
    hub.start();

    let (payload, expected) = lpp_example();
    publish_all(
        &broker.url(),
        &[
            (TOPIC.into(), chirpstack_up(&payload, None)),
            (
                TOPIC.replace(DEV_EUI, "0202020202020202"),
                String::from_utf8(chirpstack_up(&payload, None))
                    .unwrap()
                    .replace(DEV_EUI, "0202020202020202")
                    .into_bytes(),
            ),
        ],
    );

    let readings = wait_for("the readings", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| r.len() == expected.len())
    });
    for (channel, value) in &expected {
        let quantity = format!("air_temperature_{channel}");
        let r = readings
            .iter()
            .find(|r| r["quantity"] == quantity.as_str())
            .unwrap_or_else(|| panic!("no {quantity} in {readings:?}"));
        assert_eq!(r["station"], "pegel-wyk");
        assert!((r["value"].as_f64().unwrap() - value).abs() < 1e-9, "{r}");
        assert_eq!(r["unit"], "°C");
        // The fixture's time, 2022-07-18T09:34:15.775023242+00:00, in RFC 3339 UTC.
        assert_eq!(r["time"], "2022-07-18T09:34:15.775Z");
    }

    // CSV and time filters through the same command.
    let csv = hub.ok(&[
        "readings",
        "--station",
        "pegel-wyk",
        "--quantity",
        "air_temperature_3",
        "--since",
        "2022-07-18",
        "--until",
        "2022-07-19T00:00:00Z",
        "--format",
        "csv",
    ]);
    assert_eq!(
        csv,
        "station,quantity,time,value,unit\npegel-wyk,air_temperature_3,2022-07-18T09:34:15.775Z,27.2,°C\n"
    );
    let none = hub.ok(&[
        "readings",
        "--station",
        "pegel-wyk",
        "--since",
        "2022-07-19",
    ]);
    assert!(none.is_empty(), "{none}");

    // The public API lists the public station with coarsened coordinates, not the private one.
    let api = http_get(hub.http_port, "/api/v1/stations", "").unwrap();
    assert_eq!(api.status, 200);
    let stations: Value = serde_json::from_str(&api.body).unwrap();
    let stations = stations.as_array().unwrap();
    assert_eq!(stations.len(), 1, "{stations:?}");
    assert_eq!(stations[0]["id"], "pegel-wyk");
    assert_eq!(stations[0]["lat"], 54.692);
    assert_eq!(stations[0]["latest"].as_array().unwrap().len(), 2);
    assert!(!api.body.contains(DEV_EUI) && !api.body.contains("rssi"));

    // The technicians' API needs its token, and shows what the public API hides.
    let denied = http_get(hub.http_port, "/admin/api/v1/devices/health", "").unwrap();
    assert_eq!(denied.status, 401);
    let wrong = http_get(
        hub.http_port,
        "/admin/api/v1/devices/health",
        "Authorization: Bearer nope\r\n",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    let auth = format!("Authorization: Bearer {}\r\n", common::ADMIN_TOKEN);
    // The fixture is from 2022: count uplinks of the last 100,000 hours.
    let health = http_get(
        hub.http_port,
        "/admin/api/v1/devices/health?hours=100000",
        &auth,
    )
    .unwrap();
    assert_eq!(health.status, 200, "{}", health.body);
    let health: Value = serde_json::from_str(&health.body).unwrap();
    let ours = health
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["dev_eui"] == DEV_EUI)
        .unwrap();
    assert_eq!(
        (ours["uplinks"].as_u64(), ours["rssi"].as_f64()),
        (Some(1), Some(-36.0))
    );

    // The dashboard lists the station with its latest values, in German by default.
    let page = http_get(hub.http_port, "/", "").unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("lang=\"de\""));
    assert!(page.body.contains("pegel-wyk"));
    assert!(page.body.contains(">27,2</span> °C") && page.body.contains(">25,5</span> °C"));
    assert!(!page.body.contains("garten-privat"));
    let english = http_get(hub.http_port, "/", "Accept-Language: en-GB,en;q=0.8\r\n").unwrap();
    assert!(english.body.contains("lang=\"en\"") && english.body.contains(">27.2</span> °C"));
}

#[test]
fn bad_input_is_counted_kept_and_ingestion_goes_on() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-bad-input");
    hub.register(DEV_EUI, "pegel-wyk", true);
    hub.start();

    let (payload, _) = lpp_example();
    let mut bad_base64: Value = serde_json::from_slice(&chirpstack_up(&payload, None)).unwrap();
    bad_base64["data"] = "not*base64!".into();
    let last_good = chirpstack_up(&payload, Some("2024-05-01T12:00:00Z"));
    let unknown = String::from_utf8(chirpstack_up(&payload, None))
        .unwrap()
        .replace(DEV_EUI, "0303030303030303");
    publish_all(
        &broker.url(),
        &[
            (TOPIC.into(), b"this is not JSON".to_vec()),
            (
                TOPIC.into(),
                br#"{"time":"2022-07-18T09:34:15Z","data":"A2cBEA=="}"#.to_vec(),
            ),
            (TOPIC.into(), serde_json::to_vec(&bad_base64).unwrap()),
            (TOPIC.into(), unknown.into_bytes()),
            (TOPIC.into(), chirpstack_up(&[0x03, 0x67, 0x01], None)),
            (TOPIC.into(), last_good.clone()),
        ],
    );

    let readings = wait_for(
        "the good message's readings",
        Duration::from_secs(20),
        || Some(hub.readings(DEV_EUI)).filter(|r| !r.is_empty()),
    );
    assert_eq!(readings.len(), 2);
    assert!(readings
        .iter()
        .all(|r| r["time"] == "2024-05-01T12:00:00.000Z"));

    // The same uplink delivered again (same deduplication id, even with another time) is
    // recognised and stores nothing more.
    let mut again: Value = serde_json::from_slice(&last_good).unwrap();
    again["time"] = "2024-05-01T12:00:05Z".into();
    publish_all(
        &broker.url(),
        &[(TOPIC.into(), serde_json::to_vec(&again).unwrap())],
    );
    wait_for(
        "the redelivery to be counted",
        Duration::from_secs(20),
        || {
            let metrics = http_get(hub.http_port, "/metrics", "").unwrap().body;
            metrics
                .contains("sensorhub_messages_skipped_total 1")
                .then_some(())
        },
    );
    assert_eq!(hub.readings(DEV_EUI).len(), 2);

    let metrics = http_get(hub.http_port, "/metrics", "").unwrap().body;
    for reason in [
        "bad_json",
        "missing_field",
        "bad_base64",
        "unknown_device",
        "codec_error",
    ] {
        let line = format!("sensorhub_dead_letters_total{{reason=\"{reason}\"}} 1");
        assert!(metrics.contains(&line), "missing `{line}` in:\n{metrics}");
    }
    assert!(
        metrics.contains("sensorhub_messages_received_total 7"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sensorhub_messages_stored_total 1"),
        "{metrics}"
    );
    // Every series the Grafana dashboard's Prometheus panels query is one this server exposes.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/grafana/dashboards/sensorhub.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["datasource"]["type"] != "prometheus" {
            continue;
        }
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("sensorhub_"))
            {
                queried += 1;
                let exposed = metrics
                    .lines()
                    .any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']));
                assert!(
                    exposed,
                    "the dashboard queries `{name}`, /metrics has no such series"
                );
            }
        }
    }
    assert!(queried >= 7, "{queried}");

    // Every bad message is kept byte for byte with its reason.
    let letters: Vec<Value> = hub
        .ok(&["dead-letters", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 5);
    let not_json = letters.iter().find(|l| l["reason"] == "bad_json").unwrap();
    assert_eq!(
        not_json["payload_base64"],
        base64::engine::general_purpose::STANDARD.encode("this is not JSON")
    );
    assert_eq!(not_json["topic"], TOPIC);

    // The unknown device is listed for the technician.
    let listed = hub.ok(&["devices", "list"]);
    assert!(
        listed.contains("seen but not registered") && listed.contains("0303030303030303"),
        "{listed}"
    );

    // Once registered, its dead-lettered uplink is replayed into readings and leaves the
    // dead letters; the others fail again and stay.
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        "0303030303030303",
        "--name",
        "late",
        "--station",
        "pegel-late",
        "--device-type",
        "cayenne-lpp",
    ]);
    let out = hub.ok(&["dead-letters", "--replay", "--reason", "unknown_device"]);
    assert!(
        out.contains("replayed 1 dead letters; 0 still fail"),
        "{out}"
    );
    let late = hub.readings("0303030303030303");
    assert_eq!(late.len(), 2, "{late:?}");
    let out = hub.ok(&["dead-letters", "--replay"]);
    assert!(
        out.contains("replayed 0 dead letters; 4 still fail"),
        "{out}"
    );
    let left = hub.ok(&["dead-letters", "--format", "json"]);
    assert_eq!(left.lines().count(), 4);
}

#[test]
fn messages_sent_while_the_gateway_is_down_are_stored_after_restart() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-persistent");
    hub.register(DEV_EUI, "pegel-wyk", true);
    hub.start(); // creates the persistent session and its subscription at the broker
    hub.kill();

    let messages: Vec<_> = (0..50)
        .map(|i| {
            let time = format!("2024-05-01T12:{:02}:{:02}Z", i / 60, i % 60);
            // channel 1 temperature i/10 °C
            (
                TOPIC.to_owned(),
                chirpstack_up(&[0x01, 0x67, 0x00, i as u8], Some(&time)),
            )
        })
        .collect();
    publish_all(&broker.url(), &messages);

    hub.start();
    let readings = wait_for("all 50 readings", Duration::from_secs(30), || {
        Some(hub.readings(DEV_EUI)).filter(|r| r.len() >= 50)
    });
    assert_eq!(readings.len(), 50);
    for (i, r) in readings.iter().enumerate() {
        assert!(
            (r["value"].as_f64().unwrap() - i as f64 / 10.0).abs() < 1e-9,
            "{r}"
        );
    }
}

#[test]
fn config_check_names_unknown_keys_and_example_passes() {
    let broker_url = "mqtt://127.0.0.1:1883";
    let hub = Sensorhub::new(broker_url, "e2e-config");
    let example = hub.command(&["config", "example"]).output().unwrap();
    assert!(example.status.success());
    let example_path = hub.dir.path().join("example.toml");
    std::fs::write(&example_path, &example.stdout).unwrap();
    let checked = hub
        .command(&["config", "check", example_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    let typo = hub.dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\nclientid = \"x\"\n",
    )
    .unwrap();
    let out = hub
        .command(&["config", "check", typo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mqtt.clientid"));

    let out = hub
        .command(&["config", "check", example_path.to_str().unwrap()])
        .env("SENSORHUB_MQTT_URL", "http://wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mqtt.url"));
}

/// A JavaScript codec in the TTN / ChirpStack interface, loaded from disk by path.
#[test]
fn javascript_codec_file_decodes_uplinks() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-js");
    let codec = hub.dir.path().join("level-sensor.js");
    std::fs::write(
        &codec,
        "function decodeUplink(input) {\n\
           var mm = input.bytes[0] << 8 | input.bytes[1];\n\
           return { data: { water_level: mm / 1000, vendor_status: input.bytes[2] }, warnings: [] };\n\
         }\n",
    )
    .unwrap();
    let device_type = format!("js:{}", codec.display());
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        DEV_EUI,
        "--name",
        "Pegel",
        "--station",
        "pegel-js",
        "--device-type",
        &device_type,
        "--public",
    ]);
    hub.start();
    // 0x04D2 = 1234 mm
    publish_all(
        &broker.url(),
        &[(TOPIC.into(), chirpstack_up(&[0x04, 0xd2, 0x07], None))],
    );
    let readings = wait_for("the decoded reading", Duration::from_secs(20), || {
        Some(hub.readings(DEV_EUI)).filter(|r| !r.is_empty())
    });
    assert_eq!(readings.len(), 1, "{readings:?}");
    assert_eq!(readings[0]["quantity"], "water_level");
    assert_eq!(readings[0]["value"], 1.234);
    assert_eq!(readings[0]["unit"], "m");

    let missing = hub.cli(&[
        "devices",
        "add",
        "--dev-eui",
        "0202020202020202",
        "--name",
        "x",
        "--station",
        "x",
        "--device-type",
        "js:/nonexistent/codec.js",
    ]);
    assert!(!missing.status.success());
}
