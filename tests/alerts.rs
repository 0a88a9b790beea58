//! Alerts for technicians, end to end: `sensorhub run` with a real Mosquitto notices a device
//! that stopped sending, posts the alert to a webhook once (not again on later checks, not
//! again after a restart), retries when the webhook fails, and posts the all-clear when the
//! device is heard again; and a gateway that stops opens one `gateway_offline` alert naming
//! the device only it heard, cleared when it is back.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{lpp_uplink, publish_all, wait_for, Mosquitto, Sensorhub};
use serde_json::Value;

const EUI: &str = "0303030303030303";
const QUIET_EUI: &str = "0404040404040404";

/// A webhook receiver on loopback: answers 500 to the first `failures` posts, then 200, and
/// keeps the bodies it accepted.
struct Webhook {
    port: u16,
    accepted: Arc<Mutex<Vec<Value>>>,
    refused: Arc<AtomicUsize>,
}

impl Webhook {
    fn start(failures: usize) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let (keep, count) = (accepted.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = if count.load(Ordering::SeqCst) < failures {
                    count.fetch_add(1, Ordering::SeqCst);
                    "500 Internal Server Error"
                } else {
                    keep.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    "200 OK"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Webhook {
            port,
            accepted,
            refused,
        }
    }

    /// Every alert accepted so far as (DevEUI, kind, state).
    fn alerts(&self) -> Vec<(String, String, String)> {
        let bodies = self.accepted.lock().unwrap();
        bodies
            .iter()
            .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
            .map(|a| {
                let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
                (s("dev_eui"), s("kind"), s("state"))
            })
            .collect()
    }
}

fn alert(kind: &str, state: &str) -> (String, String, String) {
    (EUI.into(), kind.into(), state.into())
}

#[test]
fn silent_device_alerts_once_survives_restart_retries_and_clears() {
    // The first three posts fail: one whole check (three attempts) goes undelivered.
    let webhook = Webhook::start(3);
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-alerts");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    let config = config.replacen("[http]\n", "[http]\nsilent_after = \"3s\"\n", 1)
        + &format!(
            "\n[alerts]\nwebhook_url = \"http://127.0.0.1:{}/hooks/technik\"\ncheck_every = \"1s\"\n",
            webhook.port
        );
    std::fs::write(&hub.config, config).unwrap();
    hub.register(EUI, "pegel-wyk", true);
    // Registered but never heard: not installed yet, so no alert.
    hub.register(QUIET_EUI, "pegel-nieblum", true);
    hub.start();

    let now = sensorhub_store::time::now_ms();
    publish_all(&broker.url(), &[lpp_uplink(EUI, 8.5, 80.0, now)]);
    wait_for("the uplink stored", Duration::from_secs(20), || {
        (!hub.readings(EUI).is_empty()).then_some(())
    });

    // Three seconds later the device counts as silent; the failed check is tried again.
    wait_for("the silent alert", Duration::from_secs(30), || {
        (!webhook.alerts().is_empty()).then_some(())
    });
    assert_eq!(webhook.refused.load(Ordering::SeqCst), 3);
    assert_eq!(webhook.alerts(), [alert("silent", "open")]);
    let text = webhook.accepted.lock().unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("pegel-wyk") && text.contains("sendet seit"),
        "{text}"
    );

    // Later checks and a restart send nothing new.
    std::thread::sleep(Duration::from_secs(3));
    hub.kill();
    hub.start();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(webhook.alerts(), [alert("silent", "open")]);
    let metrics = common::http_get(hub.http_port, "/metrics", "")
        .unwrap()
        .body;
    assert!(
        metrics.contains("sensorhub_alerts_open{kind=\"silent\"} 1"),
        "{metrics}"
    );
    let listed = hub.ok(&["alerts", "list"]);
    assert!(
        listed.contains(&format!("{EUI} silent since")) && listed.contains("1 alert(s) open"),
        "{listed}"
    );

    // Heard again: the all-clear, once.
    let now = sensorhub_store::time::now_ms();
    publish_all(&broker.url(), &[lpp_uplink(EUI, 8.7, 80.0, now)]);
    wait_for("the all-clear", Duration::from_secs(20), || {
        (webhook.alerts().len() == 2).then_some(())
    });
    assert_eq!(
        webhook.alerts(),
        [alert("silent", "open"), alert("silent", "cleared")]
    );
    assert!(!webhook.alerts().iter().any(|(eui, _, _)| eui == QUIET_EUI));
}

