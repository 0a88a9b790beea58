//! The anonymisation policy applied to a dataset from a real SQLite store: pseudonyms, grid
//! coordinates, suppressed small counts, the publication delay, private stations left out; and
//! the files that result pass the privacy check.

use sensorhub_publisher::dataset::DatasetConfig;
use sensorhub_publisher::publish::{check_files, prepare};
use sensorhub_publisher::{Coordinates, DatasetPolicy, PrivacyConfig, StationIds};
use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};

const HOUR: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_shapes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig {
        path: dir.path().join("s.db").display().to_string(),
        ..StoreConfig::default()
    })
    .unwrap();
    let device = |eui: &str, station: &str, public: bool| Device {
        dev_eui: eui.parse().unwrap(),
        name: station.into(),
        station: station.into(),
        device_type: "cayenne-lpp".parse().unwrap(),
        lat: Some(54.691234),
        lon: Some(8.571234),
        public,
        dev_addr: Some("260b0001".parse().unwrap()),
        nwk_s_key: None,
        app_s_key: None,
    };
    store
        .state()
        .put_devices(vec![
            device("70b3d57ed0000001", "parkplatz-hafen", true),
            device("70b3d57ed0000002", "parkplatz-privat", false),
        ])
        .await
        .unwrap();
    // Hourly visitor counts over two days: 0, 1, 2, ... 9, 0, 1, ...
    let now = 1_795_000_000_000 / HOUR * HOUR;
    let readings: Vec<Reading> = (0..48)
        .flat_map(|h| {
            ["parkplatz-hafen", "parkplatz-privat"].map(|station| Reading {
                station: station.into(),
                quantity: "visitor_count".into(),
                unit: String::new(),
                time_ms: now - 48 * HOUR + h * HOUR,
                value: (h % 10) as f64,
            })
        })
        .collect();
    store.write(readings).await.unwrap();
    store
        .state()
        .put_station_infos(vec![sensorhub_store::StationInfo {
            station: "parkplatz-hafen".into(),
            name: "Parkplatz am Hafen".into(),
            ..Default::default()
        }])
        .await
        .unwrap();

    std::env::set_var(
        "SENSORHUB_TEST_PSEUDONYM_KEY",
        "a-key-of-at-least-32-characters-long!",
    );
    let dataset = DatasetConfig {
        name: "besucher".into(),
        title: "Besucher".into(),
        quantities: vec!["visitor_count".into()],
        attribution: "Amt".into(),
        since: Some("2026-11-01".into()),
        privacy: DatasetPolicy {
            station_ids: StationIds::Hmac,
            hmac_key_env: "SENSORHUB_TEST_PSEUDONYM_KEY".into(),
            grid_m: Some(1_000),
            k: 5,
            delay: "1d".parse().unwrap(),
            ..DatasetPolicy::default()
        },
        ..DatasetConfig::default()
    };
    assert!(
        dataset.problems(0, false).is_empty(),
        "{:?}",
        dataset.problems(0, false)
    );
    let prepared = prepare(&store, &dataset, &PrivacyConfig::default(), now)
        .await
        .unwrap();
    check_files(&prepared).unwrap();

    // The rows as the published monthly files carry them.
    let rows: Vec<_> = prepared
        .files
        .iter()
        .filter(|f| f.month.is_some())
        .flat_map(|f| sensorhub_publisher::export::read_rows(&f.content.bytes().unwrap()).unwrap())
        .collect();
    // One day held back: 24 hourly rows of the public station, none of the private one.
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|r| r.time_ms < now - 24 * HOUR));
    let ids: std::collections::BTreeSet<_> = rows.iter().map(|r| &*r.station).collect();
    assert_eq!(ids.len(), 1);
    let id = *ids.iter().next().unwrap();
    assert!(id.starts_with("st-") && !id.contains("parkplatz"), "{id}");
    // Counts 1 to 4 are suppressed, 0 and 5 to 9 stay.
    for r in &rows {
        match r.mean {
            None => assert!((1..=4).contains(&(r.max.unwrap_or(1.0) as i64)) || r.max.is_none()),
            Some(v) => assert!(v == 0.0 || v >= 5.0, "{v} published"),
        }
    }
    assert!(rows.iter().any(|r| r.mean.is_none()) && rows.iter().any(|r| r.mean == Some(7.0)));
    // Daily sums, as a visitor count is published: each the total of the day's hourly counts
    // (added up here from the readings the test wrote), within the publication delay.
    let daily = DatasetConfig {
        name: "besucher-tag".into(),
        interval: sensorhub_store::Resolution::Day,
        functions: vec!["sum".into(), "count".into()],
        ..dataset.clone()
    };
    assert!(
        daily.problems(0, false).is_empty(),
        "{:?}",
        daily.problems(0, false)
    );
    let prepared_daily = prepare(&store, &daily, &PrivacyConfig::default(), now)
        .await
        .unwrap();
    check_files(&prepared_daily).unwrap();
    let days: Vec<_> = prepared_daily
        .files
        .iter()
        .filter(|f| f.month.is_some())
        .flat_map(|f| sensorhub_publisher::export::read_rows(&f.content.bytes().unwrap()).unwrap())
        .collect();
    assert!(!days.is_empty());
    let cutoff = now - 24 * HOUR;
    for day in &days {
        let hours: Vec<f64> = (0..48)
            .map(|h| (now - 48 * HOUR + h * HOUR, (h % 10) as f64))
            .filter(|(t, _)| *t >= day.time_ms && *t < (day.time_ms + 24 * HOUR).min(cutoff))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(day.count, hours.len() as u64, "hours of {}", day.time_ms);
        assert_eq!(
            day.sum,
            Some(hours.iter().sum::<f64>()),
            "sum of {}",
            day.time_ms
        );
        assert_eq!(
            (day.mean, day.min, day.max),
            (None, None, None),
            "only the chosen columns"
        );
    }
    // The station sits at the centre of its 1 km cell, not at its place.
    let station = &prepared.collected.stations[0];
    assert_eq!(
        prepared.collected.coordinates,
        Coordinates::Grid { metres: 1_000 }
    );
    assert!(prepared
        .collected
        .coordinates
        .allows(station.lat, station.lon));
    assert!((station.lat - 54.691234).abs() > 1e-6);
    // No file names a station, a DevEUI or a DevAddr.
    for file in &prepared.files {
        let bytes = file.content.bytes().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in ["parkplatz", "Parkplatz am Hafen", "70b3d57ed", "260b0001"] {
            assert!(!text.contains(secret), "{} contains {secret}", file.name);
        }
    }
    // With plain station ids the stations' GeoJSON names the place, and the guard lets it.
    let plain = DatasetConfig {
        privacy: DatasetPolicy {
            station_ids: StationIds::Public,
            ..dataset.privacy.clone()
        },
        ..dataset.clone()
    };
    let prepared = prepare(&store, &plain, &PrivacyConfig::default(), now)
        .await
        .unwrap();
    check_files(&prepared).unwrap();
    let geo = prepared
        .files
        .iter()
        .find(|f| f.format == "GeoJSON")
        .unwrap();
    let geo: serde_json::Value = serde_json::from_slice(&geo.content.bytes().unwrap()).unwrap();
    assert_eq!(
        geo["features"][0]["properties"]["name"],
        "Parkplatz am Hafen"
    );
}
