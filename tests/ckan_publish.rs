//! The publisher against a real CKAN (tests/ckan/up.sh: CKAN from PyPI, PostgreSQL and Redis
//! from Debian) and the published files against an outside Table Schema validator
//! (`frictionless` from PyPI, installed by scripts/test).
//!
//! The tests share one CKAN and one of them stops it, so they take turns.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};
use serde_json::Value;

static TURN: Mutex<()> = Mutex::new(());
const HOUR: i64 = 3_600_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Brings CKAN up (idempotent, a warm start takes seconds) and returns its URL and token.
fn ckan() -> (String, String) {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(ckan_up);
    let env = std::fs::read_to_string(repo().join("tests/ckan/run/env")).unwrap();
    let get = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {key}=")))
            .unwrap()
            .to_owned()
    };
    (get("CKAN_URL"), get("CKAN_TOKEN"))
}

fn ckan_up() {
    let out = Command::new("bash")
        .arg(repo().join("tests/ckan/up.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tests/ckan/up.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CKAN action through curl (GET with parameters); the parsed answer.
fn api(action: &str, params: &[(&str, &str)]) -> Value {
    let (url, token) = ckan();
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-G", "-H", &format!("Authorization: {token}")]);
    for (k, v) in params {
        cmd.args(["--data-urlencode", &format!("{k}={v}")]);
    }
    cmd.arg(format!("{url}/api/3/action/{action}"));
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A CKAN action through curl (POST with a JSON body); the parsed answer.
fn api_post(action: &str, body: &Value) -> Value {
    let (url, token) = ckan();
    let out = Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: {token}")])
        .args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ])
        .arg(format!("{url}/api/3/action/{action}"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn download(url: &str) -> String {
    let (_, token) = ckan();
    let out = Command::new("curl")
        .args(["-sf", "-H", &format!("Authorization: {token}"), url])
        .output()
        .unwrap();
    assert!(out.status.success(), "download {url}");
    String::from_utf8(out.stdout).unwrap()
}

fn suffix() -> String {
    format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            % 100_000
    )
}

/// A sensorhub setup: a config with the CKAN target and a store with a public tide gauge and a
/// private garden station.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    store: Store,
    dataset: String,
    runtime: tokio::runtime::Runtime,
}

impl Setup {
    fn new(extra_dataset_keys: &str, ckan_keys: &str) -> Setup {
        let (url, _) = ckan();
        let dir = tempfile::tempdir().unwrap();
        let s = suffix();
        let dataset = format!("wasserstaende-test-{s}");
        let db = dir.path().join("sensorhub.db");
        let config = dir.path().join("sensorhub.toml");
        std::fs::write(
            &config,
            format!(
                r#"[store]
path = "{db}"

[publisher]
folder = "{folder}"

[publisher.ckan]
url = "{url}"
organization = "amt-test-{s}"
organization_title = "Amt Test"
token_env = "CKAN_TEST_TOKEN"
{ckan_keys}

[[datasets]]
name = "{dataset}"
title = "Wasserstände Föhr-Amrum"
title_en = "Water levels Föhr-Amrum"
description = "Pegelstände der Messstationen des Amtes."
quantities = ["water_level"]
stations = ["*"]
interval = "1h"
target = "ckan"
attribution = "Amt Föhr-Amrum"
themes = ["ENVI", "REGI"]
keywords = ["Pegel", "Wasserstand"]
spatial = "010545488164"
publisher = "Amt Föhr-Amrum"
contact_name = "Bauamt"
contact_email = "bauamt@example.org"
frequency = "HOURLY"
{extra_dataset_keys}
"#,
                db = db.display(),
                folder = dir.path().join("opendata").display(),
            ),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let store = Store::open(&StoreConfig {
            path: db.display().to_string(),
            ..StoreConfig::default()
        })
        .unwrap();
        let device = |eui: &str, station: &str, public: bool| Device {
            dev_eui: eui.parse().unwrap(),
            name: station.into(),
            station: station.into(),
            device_type: "cayenne-lpp".parse().unwrap(),
            lat: Some(54.6912345),
            lon: Some(8.5712345),
            public,
            dev_addr: Some("260b0042".parse().unwrap()),
            nwk_s_key: None,
            app_s_key: None,
        };
        runtime
            .block_on(store.state().put_devices(vec![
                device("70b3d57ed0000001", "pegel-wyk", true),
                device("70b3d57ed0000002", "garten-7", false),
            ]))
            .unwrap();
        Setup {
            dir,
            config,
            store,
            dataset,
            runtime,
        }
    }

    /// Water levels every 15 minutes for both stations over `[from, until)`.
    fn readings(&self, from: i64, until: i64) {
        let mut batch = Vec::new();
        let mut t = from;
        while t < until {
            for station in ["pegel-wyk", "garten-7"] {
                batch.push(Reading {
                    station: station.into(),
                    quantity: "water_level".into(),
                    unit: "m".into(),
                    time_ms: t,
                    value: 1.5 + ((t / 900_000) % 50) as f64 / 100.0,
                });
            }
            t += 900_000;
        }
        self.runtime.block_on(self.store.write(batch)).unwrap();
    }

    fn publish(&self, extra: &[&str]) -> Output {
        let (_, token) = ckan();
        let mut args = vec!["publish", "--config", self.config.to_str().unwrap()];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_sensorhub"))
            .args(&args)
            .env("CKAN_TEST_TOKEN", token)
            .env("SENSORHUB_LOG", "warn")
            .output()
            .unwrap()
    }

    fn publish_ok(&self) -> String {
        let out = self.publish(&[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "publish failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Changes the config file: `from` (which must be there) becomes `to`.
    fn rewrite(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "{from} not in the config");
        std::fs::write(&self.config, text.replacen(from, to, 1)).unwrap();
    }

    fn package(&self) -> Value {
        let answer = api("package_show", &[("id", &self.dataset)]);
        assert_eq!(answer["success"], true, "{answer}");
        answer["result"].clone()
    }
}

fn now_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now / HOUR * HOUR
}

fn extra(package: &Value, key: &str) -> String {
    package["extras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| e["value"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no extra {key} in {package}"))
}

fn resources(package: &Value) -> Vec<(String, Value)> {
    package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn datastore_total(package: &Value, dataset: &str) -> u64 {
    let (_, r) = resources(package)
        .into_iter()
        .find(|(n, _)| *n == format!("{dataset}-datastore"))
        .expect("a DataStore resource");
    let answer = api(
        "datastore_search",
        &[("resource_id", r["id"].as_str().unwrap()), ("limit", "1")],
    );
    answer["result"]["total"].as_u64().unwrap()
}

#[test]
fn first_publish_creates_then_reruns_upload_only_what_changed() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // A "latest" window longer than the data, so that an hour passing between the runs
    // changes nothing.
    let setup = Setup::new("latest_days = 62", "");
    // The portal has a theme group for ENVI (GovData's naming); REGI it has not.
    if api("group_show", &[("id", "envi")])["success"] != true {
        let made = api_post(
            "group_create",
            &serde_json::json!({"name": "envi", "title": "Umwelt"}),
        );
        assert_eq!(made["success"], true, "{made}");
    }
    let hour = now_hour();
    // Data from the start of last month until two hours ago (the current hour is incomplete
    // and never published).
    let start = sensorhub_publisher::export::month_start(hour, -1);
    setup.readings(start, hour - 2 * HOUR);
    let out = setup.publish_ok();
    assert!(out.contains("created"), "{out}");

    // The dataset, with DCAT-AP.de metadata as the Schleswig-Holstein portal reads it.
    let package = setup.package();
    assert_eq!(
        package["license_id"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );
    assert!(package["license_title"]
        .as_str()
        .unwrap()
        .starts_with("Datenlizenz Deutschland"));
    assert_eq!(package["organization"]["title"], "Amt Test");
    assert_eq!(package["maintainer_email"], "bauamt@example.org");
    assert_eq!(
        extra(&package, "licenseAttributionByText"),
        "Amt Föhr-Amrum"
    );
    assert_eq!(
        extra(&package, "spatial_uri"),
        "http://dcat-ap.de/def/politicalGeocoding/regionalKey/010545488164"
    );
    assert_eq!(
        extra(&package, "frequency"),
        "http://publications.europa.eu/resource/authority/frequency/HOURLY"
    );
    assert!(extra(&package, "theme").contains("data-theme/ENVI"));
    let groups: Vec<&str> = package["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        ["envi"],
        "the theme's group, and only the existing one"
    );
    let temporal_start = extra(&package, "temporal_start");
    assert_eq!(
        sensorhub_store::time::parse_rfc3339(&temporal_start),
        Some(start)
    );
    assert_eq!(
        sensorhub_store::time::parse_rfc3339(&extra(&package, "temporal_end")),
        Some(hour - 2 * HOUR),
        "the end of the last whole hour with data"
    );
    assert!(!extra(&package, "issued").is_empty());
    assert_eq!(extra(&package, "modified"), extra(&package, "temporal_end"));
    assert!(
        package["notes"].as_str().unwrap().contains("| `mean` |"),
        "column descriptions in the description"
    );

    // Files: two months, latest, stations, data package, and the DataStore table.
    let names: Vec<String> = resources(&package).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let month = |ms: i64| sensorhub_store::time::format_rfc3339(ms)[..7].to_owned();
    for expected in [
        format!("{}-{}.csv", setup.dataset, month(start)),
        format!("{}-{}.csv", setup.dataset, month(hour - 2 * HOUR)),
        format!("{}-latest.csv", setup.dataset),
        format!("{}-stations.geojson", setup.dataset),
        "datapackage.json".to_owned(),
        format!("{}-datastore", setup.dataset),
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let (_, first_month) = resources(&package)
        .into_iter()
        .find(|(n, _)| n.ends_with(&format!("{}.csv", month(start))))
        .unwrap();
    let csv = download(first_month["url"].as_str().unwrap());
    assert!(csv.starts_with("time,station,quantity,unit,mean,min,max,count\n"));
    assert!(csv.contains("pegel-wyk,water_level,m,"));
    assert!(!csv.contains("garten-7"), "a private station was published");
    assert!(
        !csv.to_lowercase().contains("70b3d57ed"),
        "a DevEUI was published"
    );
    let rows_first_month = csv.lines().count() - 1;
    let (_, geo) = resources(&package)
        .into_iter()
        .find(|(n, _)| n.ends_with("stations.geojson"))
        .unwrap();
    let geo: Value = serde_json::from_str(&download(geo["url"].as_str().unwrap())).unwrap();
    assert_eq!(
        geo["features"][0]["geometry"]["coordinates"],
        serde_json::json!([8.571, 54.691]),
        "coordinates at the policy's three decimals"
    );
    let total = datastore_total(&package, &setup.dataset);
    let hours = ((hour - 2 * HOUR - start) / HOUR) as u64;
    assert_eq!(total, hours, "one DataStore row per published hour");
    assert!(rows_first_month > 24 * 27);

    // Nothing new: nothing is uploaded, nothing duplicated, the metadata is left alone.
    let out = setup.publish_ok();
    assert!(
        out.contains(": 0 uploaded, 5 unchanged, 0 DataStore rows"),
        "{out}"
    );
    let again = setup.package();
    assert_eq!(again["metadata_modified"], package["metadata_modified"]);
    assert_eq!(resources(&again).len(), 6);

    // A new hour of readings: the current month's file and the latest file change, the
    // DataStore gains one row; the other files stay.
    setup.readings(hour - 2 * HOUR, hour - HOUR);
    let out = setup.publish_ok();
    assert!(out.contains(": 2 uploaded, 3 unchanged"), "{out}");
    let updated = setup.package();
    assert_eq!(resources(&updated).len(), 6);
    assert_eq!(datastore_total(&updated, &setup.dataset), hours + 1);
    assert_eq!(
        sensorhub_store::time::parse_rfc3339(&extra(&updated, "temporal_end")),
        Some(hour - HOUR)
    );
    assert_eq!(extra(&updated, "issued"), extra(&package, "issued"));
}

#[test]
fn the_privacy_check_stops_an_upload_that_breaks_the_policy() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new("", "");
    let hour = now_hour();
    setup.readings(hour - 48 * HOUR, hour - HOUR);
    let config = sensorhub_publisher::CkanConfig {
        url: ckan().0,
        organization: format!("amt-privacy-{}", suffix()),
        token_env: "CKAN_TEST_TOKEN_IN_PROCESS".into(),
        ..Default::default()
    };
    std::env::set_var("CKAN_TEST_TOKEN_IN_PROCESS", ckan().1);
    let dataset = sensorhub_publisher::DatasetConfig {
        name: setup.dataset.clone(),
        title: "Test".into(),
        quantities: vec!["water_level".into()],
        target: sensorhub_publisher::Target::Ckan,
        attribution: "Test".into(),
        ..Default::default()
    };
    let privacy = sensorhub_publisher::PrivacyConfig::default();
    let client = sensorhub_publisher::Ckan::new(&config, false).unwrap();
    let prepared = setup
        .runtime
        .block_on(sensorhub_publisher::publish::prepare(
            &setup.store,
            &dataset,
            &privacy,
            hour,
        ))
        .unwrap();

    let target = sensorhub_publisher::publish::CkanTarget {
        ckan: &client,
        config: &config,
        public_url: None,
        store: &setup.store,
    };
    // A monthly file that somehow gained the DevEUI of the device behind the station.
    let mut leaky = prepared.clone();
    let file = leaky.files.iter_mut().find(|f| f.month.is_some()).unwrap();
    let text = String::from_utf8(file.bytes.clone()).unwrap();
    let mut lines = text.lines();
    let mut tampered = format!("{},dev_eui\n", lines.next().unwrap());
    for line in lines {
        tampered.push_str(&format!("{line},70b3d57ed0000001\n"));
    }
    file.bytes = tampered.into_bytes();
    let error = setup
        .runtime
        .block_on(sensorhub_publisher::publish::publish_ckan(
            target,
            &dataset,
            &leaky,
            &|_| {},
        ))
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("privacy check refused"), "{message}");
    assert!(
        message.contains("dev_eui") || message.contains("70b3d57ed0000001"),
        "{message}"
    );

    // Stations at the metre: finer than the policy's three decimals.
    let mut precise = prepared.clone();
    let geo = precise
        .files
        .iter_mut()
        .find(|f| f.format == "GeoJSON")
        .unwrap();
    geo.bytes = String::from_utf8(geo.bytes.clone())
        .unwrap()
        .replace("54.691", "54.6912345")
        .into_bytes();
    let error = setup
        .runtime
        .block_on(sensorhub_publisher::publish::publish_ckan(
            target,
            &dataset,
            &precise,
            &|_| {},
        ))
        .unwrap_err();
    assert!(
        error.to_string().contains("finer than the policy"),
        "{error}"
    );

    // Nothing reached the portal: no dataset, no organization.
    let answer = api("package_show", &[("id", &setup.dataset)]);
    assert_eq!(answer["success"], false, "{answer}");
    let answer = api("organization_show", &[("id", &config.organization)]);
    assert_eq!(answer["success"], false, "{answer}");

    // The untampered files go through.
    let outcome = setup
        .runtime
        .block_on(sensorhub_publisher::publish::publish_ckan(
            target,
            &dataset,
            &prepared,
            &|_| {},
        ))
        .unwrap();
    assert!(outcome.created);
    assert_eq!(
        api("package_show", &[("id", &setup.dataset)])["success"],
        true
    );
}

/// The files of the folder target, validated by `frictionless` against the Table Schema the
/// publisher wrote into `datapackage.json`.
#[test]
fn published_csv_validates_against_its_table_schema() {
    let frictionless = repo().join("tests/.venv/bin/frictionless");
    assert!(
        frictionless.exists(),
        "{} is missing: ./scripts/test installs it",
        frictionless.display()
    );
    let setup = Setup::new("", "");
    let config = std::fs::read_to_string(&setup.config)
        .unwrap()
        .replace("target = \"ckan\"", "target = \"folder\"");
    std::fs::write(&setup.config, config).unwrap();
    let hour = now_hour();
    setup.readings(hour - 72 * HOUR, hour - HOUR);
    setup.publish_ok();
    let dir = setup.dir.path().join("opendata").join(&setup.dataset);
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("datapackage.json")).unwrap())
            .unwrap();
    assert!(!package["resources"].as_array().unwrap().is_empty());
    let out = Command::new(&frictionless)
        .args(["validate", "--json", "datapackage.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "frictionless said: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["valid"], true, "{report:#}");
    // The validator really looked at rows.
    let rows: u64 = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stats"]["rows"].as_u64().unwrap_or(0))
        .sum();
    assert!(rows >= 70, "{report:#}");

    // And it does catch a broken file: a count that is not an integer.
    let month_file = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv") && !p.to_string_lossy().contains("latest")
        })
        .unwrap();
    let text = std::fs::read_to_string(&month_file).unwrap();
    let broken = text.replacen(",4\n", ",four\n", 1);
    assert_ne!(broken, text);
    std::fs::write(&month_file, broken).unwrap();
    let out = Command::new(&frictionless)
        .args(["validate", "--json", "datapackage.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let folder_meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(
        folder_meta["license_id"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );
}

#[test]
fn a_publish_interrupted_by_ckan_stopping_is_completed_by_the_next_run() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new("latest_days = 800", "timeout_s = 5\nretries = 1");
    let hour = now_hour();
    // Two years of data: 25 monthly files and about 17,500 DataStore rows.
    let start = sensorhub_publisher::export::month_start(hour, -24);
    setup.readings(start, hour - HOUR);
    let config = std::fs::read_to_string(&setup.config).unwrap().replace(
        "frequency = \"HOURLY\"",
        &format!(
            "frequency = \"HOURLY\"\nsince = \"{}\"",
            &sensorhub_store::time::format_rfc3339(start)[..10]
        ),
    );
    std::fs::write(&setup.config, config).unwrap();

    let (_, token) = ckan();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["publish", "--config", setup.config.to_str().unwrap()])
        .env("CKAN_TEST_TOKEN", &token)
        .env("SENSORHUB_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stop CKAN once the first files have landed.
    let started = Instant::now();
    loop {
        let answer = api("package_show", &[("id", &setup.dataset)]);
        let landed = answer["result"]["resources"].as_array().map_or(0, Vec::len);
        if landed >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the publisher did not start uploading"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = std::fs::read_to_string(repo().join("tests/ckan/run/ckan.pid")).unwrap();
    Command::new("kill").arg(pid.trim()).status().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the publish should have failed with CKAN gone"
    );

    // CKAN back; the next run completes.
    ckan_up();
    setup.publish_ok();
    let package = setup.package();
    let names: Vec<String> = resources(&package).into_iter().map(|(n, _)| n).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "duplicate resources: {names:?}");
    let monthly = names
        .iter()
        .filter(|n| n.ends_with(".csv") && !n.ends_with("latest.csv"))
        .count();
    assert_eq!(monthly, 25, "{names:?}");
    assert_eq!(names.len(), 25 + 4);
    let hours = ((hour - HOUR - start) / HOUR) as u64;
    assert_eq!(datastore_total(&package, &setup.dataset), hours);
    // Every uploaded file is complete: each monthly CSV on the portal has the hash it claims.
    for (name, r) in resources(&package) {
        if name.ends_with(".csv") {
            let body = download(r["url"].as_str().unwrap());
            assert_eq!(
                sensorhub_publisher::publish::sha256_hex(body.as_bytes()),
                r["hash"].as_str().unwrap(),
                "{name}"
            );
        }
    }
    // And a third run finds nothing to do.
    let out = setup.publish_ok();
    assert!(
        out.contains(": 0 uploaded, 28 unchanged, 0 DataStore rows"),
        "{out}"
    );
}

#[test]
fn a_dry_run_prints_the_calls_it_would_make_and_changes_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new("", "");
    let hour = now_hour();
    setup.readings(hour - 30 * HOUR, hour - HOUR);
    let out = setup.publish(&["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (url, token) = ckan();
    for call in [
        format!("POST {url}/api/3/action/organization_create"),
        format!("POST {url}/api/3/action/package_create"),
        format!("POST {url}/api/3/action/resource_create"),
        format!("POST {url}/api/3/action/datastore_create"),
        format!("POST {url}/api/3/action/datastore_upsert"),
        format!("+ upload {}-latest.csv", setup.dataset),
    ] {
        assert!(stdout.contains(&call), "{call} missing in:\n{stdout}");
    }
    assert!(stdout.contains("http://dcat-ap.de/def/licenses/dl-by-de/2.0"));
    assert!(!stdout.contains(&token), "the token must never be printed");
    let answer = api("package_show", &[("id", &setup.dataset)]);
    assert_eq!(answer["success"], false, "a dry run created {answer}");
}

#[test]
fn a_refused_token_stops_with_ckans_reason_and_the_token_stays_secret() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new("", "");
    let hour = now_hour();
    setup.readings(hour - 10 * HOUR, hour - HOUR);
    let secret = "not-a-valid-token-but-still-a-secret-7f3a";
    let out = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["publish", "--config", setup.config.to_str().unwrap()])
        .env("CKAN_TEST_TOKEN", secret)
        .env("SENSORHUB_LOG", "debug")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("CKAN refused"), "{stderr}");
    assert!(
        stderr.contains("403"),
        "a 4xx is reported with its status: {stderr}"
    );
    assert!(
        !stderr.contains(secret) && !stdout.contains(secret),
        "the token leaked into the output"
    );
    // Nothing was created with the refused token.
    assert_eq!(
        api("package_show", &[("id", &setup.dataset)])["success"],
        false
    );
}

