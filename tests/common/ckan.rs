//! A real CKAN for the publisher's tests (tests/ckan/up.sh: CKAN from PyPI with ckanext-dcat and
//! our portal fixture, PostgreSQL and Redis from Debian), a sensorhub setup that publishes to
//! it, and the DCAT-AP.de validation of RDF with pyshacl (tests/dcat/validate.py).
//!
//! The tests share one CKAN and one of them stops it, so they take turns (`TURN`).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};
use serde_json::Value;

pub static TURN: Mutex<()> = Mutex::new(());
pub const HOUR: i64 = 3_600_000;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Brings CKAN up (idempotent, a warm start takes seconds) and returns its URL and token.
pub fn ckan() -> (String, String) {
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

pub fn ckan_up() {
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
pub fn api(action: &str, params: &[(&str, &str)]) -> Value {
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
pub fn api_post(action: &str, body: &Value) -> Value {
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

pub fn download(url: &str) -> String {
    let (_, token) = ckan();
    let out = Command::new("curl")
        .args(["-sf", "-H", &format!("Authorization: {token}"), url])
        .output()
        .unwrap();
    assert!(out.status.success(), "download {url}");
    String::from_utf8(out.stdout).unwrap()
}

pub fn suffix() -> String {
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
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub store: Store,
    pub dataset: String,
    pub runtime: tokio::runtime::Runtime,
}

impl Setup {
    pub fn new(extra_dataset_keys: &str, ckan_keys: &str) -> Setup {
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
    pub fn readings(&self, from: i64, until: i64) {
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

    pub fn publish(&self, extra: &[&str]) -> Output {
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

    pub fn publish_ok(&self) -> String {
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
    pub fn rewrite(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "{from} not in the config");
        std::fs::write(&self.config, text.replacen(from, to, 1)).unwrap();
    }

    pub fn package(&self) -> Value {
        let answer = api("package_show", &[("id", &self.dataset)]);
        assert_eq!(answer["success"], true, "{answer}");
        answer["result"].clone()
    }
}

pub fn now_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now / HOUR * HOUR
}

pub fn extra(package: &Value, key: &str) -> String {
    package["extras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .map(|e| e["value"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no extra {key} in {package}"))
}

pub fn resources(package: &Value) -> Vec<(String, Value)> {
    package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

pub fn datastore_total(package: &Value, dataset: &str) -> u64 {
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

/// The DCAT-AP.de validation of `rdf` (Turtle): GovData's SHACL shapes of `version` with pyshacl
/// (tests/dcat/validate.py, scripts/test installs pyshacl into tests/.venv).
pub fn shacl(rdf: &str, version: &str) -> Value {
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
pub fn messages(report: &Value, severity: &str) -> Vec<String> {
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
pub fn portal_rdf(id: &str) -> String {
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
