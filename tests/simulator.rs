//! The simulator's nodes run the firmware (drivers on simulated sensors, node application,
//! lorawan-device link); their raw LoRaWAN frames go through a real Mosquitto and the gateway's
//! raw-frame path (MIC, decryption, decoding) and arrive in the store with the values the
//! simulated sensors produced, as the simulator itself reports them. The same for The Things
//! Stack's application uplinks.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

/// A value on air and what the driver measured before encoding.
type Sent = (f64, Option<f64>);

/// LPP resolution of each quantity the nodes send: a stored value is within half a step of
/// what the driver measured.
fn resolution(quantity: &str) -> f64 {
    match quantity {
        "air_temperature" | "air_pressure" => 0.1,
        "relative_humidity" => 0.5,
        "distance" => 0.001,
        _ => 0.01, // voltage
    }
}

#[test]
fn simulated_frames_reach_the_store_with_the_simulated_values() {
    simulate_through_mosquitto(
        "chirpstack-gateway",
        "[[mqtt.subscriptions]]\ntopic = \"eu868/gateway/+/event/up\"\nformat = \"chirpstack-gateway\"\n",
    );
}

#[test]
fn simulated_tts_uplinks_reach_the_store() {
    simulate_through_mosquitto(
        "tts",
        "[[mqtt.subscriptions]]\ntopic = \"v3/+/devices/+/up\"\nformat = \"tts\"\n",
    );
}

fn simulate_through_mosquitto(format: &str, subscriptions: &str) {
    let broker = Mosquitto::start();
    let mut hub =
        Sensorhub::with_subscriptions(&broker.url(), &format!("e2e-sim-{format}"), subscriptions);
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

    // A heartbeat as short as the interval: every measurement is an uplink.
    let mut sim = hub
        .command(&[
            "simulate",
            "--broker",
            &broker.url(),
            "--nodes",
            "3",
            "--interval",
            "1s",
            "--heartbeat",
            "1s",
            "--format",
            format,
            "--print-reports",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    // What the nodes sent and what their drivers measured, by station and quantity.
    let mut sent: HashMap<String, HashMap<String, Vec<Sent>>> = HashMap::new();
    let mut values_sent: HashMap<String, usize> = HashMap::new();
    let mut f_cnts: HashMap<String, Vec<u64>> = HashMap::new();
    let mut reports = 0;
    for line in lines.map_while(Result::ok) {
        let report: Value = serde_json::from_str(&line).unwrap();
        let station = report["station"].as_str().unwrap().to_owned();
        f_cnts
            .entry(station.clone())
            .or_default()
            .push(report["f_cnt"].as_u64().unwrap());
        for (quantity, value) in report["values"].as_object().unwrap() {
            let measured = report["measured"][quantity].as_f64();
            sent.entry(station.clone())
                .or_default()
                .entry(quantity.clone())
                .or_default()
                .push((value.as_f64().unwrap(), measured));
            *values_sent.entry(station.clone()).or_default() += 1;
        }
        reports += 1;
        if reports == 9 {
            break; // three rounds of three nodes
        }
    }
    for counters in f_cnts.values() {
        assert!(
            counters.windows(2).all(|w| w[1] == w[0] + 1),
            "{counters:?}"
        );
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
                (stored.len() >= values_sent[station]).then_some(stored)
            },
        );
        for reading in &stored {
            let quantity = reading["quantity"].as_str().unwrap();
            let value = reading["value"].as_f64().unwrap();
            let candidates = &quantities[quantity];
            let Some((_, measured)) = candidates.iter().find(|(v, _)| (v - value).abs() < 1e-9)
            else {
                panic!("{station} {quantity} = {value} was never sent ({candidates:?})");
            };
            // And the value on air is what the node's driver measured from its sensor.
            let measured = measured.expect("every value sent was measured");
            assert!(
                (measured - value).abs() <= resolution(quantity) / 2.0 + 1e-6,
                "{station} {quantity}: stored {value}, measured {measured}"
            );
        }
    }
    let _ = sim.kill();
    let _ = sim.wait();
    let letters = hub.ok(&["dead-letters", "--format", "json"]);
    assert!(letters.trim().is_empty(), "uplinks were refused: {letters}");
    let health = hub.ok(&["devices", "health", "--format", "json"]);
    assert_eq!(health.lines().count(), 3);
}
