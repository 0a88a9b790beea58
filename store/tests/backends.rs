//! One behavioural suite, run against every backend: embedded SQLite and a real InfluxDB 1.x.
//! Expected aggregates are computed here from the raw readings the test wrote, independently of
//! either backend. The InfluxDB v2 write path is checked against a real VictoriaMetrics.

mod support;

use std::collections::BTreeMap;

use sensorhub_store::{
    InfluxApi, InfluxStore, PageQuery, RangeQuery, Reading, ReadingQuery, Resolution, SqliteStore,
    Store, StoreConfig, TimeSeries,
};
use support::{http, Server};

const HOUR: i64 = 3_600_000;
/// 2024-05-01T00:00:00Z
const T0: i64 = 1_714_521_600_000;

fn reading(station: &str, quantity: &str, time_ms: i64, value: f64) -> Reading {
    Reading {
        station: station.into(),
        quantity: quantity.into(),
        unit: "m".into(),
        time_ms,
        value,
    }
}

/// Two days of readings every 5 minutes for two stations, with values that vary inside buckets.
fn sample() -> Vec<Reading> {
    let mut out = Vec::new();
    for station in ["pegel-a", "pegel-b"] {
        for i in 0..(2 * 24 * 12) {
            let value = ((i * 37) % 101) as f64 / 10.0 - 3.0
                + if station == "pegel-b" { 100.0 } else { 0.0 };
            out.push(reading(station, "water_level", T0 + i * 300_000, value));
        }
    }
    out
}

/// Buckets computed from raw readings: start -> (mean, min, max, count, sum).
fn expected_buckets(
    readings: &[Reading],
    station: &str,
    step: i64,
    since: i64,
    until: i64,
) -> BTreeMap<i64, (f64, f64, f64, u64, f64)> {
    let mut groups: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for r in readings
        .iter()
        .filter(|r| r.station == station && r.time_ms >= since && r.time_ms < until)
    {
        groups
            .entry(r.time_ms.div_euclid(step) * step)
            .or_default()
            .push(r.value);
    }
    groups
        .into_iter()
        .map(|(start, values)| {
            let n = values.len() as f64;
            let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            (
                start,
                (
                    values.iter().sum::<f64>() / n,
                    min,
                    max,
                    values.len() as u64,
                    values.iter().sum::<f64>(),
                ),
            )
        })
        .collect()
}

async fn all_readings<S: TimeSeries>(store: &S) -> Vec<Reading> {
    store.readings(ReadingQuery::default()).await.unwrap()
}

