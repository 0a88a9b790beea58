//! What a hostile sender or an unlucky operator does, through the public interface against a
//! real Mosquitto: each test is one way the gateway once stopped, stalled or leaked, and shows
//! that ingestion now goes on, exactly once, with the right values, and that the reason is kept.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{http_get, lpp_uplink, publish_all, wait_for, Mosquitto, Sensorhub, ADMIN_TOKEN};
use serde_json::Value;

const DEV: &str = "0101010101010101";
const OTHER: &str = "0202020202020202";

fn topic(dev_eui: &str) -> String {
    format!("application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{dev_eui}/event/up")
}

fn hour_ago() -> i64 {
    sensorhub_store::time::now_ms() - 3_600_000
}

fn dead_letters(hub: &Sensorhub) -> Vec<Value> {
    hub.ok(&["dead-letters", "--format", "json", "--limit", "100000"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn reasons(hub: &Sensorhub) -> Vec<String> {
    dead_letters(hub)
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_owned())
        .collect()
}

fn ready(hub: &Sensorhub) -> u16 {
    http_get(hub.http_port, "/readyz", "").unwrap().status
}

/// A ChirpStack uplink whose network server decoded `object` (device type `network-server`).
fn decoded_uplink(dev_eui: &str, object: Value, time_ms: i64) -> (String, Vec<u8>) {
    let (topic, body) = lpp_uplink(dev_eui, 20.0, 50.0, time_ms);
    let mut event: Value = serde_json::from_slice(&body).unwrap();
    event["object"] = object;
    (topic, serde_json::to_vec(&event).unwrap())
}

fn add_device(hub: &Sensorhub, dev_eui: &str, station: &str, device_type: &str) {
    hub.register_as(dev_eui, station, device_type, true);
}

#[test]
fn oversized_messages_are_dead_lettered_and_ingestion_goes_on() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-large");
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let t0 = hour_ago();
    let mut messages = vec![
        (topic(DEV), vec![b'x'; 1_200_000]),
        (topic(DEV), vec![b'{'; 20 << 20]),
    ];
    messages.extend(
        (0..20).map(|i| lpp_uplink(DEV, 10.0 + f64::from(i), 50.0, t0 + i64::from(i) * 1000)),
    );
    publish_all(&broker.url(), &messages);

    let readings = wait_for("the 20 good uplinks", Duration::from_secs(30), || {
        Some(hub.readings(DEV)).filter(|r| r.len() >= 40)
    });
    assert_eq!(readings.len(), 40, "20 uplinks of 2 readings, exactly once");
    let letters = dead_letters(&hub);
    let mut sizes: Vec<u64> = letters
        .iter()
        .filter(|d| d["reason"] == "too_large")
        .map(|d| d["size"].as_u64().unwrap())
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![1_200_000, 20 << 20]);
    let kept = base64::engine::general_purpose::STANDARD
        .decode(letters[0]["payload_base64"].as_str().unwrap())
        .unwrap();
    assert!(kept.len() <= 64 << 10, "only the first bytes are kept");
    assert_eq!(ready(&hub), 200);

    // Nothing is left at the broker to be redelivered after a restart.
    hub.kill();
    hub.start();
    publish_all(&broker.url(), &[lpp_uplink(DEV, 30.0, 60.0, t0 + 60_000)]);
    wait_for(
        "the uplink after the restart",
        Duration::from_secs(20),
        || Some(hub.readings(DEV)).filter(|r| r.len() == 42),
    );
    assert_eq!(reasons(&hub).len(), 2);
}

