//! Open data as portals and GovData want it: a dataset with every field published to a real
//! CKAN with ckanext-dcat, its RDF validated with pyshacl against GovData's DCAT-AP.de shapes;
//! the Schleswig-Holstein portal's rules (tests/ckan/portal/); and our own catalog.

mod common;

use std::process::Command;
use std::time::Duration;

use common::ckan::*;
use sensorhub_store::{Store, StoreConfig};
use serde_json::Value;

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