/// The behaviour every backend must show.
async fn suite<S: TimeSeries>(store: S) {
    let data = sample();
    for chunk in data.chunks(250) {
        store.write(chunk.to_vec()).await.unwrap();
    }

    // Redelivering a batch changes nothing.
    store.write(data[..500].to_vec()).await.unwrap();
    assert_eq!(
        all_readings(&store).await.len(),
        data.len(),
        "redelivery duplicated readings"
    );

    // Latest: the newest reading of each series.
    let latest = store.latest().await.unwrap();
    assert_eq!(latest.len(), 2);
    let last_a = data.iter().rfind(|r| r.station == "pegel-a").unwrap();
    assert_eq!(
        (
            latest[0].station.as_str(),
            latest[0].time_ms,
            latest[0].value
        ),
        ("pegel-a", last_a.time_ms, last_a.value)
    );
    assert_eq!(latest[0].unit, "m");

    // Raw range: exactly the readings in the half-open window.
    let raw = store
        .range(RangeQuery {
            station: "pegel-a".into(),
            quantity: "water_level".into(),
            since_ms: T0 + HOUR,
            until_ms: T0 + 2 * HOUR,
            resolution: Resolution::Raw,
        })
        .await
        .unwrap();
    assert_eq!(raw.len(), 12);
    assert_eq!(raw[0].start_ms, T0 + HOUR);
    let first = data
        .iter()
        .find(|r| r.station == "pegel-a" && r.time_ms == T0 + HOUR)
        .unwrap();
    assert_eq!(raw[0].sum, first.value, "a raw bucket's sum is its value");

    // Several ranges in one read answer what each range answers, in order.
    let queries: Vec<RangeQuery> = [
        ("pegel-a", Resolution::Hour),
        ("pegel-b", Resolution::QuarterHour),
        ("pegel-a", Resolution::Raw),
        ("nowhere", Resolution::Day),
    ]
    .into_iter()
    .map(|(station, resolution)| RangeQuery {
        station: station.into(),
        quantity: "water_level".into(),
        since_ms: T0 + HOUR,
        until_ms: T0 + 20 * HOUR,
        resolution,
    })
    .collect();
    let mut one_by_one = Vec::new();
    for q in &queries {
        one_by_one.push(store.range(q.clone()).await.unwrap());
    }
    assert!(one_by_one[..3].iter().all(|b| !b.is_empty()));
    assert_eq!(store.ranges(queries).await.unwrap(), one_by_one);

    // Every aggregation matches what the raw data says.
    for resolution in [
        Resolution::Minute,
        Resolution::QuarterHour,
        Resolution::Hour,
        Resolution::Day,
    ] {
        let step = resolution.step_ms().unwrap();
        let (since, until) = (T0 + 30 * 60_000, T0 + 47 * HOUR);
        let query = RangeQuery {
            station: "pegel-b".into(),
            quantity: "water_level".into(),
            since_ms: since,
            until_ms: until,
            resolution,
        };
        let (a_since, a_until) = query.aligned();
        let want = expected_buckets(&data, "pegel-b", step, a_since, a_until);
        let got = store.range(query).await.unwrap();
        assert_eq!(got.len(), want.len(), "{resolution:?}: bucket count");
        for b in &got {
            let (mean, min, max, count, sum) = want[&b.start_ms];
            assert_eq!(b.count, count, "{resolution:?} at {}", b.start_ms);
            assert!(
                (b.sum - sum).abs() < 1e-6,
                "{resolution:?} sum {} vs {sum} at {}",
                b.sum,
                b.start_ms
            );
            assert!(
                (b.mean - mean).abs() < 1e-9,
                "{resolution:?} mean {} vs {mean}",
                b.mean
            );
            assert_eq!(
                (b.min, b.max),
                (min, max),
                "{resolution:?} at {}",
                b.start_ms
            );
        }
    }

    // Last write wins, and aggregates follow the new value.
    let target = data
        .iter()
        .find(|r| r.station == "pegel-a" && r.time_ms == T0 + 3 * HOUR)
        .unwrap();
    store
        .write(vec![reading(
            "pegel-a",
            "water_level",
            target.time_ms,
            500.0,
        )])
        .await
        .unwrap();
    let hour = store
        .range(RangeQuery {
            station: "pegel-a".into(),
            quantity: "water_level".into(),
            since_ms: T0 + 3 * HOUR,
            until_ms: T0 + 4 * HOUR,
            resolution: Resolution::Hour,
        })
        .await
        .unwrap();
    let mut edited = data.clone();
    edited
        .iter_mut()
        .find(|r| r.station == "pegel-a" && r.time_ms == target.time_ms)
        .unwrap()
        .value = 500.0;
    let want =
        expected_buckets(&edited, "pegel-a", HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR)[&(T0 + 3 * HOUR)];
    assert_eq!(hour.len(), 1);
    assert_eq!((hour[0].max, hour[0].count), (500.0, 12));
    assert!((hour[0].mean - want.0).abs() < 1e-9);
    assert_eq!(all_readings(&store).await.len(), data.len());

    // A late, older reading does not become the latest.
    store
        .write(vec![reading("pegel-a", "water_level", T0 - HOUR, -9.0)])
        .await
        .unwrap();
    let latest = store.latest().await.unwrap();
    assert_eq!(latest[0].time_ms, last_a.time_ms);

    // Export streams every reading of the window exactly once, in bounded chunks.
    let mut stream = store.export(T0 + 24 * HOUR, T0 + 48 * HOUR, 100);
    let mut exported = Vec::new();
    while let Some(chunk) = stream.recv().await {
        let chunk = chunk.unwrap();
        assert!(!chunk.is_empty() && chunk.len() <= 100);
        exported.extend(chunk);
    }
    let mut want: Vec<_> = edited
        .iter()
        .filter(|r| r.time_ms >= T0 + 24 * HOUR)
        .map(|r| (r.station.clone(), r.time_ms))
        .collect();
    let mut got: Vec<_> = exported
        .iter()
        .map(|r| (r.station.clone(), r.time_ms))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    // Pages: the same buckets as the whole range, ordered and cut in the store.
    for resolution in [Resolution::Raw, Resolution::QuarterHour, Resolution::Hour] {
        let range = RangeQuery {
            station: "pegel-b".into(),
            quantity: "water_level".into(),
            since_ms: T0 + 2 * HOUR,
            until_ms: T0 + 20 * HOUR,
            resolution,
        };
        let whole = store.range(range.clone()).await.unwrap();
        for (newest_first, offset, limit) in
            [(false, 0, 7), (false, 5, 10), (true, 0, 3), (true, 4, 9)]
        {
            let got = store
                .page(PageQuery {
                    range: range.clone(),
                    newest_first,
                    offset,
                    limit,
                })
                .await
                .unwrap();
            let mut want = whole.clone();
            if newest_first {
                want.reverse();
            }
            let want: Vec<_> = want.into_iter().skip(offset).take(limit).collect();
            // Sums may be added in another order: equal but for the last bits.
            let key = |b: &sensorhub_store::Bucket| (b.start_ms, b.count, b.min, b.max);
            assert_eq!(
                got.iter().map(key).collect::<Vec<_>>(),
                want.iter().map(key).collect::<Vec<_>>(),
                "{resolution:?} newest_first {newest_first} offset {offset} limit {limit}"
            );
            for (g, w) in got.iter().zip(&want) {
                assert!((g.mean - w.mean).abs() < 1e-9 && (g.sum - w.sum).abs() < 1e-9);
            }
        }
        let past = store
            .page(PageQuery {
                range: range.clone(),
                newest_first: false,
                offset: whole.len(),
                limit: 5,
            })
            .await
            .unwrap();
        assert!(
            past.is_empty(),
            "{resolution:?}: a page past the end is empty"
        );
    }

    // Starts: the oldest reading of each series (the late one of pegel-a included).
    let starts = store.starts().await.unwrap();
    let got: Vec<_> = starts
        .iter()
        .map(|s| (s.station.as_str(), s.quantity.as_str(), s.time_ms))
        .collect();
    assert_eq!(
        got,
        [
            ("pegel-a", "water_level", T0 - HOUR),
            ("pegel-b", "water_level", T0)
        ]
    );

    // Retention deletes raw readings before the cutoff and nothing after it.
    store.retain(T0 + 24 * HOUR).await.unwrap();
    let left = all_readings(&store).await;
    assert!(left.iter().all(|r| r.time_ms >= T0 + 24 * HOUR));
    assert_eq!(left.len(), want.len());
}