#[test]
fn values_beyond_physics_are_set_aside_and_nothing_stalls() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-extreme");
    add_device(&hub, OTHER, "wetter-02", "network-server");
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let t0 = hour_ago() / 3_600_000 * 3_600_000;
    let mut messages: Vec<_> = [1.7e308, 1.7e308, -1.7e308, -1.7e308]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let object = serde_json::json!({"temperature": v, "humidity": 40 + i});
            decoded_uplink(OTHER, object, t0 + i as i64 * 60_000)
        })
        .collect();
    messages.extend((0..5).map(|i| lpp_uplink(DEV, 12.5, 80.0, t0 + i * 60_000)));
    publish_all(&broker.url(), &messages);

    wait_for(
        "the other device's uplinks",
        Duration::from_secs(20),
        || Some(hub.readings(DEV)).filter(|r| r.len() == 10),
    );
    let extreme = wait_for("the plausible readings", Duration::from_secs(20), || {
        Some(hub.readings(OTHER)).filter(|r| r.len() == 4)
    });
    assert!(
        extreme.iter().all(|r| r["quantity"] == "relative_humidity"),
        "only the humidity of those uplinks is stored: {extreme:?}"
    );
    let letters: Vec<Value> = dead_letters(&hub)
        .into_iter()
        .filter(|d| d["reason"] == "implausible_value")
        .collect();
    assert_eq!(letters.len(), 4);
    assert!(letters
        .iter()
        .all(|d| d["detail"].as_str().unwrap().contains("air_temperature = ")));
    assert_eq!(ready(&hub), 200);
    let since = sensorhub_store::time::format_rfc3339(t0 - 3_600_000);
    let hourly = http_get(
        hub.http_port,
        &format!("/api/v1/stations/wetter-01/history?quantity=air_temperature&resolution=1h&since={since}"),
        "",
    )
    .unwrap();
    assert_eq!(hourly.status, 200, "{}", hourly.body);
    assert!(hourly.body.contains("12.5"), "{}", hourly.body);
}

#[test]
fn an_uplink_from_the_future_never_becomes_current() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-future");
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let future = sensorhub_store::time::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
    let now = sensorhub_store::time::now_ms();
    publish_all(
        &broker.url(),
        &[
            lpp_uplink(DEV, 55.0, 99.0, future),
            lpp_uplink(DEV, 7.5, 85.0, now - 60_000),
        ],
    );
    wait_for("the current uplink", Duration::from_secs(20), || {
        Some(hub.readings(DEV)).filter(|r| r.len() == 2)
    });
    assert_eq!(reasons(&hub), vec!["time_in_future"]);
    let latest = http_get(hub.http_port, "/api/v1/latest", "").unwrap().body;
    assert!(!latest.contains("9999"), "{latest}");
    assert!(latest.contains("7.5"), "{latest}");
}

#[test]
fn a_looping_codec_delays_no_other_device_and_no_request() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-loop");
    let codec = hub.dir.path().join("loop.js");
    std::fs::write(&codec, "function decodeUplink(input) { for (;;) {} }\n").unwrap();
    add_device(&hub, OTHER, "loop-01", &format!("js:{}", codec.display()));
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let t0 = hour_ago();
    let mut messages: Vec<_> = (0..30)
        .map(|i| lpp_uplink(OTHER, 1.0, 1.0, t0 + i * 1000))
        .collect();
    messages.push(lpp_uplink(DEV, 9.5, 70.0, t0));

    let port = hub.http_port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let answer = http_get(port, "/api/v1/latest", "").unwrap();
                assert_eq!(answer.status, 200);
                slowest = slowest.max(started.elapsed());
                // 10 a second: within http.rate_limit_per_s (20), so only latency counts.
                std::thread::sleep(Duration::from_millis(100));
            }
            slowest
        })
    };
    let started = Instant::now();
    publish_all(&broker.url(), &messages);
    wait_for(
        "the other device's reading",
        Duration::from_secs(20),
        || Some(hub.readings(DEV)).filter(|r| r.len() == 2),
    );
    let stored_after = started.elapsed();
    wait_for(
        "every looping uplink dead-lettered",
        Duration::from_secs(20),
        || Some(reasons(&hub)).filter(|r| r.len() == 30),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let slowest = prober.join().unwrap();
    assert!(
        stored_after < Duration::from_secs(2),
        "stored after {stored_after:?}"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "an API request took {slowest:?}"
    );
    let r = reasons(&hub);
    assert_eq!(r.iter().filter(|r| *r == "codec_error").count(), 5);
    assert_eq!(r.iter().filter(|r| *r == "codec_paused").count(), 25);
}

