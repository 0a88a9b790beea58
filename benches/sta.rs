//! SensorThings API benchmark against the running server (`sensorhub serve`): 500 public
//! stations × 4 quantities × 30 days of 15-minute readings (5.76 million), then, one request at
//! a time (closed loop), the latency of
//! 1. the map query clients use:
//!    `Things?$expand=Locations,Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))`,
//! 2. one datastream's 30 days of Observations (2,880, three pages of 1,000 following
//!    `@iot.nextLink`), and
//! 3. `GET /api/v1/stations` of the same run, beside them.
//!
//! Run with `cargo bench --bench sta`.

mod support;

use std::time::{Duration, Instant};

use sensorhub_store::{Reading, TimeSeries};
use support::{bench_store, register, serve, station, QUANTITIES};

const STATIONS: usize = 500;
const DAYS: i64 = 30;
const STEP_MS: i64 = 15 * 60_000;
const ROUNDS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    support::percentile(sorted, p).as_secs_f64() * 1e3
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, port, store) = bench_store(dir.path());
    let now = sensorhub_store::time::now_ms() / STEP_MS * STEP_MS;
    let loading = Instant::now();
    register(&runtime, &store, STATIONS);
    runtime.block_on(async {
        let points = DAYS * 86_400_000 / STEP_MS;
        for s in 0..STATIONS {
            let batch: Vec<Reading> = QUANTITIES
                .iter()
                .flat_map(|q| {
                    (0..points).map(move |i| Reading {
                        station: station(STATIONS, s),
                        quantity: (*q).into(),
                        unit: "m".into(),
                        time_ms: now - (points - i) * STEP_MS,
                        value: (i % 100) as f64 / 10.0,
                    })
                })
                .collect();
            store.write(batch).await.unwrap();
        }
    });
    let loaded = loading.elapsed();
    let _server = serve(&runtime, &config, port);
    let base = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let map = format!(
            "{base}/sta/v1.1/Things?$top=1000&$expand=Locations,Datastreams($expand=Observations($top=1;$orderby=phenomenonTime%20desc))"
        );
        let one = format!("{base}/sta/v1.1/Datastreams('station-250~water_level')/Observations?$top=1000");
        let stations = format!("{base}/api/v1/stations");
        // What each answer holds, checked once.
        let body: serde_json::Value = client.get(&map).send().await.unwrap().json().await.unwrap();
        let things = body["value"].as_array().unwrap();
        assert_eq!(things.len(), STATIONS);
        assert_eq!(things[0]["Datastreams"].as_array().unwrap().len(), 4);
        // The map query, the parts it is made of, one datastream's pages, and the JSON API.
        // "built": a commit (of a private reading, through the same SQLite file) just before
        // the request, so that the answer is built, not taken from the cache.
        let parts = [
            ("map query, kept between commits", map.clone(), false),
            ("map query, built", map.clone(), true),
            ("  its Things alone (500), built", format!("{base}/sta/v1.1/Things?$top=1000"), true),
            ("  its Datastreams alone (2,000), built", format!("{base}/sta/v1.1/Datastreams?$top=1000&$skip=1000"), true),
            ("one datastream, 30 days, built", one.clone(), true),
            ("/api/v1/stations, kept between commits", stations.clone(), false),
            ("/api/v1/stations, built", stations.clone(), true),
        ];
        let mut rows: Vec<(&str, Vec<Duration>)> =
            parts.iter().map(|(label, ..)| (*label, Vec::with_capacity(ROUNDS))).collect();
        let mut observations = 0;
        for round in 0..ROUNDS + 5 {
            for (i, (_, url, commit)) in parts.iter().enumerate() {
                let write = |page: usize| Reading {
                    station: "bench-commit".into(),
                    quantity: "water_level".into(),
                    unit: "m".into(),
                    time_ms: now + (round * 100 + i * 10 + page) as i64,
                    value: 1.0,
                };
                if *commit {
                    store.write(vec![write(0)]).await.unwrap();
                } else {
                    // Kept: asked for once since the last commit, untimed.
                    client.get(url).send().await.unwrap().bytes().await.unwrap();
                }
                let t = Instant::now();
                let mut untimed = Duration::ZERO;
                // Pages are followed through `@iot.nextLink`.
                let mut next = Some(url.clone());
                let mut page = 0;
                let mut count = 0;
                while let Some(url) = next {
                    if *commit && page > 0 {
                        // Not timed: each page is built after a commit too.
                        let paused = Instant::now();
                        store.write(vec![write(page)]).await.unwrap();
                        untimed += paused.elapsed();
                    }
                    page += 1;
                    let r = client.get(&url).send().await.unwrap();
                    assert!(r.status().is_success());
                    let bytes = r.bytes().await.unwrap();
                    next = None;
                    if url.contains("Observations?") && !url.contains("expand") {
                        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                        count += body["value"].as_array().unwrap().len();
                        next = body["@iot.nextLink"].as_str().map(str::to_owned);
                    }
                }
                if count > 0 {
                    observations = count;
                }
                if round >= 5 {
                    rows[i].1.push(t.elapsed() - untimed);
                }
            }
        }
        println!("{} readings loaded in {:.0} s; {observations} observations in the datastream", STATIONS * QUANTITIES.len() * (DAYS * 86_400_000 / STEP_MS) as usize, loaded.as_secs_f64());
        println!("| request ({ROUNDS} in a row) | p50 | p99 |");
        println!("|---|---|---|");
        for (label, mut times) in rows {
            times.sort();
            println!("| {label} | {:.1} ms | {:.1} ms |", percentile(&times, 0.5), percentile(&times, 0.99));
        }
    });
}
