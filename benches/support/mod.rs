//! What the benches against a running `sensorhub serve` share: a store of public stations with
//! current values, the server as a child process, and small measuring helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};

pub const QUANTITIES: [&str; 4] = [
    "air_temperature",
    "relative_humidity",
    "air_pressure",
    "water_level",
];

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A child process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The id of station `s` of `stations`: `station-00`, or `station-000` from 101 on.
pub fn station(stations: usize, s: usize) -> String {
    let width = (stations.max(2) - 1).to_string().len().max(2);
    format!("station-{s:0width$}")
}

/// A store in `dir` and a config serving it on a free port without a rate limit or a cap on
/// live-feed streams. Returns the config, the port and the store.
pub fn bench_store(dir: &Path) -> (PathBuf, u16, Store) {
    let db = dir.join("bench.db");
    let port = free_port();
    let config = dir.join("sensorhub.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\nrate_limit_per_s = 0\nlive_streams_per_client = 0\n",
            db.display()
        ),
    )
    .unwrap();
    let store = Store::open(&StoreConfig {
        path: db.display().to_string(),
        ..StoreConfig::default()
    })
    .unwrap();
    (config, port, store)
}

/// Registers `stations` public stations ([`station`]), one device each, on a grid of 50 a row.
pub fn register(runtime: &tokio::runtime::Runtime, store: &Store, stations: usize) {
    let devices = (0..stations)
        .map(|s| Device {
            dev_eui: format!("70b3d57ed{s:07x}").parse().unwrap(),
            name: format!("Station {s}"),
            station: station(stations, s),
            device_type: "cayenne-lpp".parse().unwrap(),
            lat: Some(54.0 + (s % 50) as f64 * 0.01),
            lon: Some(8.0 + (s / 50) as f64 * 0.01),
            public: true,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        })
        .collect();
    runtime
        .block_on(store.state().put_devices(devices))
        .unwrap();
}

/// [`bench_store`] with `stations` public stations ([`register`]), each with the four
/// [`QUANTITIES`] a minute old.
pub fn public_stations(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    stations: usize,
) -> (PathBuf, u16, Store) {
    let (config, port, store) = bench_store(dir);
    register(runtime, &store, stations);
    let now = sensorhub_store::time::now_ms();
    let readings = (0..stations)
        .flat_map(|s| {
            QUANTITIES.into_iter().map(move |q| Reading {
                station: station(stations, s),
                quantity: q.into(),
                unit: "x".into(),
                time_ms: now - 60_000,
                value: s as f64,
            })
        })
        .collect();
    runtime.block_on(store.write(readings)).unwrap();
    (config, port, store)
}

/// `sensorhub serve --config CONFIG`, once it is ready.
pub fn serve(runtime: &tokio::runtime::Runtime, config: &Path, port: u16) -> Server {
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_sensorhub"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env("SENSORHUB_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
            {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    server
}

/// Latency at an offered load, open loop: request `i` is due at `i / rate` s and its latency
/// counts from then, so queueing in the server shows. Returns the sorted latencies, the number
/// failed and the time it took.
pub async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    rate: u64,
    seconds: u64,
) -> (Vec<Duration>, usize, Duration) {
    let total = rate * seconds;
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let url = std::sync::Arc::new(url.to_owned());
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = t0 + Duration::from_micros(i * 1_000_000 / rate);
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            let ok = match client.get(url.as_str()).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failed = 0;
    for t in tasks {
        let (latency, ok) = t.await.unwrap();
        if ok {
            latencies.push(latency);
        } else {
            failed += 1;
        }
    }
    let elapsed = t0.elapsed();
    latencies.sort();
    (latencies, failed, elapsed)
}

/// CPU time (user and system) of a process and its threads, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}