/// Peak resident memory of a process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_flood_of_large_messages_keeps_memory_and_dead_letters_bounded() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-flood");
    let mut config = std::fs::read_to_string(&hub.config).unwrap();
    config = config.replace(
        "[store]\n",
        "[store]\ndead_letters_max = 200\ndead_letter_payload_bytes = 1024\n",
    );
    config = config.replace(
        "format = \"chirpstack\"\n",
        "format = \"chirpstack\"\nqos = 0\n",
    );
    std::fs::write(&hub.config, config).unwrap();
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let pid = hub.pids()[0];
    let megabyte = vec![b'x'; 1 << 20];
    for _ in 0..3 {
        let flood: Vec<_> = (0..500).map(|_| (topic(DEV), megabyte.clone())).collect();
        publish_all(&broker.url(), &flood);
    }
    publish_all(&broker.url(), &[lpp_uplink(DEV, 4.5, 90.0, hour_ago())]);
    wait_for(
        "the uplink after the flood",
        Duration::from_secs(120),
        || Some(hub.readings(DEV)).filter(|r| r.len() == 2),
    );
    let letters = dead_letters(&hub);
    assert_eq!(letters.len(), 200, "at most store.dead_letters_max");
    assert!(letters.iter().all(|d| d["size"] == 1 << 20));
    let metrics = http_get(hub.http_port, "/metrics", "").unwrap().body;
    let too_large = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sensorhub_dead_letters_total{reason=\"too_large\"} "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    // QoS 0 lets the broker drop what a slow subscriber cannot take; most must have arrived.
    assert!(
        too_large >= 1_000,
        "only {too_large} of the 1,500 arrived:\n{metrics}"
    );
    let peak_mb = peak_rss_kb(pid) / 1024;
    eprintln!("{too_large} messages of 1 MiB arrived; peak resident memory {peak_mb} MiB");
    assert!(peak_mb < 300, "peak resident memory {peak_mb} MiB");
}

#[test]
fn hostile_station_ids_are_refused_and_every_answer_carries_security_headers() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-web");
    let xss = "<img src=x onerror=alert(1)>";
    let out = hub.cli(&[
        "devices",
        "add",
        "--dev-eui",
        DEV,
        "--name",
        "x",
        "--station",
        xss,
        "--device-type",
        "cayenne-lpp",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("station"));
    let csv = hub.dir.path().join("devices.csv");
    std::fs::write(
        &csv,
        format!("dev_eui,name,station,device_type,lat,lon,public,dev_addr,nwk_s_key,app_s_key\n{DEV},x,\"{xss}\",cayenne-lpp,54.6,8.5,true,,,\n"),
    )
    .unwrap();
    assert!(!hub
        .cli(&["devices", "import", csv.to_str().unwrap()])
        .status
        .success());
    assert!(
        hub.ok(&["devices", "list", "--format", "json"]).trim() == "[]"
            || !hub
                .ok(&["devices", "list", "--format", "json"])
                .contains("img")
    );

    hub.register(DEV, "wetter-01", true);
    hub.start();
    for path in [
        "/",
        "/stations/wetter-01",
        "/api/v1/stations",
        "/healthz",
        "/nope",
    ] {
        let answer = http_get(hub.http_port, path, "").unwrap();
        let head = answer.headers.to_ascii_lowercase();
        for header in [
            "content-security-policy: default-src 'self'; script-src 'self'",
            "frame-ancestors 'self'",
            "x-content-type-options: nosniff",
            "referrer-policy: strict-origin-when-cross-origin",
        ] {
            assert!(head.contains(header), "{path}: no `{header}` in\n{head}");
        }
    }
}

