//! Ingest benchmark against a real Mosquitto on loopback, in one run:
//! - the rate at which a bare QoS 1 subscriber (rumqttc, acknowledging at once) receives a
//!   stream of ChirpStack uplink events, and
//! - end-to-end ingest through `sensorhub run` (publish -> broker -> gateway -> decode ->
//!   durable SQLite commit -> acknowledgement) of the same stream, in uplinks/s, with the p50
//!   and p99 ingest latency (receipt to durable commit) from the gateway's histogram.
//!
//! Run with `cargo bench --bench ingest` (Mosquitto must be installed: `./scripts/test` does).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{http_get, Mosquitto, Sensorhub};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

const UPLINKS: usize = 50_000;
const DEVICES: usize = 100;

fn stream() -> Vec<(String, Vec<u8>)> {
    (0..UPLINKS)
        .map(|i| {
            let device = i % DEVICES;
            let dev_eui = format!("70b3d57e{device:08x}");
            // -10.0 .. 59.9 °C: within the vocabulary's physical range, so every value is stored.
            let raw = (i % 700) as i16 - 100;
            let payload = [0x01, 0x67, (raw >> 8) as u8, raw as u8, 0x02, 0x68, 0x64];
            let time = sensorhub_store::time::format_rfc3339(1_714_521_600_000 + i as i64 * 1_000);
            let body = serde_json::json!({
                "deduplicationId": format!("00000000-0000-4000-8000-{i:012}"),
                "time": time,
                "deviceInfo": {"devEui": dev_eui, "deviceName": format!("bench {device}")},
                "fCnt": i / DEVICES,
                "fPort": 1,
                "data": base64::engine::general_purpose::STANDARD.encode(payload),
                "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -80, "snr": 7.5}],
            });
            (
                format!("application/bench/device/{dev_eui}/event/up"),
                serde_json::to_vec(&body).unwrap(),
            )
        })
        .collect()
}

async fn publish(port: u16, messages: Vec<(String, Vec<u8>)>) {
    let mut options = MqttOptions::new("bench-publisher", "127.0.0.1", port);
    options
        .set_inflight(1000)
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let total = messages.len();
    tokio::spawn(async move {
        for (topic, payload) in messages {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .unwrap();
        }
    });
    let mut acked = 0;
    while acked < total {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
            acked += 1;
        }
    }
}

/// Uplinks/s a bare QoS 1 subscriber receives while the stream is published.
async fn bare_subscriber(port: u16, messages: Vec<(String, Vec<u8>)>) -> f64 {
    let mut options = MqttOptions::new("bench-subscriber", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    client
        .subscribe("application/+/device/+/event/up", QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await.unwrap() {
            break;
        }
    }
    let total = messages.len();
    let started = Instant::now();
    let publisher = tokio::spawn(publish(port, messages));
    let mut received = 0;
    while received < total {
        if let Event::Incoming(Packet::Publish(_)) = eventloop.poll().await.unwrap() {
            received += 1;
        }
    }
    let elapsed = started.elapsed();
    publisher.await.unwrap();
    total as f64 / elapsed.as_secs_f64()
}

fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The latency below which `quantile` of observations fall, interpolated in its bucket.
fn quantile(body: &str, quantile: f64) -> f64 {
    let mut buckets = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("sensorhub_ingest_latency_seconds_bucket{le=\"") {
            let (bound, count) = rest.split_once("\"} ").unwrap();
            if let Ok(bound) = bound.parse::<f64>() {
                buckets.push((bound, count.parse::<f64>().unwrap()));
            }
        }
    }
    let total = metric(body, "sensorhub_ingest_latency_seconds_count");
    let target = quantile * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (bound, cumulative) in buckets {
        if cumulative >= target {
            let share = (target - below) / (cumulative - below).max(1.0);
            return lower + share * (bound - lower);
        }
        (lower, below) = (bound, cumulative);
    }
    f64::INFINITY
}

fn main() {
    let messages = stream();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let broker = Mosquitto::start();
    let bare = runtime.block_on(bare_subscriber(broker.port, messages.clone()));
    drop(broker);

    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "bench-gateway");
    let devices = hub.dir.path().join("devices.csv");
    let mut csv = String::from("dev_eui,name,station,device_type,lat,lon,public\n");
    for d in 0..DEVICES {
        csv.push_str(&format!(
            "70b3d57e{d:08x},bench {d},station-{d:03},cayenne-lpp,,,true\n"
        ));
    }
    std::fs::write(&devices, csv).unwrap();
    hub.ok(&["devices", "import", devices.to_str().unwrap()]);
    hub.start();
    let started = Instant::now();
    let port = broker.port;
    let publisher = runtime.spawn(publish(port, messages));
    let metrics = loop {
        let body = http_get(hub.http_port, "/metrics", "")
            .map(|r| r.body)
            .unwrap_or_default();
        if metric(&body, "sensorhub_messages_stored_total") as usize >= UPLINKS {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "ingest did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    runtime.block_on(publisher).unwrap();
    let e2e = UPLINKS as f64 / elapsed.as_secs_f64();
    let readings = metric(&metrics, "sensorhub_readings_stored_total");
    let commits = metric(&metrics, "sensorhub_store_commits_total");

    println!("| measure ({UPLINKS} uplinks, {DEVICES} devices, 2 readings each) | value |");
    println!("|---|---|");
    println!("| bare QoS 1 subscriber (rumqttc), receive rate | {bare:.0} uplinks/s |");
    println!("| end-to-end ingest, publish -> durable SQLite commit | {e2e:.0} uplinks/s |");
    println!("| end-to-end / bare subscriber | {:.2} |", e2e / bare);
    println!(
        "| ingest latency p50 (receipt -> commit) | {:.1} ms |",
        quantile(&metrics, 0.5) * 1000.0
    );
    println!(
        "| ingest latency p99 (receipt -> commit) | {:.1} ms |",
        quantile(&metrics, 0.99) * 1000.0
    );
    println!("| readings stored | {readings:.0} |");
    println!(
        "| store commits (mean batch) | {commits:.0} ({:.0} uplinks) |",
        UPLINKS as f64 / commits
    );
}
