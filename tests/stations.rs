//! Stations as places, through the public interface: `sensorhub stations` names and places a
//! station and gives a gauge its datum; a distance sensor's uplink (Dragino LDDS75, the
//! vendor's frame layout) through a real Mosquitto then becomes a water level above the datum,
//! which the API and the pages show under the station's name, while the distance stays off
//! every public answer.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{
    fixture, http_get, post_form, publish_all, session_cookie, wait_for, Mosquitto, Sensorhub,
};
use serde_json::Value;

const EUI: &str = "0505050505050505";

/// An LDDS75 uplink (fPort 2): battery 3.2 V, distance `mm`, no interrupt, no probe.
fn ldds75_uplink(mm: u16) -> (String, Vec<u8>) {
    let battery: u16 = 3200;
    let mut payload = battery.to_be_bytes().to_vec();
    payload.extend(mm.to_be_bytes());
    payload.extend([0x00, 0x00, 0x00, 0x00]);
    let mut event: Value = serde_json::from_str(&fixture("chirpstack-v4-up.json")).unwrap();
    event["deviceInfo"]["devEui"] = EUI.into();
    event["fPort"] = 2.into();
    event["data"] = base64::engine::general_purpose::STANDARD
        .encode(payload)
        .into();
    event["time"] = sensorhub_store::time::format_rfc3339(sensorhub_store::time::now_ms()).into();
    let topic = format!("application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{EUI}/event/up");
    (topic, serde_json::to_vec(&event).unwrap())
}

