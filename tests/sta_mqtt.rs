//! The SensorThings API's MQTT extension with a plain MQTT client: a subscriber to a
//! Datastream's Observations topic on the broker (`[sta] mqtt_url`) gets each new value of a
//! public station as the Observation the HTTP API serves, a subscriber to the Datastream (or
//! its Thing's Datastreams) the Datastream as it changed, and nothing of a private station.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{lpp_uplink, publish_all, Mosquitto, Sensorhub};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

const PUBLIC_EUI: &str = "0101010101010101";
const PRIVATE_EUI: &str = "0202020202020202";

#[test]
fn a_new_value_reaches_a_sensorthings_subscriber_as_its_observation() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-sta-mqtt");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    std::fs::write(
        &hub.config,
        format!("{config}\n[sta]\nmqtt_url = \"{}\"\n", broker.url()),
    )
    .unwrap();
    hub.register(PUBLIC_EUI, "pegel-wyk", true);
    hub.register(PRIVATE_EUI, "garten-privat", false);
    hub.start();

    // A plain MQTT client, subscribed to one Datastream and to every Observation.
    let mut options = MqttOptions::new("sta-subscriber", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(10));
    let (client, mut connection) = Client::new(options, 64);
    let datastream = "v1.1/Datastreams('pegel-wyk~air_temperature')/Observations";
    client.subscribe(datastream, QoS::AtLeastOnce).unwrap();
    client
        .subscribe("v1.1/Observations", QoS::AtLeastOnce)
        .unwrap();
    // And to the Datastream itself, and to the Thing's Datastreams, which change with it.
    let entity = "v1.1/Datastreams('pegel-wyk~air_temperature')";
    let of_thing = "v1.1/Things('pegel-wyk')/Datastreams";
    client.subscribe(entity, QoS::AtLeastOnce).unwrap();
    client.subscribe(of_thing, QoS::AtLeastOnce).unwrap();
    let (tx, rx) = mpsc::channel::<(String, Value)>();
    let (subscribed_tx, subscribed) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let body = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if tx.send((p.topic.clone(), body)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    });
    for _ in 0..4 {
        subscribed.recv_timeout(Duration::from_secs(10)).unwrap();
    }

    // New values every half second (the feed takes its baseline at its first look) until one
    // arrives; the private station sends beside it.
    let mut sent = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut others: Vec<(String, Value)> = Vec::new();
    let received = loop {
        assert!(Instant::now() < deadline, "no observation within 30 s");
        // A new second each time: a second value at the same time would replace the first.
        let now = sensorhub_store::time::now_ms() / 1000 * 1000;
        let t = sent
            .last()
            .map_or(now, |(last, _): &(i64, f64)| now.max(last + 1000));
        let value = 10.0 + sent.len() as f64 / 10.0;
        publish_all(
            &broker.url(),
            &[
                lpp_uplink(PUBLIC_EUI, value, 70.0, t),
                lpp_uplink(PRIVATE_EUI, 30.0, 40.0, t),
            ],
        );
        sent.push((t, value));
        if let Ok(message) = rx.recv_timeout(Duration::from_millis(500)) {
            if message.0 == datastream {
                break message.1;
            }
            others.push(message);
        }
    };
    let id = received["@iot.id"].as_str().unwrap();
    let (_, ms) = id.rsplit_once('~').unwrap();
    let ms: i64 = ms.parse().unwrap();
    let (t, value) = sent.iter().find(|(t, _)| *t == ms).copied().unwrap();
    assert_eq!(received["result"], value, "{received}");
    assert_eq!(
        received["phenomenonTime"],
        sensorhub_store::time::format_rfc3339(t)
    );
    assert!(id.starts_with("pegel-wyk~air_temperature~"));
    // The same Observation as the HTTP API serves.
    let over_http = common::http_get(
        hub.http_port,
        &format!("/sta/v1.1/Observations('{id}')"),
        "",
    )
    .unwrap();
    let over_http: Value = serde_json::from_str(&over_http.body).unwrap();
    assert_eq!(over_http["result"], received["result"]);
    assert_eq!(over_http["@iot.id"], received["@iot.id"]);

    // A few more seconds of everything: never the private station.
    let until = Instant::now() + Duration::from_secs(3);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(message) => others.push(message),
            Err(_) => break,
        }
    }
    // The Datastream, on its own topic and on its Thing's, now ends with that Observation.
    let time = sensorhub_store::time::format_rfc3339(t);
    for topic in [entity, of_thing] {
        let updated = others
            .iter()
            .find(|(to, body)| {
                to == topic
                    && body["@iot.id"] == "pegel-wyk~air_temperature"
                    && body["phenomenonTime"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(&format!("/{time}")))
            })
            .unwrap_or_else(|| panic!("no Datastream ending at {time} on {topic}: {others:?}"));
        assert_eq!(updated.1["unitOfMeasurement"]["symbol"], "°C");
    }
    let mut all = vec![received];
    all.extend(others.into_iter().map(|(_, body)| body));
    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains("garten") && !text.contains(PRIVATE_EUI),
        "{text}"
    );
}
