//! The resident pages and the admin login in a real browser: Playwright (npm `playwright-core`)
//! drives Debian's chromium through tests/browser/check.mjs, axe-core checks WCAG 2.1 A/AA on
//! every resident page. Sensorhub runs for real (Mosquitto, gateway, store, dashboard) and this
//! test keeps publishing uplinks while the browser watches for live values.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{lpp_uplink as uplink, post_form as post, publish_all, Mosquitto, Sensorhub};
use serde_json::Value;

const PUBLIC_EUI: &str = "0101010101010101";
const PRIVATE_EUI: &str = "0202020202020202";
/// A public station last heard two days ago: its values must show as outdated.
const STALE_EUI: &str = "0505050505050505";
const PASSWORD: &str = "Deichgraf-Technik-2026";
/// Registered only after its first uplink, which waits as a dead letter.
const REPLAY_EUI: &str = "0808080808080808";
/// Decoded by the network server, reporting its battery in volts only, for eight days.
const BATTERY_EUI: &str = "0404040404040404";

/// An uplink whose network server decoded the battery voltage (`object`).
fn battery_uplink(volts: f64, time_ms: i64) -> (String, Vec<u8>) {
    let (topic, body) = uplink(BATTERY_EUI, 0.0, 0.0, time_ms);
    let mut event: Value = serde_json::from_slice(&body).unwrap();
    event["object"] = serde_json::json!({ "battery_voltage": volts });
    (topic, serde_json::to_vec(&event).unwrap())
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sensorhub with a technician account, a public and a private station, and a day of history.
fn setup() -> (Mosquitto, Sensorhub) {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-dashboard");
    // A technician account, hashed by the CLI as an operator would.
    let hash = hub.hash_password(PASSWORD);
    let config = std::fs::read_to_string(&hub.config).unwrap();
    let config = config.replacen(
        "[http]\n",
        "[http]\nsecure_cookies = false\nrate_limit_per_s = 200\nrate_limit_burst = 400\n",
        1,
    ) + &format!("\n[[http.users]]\nname = \"technik\"\npassword_hash = \"{hash}\"\n");
    std::fs::write(&hub.config, config).unwrap();
    hub.register(PUBLIC_EUI, "pegel-wyk", true);
    hub.register(PRIVATE_EUI, "garten-privat", false);
    hub.register(STALE_EUI, "pegel-alt", true);
    hub.register_as(BATTERY_EUI, "boje-batterie", "network-server", false);
    // The fixture's gateway gets a name; a second one is registered but never heard.
    hub.ok(&[
        "gateways",
        "add",
        "--id",
        "0016c001f153a14c",
        "--name",
        "Hafen Wyk",
        "--lat",
        "54.6921",
        "--lon",
        "8.5702",
    ]);
    hub.ok(&[
        "gateways",
        "add",
        "--id",
        "gw-neu",
        "--name",
        "Kirche Nieblum",
    ]);
    hub.start();

    // A day of history for the charts, for both stations.
    let now = sensorhub_store::time::now_ms();
    let mut history = Vec::new();
    for i in 0..48 {
        let t = now - 24 * 3_600_000 + i * 1_800_000;
        history.push(uplink(PUBLIC_EUI, 8.0 + i as f64 * 0.1, 80.0, t));
        history.push(uplink(PRIVATE_EUI, 20.0, 50.0, t));
    }
    history.push(uplink(STALE_EUI, 5.0, 90.0, now - 48 * 3_600_000));
    // A LiSOCl2 cell sagging 10 mV a day over eight days, from 3.60 V to 3.52 V.
    for day in 0..=8 {
        let t = now - (8 - day) * 86_400_000 - 60_000;
        history.push(battery_uplink(3.60 - 0.01 * day as f64, t));
    }
    publish_all(&broker.url(), &history);
    common::wait_for("history stored", Duration::from_secs(20), || {
        (hub.readings(PUBLIC_EUI).len() >= 96 && hub.readings(STALE_EUI).len() == 2).then_some(())
    });
    // A device that sent before it was registered: its uplink waits as a dead letter, to be
    // replayed from its page.
    publish_all(
        &broker.url(),
        &[uplink(REPLAY_EUI, 9.5, 70.0, now - 600_000)],
    );
    common::wait_for(
        "the unknown device's dead letter",
        Duration::from_secs(20),
        || {
            hub.ok(&["dead-letters", "--format", "json"])
                .contains("unknown_device")
                .then_some(())
        },
    );
    hub.register(REPLAY_EUI, "pegel-spaet", false);
    (broker, hub)
}

#[test]
fn resident_pages_and_admin_in_a_real_browser() {
    let checker = repo().join("tests/browser/check.mjs");
    assert!(
        repo()
            .join("tests/browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules is missing: ./scripts/test installs it (npm ci)"
    );
    let (broker, hub) = setup();

    // New values every 700 ms while the browser watches.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (stop, url) = (stop.clone(), broker.url());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = sensorhub_store::time::now_ms();
                publish_all(
                    &url,
                    &[uplink(PUBLIC_EUI, 12.0 + (i % 50) as f64 * 0.1, 75.0, t)],
                );
                i += 1;
                std::thread::sleep(Duration::from_millis(700));
            }
        })
    };
    let output = Command::new("node")
        .arg(&checker)
        .args([
            &format!("http://127.0.0.1:{}", hub.http_port),
            "pegel-wyk",
            "garten-privat",
            "technik",
            PASSWORD,
            "pegel-alt",
            PUBLIC_EUI,
            REPLAY_EUI,
            BATTERY_EUI,
        ])
        .current_dir(repo().join("tests/browser"))
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}