#[test]
fn a_codec_path_never_shows_the_file_it_points_at() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-codec-path");
    let token = hub.dir.path().join("token");
    std::fs::write(&token, "s3cr3t-t0ken-4711\n").unwrap();
    let refused = hub.cli(&[
        "devices",
        "add",
        "--dev-eui",
        DEV,
        "--name",
        "x",
        "--station",
        "x",
        "--device-type",
        &format!("js:{}", token.display()),
    ]);
    assert!(!refused.status.success(), "a js: path must end in .js");
    // Even a .js file that is no codec (a secret with that name) is never quoted.
    let disguised = hub.dir.path().join("token.js");
    std::fs::write(&disguised, "s3cr3t-t0ken-4711\n").unwrap();
    add_device(&hub, DEV, "x", &format!("js:{}", disguised.display()));
    hub.start();
    publish_all(&broker.url(), &[lpp_uplink(DEV, 1.0, 1.0, hour_ago())]);
    let letters = wait_for("the dead letter", Duration::from_secs(20), || {
        Some(dead_letters(&hub)).filter(|d| !d.is_empty())
    });
    assert_eq!(letters[0]["reason"], "codec_error");
    let detail = letters[0]["detail"].as_str().unwrap();
    assert!(!detail.contains("s3cr3t"), "{detail}");
    assert!(detail.contains("loading the codec"), "{detail}");
}

#[test]
fn wrong_admin_tokens_are_limited_like_logins() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-token");
    hub.start();
    let wrong = "Authorization: Bearer guess\r\n";
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            http_get(hub.http_port, "/admin/api/v1/dead-letters", wrong)
                .unwrap()
                .status
        })
        .collect();
    // http.login_attempts_burst is 10: ten refusals, then 429 without a look at the token.
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    let right = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
    let refused = http_get(hub.http_port, "/admin/api/v1/dead-letters", &right).unwrap();
    assert_eq!(refused.status, 429);
    assert!(refused.headers.to_ascii_lowercase().contains("retry-after"));
}

#[test]
fn a_count_of_people_below_k_never_appears_on_a_public_surface() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-people");
    let mut config = std::fs::read_to_string(&hub.config).unwrap();
    config.push_str(
        r#"
[[datasets]]
name = "besucher-strand"
title = "Besucher am Strand"
description = "Besucherzahlen am Strand von Wyk."
quantities = ["visitor_count"]
stations = ["*"]
interval = "1h"
functions = ["mean", "count"]
target = "folder"
licence = "dl-zero-de/2.0"
themes = ["SOCI"]
keywords = ["Besucher"]
spatial = "010545417000"
publisher = "Amt Föhr-Amrum"
contact_name = "Tourismus"
contact_email = "tourismus@example.org"
frequency = "HOURLY"
schedule = "1h"
[datasets.privacy]
k = 5
"#,
    );
    std::fs::write(&hub.config, config).unwrap();
    add_device(&hub, OTHER, "strand-wyk", "network-server");
    hub.start();
    let now = sensorhub_store::time::now_ms();
    let hour = now / 3_600_000 * 3_600_000;
    // Last hour: 3 people, minute by minute; this hour: 3 and 12; the battery is the device's.
    let mut messages: Vec<_> = (0..10)
        .map(|i| {
            let object = serde_json::json!({"visitor_count": 3, "battery_voltage": 3.6});
            decoded_uplink(OTHER, object, hour - 3_600_000 + i * 60_000)
        })
        .collect();
    messages.push(decoded_uplink(
        OTHER,
        serde_json::json!({"visitor_count": 3}),
        now - 5_000,
    ));
    publish_all(&broker.url(), &messages);
    wait_for("the counts", Duration::from_secs(20), || {
        Some(hub.readings(OTHER)).filter(|r| r.len() == 21)
    });
    for path in [
        "/api/v1/latest",
        "/api/v1/stations",
        "/api/v1/stations/strand-wyk",
        "/api/v1/stations.geojson",
        "/",
        "/stations/strand-wyk",
    ] {
        let answer = http_get(hub.http_port, path, "").unwrap();
        assert_eq!(answer.status, 200, "{path}");
        for hidden in ["visitor_count", "Besucherzahl", "battery", "Batterie"] {
            assert!(
                !answer.body.contains(hidden),
                "{path}: `{hidden}` in {}",
                answer.body
            );
        }
    }
    let latest: Value = serde_json::from_str(
        &http_get(hub.http_port, "/api/v1/stations/strand-wyk", "")
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(latest["latest"].as_array().unwrap().is_empty(), "{latest}");
    let since = sensorhub_store::time::format_rfc3339(hour - 3 * 3_600_000);
    let raw = http_get(
        hub.http_port,
        &format!("/api/v1/stations/strand-wyk/history?quantity=visitor_count&resolution=raw&since={since}"),
        "",
    )
    .unwrap();
    let raw: Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(
        raw["resolution"], "1h",
        "no finer than the dataset's interval: {raw}"
    );
    assert!(
        raw["points"].as_array().unwrap().is_empty(),
        "3 < k = 5 is suppressed: {raw}"
    );
    let csv = http_get(
        hub.http_port,
        "/stations/strand-wyk/data.csv?quantity=visitor_count&range=24h",
        "",
    )
    .unwrap();
    assert!(csv.body.lines().count() <= 1, "{}", csv.body);

    // 12 people an hour earlier are shown, as the hour, not minute by minute.
    let messages: Vec<_> = (0..10)
        .map(|i| {
            let object = serde_json::json!({"visitor_count": 12});
            decoded_uplink(OTHER, object, hour - 7_200_000 + i * 60_000)
        })
        .collect();
    publish_all(&broker.url(), &messages);
    wait_for("the larger counts", Duration::from_secs(20), || {
        Some(hub.readings(OTHER)).filter(|r| r.len() == 31)
    });
    let raw = http_get(
        hub.http_port,
        &format!("/api/v1/stations/strand-wyk/history?quantity=visitor_count&resolution=raw&since={since}"),
        "",
    )
    .unwrap();
    let raw: Value = serde_json::from_str(&raw.body).unwrap();
    let points = raw["points"].as_array().unwrap();
    assert_eq!(
        points.len(),
        1,
        "only the hour of 12, not the hour with 3: {raw}"
    );
    assert_eq!(
        (points[0]["mean"].as_f64(), points[0]["count"].as_u64()),
        (Some(12.0), Some(10))
    );
}

