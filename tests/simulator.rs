//! The simulator's raw LoRaWAN frames through a real Mosquitto and the gateway's raw-frame path
//! (MIC, decryption, decoding) arrive in the store with the values the simulated sensors
//! produced, as the simulator itself reports them.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

#[test]
fn simulated_frames_reach_the_store_with_the_simulated_values() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::with_subscriptions(
        &broker.url(),
        "e2e-simulator",
        "[[mqtt.subscriptions]]\ntopic = \"eu868/gateway/+/event/up\"\nformat = \"chirpstack-gateway\"\n",
    );
    let devices = hub.dir.path().join("simulated.csv");
    // Register the nodes first: a simulator pointed at no broker writes the device list, and
    // is stopped once the list is there.
    let mut writer = hub
        .command(&[
            "simulate",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--nodes",
            "3",
            "--interval",
            "1s",
            "--format",
            "chirpstack-gateway",
            "--write-devices",
            devices.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the device list", Duration::from_secs(20), || {
        std::fs::read_to_string(&devices)
            .ok()
            .filter(|t| t.lines().count() == 4)
    });
    let _ = writer.kill();
    let _ = writer.wait();
    hub.ok(&["devices", "import", devices.to_str().unwrap()]);
    hub.start();

    let mut sim = hub
        .command(&[
            "simulate",
            "--broker",
            &broker.url(),
            "--nodes",
            "3",
            "--interval",
            "1s",
            "--format",
            "chirpstack-gateway",
            "--print-reports",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    // What the simulated sensors produced, by station: quantity -> values sent.
    let mut sent: HashMap<String, HashMap<String, Vec<f64>>> = HashMap::new();
    let mut reports = 0;
    for line in lines.map_while(Result::ok) {
        let report: Value = serde_json::from_str(&line).unwrap();
        let station = report["station"].as_str().unwrap().to_owned();
        for (quantity, value) in report["values"].as_object().unwrap() {
            sent.entry(station.clone())
                .or_default()
                .entry(quantity.clone())
                .or_default()
                .push(value.as_f64().unwrap());
        }
        reports += 1;
        if reports == 9 {
            break; // three rounds of three nodes
        }
    }
    let stored_all = |station: &str| -> Vec<Value> {
        hub.ok(&["readings", "--station", station, "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for (station, quantities) in &sent {
        let stored = wait_for(
            &format!("readings of {station}"),
            Duration::from_secs(20),
            || {
                let stored = stored_all(station);
                (stored.len() >= 3 * quantities.len()).then_some(stored)
            },
        );
        for reading in &stored {
            let quantity = reading["quantity"].as_str().unwrap();
            let value = reading["value"].as_f64().unwrap();
            let candidates = &quantities[quantity];
            assert!(
                candidates.iter().any(|v| (v - value).abs() < 1e-9),
                "{station} {quantity} = {value} was never sent ({candidates:?})"
            );
        }
    }
    let _ = sim.kill();
    let _ = sim.wait();
    let letters = hub.ok(&["dead-letters", "--format", "json"]);
    assert!(letters.trim().is_empty(), "frames were refused: {letters}");
    let health = hub.ok(&["devices", "health", "--format", "json"]);
    assert_eq!(health.lines().count(), 3);
}
