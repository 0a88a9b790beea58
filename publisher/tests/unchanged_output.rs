//! The files the folder target publishes from a small, fixed store, compared byte for byte with
//! the files in `tests/published/`, which the publisher wrote before it streamed month by month
//! (commit "Publisher: the files of a small store as published before streaming"). A change to
//! how the publisher reads, checks or writes must leave every byte of its output as it was.
//!
//! After a change that is meant to alter the output, `BLESS=1 cargo test -p sensorhub-publisher
//! --test unchanged_output` writes the new files; the diff then shows what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sensorhub_publisher::dataset::DatasetConfig;
use sensorhub_publisher::publish::{prepare, write_folder};
use sensorhub_publisher::{DatasetPolicy, FolderConfig, PrivacyConfig, StationIds};
use sensorhub_store::{Device, Reading, StationInfo, Store, StoreConfig, TimeSeries};

const QUARTER: i64 = 900_000;
const DAY: i64 = 86_400_000;
/// 2026-10-20T00:00:00Z: fifteen days of readings reach into November.
const START: i64 = 1_792_454_400_000;

fn expected_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/published")
}

/// Every file under `dir`, by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

async fn store(dir: &Path) -> Store {
    let store = Store::open(&StoreConfig {
        path: dir.join("s.db").display().to_string(),
        ..StoreConfig::default()
    })
    .unwrap();
    let device = |n: u32, station: &str, public: bool, lat: f64| Device {
        dev_eui: format!("70b3d57ed000{n:04x}").parse().unwrap(),
        name: station.into(),
        station: station.into(),
        device_type: "cayenne-lpp".parse().unwrap(),
        lat: Some(lat),
        lon: Some(8.571234 + f64::from(n) * 0.01),
        public,
        dev_addr: Some(format!("260b{n:04x}").parse().unwrap()),
        nwk_s_key: None,
        app_s_key: None,
    };
    store
        .state()
        .put_devices(vec![
            device(1, "pegel-wyk", true, 54.691234),
            device(2, "strand-nieblum", true, 54.686789),
            device(3, "pegel-privat", false, 54.7),
        ])
        .await
        .unwrap();
    store
        .state()
        .put_station_infos(vec![StationInfo {
            station: "pegel-wyk".into(),
            name: "Pegel Wyk".into(),
            ..Default::default()
        }])
        .await
        .unwrap();
    // Water levels every 15 minutes with three decimals; visitors counted every 15 minutes,
    // small counts among them (suppressed below k = 5 in the daily dataset).
    let mut readings = Vec::new();
    for i in 0..(15 * DAY / QUARTER) {
        let time_ms = START + i * QUARTER;
        for (s, station) in ["pegel-wyk", "strand-nieblum", "pegel-privat"]
            .iter()
            .enumerate()
        {
            let s = s as i64;
            readings.push(Reading {
                station: (*station).into(),
                quantity: "water_level".into(),
                unit: "m".into(),
                time_ms,
                value: ((i * 37 + s * 11) % 2_000) as f64 / 1_000.0 + 3.0,
            });
            if i % 3 != s {
                readings.push(Reading {
                    station: (*station).into(),
                    quantity: "visitor_count".into(),
                    unit: String::new(),
                    time_ms,
                    value: ((i * 7 + s) % 13) as f64,
                });
            }
        }
    }
    store.write(readings).await.unwrap();
    store
}

fn datasets() -> Vec<DatasetConfig> {
    let hourly = DatasetConfig {
        name: "pegel-stunde".into(),
        title: "Pegel stündlich".into(),
        description: "Wasserstände auf Föhr.".into(),
        quantities: vec!["water_level".into(), "visitor_count".into()],
        attribution: "Amt Föhr-Amrum".into(),
        since: Some("2026-10-01".into()),
        latest_days: 3,
        ..DatasetConfig::default()
    };
    let daily = DatasetConfig {
        name: "besucher-tag".into(),
        title: "Besucher täglich".into(),
        quantities: vec!["visitor_count".into()],
        interval: sensorhub_store::Resolution::Day,
        functions: vec!["sum".into(), "count".into(), "max".into()],
        privacy: DatasetPolicy {
            station_ids: StationIds::Hmac,
            hmac_key_env: "UNCHANGED_OUTPUT_PSEUDONYM_KEY".into(),
            grid_m: Some(1_000),
            k: 5,
            delay: "1d".parse().unwrap(),
            ..DatasetPolicy::default()
        },
        ..hourly.clone()
    };
    vec![hourly, daily]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_store_publishes_the_same_bytes_as_before() {
    std::env::set_var(
        "UNCHANGED_OUTPUT_PSEUDONYM_KEY",
        "a-fixed-key-of-at-least-32-characters",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let out = dir.path().join("opendata");
    let folder = FolderConfig {
        folder: out.display().to_string(),
        ..FolderConfig::default()
    };
    let now = START + 15 * DAY + 7 * 3_600_000;
    for dataset in datasets() {
        // The date of the first publication is kept from an earlier dataset.json: fix it.
        let at = out.join(&dataset.name);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(
            at.join("dataset.json"),
            r#"{"extras": [{"key": "issued", "value": "2026-11-01"}]}"#,
        )
        .unwrap();
        let prepared = prepare(&store, &dataset, &PrivacyConfig::default(), now)
            .await
            .unwrap();
        write_folder(&folder, &dataset, &prepared).unwrap();
    }
    let written = files(&out);
    if std::env::var_os("BLESS").is_some() {
        let _ = std::fs::remove_dir_all(expected_dir());
        for (name, bytes) in &written {
            let path = expected_dir().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
    let expected = files(&expected_dir());
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the same files"
    );
    assert!(written.len() >= 10, "{:?}", written.keys());
    for (name, bytes) in &written {
        let before = &expected[name];
        if bytes != before {
            let (new, old) = (
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(before),
            );
            let line = new
                .lines()
                .zip(old.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(new.lines().count().min(old.lines().count()));
            panic!(
                "{name} changed at line {}:\n  now:    {:?}\n  before: {:?}",
                line + 1,
                new.lines().nth(line),
                old.lines().nth(line)
            );
        }
    }
}