#[tokio::test]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.db")).unwrap();
    suite(store.clone()).await;
    // SQLite keeps hourly rollups past raw retention.
    let day_one = store
        .range(RangeQuery {
            station: "pegel-a".into(),
            quantity: "water_level".into(),
            since_ms: T0,
            until_ms: T0 + 24 * HOUR,
            resolution: Resolution::Hour,
        })
        .await
        .unwrap();
    assert_eq!(day_one.len(), 24);
    // A series begins with its rollups where its first readings were retained away.
    let starts = store.starts().await.unwrap();
    assert_eq!(starts[0].time_ms, T0 - HOUR);
    assert_eq!(starts[1].time_ms, T0);
}

#[tokio::test(flavor = "multi_thread")]
async fn influxdb_1x_backend() {
    let server = tokio::task::spawn_blocking(Server::influxdb).await.unwrap();
    let config = StoreConfig {
        url: server.url(),
        database: "sensorhub_test".into(),
        ..StoreConfig::default()
    };
    let store = InfluxStore::new(&config).unwrap();
    store.create_database().await.unwrap();
    suite(store).await;
}

/// The facade with `backend = "influxdb"`: readings go to InfluxDB, the state to SQLite.
#[tokio::test(flavor = "multi_thread")]
async fn store_facade_sends_readings_to_influxdb() {
    let server = tokio::task::spawn_blocking(Server::influxdb).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        backend: sensorhub_store::Backend::Influxdb,
        path: dir.path().join("state.db").display().to_string(),
        url: server.url(),
        database: "facade".into(),
        ..StoreConfig::default()
    };
    InfluxStore::new(&config)
        .unwrap()
        .create_database()
        .await
        .unwrap();
    let store = Store::open(&config).unwrap();
    store
        .commit(sensorhub_store::IngestBatch {
            readings: vec![reading("pegel-a", "water_level", T0, 1.5)],
            dead_letters: vec![sensorhub_store::DeadLetter {
                // Now: an old one would be removed at once (store.dead_letters_keep_days).
                time_ms: sensorhub_store::time::now_ms(),
                topic: "t".into(),
                payload: b"x".to_vec(),
                size: 1,
                reason: sensorhub_store::DeadLetterReason::BadJson,
                detail: "d".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.latest().await.unwrap()[0].value, 1.5);
    assert!(
        store.state().latest().await.unwrap().is_empty(),
        "readings leaked into SQLite"
    );
    assert_eq!(store.state().dead_letters(10).await.unwrap().len(), 1);
}

/// The v2 write API (`/api/v2/write` through the influxdb2 client) against VictoriaMetrics,
/// read back through its export API.
#[tokio::test(flavor = "multi_thread")]
async fn influxdb_v2_write_path_against_victoria_metrics() {
    let server = tokio::task::spawn_blocking(Server::victoria_metrics)
        .await
        .unwrap();
    let config = StoreConfig {
        url: server.url(),
        api: InfluxApi::V2,
        org: "amt".into(),
        bucket: "sensorhub".into(),
        token: Some("not-checked-by-victoria-metrics".into()),
        ..StoreConfig::default()
    };
    let store = InfluxStore::new(&config).unwrap();
    let written: Vec<_> = (0..50)
        .map(|i| {
            reading(
                if i % 2 == 0 { "pegel a" } else { "pegel,b" },
                "water_level",
                T0 + i * 60_000,
                i as f64 * 0.25 + 0.125,
            )
        })
        .collect();
    store.write(&written).await.unwrap();
    store.write(&written[..10]).await.unwrap(); // redelivery

    let port = server.port;
    let lines = tokio::task::spawn_blocking(move || {
        http(port, "GET", "/internal/force_flush", "");
        http(
            port,
            "GET",
            "/api/v1/export?match%5B%5D=%7B__name__%3D%22reading_value%22%7D&start=0",
            "",
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(lines.0, 200, "{}", lines.1);
    let mut got = Vec::new();
    for line in lines.1.lines().filter(|l| !l.trim().is_empty()) {
        let series: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(series["metric"]["quantity"], "water_level");
        assert_eq!(series["metric"]["unit"], "m");
        let station = series["metric"]["station"].as_str().unwrap().to_owned();
        let values = series["values"].as_array().unwrap();
        let times = series["timestamps"].as_array().unwrap();
        for (v, t) in values.iter().zip(times) {
            got.push((station.clone(), t.as_i64().unwrap(), v.as_f64().unwrap()));
        }
    }
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // VictoriaMetrics keeps the redelivered samples as raw duplicates (it deduplicates only
    // with -dedup.minScrapeInterval); InfluxDB itself overwrites them. Compare distinct points.
    got.dedup();
    let mut want: Vec<_> = written
        .iter()
        .map(|r| (r.station.clone(), r.time_ms, r.value))
        .collect();
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, want);
}

/// The Grafana dashboard shipped for technicians who run the InfluxDB backend: every InfluxQL
/// query in it (panels and template variables) runs against a real InfluxDB holding readings
/// as this store writes them, and finds data.
#[tokio::test(flavor = "multi_thread")]
async fn grafana_dashboard_queries_find_the_readings_in_influxdb() {
    let server = tokio::task::spawn_blocking(Server::influxdb).await.unwrap();
    let config = StoreConfig {
        url: server.url(),
        database: "grafana".into(),
        ..StoreConfig::default()
    };
    let store = InfluxStore::new(&config).unwrap();
    store.create_database().await.unwrap();
    let written: Vec<_> = (0..48)
        .flat_map(|i| {
            [
                reading(
                    "pegel-wyk",
                    "water_level",
                    T0 + i * 900_000,
                    1.0 + i as f64 * 0.01,
                ),
                reading("wetter-1", "air_temperature", T0 + i * 900_000, 8.0),
            ]
        })
        .collect();
    store.write(&written).await.unwrap();

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dashboards/grafana/dashboards/sensorhub.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries: Vec<String> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["query"].as_str().unwrap().to_owned())
        .collect();
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["datasource"]["type"] != "influxdb" {
            continue;
        }
        for target in panel["targets"].as_array().unwrap() {
            queries.push(target["query"].as_str().unwrap().to_owned());
        }
    }
    assert!(queries.len() >= 5, "{queries:?}");
    let time_filter = format!("time >= {}ms AND time < {}ms", T0, T0 + 86_400_000);
    for query in queries {
        let q = query
            .replace("$quantity", "water_level")
            .replace("$station", ".*")
            .replace("$timeFilter", &time_filter)
            .replace("$__interval", "1h");
        let encoded: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let port = server.port;
        let (status, body) = tokio::task::spawn_blocking(move || {
            http(port, "GET", &format!("/query?db=grafana&q={encoded}"), "")
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(status, 200, "{q}: {body}");
        assert!(!body.contains("\"error\""), "{q}: {body}");
        assert!(body.contains("\"series\""), "{q} found nothing: {body}");
        if q.contains("quantity\" =~ /^water_level$/") {
            assert!(
                body.contains("pegel-wyk") && !body.contains("wetter-1"),
                "{q}: {body}"
            );
        }
    }
}
