//! The gateway's own work an uplink, without a broker, so that a change to it can be measured
//! apart from the MQTT traffic that dominates the end-to-end bench (`benches/ingest.rs`):
//!
//! - **handle**: ChirpStack `up` events (the end-to-end bench's stream: 100 devices, Cayenne
//!   LPP with four readings, one gateway) read, decoded and mapped by `Ingest` into one part a
//!   message, as the MQTT intake does;
//! - **commit**: the parts written to SQLite in one durable transaction a batch.
//!
//! Batches of 4,000 uplinks, the mean batch the end-to-end bench sees under load; each round
//! ingests 40,000 uplinks into a fresh store. Medians of the rounds, in µs an uplink. Run with
//! `cargo bench -p sensorhub-gateway --bench pipeline`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use sensorhub_gateway::ingest::{Ingest, Outcome};
use sensorhub_gateway::{CodecsConfig, MqttConfig, PayloadFormat};
use sensorhub_store::{Device, DeviceType, IngestBatch, SqliteStore};

const UPLINKS: usize = 40_000;
const BATCH: usize = 4_000;
const DEVICES: usize = 100;
const ROUNDS: usize = 7;

fn dev_eui(device: usize) -> String {
    format!("70b3d57e{device:08x}")
}

/// Uplink `i` as ChirpStack v4 publishes it.
fn message(i: usize) -> (String, Vec<u8>) {
    let device = i % DEVICES;
    let raw = (i % 700) as i16 - 100;
    let [hi, lo] = raw.to_be_bytes();
    let payload = [
        0x01, 0x67, hi, lo, 0x02, 0x68, 0x64, 0x03, 0x67, hi, lo, 0x04, 0x68, 0x50,
    ];
    let body = serde_json::json!({
        "deduplicationId": format!("00000000-0000-4000-8000-{i:012}"),
        "time": sensorhub_store::time::format_rfc3339(1_714_521_600_000 + i as i64 * 1_000),
        "deviceInfo": {"devEui": dev_eui(device), "deviceName": format!("bench {device}")},
        "fCnt": i / DEVICES,
        "fPort": 1,
        "data": base64::engine::general_purpose::STANDARD.encode(payload),
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -80, "snr": 7.5}],
    });
    (
        format!("application/bench/device/{}/event/up", dev_eui(device)),
        serde_json::to_vec(&body).unwrap(),
    )
}

/// One round into a fresh store: (handle, commit) time.
async fn round(messages: &[(String, Vec<u8>)]) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("bench.db")).unwrap();
    let devices = (0..DEVICES)
        .map(|d| Device {
            dev_eui: dev_eui(d).parse().unwrap(),
            name: format!("bench {d}"),
            station: format!("station-{d:03}"),
            device_type: DeviceType::CayenneLpp,
            lat: None,
            lon: None,
            public: true,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        })
        .collect();
    store.put_devices(devices).await.unwrap();
    let mut ingest = Ingest::new(
        store.clone(),
        &MqttConfig::default(),
        Vec::new(),
        CodecsConfig::default(),
    )
    .await
    .unwrap();
    let (mut handle, mut commit) = (Duration::ZERO, Duration::ZERO);
    let received_ms = sensorhub_store::time::now_ms();
    for batch in messages.chunks(BATCH) {
        let started = Instant::now();
        let mut parts = Vec::with_capacity(batch.len());
        for (topic, payload) in batch {
            let mut part = IngestBatch::default();
            let outcome = ingest
                .handle(
                    topic,
                    payload,
                    PayloadFormat::Chirpstack,
                    received_ms,
                    &mut part,
                )
                .await
                .unwrap();
            assert!(matches!(outcome, Outcome::Stored { readings: 4, .. }));
            parts.push(part);
        }
        handle += started.elapsed();
        let started = Instant::now();
        let count = parts.len();
        store.commit_parts(Arc::new(parts), 0..count).await.unwrap();
        commit += started.elapsed();
    }
    let stored = store.latest().await.unwrap().len();
    assert_eq!(stored, DEVICES * 4, "every series has its latest value");
    (handle, commit)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let messages: Vec<_> = (0..UPLINKS).map(message).collect();
    let us = |d: Duration| d.as_secs_f64() * 1e6 / UPLINKS as f64;
    let (mut handle, mut commit) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (h, c) = runtime.block_on(round(&messages));
        handle.push(us(h));
        commit.push(us(c));
    }
    let total: Vec<f64> = handle.iter().zip(&commit).map(|(h, c)| h + c).collect();
    println!("| µs an uplink ({UPLINKS} uplinks, batches of {BATCH}, median of {ROUNDS}) | median | min | max |");
    println!("|---|---:|---:|---:|");
    for (what, samples) in [
        ("handle (JSON, base64, decode, mapping)", handle),
        (
            "commit (readings, rollups, latest, uplink rows, fsync)",
            commit,
        ),
        ("together", total),
    ] {
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(0.0, f64::max);
        println!("| {what} | {:.2} | {min:.2} | {max:.2} |", median(samples));
    }
}
