//! Ingest benchmark against a real Mosquitto on loopback, in one run:
//! - the rate at which a bare QoS 1 subscriber (rumqttc, acknowledging at once) receives a
//!   stream of ChirpStack uplink events, and
//! - end-to-end ingest through `sensorhub run` (publish -> broker -> gateway -> decode ->
//!   durable SQLite commit -> acknowledgement) of the same stream, in uplinks/s, with the p50
//!   and p99 ingest latency (receipt to durable commit) from the gateway's histogram.
//!
//! - the same end-to-end ingest of uplinks decoded by a published vendor JavaScript codec (Dragino
//!   LHT65 from The Things Network's device repository, `tests/fixtures/ttn/`, as device type
//!   `ttn:dragino/lht65`), beside the built-in Cayenne LPP decoder's rate of the same run.
//!
//! - the same Cayenne LPP stream posted to ChirpStack's HTTP integration endpoint
//!   (`POST /ingest/chirpstack?event=up`) by concurrent clients, each post answered only after
//!   its durable commit, beside the MQTT rate of the same run.
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
/// Uplinks of the JavaScript codec run.
const JS_UPLINKS: usize = 20_000;

/// The Cayenne LPP payload of uplink `i`: four readings, as many as the LHT65 uplink gives
/// (temperature -10.0 .. 59.9 °C, within the vocabulary's physical range, and humidity, each on
/// two channels), so that both runs store the same number of readings per uplink.
fn lpp_payload(i: usize) -> Vec<u8> {
    let raw = (i % 700) as i16 - 100;
    let [hi, lo] = raw.to_be_bytes();
    vec![
        0x01, 0x67, hi, lo, 0x02, 0x68, 0x64, 0x03, 0x67, hi, lo, 0x04, 0x68, 0x50,
    ]
}

