//! The publisher against a real CKAN (tests/common/ckan.rs) and the published files against an
//! outside Table Schema validator (`frictionless` from PyPI, installed by scripts/test).
//!
//! The tests share one CKAN and one of them stops it, so they take turns.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::ckan::*;
use serde_json::Value;

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
    let text = String::from_utf8(file.content.bytes().unwrap().to_vec()).unwrap();
    let mut lines = text.lines();
    let mut tampered = format!("{},dev_eui\n", lines.next().unwrap());
    for line in lines {
        tampered.push_str(&format!("{line},70b3d57ed0000001\n"));
    }
    file.content = sensorhub_publisher::export::Content::Memory(tampered.into_bytes());
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
    geo.content = sensorhub_publisher::export::Content::Memory(
        String::from_utf8(geo.content.bytes().unwrap().to_vec())
            .unwrap()
            .replace("54.691", "54.6912345")
            .into_bytes(),
    );
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