/// The DCAT-AP.de validation of `rdf` (Turtle): GovData's SHACL shapes of `version` with pyshacl
/// (tests/dcat/validate.py, scripts/test installs pyshacl into tests/.venv).
fn shacl(rdf: &str, version: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), rdf).unwrap();
    let out = Command::new(repo().join("tests/.venv/bin/python"))
        .arg(repo().join("tests/dcat/validate.py"))
        .arg(file.path())
        .arg(version)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "validate.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The distinct messages of a validation, for a failure's text.
fn messages(report: &Value, severity: &str) -> Vec<String> {
    let mut seen: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == severity)
        .map(|r| format!("{}: {}", r["path"], r["message"]))
        .collect();
    seen.dedup();
    seen
}

/// The dataset's RDF as the portal's DCAT serialiser writes it (`dcat_dataset_show`).
fn portal_rdf(id: &str) -> String {
    let answer = api_post(
        "dcat_dataset_show",
        &serde_json::json!({"id": id, "format": "ttl"}),
    );
    // The action answers the serialisation as a JSON string.
    answer["result"]
        .as_str()
        .unwrap_or_else(|| panic!("dcat_dataset_show {id}: {answer}"))
        .to_owned()
}

#[test]
fn a_dataset_with_every_field_validates_against_dcat_ap_de() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new(
        "since = \"2026-01-01\"",
        "contributor_id = \"http://dcat-ap.de/def/contributors/schleswigHolstein\"",
    );
    setup.rewrite(
        "[publisher]\n",
        "[publisher]\npublic_url = \"https://sensoren.amt-foehr-amrum.de\"\n",
    );
    let hour = now_hour();
    setup.readings(hour - 30 * HOUR, hour - 2 * HOUR);
    setup.publish_ok();
    let package = setup.package();
    assert_eq!(
        package["url"],
        format!(
            "https://sensoren.amt-foehr-amrum.de/daten#{}",
            setup.dataset
        )
    );
    let rdf = portal_rdf(package["id"].as_str().unwrap());
    let report = shacl(&rdf, "v2.0");
    println!(
        "DCAT-AP.de 2.0: {} violations, {} warnings {:?}",
        report["violations"],
        report["warnings"],
        messages(&report, "Warning")
    );
    assert_eq!(
        report["violations"],
        0,
        "{:#?}",
        messages(&report, "Violation")
    );
    let v3 = shacl(&rdf, "v3.0");
    println!(
        "DCAT-AP.de 3.0: {} violations, {} warnings: {:#?}",
        v3["violations"],
        v3["warnings"],
        messages(&v3, "Violation")
    );
}

