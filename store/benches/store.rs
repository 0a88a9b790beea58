//! Store benchmark: the same workload against SQLite and a real InfluxDB 1.x, in one run.
//!
//! Workload: 10,000 series (1,000 stations x 10 quantities) with one day of 15-minute
//! readings (960,000 points) plus one series with 7 days. Writes are measured in two orders,
//! each into a fresh store: series by series (a bulk import or backfill) and interleaved, every
//! series at one timestamp before the next (what live ingest looks like), in batches of 5,000
//! and 20,000 points. Then, on the last store: latest value of all 10,000 series; hourly means
//! over 7 days for one series; a one-day export of all series. Latencies are medians over
//! repeated runs. Run with
//! `cargo bench -p sensorhub-store` (InfluxDB from Debian's `influxdb` package must be installed;
//! `./scripts/test` installs it).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use sensorhub_store::{
    InfluxStore, RangeQuery, Reading, Resolution, SqliteStore, StoreConfig, TimeSeries,
};

const STATIONS: usize = 1_000;
const QUANTITIES: usize = 10;
const DAY_MS: i64 = 86_400_000;
const STEP_MS: i64 = 900_000;
/// 2024-05-01T00:00:00Z
const T0: i64 = 1_714_521_600_000;

fn workload() -> Vec<Reading> {
    let mut out = Vec::with_capacity(STATIONS * QUANTITIES * 96 + 7 * 96);
    for slot in 0..(DAY_MS / STEP_MS) {
        for s in 0..STATIONS {
            for q in 0..QUANTITIES {
                out.push(Reading {
                    station: format!("station-{s:04}"),
                    quantity: format!("quantity_{q}"),
                    unit: "m".into(),
                    time_ms: T0 + 6 * DAY_MS + slot * STEP_MS,
                    value: ((s * 7 + q * 13) as i64 + slot) as f64 * 0.01,
                });
            }
        }
    }
    // The week-long series: station-0000/quantity_0 also has the six days before.
    for slot in 0..(6 * DAY_MS / STEP_MS) {
        out.push(Reading {
            station: "station-0000".into(),
            quantity: "quantity_0".into(),
            unit: "m".into(),
            time_ms: T0 + slot * STEP_MS,
            value: slot as f64 * 0.1,
        });
    }
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Figures {
    bulk_5k: f64,
    live_5k: f64,
    live_20k: f64,
    latest: Duration,
    hourly_week: Duration,
    export_day: Duration,
    exported: usize,
}

/// Points per second writing `data` into `store` in batches of `batch`.
async fn write_rate<S: TimeSeries>(store: &S, data: &[Reading], batch: usize) -> f64 {
    let chunks: Vec<Vec<Reading>> = data.chunks(batch).map(<[Reading]>::to_vec).collect();
    let started = Instant::now();
    for chunk in chunks {
        store.write(chunk).await.unwrap();
    }
    data.len() as f64 / started.elapsed().as_secs_f64()
}

/// Measures writes into three fresh stores made by `fresh`, and queries on the last.
async fn measure<S, F, Fut>(mut fresh: F, data: &[Reading]) -> Figures
where
    S: TimeSeries,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut by_series = data.to_vec();
    by_series.sort_by(|a, b| {
        (&a.station, &a.quantity, a.time_ms).cmp(&(&b.station, &b.quantity, b.time_ms))
    });
    let bulk_5k = write_rate(&fresh().await, &by_series, 5_000).await;
    let live_5k = write_rate(&fresh().await, data, 5_000).await;
    let store = fresh().await;
    let live_20k = write_rate(&store, data, 20_000).await;

    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let latest = store.latest().await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(latest.len(), STATIONS * QUANTITIES);
    }
    let latest = median(samples);

    let week = RangeQuery {
        station: "station-0000".into(),
        quantity: "quantity_0".into(),
        since_ms: T0,
        until_ms: T0 + 7 * DAY_MS,
        resolution: Resolution::Hour,
    };
    let mut samples = Vec::new();
    for _ in 0..51 {
        let t = Instant::now();
        let buckets = store.range(week.clone()).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(buckets.len(), 7 * 24);
    }
    let hourly_week = median(samples);

    let mut samples = Vec::new();
    let mut exported = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut stream = store.export(T0 + 6 * DAY_MS, T0 + 7 * DAY_MS, 10_000);
        exported = 0;
        while let Some(chunk) = stream.recv().await {
            exported += chunk.unwrap().len();
        }
        samples.push(t.elapsed());
    }
    Figures {
        bulk_5k,
        live_5k,
        live_20k,
        latest,
        hourly_week,
        export_day: median(samples),
        exported,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let data = workload();
    eprintln!("workload: {} points", data.len());

    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    eprintln!("SQLite ...");
    let s = measure(
        || {
            n += 1;
            let store = SqliteStore::open(dir.path().join(format!("bench-{n}.db"))).unwrap();
            async move { store }
        },
        &data,
    )
    .await;

    let server = support::Server::influxdb();
    let url = server.url();
    let mut n = 0;
    eprintln!("InfluxDB 1.x ...");
    let i = measure(
        || {
            n += 1;
            let store = InfluxStore::new(&StoreConfig {
                url: url.clone(),
                database: format!("bench{n}"),
                ..StoreConfig::default()
            })
            .unwrap();
            async move {
                store.create_database().await.unwrap();
                store
            }
        },
        &data,
    )
    .await;
    assert_eq!(
        s.exported, i.exported,
        "the backends exported different amounts"
    );

    println!("| measure | SQLite | InfluxDB 1.6.7 | InfluxDB / SQLite |");
    println!("|---|---|---|---|");
    let writes = [
        (
            "durable write, bulk import series by series, 5,000-point batches",
            s.bulk_5k,
            i.bulk_5k,
        ),
        (
            "durable write, live order (all series interleaved), 5,000-point batches",
            s.live_5k,
            i.live_5k,
        ),
        (
            "durable write, live order (all series interleaved), 20,000-point batches",
            s.live_20k,
            i.live_20k,
        ),
    ];
    for (name, a, b) in writes {
        println!(
            "| {name} | {a:.0} points/s | {b:.0} points/s | {:.2} |",
            b / a
        );
    }
    let rows = [
        (
            "latest value of 10,000 series (median of 21)",
            s.latest,
            i.latest,
        ),
        (
            "hourly means over 7 days, one series (median of 51)",
            s.hourly_week,
            i.hourly_week,
        ),
        (
            "one-day export of all series, 960,000 points (median of 3)",
            s.export_day,
            i.export_day,
        ),
    ];
    for (name, a, b) in rows {
        println!(
            "| {name} | {} | {} | {:.1} |",
            ms(a),
            ms(b),
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
