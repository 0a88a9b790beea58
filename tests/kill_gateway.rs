//! Killing the gateway with SIGKILL in the middle of a 10,000-message QoS 1 stream and starting
//! it again ends with every message stored exactly once: messages are acknowledged only after
//! their batch is committed, the broker keeps the rest for the persistent session, and readings
//! are idempotent, so what is redelivered after the crash is not stored twice.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{publish_all, wait_for, Mosquitto, Sensorhub};

const DEV_EUI: &str = "0101010101010101";
const TOPIC: &str = "application/app/device/0101010101010101/event/up";
const MESSAGES: usize = 10_000;
/// 2024-05-01T00:00:00Z
const T0: i64 = 1_714_521_600_000;

fn message(i: usize) -> (String, Vec<u8>) {
    // channel 1 analog input (i % 30000) / 100, at second i after T0
    let raw = (i % 30_000) as i16;
    let payload = [0x01, 0x02, (raw >> 8) as u8, raw as u8];
    let time = sensorhub_store::time::format_rfc3339(T0 + i as i64 * 1_000);
    let body = serde_json::json!({
        "deduplicationId": format!("00000000-0000-4000-8000-{i:012}"),
        "time": time,
        "deviceInfo": {"devEui": DEV_EUI, "deviceName": "stream"},
        "fCnt": i,
        "fPort": 1,
        "data": base64::engine::general_purpose::STANDARD.encode(payload),
    });
    (TOPIC.to_owned(), serde_json::to_vec(&body).unwrap())
}

fn stored(hub: &Sensorhub) -> usize {
    hub.ok(&["readings", "--device", DEV_EUI, "--format", "csv"])
        .lines()
        .count()
        .saturating_sub(1)
}

#[test]
fn sigkill_mid_stream_loses_nothing_and_doubles_nothing() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "kill-test");
    hub.ok(&[
        "devices",
        "add",
        "--dev-eui",
        DEV_EUI,
        "--name",
        "stream",
        "--station",
        "stream",
        "--device-type",
        "cayenne-lpp",
    ]);
    hub.start();

    let url = broker.url();
    let publisher = std::thread::spawn(move || {
        let messages: Vec<_> = (0..MESSAGES).map(message).collect();
        publish_all(&url, &messages);
    });
    wait_for(
        "part of the stream to be stored",
        Duration::from_secs(60),
        || (stored(&hub) >= 500).then_some(()),
    );
    hub.kill(); // SIGKILL, mid-stream
    let at_kill = stored(&hub);
    publisher.join().unwrap();
    assert!(
        at_kill < MESSAGES,
        "the stream finished before the kill; nothing was tested"
    );

    hub.start();
    wait_for("every message", Duration::from_secs(120), || {
        (stored(&hub) >= MESSAGES).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500)); // anything late would show up now
    let csv = hub.ok(&["readings", "--device", DEV_EUI, "--format", "csv"]);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        MESSAGES,
        "stored {} readings for {MESSAGES} messages",
        rows.len()
    );
    for (i, row) in rows.iter().enumerate() {
        let value: f64 = row.split(',').nth(3).unwrap().parse().unwrap();
        assert!(
            (value - (i % 30_000) as f64 / 100.0).abs() < 1e-9,
            "row {i}: {row}"
        );
    }
    eprintln!("stored at kill: {at_kill} of {MESSAGES}");
}
