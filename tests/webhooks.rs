//! Webhooks in, as The Things Stack's webhook and ChirpStack's HTTP integration post them, to a
//! running `sensorhub run`: the public example bodies of their docs (tests/fixtures) are
//! stored once with the right values; a wrong or missing secret is 401 and, repeated, 429; a
//! body over the limit 413; while the store cannot commit the answer is 503 and nothing is
//! acknowledged; the network server's retry after recovery stores it once.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{fixture, wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

const TTS_SECRET: &str = "tts-webhook-secret-0123456789";
const CS_SECRET: &str = "chirpstack-http-secret-98765";
const TTS_EUI: &str = "0004A30B001C0530";
const CS_EUI: &str = "0101010101010101";

/// One POST over a fresh connection: (status, body).
fn post(port: u16, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    post_as(port, path, "application/json", headers, body)
}

fn post_as(port: u16, path: &str, kind: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {kind}\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn bearer(secret: &str) -> String {
    format!("Authorization: Bearer {secret}\r\n")
}

/// The ChirpStack fixture as sent for `dev_eui`, with an LPP temperature of 21.5 °C.
fn chirpstack_up(dev_eui: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(&fixture("chirpstack-v4-up.json")).unwrap();
    event["deviceInfo"]["devEui"] = dev_eui.into();
    // LPP: channel 1, temperature, 215 * 0.1 °C.
    event["data"] = "AWcA1w==".into();
    serde_json::to_vec(&event).unwrap()
}

fn hub(broker: &Mosquitto) -> Sensorhub {
    let mut hub = Sensorhub::new(&broker.url(), "e2e-webhooks");
    let config = std::fs::read_to_string(&hub.config).unwrap().replacen(
        "batch_wait_ms = 0\n",
        "batch_wait_ms = 0\nmax_message_bytes = 8192\n",
        1,
    )
        + "\n[[ingest.webhooks]]\nformat = \"tts\"\ntoken_env = \"TEST_INGEST_TTS_TOKEN\"\n\
           \n[[ingest.webhooks]]\nformat = \"chirpstack\"\ntoken_env = \"TEST_INGEST_CS_TOKEN\"\n";
    std::fs::write(&hub.config, config).unwrap();
    hub.env = vec![
        ("TEST_INGEST_TTS_TOKEN".into(), TTS_SECRET.into()),
        ("TEST_INGEST_CS_TOKEN".into(), CS_SECRET.into()),
    ];
    hub.register_as(TTS_EUI, "tts-station", "network-server", true);
    hub.register(CS_EUI, "cs-station", true);
    hub
}

#[test]
fn webhook_posts_are_stored_once_after_the_commit_and_strangers_are_refused() {
    let broker = Mosquitto::start();
    let mut hub = hub(&broker);
    hub.start();
    let port = hub.http_port;
    let tts = fixture("tts-v3-up.json").into_bytes();

    // The Things Stack's uplink message: answered after the commit, stored with its values.
    let (status, body) = post(port, "/ingest/tts", &bearer(TTS_SECRET), &tts);
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["stored"], 1, "{body}");
    let readings = hub.readings(TTS_EUI);
    assert_eq!(readings.len(), 1, "{readings:?}");
    assert_eq!(
        (
            &readings[0]["quantity"],
            &readings[0]["value"],
            &readings[0]["time"]
        ),
        (
            &Value::from("air_temperature"),
            &Value::from(1.0),
            &Value::from("2020-02-12T15:15:45.789Z")
        )
    );
    // The network server's retry of the same uplink stores nothing twice.
    let (status, _) = post(port, "/ingest/tts", &bearer(TTS_SECRET), &tts);
    assert_eq!(status, 200);
    assert_eq!(hub.readings(TTS_EUI).len(), 1);

    // ChirpStack's HTTP integration: `up` and `status` events.
    let (status, body) = post(
        port,
        "/ingest/chirpstack?event=up",
        &bearer(CS_SECRET),
        &chirpstack_up(CS_EUI),
    );
    assert_eq!(
        (status, body.contains("\"stored\":1")),
        (200, true),
        "{body}"
    );
    let readings = hub.readings(CS_EUI);
    assert_eq!(readings.len(), 1, "{readings:?}");
    assert_eq!(readings[0]["value"], 21.5);
    let status_event = serde_json::json!({
        "deviceInfo": {"devEui": CS_EUI},
        "time": "2026-12-01T10:00:00Z",
        "batteryLevel": 87.5,
        "margin": 7,
    });
    let (status, body) = post(
        port,
        "/ingest/chirpstack?event=status",
        &bearer(CS_SECRET),
        status_event.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");

    // The protobuf encoding (`integration.UplinkEvent`, field by field): stored the same way.
    let mut info = vec![0x42, 16];
    info.extend(CS_EUI.as_bytes()); // 8: dev_eui
    let mut rx = vec![0x0a, 16];
    rx.extend(b"0016c001f153a14c"); // gw.UplinkRxInfo 1: gateway_id
    let mut up = vec![0x0a, 4];
    up.extend(b"pb-1"); // 1: deduplication_id
    up.extend([0x12, 0x06, 0x08, 0xb7, 0x90, 0xaa, 0x97, 0x06]); // 2: time 2022-08-03T14:37:43Z
    up.push(0x1a);
    up.push(info.len() as u8);
    up.extend(&info); // 3: device_info
    up.extend([0x38, 9, 0x40, 1]); // 7: f_cnt, 8: f_port
    up.extend([0x52, 4, 0x01, 0x67, 0x00, 0xdc]); // 10: data, LPP 22.0 °C
    up.push(0x62);
    up.push(rx.len() as u8);
    up.extend(&rx); // 12: rx_info
    let (status, body) = post_as(
        port,
        "/ingest/chirpstack?event=up",
        "application/octet-stream",
        &bearer(CS_SECRET),
        &up,
    );
    assert_eq!(
        (status, body.contains("\"stored\":1")),
        (200, true),
        "{body}"
    );
    let readings = hub.readings(CS_EUI);
    assert!(
        readings
            .iter()
            .any(|r| r["value"] == 22.0 && r["time"] == "2022-08-03T14:37:43.000Z"),
        "{readings:?}"
    );
    let (status, body) = post_as(
        port,
        "/ingest/chirpstack?event=up",
        "application/octet-stream",
        &bearer(CS_SECRET),
        &[0x52, 40, 1],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad_protobuf"), "{body}");

    // Dead letters as over MQTT: not JSON is the sender's mistake (400), an unknown device is
    // kept for the technicians (202).
    let (status, body) = post(port, "/ingest/tts", &bearer(TTS_SECRET), b"not json{");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad_json"), "{body}");
    let (status, body) = post(
        port,
        "/ingest/chirpstack?event=up",
        &bearer(CS_SECRET),
        &chirpstack_up("0909090909090909"),
    );
    assert_eq!(status, 202, "{body}");
    assert!(body.contains("unknown_device"), "{body}");

    // A body above mqtt.max_message_bytes.
    let mut big = tts.clone();
    big.resize(9000, b' ');
    let (status, body) = post(port, "/ingest/tts", &bearer(TTS_SECRET), &big);
    assert_eq!(status, 413, "{body}");

    // Strangers: no secret, another webhook's secret, a wrong one; all 401, then 429.
    let (status, _) = post(port, "/ingest/tts", "", &tts);
    assert_eq!(status, 401);
    let (status, _) = post(port, "/ingest/tts", &bearer(CS_SECRET), &tts);
    assert_eq!(status, 401);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(post(port, "/ingest/chirpstack?event=up", &bearer("guess"), b"{}").0);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Even the right secret waits out the minute from this address.
    let (status, _) = post(port, "/ingest/tts", &bearer(TTS_SECRET), &tts);
    assert_eq!(status, 429);

    let metrics = common::http_get(port, "/metrics", "").unwrap().body;
    assert!(
        metrics.contains("sensorhub_dead_letters_total{reason=\"bad_json\"} 1"),
        "{metrics}"
    );
}

#[test]
fn while_the_store_cannot_commit_nothing_is_acknowledged_and_the_retry_stores_once() {
    let broker = Mosquitto::start();
    let mut hub = hub(&broker);
    hub.start();
    let port = hub.http_port;
    let db = hub.dir.path().join("data/sensorhub.db");

    // Another process holds the database's write lock for 14 s: commits fail and are retried.
    let mut locker = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(14)\n\
             c.execute('ROLLBACK')\n",
            db.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 7];
    locker.stdout.take().unwrap().read_exact(&mut line).unwrap();
    assert_eq!(&line, b"locked\n");

    let body = chirpstack_up(CS_EUI);
    let (status, answer) = post(
        port,
        "/ingest/chirpstack?event=up",
        &bearer(CS_SECRET),
        &body,
    );
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("nothing was acknowledged"), "{answer}");
    assert!(locker.wait().unwrap().success());

    // The network server sends it again after the store is back: stored once, whichever of
    // the two deliveries commits first.
    let (status, answer) = post(
        port,
        "/ingest/chirpstack?event=up",
        &bearer(CS_SECRET),
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    let readings = wait_for("the reading", Duration::from_secs(20), || {
        Some(hub.readings(CS_EUI)).filter(|r| !r.is_empty())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hub.readings(CS_EUI).len(), 1, "{readings:?}");
}