#[test]
fn alerts_check_without_webhook_prints_and_records() {
    let broker = Mosquitto::start();
    // Status events too: they carry the battery level.
    let mut hub = Sensorhub::with_subscriptions(
        &broker.url(),
        "e2e-alerts-cli",
        "[[mqtt.subscriptions]]\ntopic = \"application/+/device/+/event/+\"\nformat = \"chirpstack\"\n",
    );
    let config = std::fs::read_to_string(&hub.config).unwrap();
    let config = config.replacen("[http]\n", "[http]\nsilent_after = \"1h\"\n", 1)
        + "\n[alerts]\ncheck_every = \"1h\"\nlanguage = \"en\"\n";
    std::fs::write(&hub.config, config).unwrap();
    hub.register(EUI, "pegel-wyk", true);
    hub.start();
    // An uplink from two hours ago: silent for the 1h threshold.
    let then = sensorhub_store::time::now_ms() - 2 * 3_600_000;
    // And a status report of another device: battery at 12 %.
    hub.register(QUIET_EUI, "pegel-nieblum", true);
    let status = serde_json::json!({
        "deviceInfo": {"devEui": QUIET_EUI},
        "time": sensorhub_store::time::format_rfc3339(sensorhub_store::time::now_ms()),
        "margin": 9,
        "batteryLevel": 12.0,
    });
    publish_all(
        &broker.url(),
        &[
            lpp_uplink(EUI, 8.5, 80.0, then),
            (
                format!("application/1/device/{QUIET_EUI}/event/status"),
                status.to_string().into_bytes(),
            ),
        ],
    );
    wait_for("the uplink stored", Duration::from_secs(20), || {
        (!hub.readings(EUI).is_empty()).then_some(())
    });
    wait_for("the status stored", Duration::from_secs(20), || {
        hub.ok(&["devices", "health", "--format", "json"])
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|h| h["dev_eui"] == QUIET_EUI && h["battery_level"] == 12.0)
            .then_some(())
    });
    hub.kill();

    let first = hub.ok(&["alerts", "check"]);
    assert!(
        first.contains("open silent") && first.contains("silent for 2 h "),
        "{first}"
    );
    assert!(
        first.contains("open low_battery") && first.contains("battery low: 12 % < 20 %"),
        "{first}"
    );
    // The gateway that heard the silent device is silent as long, and the device depended on
    // it alone.
    assert!(
        first.contains("open gateway_offline ⚠ Gateway 0016c001f153a14c")
            && first.contains("only it heard: pegel-wyk"),
        "{first}"
    );
    assert!(first.contains("3 alert(s) open"), "{first}");
    let second = hub.ok(&["alerts", "check"]);
    assert_eq!(second.trim(), "3 alert(s) open");

    // A webhook URL that is not one is refused by the config check, without showing it.
    let config = std::fs::read_to_string(&hub.config).unwrap()
        + "webhook_url = \"ftp://secret-token@example.org\"\n";
    std::fs::write(&hub.config, config).unwrap();
    let out = hub.cli(&["alerts", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("alerts.webhook_url"), "{stderr}");
    assert!(!stderr.contains("secret-token"), "{stderr}");
}

