//! Publisher benchmark: aggregate and export one year of 15-minute readings from 500 stations
//! (17,520,000 readings) from the SQLite store into a dataset's files, with the privacy check
//! of every file, as `sensorhub publish` does before it delivers anything.
//!
//! Run with `cargo bench -p sensorhub-publisher`. Prints a table; BENCHMARKS.md has the
//! figures of one run on the project's machine.

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sensorhub_publisher::publish::{check_files, prepare, write_folder};
use sensorhub_publisher::{DatasetConfig, FolderConfig, PrivacyConfig};
use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};

const STATIONS: usize = 500;
const STEP_MS: i64 = 900_000;
const DAY_MS: i64 = 86_400_000;
/// 2025-01-01T00:00:00Z
const T0: i64 = 1_735_689_600_000;

/// Resets the kernel's record of this process's peak memory (Linux: `clear_refs` 5).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset, MB (VmHWM).
fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let store = Store::open(&StoreConfig {
        path: db.display().to_string(),
        ..StoreConfig::default()
    })
    .unwrap();
    let devices = (0..STATIONS)
        .map(|s| Device {
            dev_eui: format!("70b3d57ed{s:07x}").parse().unwrap(),
            name: format!("Pegel {s}"),
            station: format!("pegel-{s:03}"),
            device_type: "cayenne-lpp".parse().unwrap(),
            lat: Some(54.0 + s as f64 * 0.001),
            lon: Some(8.0 + s as f64 * 0.001),
            public: true,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        })
        .collect();
    runtime
        .block_on(store.state().put_devices(devices))
        .unwrap();

    let slots = 365 * DAY_MS / STEP_MS;
    let total = STATIONS as i64 * slots;
    let started = Instant::now();
    for s in 0..STATIONS {
        let batch: Vec<Reading> = (0..slots)
            .map(|slot| Reading {
                station: format!("pegel-{s:03}"),
                quantity: "water_level".into(),
                unit: "m".into(),
                time_ms: T0 + slot * STEP_MS,
                value: 4.0 + 1.4 * ((slot as f64) * 0.126 + s as f64).sin(),
            })
            .collect();
        runtime.block_on(store.write(batch)).unwrap();
    }
    let load = started.elapsed();
    eprintln!("loaded {total} readings in {load:.1?}");
    // Published as `sensorhub publish` does: a process that opens the store afresh, without
    // the page cache the load filled.
    drop(store);
    let store = Store::open(&StoreConfig {
        path: db.display().to_string(),
        ..StoreConfig::default()
    })
    .unwrap();

    let now = T0 + 365 * DAY_MS;
    let privacy = PrivacyConfig::default();
    println!(
        "| interval | rows | CSV bytes | collect + files + privacy check (median of 3) | then written to a folder (median of 3) | peak memory |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let out = tempfile::tempdir().unwrap();
    let folder = FolderConfig {
        folder: out.path().display().to_string(),
        ..FolderConfig::default()
    };
    for interval in ["1h", "1d"] {
        let dataset = DatasetConfig {
            name: "pegel-bench".into(),
            title: "Bench".into(),
            quantities: vec!["water_level".into()],
            interval: sensorhub_store::Resolution::parse(interval).expect("an interval"),
            since: Some("2025-01-01".into()),
            attribution: "Bench".into(),
            ..DatasetConfig::default()
        };
        let mut times = Vec::new();
        let mut writes = Vec::new();
        let mut summary = (0, 0);
        let before = {
            reset_peak_memory();
            peak_memory_mb()
        };
        for _ in 0..3 {
            let started = Instant::now();
            let prepared = runtime
                .block_on(prepare(&store, &dataset, &privacy, now))
                .unwrap();
            let prepared_at = started.elapsed();
            check_files(&prepared).unwrap();
            times.push(started.elapsed());
            let checked_at = started.elapsed();
            // Into an empty folder each time, as a first publication writes every file.
            let _ = std::fs::remove_dir_all(out.path().join(&dataset.name));
            let writing = Instant::now();
            write_folder(&folder, &dataset, &prepared).unwrap();
            writes.push(writing.elapsed());
            eprintln!(
                "{interval}: collect + files {:.2?}, privacy check {:.2?}",
                prepared_at,
                checked_at - prepared_at
            );
            let rows: usize = prepared.collected.months.iter().map(|m| m.rows).sum();
            let bytes: usize = prepared
                .files
                .iter()
                .filter(|f| f.month.is_some())
                .map(|f| f.content.len())
                .sum();
            summary = (rows, bytes);
        }
        times.sort();
        writes.sort();
        let median: Duration = times[1];
        println!(
            "| {interval} | {} | {} | {:.2} s | {:.2} s | {:.0} MB (from {before:.0} MB) |",
            summary.0,
            summary.1,
            median.as_secs_f64(),
            writes[1].as_secs_f64(),
            peak_memory_mb()
        );
    }
    println!(
        "\n{total} readings from {STATIONS} stations, one year at 15 minutes; load took {:.1} s.",
        load.as_secs_f64()
    );
}