fn stream(count: usize, f_port: u8, payload: impl Fn(usize) -> Vec<u8>) -> Vec<(String, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let device = i % DEVICES;
            let dev_eui = format!("70b3d57e{device:08x}");
            let time = sensorhub_store::time::format_rfc3339(1_714_521_600_000 + i as i64 * 1_000);
            let body = serde_json::json!({
                "deduplicationId": format!("00000000-0000-4000-8000-{i:012}"),
                "time": time,
                "deviceInfo": {"devEui": dev_eui, "deviceName": format!("bench {device}")},
                "fCnt": i / DEVICES,
                "fPort": f_port,
                "data": base64::engine::general_purpose::STANDARD.encode(payload(i)),
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

/// Uplinks/s a bare QoS 1 subscriber receives while the stream is published, and the CPU
/// its phase took (the consumer's is the bench's own, publisher included).
async fn bare_subscriber(broker: &Mosquitto, messages: Vec<(String, Vec<u8>)>) -> (f64, Cpu) {
    let port = broker.port;
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
    let me = std::process::id();
    let cpu = Cpu::now(me, broker.pid());
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
    let used = Cpu::now(me, broker.pid()).since(cpu);
    (total as f64 / elapsed.as_secs_f64(), used)
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    // The kernel counts in USER_HZ, 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The CPU three processes used during a phase: the consumer (sensorhub, or for the bare
/// subscriber the bench itself), the broker, and the bench process.
#[derive(Clone, Copy, Default)]
struct Cpu {
    consumer: Duration,
    broker: Duration,
    bench: Duration,
}

impl Cpu {
    fn now(consumer: u32, broker: u32) -> Cpu {
        Cpu {
            consumer: cpu_of(consumer),
            broker: cpu_of(broker),
            bench: cpu_of(std::process::id()),
        }
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            consumer: self.consumer.saturating_sub(start.consumer),
            broker: self.broker.saturating_sub(start.broker),
            bench: self.bench.saturating_sub(start.bench),
        }
    }

    /// Microseconds of CPU an uplink.
    fn per_uplink(d: Duration, total: usize) -> f64 {
        d.as_secs_f64() * 1e6 / total as f64
    }
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

/// What one end-to-end run measured.
struct Run {
    rate: f64,
    /// CPU during the MQTT phases; zero for webhooks.
    cpu: Cpu,
    p50_ms: f64,
    p99_ms: f64,
    readings: f64,
    commits: f64,
}

/// The secret of the benchmark's ChirpStack webhook.
const WEBHOOK_SECRET: &str = "bench-webhook-secret-0123456789";

/// `sensorhub run` with the TTN codecs of the fixtures, a ChirpStack webhook, and the
/// stream's devices registered as `device_type`.
fn hub(broker: &Mosquitto, device_type: &str) -> Sensorhub {
    let mut hub = Sensorhub::new(&broker.url(), "bench-gateway");
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ttn");
    let mut config = std::fs::read_to_string(&hub.config).unwrap();
    config.push_str(&format!(
        "\n[codecs]\nttn_repository = \"{}\"\n\n[[ingest.webhooks]]\nformat = \"chirpstack\"\ntoken_env = \"BENCH_WEBHOOK_TOKEN\"\n",
        repository.display()
    ));
    std::fs::write(&hub.config, config).unwrap();
    hub.env = vec![("BENCH_WEBHOOK_TOKEN".into(), WEBHOOK_SECRET.into())];
    let devices = hub.dir.path().join("devices.csv");
    let mut csv = String::from("dev_eui,name,station,device_type,lat,lon,public\n");
    for d in 0..DEVICES {
        csv.push_str(&format!(
            "70b3d57e{d:08x},bench {d},station-{d:03},{device_type},,,true\n"
        ));
    }
    std::fs::write(&devices, csv).unwrap();
    hub.ok(&["devices", "import", devices.to_str().unwrap()]);
    hub
}

/// What the gateway's `/metrics` say about a finished run that took `elapsed`.
fn measured(hub: &Sensorhub, total: usize, elapsed: Duration) -> Run {
    let metrics = http_get(hub.http_port, "/metrics", "").unwrap().body;
    Run {
        rate: total as f64 / elapsed.as_secs_f64(),
        cpu: Cpu::default(),
        p50_ms: quantile(&metrics, 0.5) * 1000.0,
        p99_ms: quantile(&metrics, 0.99) * 1000.0,
        readings: metric(&metrics, "sensorhub_readings_stored_total"),
        commits: metric(&metrics, "sensorhub_store_commits_total"),
    }
}

/// Posts `messages` to `/ingest/chirpstack?event=up` from `clients` concurrent clients, each
/// waiting for its answer (given after the durable commit) before its next post.
fn webhook(
    runtime: &tokio::runtime::Runtime,
    messages: Vec<(String, Vec<u8>)>,
    clients: usize,
) -> Run {
    let total = messages.len();
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, "cayenne-lpp");
    hub.start();
    let url = format!(
        "http://127.0.0.1:{}/ingest/chirpstack?event=up",
        hub.http_port
    );
    let http = reqwest::Client::new();
    let mut shares: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients];
    for (i, (_, body)) in messages.into_iter().enumerate() {
        shares[i % clients].push(body);
    }
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = shares
            .into_iter()
            .map(|bodies| {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move {
                    for body in bodies {
                        let answer = http
                            .post(&url)
                            .bearer_auth(WEBHOOK_SECRET)
                            .header("content-type", "application/json")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    measured(&hub, total, started.elapsed())
}

/// Ingests `messages` end to end through `sensorhub run`, devices of `device_type`.
fn end_to_end(
    runtime: &tokio::runtime::Runtime,
    messages: Vec<(String, Vec<u8>)>,
    device_type: &str,
) -> Run {
    let total = messages.len();
    let broker = Mosquitto::start();
    let mut hub = hub(&broker, device_type);
    hub.start();
    let pid = hub.pids()[0];
    let cpu = Cpu::now(pid, broker.pid());
    let started = Instant::now();
    let port = broker.port;
    let publisher = runtime.spawn(publish(port, messages));
    loop {
        let body = http_get(hub.http_port, "/metrics", "")
            .map(|r| r.body)
            .unwrap_or_default();
        if metric(&body, "sensorhub_messages_stored_total") as usize >= total {
            break;
        }
        let dead = body
            .lines()
            .filter(|l| l.starts_with("sensorhub_dead_letters_total{"))
            .count();
        assert_eq!(dead, 0, "uplinks were dead-lettered:\n{body}");
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "ingest did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    runtime.block_on(publisher).unwrap();
    let used = Cpu::now(pid, broker.pid()).since(cpu);
    Run {
        cpu: used,
        ..measured(&hub, total, elapsed)
    }
}

fn main() {
    // BENCH_UPLINKS sets the Cayenne LPP stream's length (longer runs weigh a pipeline's
    // start and end less).
    let uplinks: usize = std::env::var("BENCH_UPLINKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(UPLINKS);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let messages = stream(uplinks, 1, lpp_payload);

    let broker = Mosquitto::start();
    let (bare, bare_cpu) = runtime.block_on(bare_subscriber(&broker, messages.clone()));
    drop(broker);

    let lpp = end_to_end(&runtime, messages.clone(), "cayenne-lpp");
    let webhooks: Vec<(usize, Run)> = [16, 128]
        .into_iter()
        .map(|clients| (clients, webhook(&runtime, messages.clone(), clients)))
        .collect();

    // A published vendor codec: the LHT65's first example uplink, its temperature varied.
    let yaml = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ttn/vendor/dragino/lht65-codec.yaml");
    let definition = sensorhub_gateway::codec::ttn::load_definition(&yaml).unwrap();
    let example = definition.examples[0].clone();
    let js_messages = stream(JS_UPLINKS, example.f_port.unwrap_or(2), |i| {
        let mut bytes = example.bytes.clone();
        // Bytes 2..4: the SHT temperature in 0.01 °C, 15.00 .. 24.99 °C.
        let t = 1500 + (i % 1000) as u16;
        bytes[2..4].copy_from_slice(&t.to_be_bytes());
        bytes
    });
    let js = end_to_end(&runtime, js_messages, "ttn:dragino/lht65");

    println!("| measure ({DEVICES} devices, 4 readings an uplink) | Cayenne LPP ({uplinks} uplinks) | JavaScript codec, Dragino LHT65 ({JS_UPLINKS} uplinks) |");
    println!("|---|---|---|");
    println!("| bare QoS 1 subscriber (rumqttc), receive rate | {bare:.0} uplinks/s | |");
    println!(
        "| end-to-end ingest, publish -> durable SQLite commit | {:.0} uplinks/s | {:.0} uplinks/s |",
        lpp.rate, js.rate
    );
    println!(
        "| end-to-end / bare subscriber | {:.2} | {:.2} |",
        lpp.rate / bare,
        js.rate / bare
    );
    println!("| JavaScript / Cayenne LPP | | {:.2} |", js.rate / lpp.rate);
    let us = Cpu::per_uplink;
    println!(
        "| CPU an uplink, bare phase: bench (publisher + subscriber) / broker | {:.1} / {:.1} µs | |",
        us(bare_cpu.bench, uplinks),
        us(bare_cpu.broker, uplinks)
    );
    for (what, f) in [
        ("sensorhub", (|c: &Cpu| c.consumer) as fn(&Cpu) -> Duration),
        ("broker", |c: &Cpu| c.broker),
        ("bench (publisher, /metrics polls)", |c: &Cpu| c.bench),
    ] {
        println!(
            "| CPU an uplink, end to end: {what} | {:.1} µs | {:.1} µs |",
            us(f(&lpp.cpu), uplinks),
            us(f(&js.cpu), JS_UPLINKS)
        );
    }
    println!(
        "| ingest latency p50 (receipt -> commit) | {:.1} ms | {:.1} ms |",
        lpp.p50_ms, js.p50_ms
    );
    println!(
        "| ingest latency p99 (receipt -> commit) | {:.1} ms | {:.1} ms |",
        lpp.p99_ms, js.p99_ms
    );
    println!(
        "| readings stored | {:.0} | {:.0} |",
        lpp.readings, js.readings
    );
    println!(
        "| store commits (mean batch) | {:.0} ({:.0} uplinks) | {:.0} ({:.0} uplinks) |",
        lpp.commits,
        uplinks as f64 / lpp.commits,
        js.commits,
        JS_UPLINKS as f64 / js.commits
    );
    println!();
    println!("| ChirpStack `up` events, Cayenne LPP ({uplinks} uplinks) | uplinks/s | / MQTT | latency p50 | p99 | commits (mean batch) |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| MQTT QoS 1 (above) | {:.0} | 1.00 | {:.1} ms | {:.1} ms | {:.0} ({:.0}) |",
        lpp.rate,
        lpp.p50_ms,
        lpp.p99_ms,
        lpp.commits,
        uplinks as f64 / lpp.commits
    );
    for (clients, run) in &webhooks {
        println!(
            "| webhook `POST /ingest/chirpstack`, {clients} clients | {:.0} | {:.2} | {:.1} ms | {:.1} ms | {:.0} ({:.0}) |",
            run.rate,
            run.rate / lpp.rate,
            run.p50_ms,
            run.p99_ms,
            run.commits,
            uplinks as f64 / run.commits
        );
    }
}
