//! The README's first promise: `sensorhub demo` runs the whole system on embedded defaults
//! (embedded broker, simulated nodes sending raw LoRaWAN frames, gateway, store, dashboard,
//! publisher), the technician account it prints works, Ctrl-C stops it cleanly, and a second
//! run on the same data folder goes on without replayed frame counters; and the demo as
//! residents see it in a real browser (tests/browser/demo.mjs).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{free_port, http_get, post_form, wait_for};
use serde_json::Value;

struct Demo {
    child: Child,
    port: u16,
    password: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &std::path::Path) -> Demo {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sensorhub"))
        .args([
            "demo",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            data.to_str().unwrap(),
            "--interval",
            "2s",
            "--heartbeat",
            "2s",
        ])
        .env("SENSORHUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sensorhub demo");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut password = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("password ").nth(1) {
            password = rest.split(',').next().map(str::to_owned);
        }
        if line.starts_with("Ctrl-C stops") {
            break;
        }
    }
    wait_for("the demo to be ready", Duration::from_secs(30), || {
        http_get(port, "/readyz", "").filter(|r| r.status == 200)
    });
    Demo {
        child,
        port,
        password: password.expect("the demo prints a technician password"),
    }
}

fn stations(port: u16) -> Option<Vec<Value>> {
    let r = http_get(port, "/api/v1/stations", "")?;
    let list: Vec<Value> = serde_json::from_str(&r.body).ok()?;
    Some(list)
}

/// The dead-letter counters by reason that are not zero, as `/metrics` prints them.
fn dead_letters(port: u16) -> Vec<String> {
    let body = http_get(port, "/metrics", "").unwrap().body;
    body.lines()
        .filter(|l| l.starts_with("sensorhub_dead_letters_total") && !l.ends_with(" 0"))
        .map(str::to_owned)
        .collect()
}