#[test]
fn api_answers_only_for_public_stations_and_admin_refuses_strangers() {
    let (_broker, mut hub) = setup();
    let port = hub.http_port;
    let get = |path: &str, headers: &str| common::http_get(port, path, headers).unwrap();

    // Stations: the public one only, with an ETag that makes a repeat cheap.
    let stations = get("/api/v1/stations", "");
    assert_eq!(stations.status, 200);
    assert!(stations.body.contains("pegel-wyk") && !stations.body.contains("garten-privat"));
    let etag = stations
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an ETag")
        .to_owned();
    assert!(stations
        .headers
        .contains("cache-control: public, max-age=10"));
    assert_eq!(
        get("/api/v1/stations", &format!("If-None-Match: {etag}\r\n")).status,
        304
    );
    // Values older than http.stale_after (3 h) say so, fresh ones do not.
    let list: Value = serde_json::from_str(&stations.body).unwrap();
    for station in list.as_array().unwrap() {
        let old = station["id"] == "pegel-alt";
        for value in station["latest"].as_array().unwrap() {
            assert_eq!(value["stale"], old, "{station}");
        }
    }
    let overview = get("/", "Accept-Language: de\r\n").body;
    let stale_rows = overview.matches("<tr data-station=\"pegel-alt\"").count();
    assert_eq!(stale_rows, 2, "{overview}");
    // The overview's cards show the same values, marked the same way.
    let stale_cards = overview.matches("<dd data-station=\"pegel-alt\"").count();
    assert_eq!(stale_cards, 2, "{overview}");
    assert_eq!(
        overview.matches("(veraltet)").count(),
        stale_rows + stale_cards,
        "{overview}"
    );
    // The same public stations as GeoJSON, coordinates as coarse as in the JSON list.
    let geo = get("/api/v1/stations.geojson", "");
    assert!(
        geo.headers.contains("content-type: application/geo+json"),
        "{}",
        geo.headers
    );
    let geo: Value = serde_json::from_str(&geo.body).unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let ids: Vec<&str> = geo["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pegel-alt", "pegel-wyk"]);
    let wyk = &geo["features"][1];
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "pegel-wyk")
        .unwrap();
    assert_eq!(wyk["geometry"]["coordinates"][0], listed["lon"]);
    assert_eq!(wyk["geometry"]["coordinates"][1], listed["lat"]);
    assert_eq!(
        listed["lat"], 54.692,
        "coarsened to the policy's 3 decimals"
    );
    let latest = get("/api/v1/latest", "");
    assert!(latest.body.contains("pegel-wyk") && !latest.body.contains("garten-privat"));
    for path in [
        "/api/v1/stations/garten-privat",
        "/api/v1/stations/garten-privat/history?quantity=air_temperature",
        "/stations/garten-privat",
        "/stations/garten-privat/data.csv?quantity=air_temperature",
    ] {
        assert_eq!(get(path, "").status, 404, "{path}");
    }
    let history = get(
        "/api/v1/stations/pegel-wyk/history?quantity=air_temperature&resolution=1h",
        "",
    );
    let history: Value = serde_json::from_str(&history.body).unwrap();
    assert!(
        history["points"].as_array().unwrap().len() >= 23,
        "{history}"
    );
    assert_eq!(history["unit"], "°C");
    assert_eq!(
        get(
            "/api/v1/stations/pegel-wyk/history?quantity=air_temperature&since=yesterday",
            ""
        )
        .status,
        400
    );
    let openapi: Value = serde_json::from_str(&get("/api/v1/openapi.json", "").body).unwrap();
    for path in [
        "/api/v1/stations",
        "/api/v1/stations/{id}/history",
        "/api/v1/stream",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} undocumented");
    }

    // Admin: no session, a forged session, no CSRF token: all refused.
    let admin = get("/admin", "");
    assert_eq!(admin.status, 303);
    assert!(admin.headers.contains("location: /admin/login"));
    assert_eq!(get("/admin", "Cookie: sh_session=forged\r\n").status, 303);
    let login = get("/admin/login", "");
    assert!(
        login.headers.contains("HttpOnly; SameSite=Strict"),
        "{}",
        login.headers
    );
    let form = format!("user=technik&password={PASSWORD}&csrf=guessed");
    assert_eq!(post(port, "/admin/login", "", &form).0, 403);
    assert_eq!(
        post(
            port,
            "/admin/login",
            "Cookie: sh_login_csrf=other\r\n",
            &form
        )
        .0,
        403
    );
    // With the form's own token the same password works.
    let (status, head) = post(
        port,
        "/admin/login",
        "Cookie: sh_login_csrf=guessed\r\n",
        &form,
    );
    assert_eq!(status, 303, "{head}");
    let session = common::session_cookie(&head);
    let bench = get("/admin", &format!("Cookie: sh_session={session}\r\n"));
    assert_eq!(bench.status, 200);
    assert!(bench.body.contains(PRIVATE_EUI), "technicians see DevEUIs");

    // Publication: a technician publishes the private device's station and withdraws it again;
    // without the session's CSRF token or without a session nothing changes.
    let csrf = bench
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap()
        .to_owned();
    let with_cookie = format!("Cookie: sh_session={session}\r\n");
    let publish = |cookie: &str, csrf: &str, public: &str| {
        let form = format!("csrf={csrf}&dev_eui={PRIVATE_EUI}&public={public}");
        post(port, "/admin/devices/public", cookie, &form).0
    };
    let listed = || get("/api/v1/stations", "").body.contains("garten-privat");
    assert_eq!(publish(&with_cookie, "forged", "true"), 403);
    assert_eq!(publish("", &csrf, "true"), 303, "no session: to the login");
    assert!(!listed());
    assert_eq!(publish(&with_cookie, &csrf, "true"), 303);
    assert!(listed(), "published");
    assert_eq!(publish(&with_cookie, &csrf, "false"), 303);
    assert!(!listed(), "withdrawn");
    // Registering from the workbench checks what the command line checks.
    let (status, _) = post(
        port,
        "/admin/devices",
        &with_cookie,
        &format!(
            "csrf={csrf}&dev_eui=0707&name=&station=pegel-x&device_type=cayenne-lpp&lat=&lon="
        ),
    );
    assert_eq!(status, 400, "a short DevEUI is refused");
    let device_form = format!(
        "csrf={csrf}&dev_eui=0707070707070707&name=&station=pegel-x&device_type=no-such&lat=&lon="
    );
    assert_eq!(
        post(port, "/admin/devices", &with_cookie, &device_form).0,
        400
    );
    let js = device_form.replace("no-such", "js%3A%2Fetc%2Fhostname");
    let refused = post(port, "/admin/devices", &with_cookie, &js).0;
    assert_eq!(refused, 400, "no JavaScript codec files from the web");
    let device_form = device_form.replace("no-such", "cayenne-lpp");
    assert_eq!(
        post(port, "/admin/devices", "", &device_form).0,
        303,
        "no session"
    );
    assert!(!hub.ok(&["devices", "list"]).contains("0707070707070707"));
    assert_eq!(
        post(port, "/admin/devices", &with_cookie, &device_form).0,
        303
    );
    assert!(hub.ok(&["devices", "list"]).contains("0707070707070707"));
    // Removing needs the confirmation box; then the device is gone.
    let remove = format!("csrf={csrf}&dev_eui=0707070707070707");
    assert_eq!(
        post(port, "/admin/devices/remove", &with_cookie, &remove).0,
        400
    );
    assert!(hub.ok(&["devices", "list"]).contains("0707070707070707"));
    let confirmed = format!("{remove}&confirm=on");
    assert_eq!(
        post(port, "/admin/devices/remove", "", &confirmed).0,
        303,
        "no session"
    );
    assert!(hub.ok(&["devices", "list"]).contains("0707070707070707"));
    assert_eq!(
        post(port, "/admin/devices/remove", &with_cookie, &confirmed).0,
        303
    );
    assert!(!hub.ok(&["devices", "list"]).contains("0707070707070707"));
    assert_eq!(
        post(
            port,
            "/admin/logout",
            &format!("Cookie: sh_session={session}\r\n"),
            "csrf=wrong"
        )
        .0,
        403,
        "logout needs the session's CSRF token"
    );
    // The gateways on the command line: the entries and what the named one heard.
    let listed = hub.ok(&["gateways", "list"]);
    let wyk = listed
        .lines()
        .find(|l| l.starts_with("0016c001f153a14c"))
        .unwrap_or_default();
    assert!(
        wyk.contains("Hafen Wyk") && !wyk.ends_with(" 0"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("gw-neu") && l.contains("never")),
        "{listed}"
    );
    let exported = hub.ok(&["gateways", "export"]);
    assert!(
        exported.starts_with("gateway_id,name,lat,lon\n")
            && exported.contains("0016c001f153a14c,Hafen Wyk,54.6921,8.5702"),
        "{exported}"
    );
    // A device's JSON, as its page shows it, for scripts with the token.
    let auth = format!("Authorization: Bearer {}\r\n", common::ADMIN_TOKEN);
    let device = get(
        &format!("/admin/api/v1/devices/{PUBLIC_EUI}?range=7d"),
        &auth,
    );
    assert_eq!(device.status, 200, "{}", device.body);
    let device: Value = serde_json::from_str(&device.body).unwrap();
    assert_eq!(device["device"]["station"], "pegel-wyk");
    assert!(
        device["uplinks"].as_array().unwrap().len() >= 10,
        "{device}"
    );
    assert!(
        device["hours"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["rssi"]["mean"].is_number() && h["uplinks"].as_u64() >= Some(1)),
        "{device}"
    );
    assert_eq!(
        get("/admin/api/v1/devices/0909090909090909", &auth).status,
        404
    );
    let gateway = get("/admin/api/v1/gateways/0016c001f153a14c", &auth);
    assert_eq!(gateway.status, 200, "{}", gateway.body);
    let gateway: Value = serde_json::from_str(&gateway.body).unwrap();
    assert_eq!(gateway["gateway"]["entry"]["name"], "Hafen Wyk");
    assert!(
        gateway["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["dev_eui"] == PUBLIC_EUI && d["uplinks"].as_u64() >= Some(10)),
        "{gateway}"
    );
    assert_eq!(get("/admin/api/v1/devices/health", "").status, 401);

    // Guessing passwords: after the burst of login attempts (10 by default; 3 logins and the
    // API request without a token above used 4: a wrong token counts as a wrong password)
    // every attempt is refused with 429, the right password too, until the bucket refills.
    let csrf = "Cookie: sh_login_csrf=guessed\r\n";
    let wrong = "user=technik&password=guess&csrf=guessed";
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(post(port, "/admin/login", csrf, wrong).0);
    }
    assert_eq!(&statuses[..6], &[401; 6], "{statuses:?}");
    assert_eq!(&statuses[6..], &[429, 429], "{statuses:?}");
    let (status, head) = post(port, "/admin/login", csrf, &form);
    assert_eq!(status, 429, "the right password waits too: {head}");
    assert!(head.contains("retry-after: "), "{head}");
    assert!(!head.contains("sh_session="), "{head}");

    // Sessions live in the store: a restart logs nobody out ...
    let with_session = format!("Cookie: sh_session={session}\r\n");
    hub.kill();
    hub.start();
    let get = |path: &str, headers: &str| common::http_get(port, path, headers).unwrap();
    assert_eq!(
        get("/admin", &with_session).status,
        200,
        "the session survives a restart"
    );
    // ... and the database holds no usable session id.
    let db = std::fs::read(hub.dir.path().join("data/sensorhub.db")).unwrap();
    assert!(!db.windows(session.len()).any(|w| w == session.as_bytes()));
    // A new password ends the sessions made with the old one.
    let new_hash = hub.hash_password("Neues-Passwort-2027");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    let old_hash = config
        .lines()
        .find_map(|l| l.strip_prefix("password_hash = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    std::fs::write(&hub.config, config.replace(&old_hash, &new_hash)).unwrap();
    hub.kill();
    hub.start();
    assert_eq!(
        get("/admin", &with_session).status,
        303,
        "the old password's session ended"
    );

    // The per-client rate limit: a burst beyond 400 requests gets 429 with Retry-After. Eight
    // clients at once, so that the requests outpace the refill (200 a second) on a busy machine.
    let port = hub.http_port;
    let found = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..1_000 {
                    if found.lock().unwrap().is_some() {
                        return;
                    }
                    let r = common::http_get(port, "/api/v1/latest", "").unwrap();
                    if r.status == 429 {
                        *found.lock().unwrap() = Some(r);
                        return;
                    }
                }
            });
        }
    });
    let limited = found
        .into_inner()
        .unwrap()
        .expect("no 429 after 8,000 requests");
    assert!(
        limited.headers.contains("retry-after: "),
        "{}",
        limited.headers
    );
}