#[test]
fn a_named_gauge_publishes_its_water_level_above_the_datum() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "stations");
    hub.register_as(EUI, "pegel-wyk", "dragino-ldds75", true);
    hub.ok(&[
        "stations",
        "add",
        "--station",
        "pegel-wyk",
        "--name",
        "Pegel Wyk",
        "--name-en",
        "Wyk tide gauge",
        "--description",
        "Am Fähranleger",
        "--theme",
        "wasser",
        "--datum",
        "NHN",
        "--sensor-height-m",
        "6.5",
        "--level",
        "water_level>1=erhöht/elevated",
        "--level",
        "water_level>2=Sturmflut/storm surge",
    ]);
    // A station id that is no plain word is refused, and so is half a gauge.
    assert!(!hub
        .cli(&["stations", "add", "--station", "Pegel Wyk"])
        .status
        .success());
    assert!(!hub
        .cli(&["stations", "add", "--station", "p", "--datum", "NHN"])
        .status
        .success());
    hub.start();
    // 5.25 m down to the water from 6.5 m above NHN: 1.25 m above NHN.
    publish_all(&broker.url(), &[ldds75_uplink(5250)]);
    let station = wait_for("the gauge's water level", Duration::from_secs(20), || {
        let r = http_get(hub.http_port, "/api/v1/stations/pegel-wyk", "")?;
        let v: Value = serde_json::from_str(&r.body).ok()?;
        (v["latest"]
            .as_array()?
            .iter()
            .any(|l| l["quantity"] == "water_level"))
        .then_some(v)
    });
    assert_eq!(station["name"], "Pegel Wyk");
    assert_eq!(station["name_en"], "Wyk tide gauge");
    assert_eq!(station["theme"], "wasser");
    assert_eq!(station["datum"], "NHN");
    let latest = station["latest"].as_array().unwrap();
    let level = latest
        .iter()
        .find(|l| l["quantity"] == "water_level")
        .unwrap();
    assert_eq!(level["value"], 1.25);
    assert_eq!(level["unit"], "m");
    for hidden in ["distance", "battery_voltage"] {
        assert!(
            latest.iter().all(|l| l["quantity"] != hidden),
            "{hidden} is public: {latest:?}"
        );
    }
    // The distance stays with the technicians.
    let stored = hub.readings(EUI);
    assert!(stored
        .iter()
        .any(|r| r["quantity"] == "distance" && r["value"] == 5.25));

    let page = http_get(hub.http_port, "/stations/pegel-wyk", "")
        .unwrap()
        .body;
    assert!(page.contains("<h1>Pegel Wyk</h1>"), "{page}");
    assert!(page.contains(">125</span> cm über NHN"), "{page}");
    // 1.25 m reaches the first level, not the second: said in words, coloured by rank.
    assert!(
        page.contains(r#"<strong class="level level-1">erhöht</strong>"#),
        "{page}"
    );
    assert!(
        page.contains("zuständigen Behörden"),
        "the note on official warnings"
    );
    assert_eq!(level["level"]["label_en"], "elevated");
    assert_eq!(station["levels"].as_array().unwrap().len(), 2);
    let english = http_get(hub.http_port, "/stations/pegel-wyk?lang=en", "")
        .unwrap()
        .body;
    assert!(english.contains("<h1>Wyk tide gauge</h1>"));
    let overview = http_get(hub.http_port, "/", "").unwrap().body;
    assert!(overview.contains(">Pegel Wyk</a>"));
    let geo: Value = serde_json::from_str(
        &http_get(hub.http_port, "/api/v1/stations.geojson", "")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(geo["features"][0]["properties"]["name"], "Pegel Wyk");

    // The entries leave and come back as CSV, unchanged.
    let csv = hub.ok(&["stations", "export"]);
    assert!(csv.starts_with("station,name,name_en,description,description_en,theme,lat,lon"));
    let file = hub.dir.path().join("stations.csv");
    std::fs::write(&file, &csv).unwrap();
    hub.ok(&["stations", "remove", "pegel-wyk"]);
    hub.ok(&["stations", "import", file.to_str().unwrap()]);
    assert_eq!(hub.ok(&["stations", "export"]), csv);
}

/// The technicians' workbench describes a station as the command line does; a form without
/// the session's CSRF token changes nothing.
#[test]
fn the_workbench_describes_a_station() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "stations-bench");
    let mut hasher = hub
        .command(&["admin", "hash-password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    writeln!(hasher.stdin.take().unwrap(), "Deichgraf-2026").unwrap();
    let hash = String::from_utf8(hasher.wait_with_output().unwrap().stdout).unwrap();
    let config = std::fs::read_to_string(&hub.config).unwrap().replacen(
        "[http]\n",
        "[http]\nsecure_cookies = false\n",
        1,
    ) + &format!(
        "\n[[http.users]]\nname = \"technik\"\npassword_hash = \"{}\"\n",
        hash.trim()
    );
    std::fs::write(&hub.config, config).unwrap();
    hub.register_as(EUI, "pegel-wyk", "dragino-ldds75", true);
    hub.start();
    publish_all(&broker.url(), &[ldds75_uplink(5250)]);
    wait_for("the station", Duration::from_secs(20), || {
        let r = http_get(hub.http_port, "/api/v1/stations/pegel-wyk", "")?;
        (r.status == 200).then_some(())
    });
    let (status, head) = post_form(
        hub.http_port,
        "/admin/login",
        "Cookie: sh_login_csrf=t\r\n",
        "user=technik&password=Deichgraf-2026&csrf=t",
    );
    assert_eq!(status, 303, "{head}");
    let cookie = format!("Cookie: sh_session={}\r\n", session_cookie(&head));
    let bench = http_get(hub.http_port, "/admin?station=pegel-wyk", &cookie)
        .unwrap()
        .body;
    assert!(bench.contains("id=\"stations-form\""), "{bench}");
    let csrf = bench
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = "station=pegel-wyk&name=Pegel+Wyk&theme=wasser&datum=NHN&sensor_height_m=6%2C5";
    let (refused, _) = post_form(
        hub.http_port,
        "/admin/stations",
        &cookie,
        &format!("{form}&csrf=wrong"),
    );
    assert_eq!(refused, 403);
    let (saved, head) = post_form(
        hub.http_port,
        "/admin/stations",
        &cookie,
        &format!("{form}&csrf={csrf}"),
    );
    assert_eq!(saved, 303, "{head}");
    let entries = hub.ok(&["stations", "export", "--format", "json"]);
    let entries: Value = serde_json::from_str(&entries).unwrap();
    assert_eq!(entries[0]["name"], "Pegel Wyk");
    assert_eq!(entries[0]["theme"], "wasser");
    assert_eq!(entries[0]["gauge"]["sensor_height_m"], 6.5);
    let (bad, _) = post_form(
        hub.http_port,
        "/admin/stations",
        &cookie,
        &format!("station=Pegel+Wyk&csrf={csrf}"),
    );
    assert_eq!(bad, 400);
}