/// Uplinks of the gauge (heard by the harbour gateway only) and the weather station (heard by
/// both) as ChirpStack sends them; with the harbour gateway down, the gauge is not heard at all.
fn heard_uplinks(harbour_up: bool, n: u64) -> Vec<(String, Vec<u8>)> {
    let now = sensorhub_store::time::now_ms();
    let mut out = Vec::new();
    let mut with = |eui: &str, gateways: &[&str], t: f64| {
        let (topic, body) = lpp_uplink(eui, t, 80.0, now);
        let mut event: Value = serde_json::from_slice(&body).unwrap();
        event["rxInfo"] = gateways
            .iter()
            .map(|g| serde_json::json!({"gatewayId": g, "rssi": -95, "snr": 4.5}))
            .collect();
        out.push((topic, serde_json::to_vec(&event).unwrap()));
    };
    let t = 8.0 + (n % 10) as f64 * 0.1;
    if harbour_up {
        with(EUI, &["gw-hafen"], t);
        with(QUIET_EUI, &["gw-hafen", "gw-kirche"], t);
    } else {
        with(QUIET_EUI, &["gw-kirche"], t);
    }
    out
}

#[test]
fn a_stopped_gateway_opens_one_alert_naming_the_device_only_it_heard() {
    let webhook = Webhook::start(0);
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-gateway-alerts");
    let config = std::fs::read_to_string(&hub.config).unwrap()
        + &format!(
            "\n[alerts]\nwebhook_url = \"http://127.0.0.1:{}/hooks/technik\"\ncheck_every = \"1s\"\ngateway_silent_after = \"5s\"\n",
            webhook.port
        );
    std::fs::write(&hub.config, config).unwrap();
    hub.register(EUI, "pegel-wyk", true);
    hub.register(QUIET_EUI, "wetter-nieblum", true);
    hub.start();

    // The network keeps sending, twice a second; the test switches the harbour gateway.
    let harbour_up = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (up, stop, url) = (harbour_up.clone(), stop.clone(), broker.url());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                publish_all(&url, &heard_uplinks(up.load(Ordering::Relaxed), n));
                n += 1;
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let gateway_alerts = || -> Vec<(String, String, Vec<String>)> {
        let bodies = webhook.accepted.lock().unwrap();
        bodies
            .iter()
            .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["kind"] == "gateway_offline")
            .map(|a| {
                let devices = a["devices"]
                    .as_array()
                    .map(|d| {
                        d.iter()
                            .filter_map(|e| e.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    a["gateway"].as_str().unwrap_or_default().to_owned(),
                    a["state"].as_str().unwrap_or_default().to_owned(),
                    devices,
                )
            })
            .collect()
    };
    wait_for("both gateways heard", Duration::from_secs(20), || {
        (hub.readings(EUI).len() >= 3).then_some(())
    });
    assert!(gateway_alerts().is_empty());

    // The harbour gateway stops: after 5 s one alert, naming the gauge only.
    harbour_up.store(false, Ordering::Relaxed);
    let opened = wait_for("the gateway alert", Duration::from_secs(30), || {
        Some(gateway_alerts()).filter(|a| !a.is_empty())
    });
    assert_eq!(
        opened,
        [(
            "gw-hafen".to_owned(),
            "open".to_owned(),
            vec![EUI.to_owned()]
        )]
    );
    let text = webhook.accepted.lock().unwrap().last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("Gateway gw-hafen")
            && text.contains("pegel-wyk")
            && !text.contains("wetter-nieblum"),
        "{text}"
    );
    // The alert is recorded right after its delivery: the gauge follows within moments.
    let port = hub.http_port;
    let offline = |n: u32| {
        move || {
            common::http_get(port, "/metrics", "")
                .filter(|r| {
                    r.body
                        .contains(&format!("sensorhub_gateways_offline {n}\n"))
                })
                .map(|_| ())
        }
    };
    wait_for(
        "the gateway counted offline",
        Duration::from_secs(10),
        offline(1),
    );
    // Later checks post nothing more while it stays down.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(gateway_alerts().len(), 1);

    // Back: cleared, once.
    harbour_up.store(true, Ordering::Relaxed);
    wait_for("the all-clear", Duration::from_secs(30), || {
        (gateway_alerts().len() == 2).then_some(())
    });
    assert_eq!(gateway_alerts()[1].1, "cleared");
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    wait_for(
        "the gateway counted online again",
        Duration::from_secs(10),
        offline(0),
    );
    // The devices themselves never counted as silent (`http.silent_after` is hours).
    assert!(!webhook.alerts().iter().any(|(_, kind, _)| kind == "silent"));
}