#[test]
fn the_schleswig_holstein_portal_renames_and_refuses_but_never_gets_a_duplicate() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let setup = Setup::new("", "profile = \"schleswig-holstein\"");
    setup.rewrite(
        "organization = \"amt-test-",
        "organization = \"sh-amt-test-",
    );
    setup.rewrite("spatial = \"010545488164\"", "spatial = \"010545488\"");
    // The Amt's own key is not on the portal's list: `config check` says so before anything
    // is sent, and names the district and a member municipality instead.
    let check = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["config", "check", setup.config.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stderr).into_owned()
        + &String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{said}");
    assert!(
        said.contains("`010545488` is not on the Schleswig-Holstein portal's list")
            && said.contains("use the district (01054) or a member, such as 0105454880"),
        "{said}"
    );
    setup.rewrite("spatial = \"010545488\"", "spatial = \"010545488164\"");
    let config = std::fs::read_to_string(&setup.config).unwrap();
    let org = config
        .lines()
        .find_map(|l| l.strip_prefix("organization = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let ours = || {
        let found = api(
            "package_search",
            &[
                ("fq", &format!("organization:{org}")),
                ("include_private", "true"),
            ],
        );
        found["result"]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    // No data yet: the portal still gets a temporal_start (the day publication starts), and a
    // group (created: the test token may).
    setup.publish_ok();
    let created = ours();
    assert_eq!(created.len(), 1, "{created:?}");
    let package = &created[0];
    let name = package["name"].as_str().unwrap();
    assert!(
        name.starts_with("wasserstaende-foehr-amrum") && name != setup.dataset,
        "the portal renamed it after its title: {name}"
    );
    assert!(!extra(package, "temporal_start").is_empty());
    assert!(!package["groups"].as_array().unwrap().is_empty());
    assert_eq!(
        extra(package, "spatial_uri"),
        "http://dcat-ap.de/def/politicalGeocoding/regionalKey/010545488164"
    );

    // Data comes: the same dataset is patched, found by the id the portal gave it.
    let hour = now_hour();
    setup.readings(hour - 30 * HOUR, hour - 2 * HOUR);
    let out = setup.publish_ok();
    assert!(out.contains("uploaded"), "{out}");
    let patched = ours();
    assert_eq!(patched.len(), 1, "never a duplicate: {patched:?}");
    // Dates as the portal stores them, so the next run sees nothing to change.
    let start = extra(&patched[0], "temporal_start");
    assert!(
        start.len() == 19 && !start.ends_with('Z'),
        "stored as {start}"
    );
    let out = setup.publish_ok();
    assert!(
        out.contains(": 0 uploaded"),
        "an unchanged dataset is left alone: {out}"
    );
    let again = ours();
    assert_eq!(
        again[0]["metadata_modified"],
        patched[0]["metadata_modified"]
    );

    // Somebody else's dataset with our identifier, in another organization: never ours.
    let identifier = extra(&patched[0], "identifier");
    let decoy_org = format!("decoy-{}", suffix());
    let made = api_post(
        "organization_create",
        &serde_json::json!({"name": decoy_org, "title": "Decoy"}),
    );
    assert_eq!(made["success"], true, "{made}");
    let decoy = api_post(
        "package_create",
        &serde_json::json!({
            "name": format!("{decoy_org}-data"), "title": "Decoy", "owner_org": decoy_org,
            "extras": [{"key": "identifier", "value": identifier}],
        }),
    );
    assert_eq!(decoy["success"], true, "{decoy}");
    // A store that lost the portal's id (a new installation) finds the dataset by its
    // identifier, not by the name the portal changed.
    let fresh = tempfile::tempdir().unwrap();
    let copy = fresh.path().join("sensorhub.toml");
    let db = setup.dir.path().join("sensorhub.db").display().to_string();
    let moved = fresh.path().join("sensorhub.db").display().to_string();
    std::fs::write(&copy, config.replace(&db, &moved)).unwrap();
    let store = Store::open(&StoreConfig {
        path: moved.clone(),
        ..StoreConfig::default()
    })
    .unwrap();
    drop(store);
    let (_, token) = ckan();
    let out = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["publish", "--config", copy.to_str().unwrap()])
        .env("CKAN_TEST_TOKEN", token)
        .env("SENSORHUB_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ours().len(), 1, "still one dataset");
    let untouched = api("package_show", &[("id", &format!("{decoy_org}-data"))]);
    assert_eq!(
        untouched["result"]["title"], "Decoy",
        "the decoy was left alone"
    );
    assert_eq!(
        untouched["result"]["metadata_modified"],
        decoy["result"]["metadata_modified"]
    );

    // The licence without attribution: the configured attribution is not sent (the portal
    // refuses it), and the portal takes the change.
    setup.rewrite(
        "[[datasets]]\n",
        "[[datasets]]\nlicence = \"dl-zero-de/2.0\"\n",
    );
    setup.publish_ok();
    let zero = ours();
    assert_eq!(zero.len(), 1);
    assert_eq!(
        zero[0]["license_id"],
        "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"
    );
    assert!(
        !zero[0]["extras"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == "licenseAttributionByText"),
        "{}",
        zero[0]["extras"]
    );

    // What the portal serialises validates: its contributor id is the profile's default.
    let rdf = portal_rdf(zero[0]["id"].as_str().unwrap());
    let report = shacl(&rdf, "v2.0");
    assert_eq!(
        report["violations"],
        0,
        "{:#?}",
        messages(&report, "Violation")
    );
}

/// Our own catalog: the folder target's dataset, served by `sensorhub serve` as DCAT-AP.de in
/// Turtle (validated like the portal's), RDF/XML and JSON-LD; the data page lists the dataset
/// with its files, and the files download; nothing else under `/opendata/` does.
#[test]
fn our_own_catalog_validates_and_the_data_page_offers_every_file() {
    let setup = Setup::new(
        "since = \"2026-01-01\"",
        "contributor_id = \"http://dcat-ap.de/def/contributors/schleswigHolstein\"",
    );
    setup.rewrite("target = \"ckan\"", "target = \"folder\"");
    setup.rewrite(
        "[publisher]\n",
        "[publisher]\npublic_url = \"https://sensoren.amt-foehr-amrum.de\"\n",
    );
    let port = common::free_port();
    let text = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(
        &setup.config,
        format!("{text}\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let hour = now_hour();
    setup.readings(hour - 30 * HOUR, hour - 2 * HOUR);
    setup.publish_ok();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["serve", "--config", setup.config.to_str().unwrap()])
        .env("SENSORHUB_LOG", "warn")
        .spawn()
        .unwrap();
    let get = |path: &str| common::http_get(port, path, "");
    let ttl = common::wait_for("the catalog", Duration::from_secs(20), || {
        get("/catalog.ttl").filter(|r| r.status == 200)
    });
    assert!(ttl
        .headers
        .to_lowercase()
        .contains("content-type: text/turtle"));
    let report = shacl(&ttl.body, "v2.0");
    println!(
        "our catalog, DCAT-AP.de 2.0: {} violations, {} warnings {:?}",
        report["violations"],
        report["warnings"],
        messages(&report, "Warning")
    );
    let v3 = shacl(&get("/catalog.ttl?dcatap=3.0").unwrap().body, "v3.0");
    println!(
        "our catalog (?dcatap=3.0), DCAT-AP.de 3.0: {} violations, {} warnings: {:#?}",
        v3["violations"],
        v3["warnings"],
        messages(&v3, "Violation")
    );
    let rdf = get("/catalog.rdf").unwrap();
    let jsonld = get("/catalog.jsonld").unwrap();
    let page = get("/daten").unwrap();
    let file = format!("/opendata/{0}/{0}-latest.csv", setup.dataset);
    let csv = get(&file).unwrap();
    let refused = [
        format!("/opendata/{}/dataset.json", setup.dataset),
        format!("/opendata/{}/..%2Fsensorhub.toml", setup.dataset),
        "/opendata/..%2F..%2Fetc/passwd".to_owned(),
    ]
    .map(|p| get(&p).map_or(0, |r| r.status));
    serve.kill().ok();
    serve.wait().ok();

    assert_eq!(
        report["violations"],
        0,
        "{:#?}",
        messages(&report, "Violation")
    );
    assert_eq!(v3["violations"], 0, "{:#?}", messages(&v3, "Violation"));
    assert!(ttl.body.contains(&format!(
        "<https://sensoren.amt-foehr-amrum.de/opendata/{0}/{0}-latest.csv>",
        setup.dataset
    )));
    assert_eq!(rdf.status, 200);
    assert!(rdf.body.contains("rdf:RDF") && rdf.body.contains("Catalog"));
    let graph: Value = serde_json::from_str(&jsonld.body).unwrap();
    assert!(graph
        .to_string()
        .contains("http://www.w3.org/ns/dcat#Dataset"));
    // The data page: the dataset, its licence and rhythm, each file with its size.
    assert_eq!(page.status, 200);
    for shown in [
        "Wasserstände Föhr-Amrum",
        "Datenlizenz Deutschland – Namensnennung – Version 2.0",
        "stündlich",
        &format!("href=\"{file}\""),
        " kB)",
    ] {
        assert!(page.body.contains(shown), "{shown} missing on /daten");
    }
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("time,station,quantity,unit,mean"));
    assert_eq!(refused, [404, 404, 404], "only a dataset's own files");

    // The same dataset as a DatasetSeries: a series and one dataset a year in it.
    setup.rewrite("[[datasets]]\n", "[[datasets]]\nseries = true\n");
    setup.publish_ok();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args(["serve", "--config", setup.config.to_str().unwrap()])
        .env("SENSORHUB_LOG", "warn")
        .spawn()
        .unwrap();
    let series = common::wait_for("the series catalog", Duration::from_secs(20), || {
        get("/catalog.ttl").filter(|r| r.status == 200)
    });
    let id = format!(
        "<https://sensoren.amt-foehr-amrum.de/datasets/{}>",
        setup.dataset
    );
    assert!(
        series.body.contains(&format!("{id} a dcat:DatasetSeries"))
            && series.body.contains(&format!("dcat:inSeries {id}")),
        "{}",
        series.body
    );
    let v2 = shacl(&series.body, "v2.0");
    let series_v3 = get("/catalog.ttl?dcatap=3.0").unwrap();
    let v3 = shacl(&series_v3.body, "v3.0");
    println!(
        "our catalog as a series: DCAT-AP.de 2.0 {} violations, 3.0 {} violations: {:#?}",
        v2["violations"],
        v3["violations"],
        messages(&v3, "Violation")
    );
    serve.kill().ok();
    serve.wait().ok();
    assert_eq!(v2["violations"], 0, "{:#?}", messages(&v2, "Violation"));
    assert_eq!(v3["violations"], 0, "{:#?}", messages(&v3, "Violation"));
}