fn metric(port: u16, name: &str) -> f64 {
    let body = http_get(port, "/metrics", "").unwrap().body;
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn demo_runs_everything_stops_on_ctrl_c_and_resumes_without_replays() {
    let data = tempfile::tempdir().unwrap();
    let mut demo = start(data.path());
    let port = demo.port;

    // Every simulated node's station appears with current values.
    let list = wait_for("ten stations with values", Duration::from_secs(60), || {
        stations(port).filter(|l| {
            l.len() == 10
                && l.iter()
                    .all(|s| !s["latest"].as_array().unwrap().is_empty())
        })
    });
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains("dev_eui") && !text.contains("rssi"),
        "{text}"
    );
    assert_eq!(http_get(port, "/", "").unwrap().status, 200);

    // The stations are named places; the gauges publish their water level above the datum,
    // never the distance it comes from; no device health reaches a public answer or page.
    let gauge = list.iter().find(|s| s["id"] == "pegel-03").unwrap();
    assert_eq!(
        (gauge["name"].as_str(), gauge["datum"].as_str()),
        (Some("Pegel Wyk"), Some("NHN"))
    );
    let quantities: Vec<&str> = list
        .iter()
        .flat_map(|s| s["latest"].as_array().unwrap())
        .filter_map(|v| v["quantity"].as_str())
        .collect();
    // Every theme of the demo: weather, water, air, soil, the car park, the beach entrance.
    for shown in [
        "air_temperature",
        "water_level",
        "co2",
        "soil_moisture",
        "parking_occupancy",
        "visitor_count",
    ] {
        assert!(quantities.contains(&shown), "{shown}: {quantities:?}");
    }
    for hidden in ["battery_voltage", "voltage", "battery", "distance"] {
        assert!(
            !quantities.contains(&hidden),
            "{hidden} is public: {quantities:?}"
        );
    }
    for path in [
        "/",
        "/stations/pegel-03",
        "/stations/wetter-01?lang=en",
        "/embed/map",
    ] {
        let page = http_get(port, path, "").unwrap().body;
        assert!(
            !page.contains("Spannung") && !page.contains("Batterie") && !page.contains("Voltage"),
            "{path} shows device health"
        );
    }
    // A week of history from the start: the 24-hour chart of a gauge has a point every
    // 15 minutes.
    let points = wait_for("a day of gauge history", Duration::from_secs(60), || {
        let r = http_get(
            port,
            "/api/v1/stations/pegel-03/history?quantity=water_level&resolution=15m",
            "",
        )?;
        let h: Value = serde_json::from_str(&r.body).ok()?;
        let n = h["points"].as_array()?.len();
        (n >= 96).then_some(n)
    });
    assert!(points >= 96, "{points}");
    let station = http_get(port, "/stations/pegel-03", "").unwrap().body;
    assert!(station.contains("<h1>Pegel Wyk</h1>") && station.contains("cm über NHN"));

    // The publisher wrote the open data folder.
    let folder = data.path().join("opendata");
    wait_for("the open data folder", Duration::from_secs(30), || {
        (folder
            .join("sensorhub-demo-messwerte/dataset.json")
            .exists()
            && folder.join("stations.geojson").exists())
        .then_some(())
    });

    // The printed technician account opens the workbench.
    let (status, head) = post_form(
        port,
        "/admin/login",
        "Cookie: sh_login_csrf=t\r\n",
        &format!("user=technik&password={}&csrf=t", demo.password),
    );
    assert_eq!(status, 303, "{head}");
    let session = common::session_cookie(&head);
    let bench = http_get(port, "/admin", &format!("Cookie: sh_session={session}\r\n")).unwrap();
    assert_eq!(bench.status, 200);
    assert!(bench.body.contains("device-health"));
    // The virtual gateways that heard the nodes' raw frames are listed with their uplinks.
    let gateways = http_get(
        port,
        "/admin/gateways",
        &format!("Cookie: sh_session={session}\r\n"),
    )
    .unwrap();
    assert_eq!(gateways.status, 200);
    for id in ["7276ff0039030a01", "7276ff0039030a02", "7276ff0039030a03"] {
        assert!(
            gateways.body.contains(id),
            "{id} missing:\n{}",
            gateways.body
        );
    }
    // Each said it is connected (`state/conn`).
    assert_eq!(
        gateways.body.matches("verbunden").count(),
        3,
        "{}",
        gateways.body
    );

    // Frames went the whole raw path without a single rejection.
    assert!(metric(port, "sensorhub_readings_stored_total") > 0.0);
    assert_eq!(dead_letters(port), Vec::<String>::new());

    // Ctrl-C (SIGINT) stops it cleanly.
    let interrupt = Command::new("kill")
        .args(["-INT", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    let exit = wait_for("the demo to stop", Duration::from_secs(20), || {
        demo.child.try_wait().unwrap()
    });
    assert!(exit.success(), "{exit:?}");
    drop(demo);

    // A second run on the same folder: the nodes resume their frame counters, so nothing is
    // refused as a replay, and new values keep arriving.
    let demo = start(data.path());
    let port = demo.port;
    let before = metric(port, "sensorhub_readings_stored_total");
    wait_for(
        "new readings after the restart",
        Duration::from_secs(60),
        || (metric(port, "sensorhub_readings_stored_total") > before + 6.0).then_some(()),
    );
    assert_eq!(dead_letters(port), Vec::<String>::new());
}

/// Waits until the demo's gauge has a day of 15-minute history (its backfill is done).
fn wait_for_a_day_of_history(port: u16) {
    wait_for("a day of gauge history", Duration::from_secs(60), || {
        let r = http_get(
            port,
            "/api/v1/stations/pegel-03/history?quantity=water_level&resolution=15m",
            "",
        )?;
        let h: Value = serde_json::from_str(&r.body).ok()?;
        (h["points"].as_array()?.len() >= 96).then_some(())
    });
}

/// The demo's pages in Debian's chromium a minute after the start: charts, gauge, map, embeds,
/// axe and 320 px in both languages (tests/browser/demo.mjs says what it checks).
#[test]
fn demo_pages_in_a_real_browser() {
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: ./scripts/test installs it (npm ci)"
    );
    let data = tempfile::tempdir().unwrap();
    let demo = start(data.path());
    let port = demo.port;
    wait_for_a_day_of_history(port);
    let output = Command::new("node")
        .arg(browser.join("demo.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&demo.password)
        .current_dir(&browser)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks of the demo failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}

/// The demo through a real SensorThings client: `frost-sta-client` (PyPI) lists its Things,
/// Datastreams and Observations (tests/sta/check.py says what it checks).
#[test]
fn the_demo_through_a_sensorthings_client() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = repo.join("tests/.venv/bin/python");
    assert!(
        python.exists(),
        "tests/.venv is missing: ./scripts/test installs it"
    );
    let data = tempfile::tempdir().unwrap();
    let demo = start(data.path());
    let port = demo.port;
    wait_for_a_day_of_history(port);
    let output = Command::new(python)
        .arg(repo.join("tests/sta/check.py"))
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "SensorThings checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}