fn chattr(flag: &str, path: &std::path::Path) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("chattr (e2fsprogs) is installed");
    assert!(status.success(), "chattr {flag} {}", path.display());
}

/// A store that cannot be written (here: its write-ahead log made immutable, as a full or
/// read-only disk would) makes `/readyz` say so while commits fail; nothing is lost, and once
/// the store can be written again the uplink is stored exactly once. Starting on a store file
/// that cannot be written fails at once, naming the file.
#[test]
fn a_store_that_cannot_be_written_is_not_ready_and_loses_nothing() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "hostile-readonly");
    hub.register(DEV, "wetter-01", true);
    hub.start();
    let db = hub.dir.path().join("data/sensorhub.db");
    let wal = hub.dir.path().join("data/sensorhub.db-wal");
    assert!(wal.exists());
    chattr("+i", &wal);
    publish_all(&broker.url(), &[lpp_uplink(DEV, 6.5, 75.0, hour_ago())]);
    let answer = wait_for(
        "/readyz to report failing commits",
        Duration::from_secs(20),
        || http_get(hub.http_port, "/readyz", "").filter(|r| r.status == 503),
    );
    chattr("-i", &wal);
    assert!(
        answer.body.contains("commits are failing"),
        "{}",
        answer.body
    );
    wait_for(
        "the uplink after the store recovered",
        Duration::from_secs(30),
        || Some(hub.readings(DEV)).filter(|r| r.len() == 2),
    );
    wait_for("ready again", Duration::from_secs(10), || {
        (ready(&hub) == 200).then_some(())
    });
    hub.kill();

    chattr("+i", &db);
    let run = hub
        .command(&["run", "--config", hub.config.to_str().unwrap()])
        .output()
        .unwrap();
    chattr("-i", &db);
    assert!(
        !run.status.success(),
        "run must refuse a store it cannot write"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("sensorhub.db") && stderr.contains("cannot be written"),
        "{stderr}"
    );
}
