//! The alert rules on their own, then one check against a real store and a webhook on
//! loopback, in process: delivered once, retried after a failure, recorded only when delivered.

use super::*;
use sensorhub_store::Batteries;

fn device(eui: &str, last_seen_ms: Option<i64>, battery: Option<f64>) -> DeviceHealth {
    DeviceHealth {
        dev_eui: eui.parse().unwrap(),
        name: format!("Sensor {eui}"),
        station: "pegel-wyk".into(),
        last_seen_ms,
        battery_level: battery,
        ..DeviceHealth::default()
    }
}

const RULES: Rules = Rules {
    silent_ms: 2 * 3_600_000,
    battery_below_percent: 20.0,
    battery_below_v: 0.0,
    english: false,
    gateway_silent_ms: 15 * 60_000,
};

#[test]
fn conditions_open_once_and_clear_once() {
    let now = 1_700_000_000_000;
    let mut open = BTreeMap::new();
    let devices = [
        device("a1", Some(now - 3 * 3_600_000), Some(80.0)),
        device("b2", Some(now - 60_000), Some(15.0)),
        device("c3", None, None),
        device("d4", Some(now - 2 * 3_600_000 + 1), Some(20.0)),
    ];
    let changes = evaluate(&devices, &open, now, &RULES);
    let got: Vec<_> = changes
        .iter()
        .map(|c| (c.dev_eui.as_str(), c.kind.as_str(), c.state.as_str()))
        .collect();
    // Never heard (c3) and just under both thresholds (d4): nothing.
    assert_eq!(
        got,
        [("a1", "silent", "open"), ("b2", "low_battery", "open")]
    );
    assert!(changes[0].text.contains("3 h 0 min"), "{}", changes[0].text);
    assert!(
        changes[1].text.contains("15 % < 20 %"),
        "{}",
        changes[1].text
    );
    for c in &changes {
        open.insert((c.dev_eui.clone(), c.kind), c.since_ms);
    }
    // Same state again: nothing new.
    assert!(evaluate(&devices, &open, now, &RULES).is_empty());
    // a1 heard again, b2 still low, a device with an open alert removed from the registry.
    open.insert(("gone".into(), Kind::Silent), now - 9_000_000);
    let later = [
        device("a1", Some(now + 120_000), Some(80.0)),
        device("b2", Some(now + 120_000), Some(14.0)),
    ];
    let changes = evaluate(&later, &open, now + 180_000, &RULES);
    let got: Vec<_> = changes
        .iter()
        .map(|c| {
            let (kind, state) = (c.kind.as_str(), c.state.as_str());
            (c.dev_eui.as_str(), kind, state, c.text.is_empty())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a1", "silent", "cleared", false),
            ("gone", "silent", "cleared", true)
        ]
    );
    assert!(changes[0].text.contains("sendet wieder"));
    let body = payload(&changes);
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
    assert!(body["text"].as_str().unwrap().contains("Sensor a1"));
}

#[test]
fn voltage_threshold_and_english() {
    let rules = Rules {
        battery_below_percent: 0.0,
        battery_below_v: 3.3,
        english: true,
        ..RULES
    };
    let mut d = device("a1", Some(1_000), Some(1.0));
    d.battery_voltage = Some(3.21);
    let changes = evaluate(&[d], &Open::new(), 2_000, &rules);
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].text,
        "⚠ Sensor a1 (station pegel-wyk, a1): battery low: 3.21 V < 3.30 V"
    );
    assert_eq!(duration_text(90_000_000, true), "1d 1 h");
}

/// A webhook on loopback that answers each post with the next status of `statuses` (then 200)
/// and keeps the bodies it received.
fn webhook(
    statuses: Vec<u16>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/technik", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
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
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            keep.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, bodies)
}

#[tokio::test]
async fn an_alert_is_recorded_only_once_delivered_and_posted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = sensorhub_store::Store::open(&sensorhub_store::StoreConfig {
        path: dir.path().join("s.db").display().to_string(),
        ..sensorhub_store::StoreConfig::default()
    })
    .unwrap();
    let eui = "0303030303030303";
    store
        .state()
        .put_devices(vec![sensorhub_store::Device {
            dev_eui: eui.parse().unwrap(),
            name: "Pegel Wyk".into(),
            station: "pegel-wyk".into(),
            device_type: sensorhub_store::DeviceType::CayenneLpp,
            lat: None,
            lon: None,
            public: true,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        }])
        .await
        .unwrap();
    let now = sensorhub_store::time::now_ms();
    let heard = now - 3 * 3_600_000;
    store
        .commit(sensorhub_store::IngestBatch {
            uplinks: vec![sensorhub_store::Uplink {
                dev_eui: eui.parse().unwrap(),
                time_ms: heard,
                time_source: sensorhub_store::TimeSource::Network,
                f_cnt: Some(1),
                f_port: Some(1),
                dedup_id: None,
                rssi: None,
                snr: None,
                gateway_count: 1,
                gateways: Vec::new(),
            }],
            ..sensorhub_store::IngestBatch::default()
        })
        .await
        .unwrap();
    // The first check meets a webhook that fails three times: nothing is recorded.
    let (url, bodies) = webhook(vec![500, 502, 503]);
    let config = AlertsConfig {
        webhook_url: Some(url),
        timeout_s: 5,
        ..AlertsConfig::default()
    };
    let silent_after = HumanDuration::from_hours(2);
    let err = check(&store, &config, silent_after, &Batteries::default(), now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err:#}");
    assert!(
        !err.to_string().contains("hooks/technik"),
        "no URL in {err:#}"
    );
    assert!(store.state().open_alerts().await.unwrap().is_empty());
    // The next check delivers it and records it.
    let changes = check(
        &store,
        &config,
        silent_after,
        &Batteries::default(),
        now + 60_000,
    )
    .await
    .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (changes[0].kind, changes[0].state),
        (Kind::Silent, State::Open)
    );
    assert_eq!(
        store.state().open_alerts().await.unwrap(),
        vec![(eui.to_owned(), Kind::Silent, heard)]
    );
    // Nothing new: no post. Heard again: one all-clear.
    assert!(check(
        &store,
        &config,
        silent_after,
        &Batteries::default(),
        now + 120_000
    )
    .await
    .unwrap()
    .is_empty());
    store
        .commit(sensorhub_store::IngestBatch {
            uplinks: vec![sensorhub_store::Uplink {
                dev_eui: eui.parse().unwrap(),
                time_ms: now + 150_000,
                time_source: sensorhub_store::TimeSource::Network,
                f_cnt: Some(2),
                f_port: Some(1),
                dedup_id: None,
                rssi: None,
                snr: None,
                gateway_count: 1,
                gateways: Vec::new(),
            }],
            ..sensorhub_store::IngestBatch::default()
        })
        .await
        .unwrap();
    let changes = check(
        &store,
        &config,
        silent_after,
        &Batteries::default(),
        now + 180_000,
    )
    .await
    .unwrap();
    assert_eq!(changes[0].state, State::Cleared);
    assert!(store.state().open_alerts().await.unwrap().is_empty());
    let bodies = bodies.lock().unwrap();
    // Three refused attempts, the alert, the all-clear.
    assert_eq!(bodies.len(), 5, "{bodies:?}");
    assert_eq!(bodies[3]["alerts"][0]["kind"], "silent");
    assert_eq!(bodies[3]["alerts"][0]["state"], "open");
    assert!(bodies[3]["text"].as_str().unwrap().contains("Pegel Wyk"));
    assert_eq!(bodies[4]["alerts"][0]["state"], "cleared");
}

/// A gateway stops: after `alerts.gateway_silent_after` one `gateway_offline` alert opens,
/// posted to the webhook with the device only it heard (the other device has a second
/// gateway); it stays open without a second post, and clears once when the gateway is heard
/// again.
#[tokio::test]
async fn a_silent_gateway_opens_one_alert_naming_the_devices_only_it_heard() {
    let dir = tempfile::tempdir().unwrap();
    let store = sensorhub_store::Store::open(&sensorhub_store::StoreConfig {
        path: dir.path().join("s.db").display().to_string(),
        ..sensorhub_store::StoreConfig::default()
    })
    .unwrap();
    let device = |eui: &str, name: &str, station: &str| sensorhub_store::Device {
        dev_eui: eui.parse().unwrap(),
        name: name.into(),
        station: station.into(),
        device_type: sensorhub_store::DeviceType::CayenneLpp,
        lat: None,
        lon: None,
        public: true,
        dev_addr: None,
        nwk_s_key: None,
        app_s_key: None,
    };
    store
        .state()
        .put_devices(vec![
            device("0303030303030303", "Pegel Wyk", "pegel-wyk"),
            device("0404040404040404", "Wetter Nieblum", "wetter-nieblum"),
        ])
        .await
        .unwrap();
    let heard = |id: &str| sensorhub_store::Heard {
        gateway_id: id.into(),
        rssi: Some(-90.0),
        snr: Some(3.0),
    };
    let uplink = |eui: &str, ts: i64, f_cnt: u32, gateways: Vec<sensorhub_store::Heard>| {
        sensorhub_store::Uplink {
            dev_eui: eui.into(),
            time_ms: ts,
            time_source: sensorhub_store::TimeSource::Network,
            f_cnt: Some(f_cnt),
            f_port: Some(1),
            dedup_id: None,
            rssi: Some(-90.0),
            snr: Some(3.0),
            gateway_count: gateways.len() as u32,
            gateways,
        }
    };
    let now = sensorhub_store::time::now_ms();
    // The gauge is heard by the harbour gateway only; the weather station by both.
    store
        .commit(sensorhub_store::IngestBatch {
            uplinks: vec![
                uplink("0303030303030303", now - 60_000, 1, vec![heard("gw-hafen")]),
                uplink(
                    "0404040404040404",
                    now - 50_000,
                    1,
                    vec![heard("gw-hafen"), heard("gw-kirche")],
                ),
            ],
            ..sensorhub_store::IngestBatch::default()
        })
        .await
        .unwrap();
    let (url, bodies) = webhook(vec![]);
    let config = AlertsConfig {
        webhook_url: Some(url),
        ..AlertsConfig::default()
    };
    let silent = HumanDuration::from_hours(24);
    // Heard a minute ago: nothing.
    assert!(check(&store, &config, silent, &Batteries::default(), now)
        .await
        .unwrap()
        .is_empty());
    // The harbour gateway stops; the church gateway keeps hearing the weather station.
    let later = now + 20 * 60_000;
    store
        .commit(sensorhub_store::IngestBatch {
            uplinks: vec![uplink(
                "0404040404040404",
                later - 30_000,
                2,
                vec![heard("gw-kirche")],
            )],
            ..sensorhub_store::IngestBatch::default()
        })
        .await
        .unwrap();
    let changes = check(&store, &config, silent, &Batteries::default(), later)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!(
        (c.kind, c.state, c.gateway.as_deref()),
        (Kind::GatewayOffline, State::Open, Some("gw-hafen"))
    );
    assert_eq!(c.devices, vec!["0303030303030303".to_owned()]);
    assert!(
        c.text.contains("Pegel Wyk") && !c.text.contains("Wetter Nieblum"),
        "{}",
        c.text
    );
    // Still silent: no second post.
    assert!(check(
        &store,
        &config,
        silent,
        &Batteries::default(),
        later + 60_000
    )
    .await
    .unwrap()
    .is_empty());
    assert_eq!(
        store.state().open_alerts().await.unwrap(),
        vec![("gw-hafen".to_owned(), Kind::GatewayOffline, now - 50_000)]
    );
    // Heard again: one all-clear.
    store
        .commit(sensorhub_store::IngestBatch {
            uplinks: vec![uplink(
                "0303030303030303",
                later + 90_000,
                2,
                vec![heard("gw-hafen")],
            )],
            ..sensorhub_store::IngestBatch::default()
        })
        .await
        .unwrap();
    let changes = check(
        &store,
        &config,
        silent,
        &Batteries::default(),
        later + 120_000,
    )
    .await
    .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].state, State::Cleared);
    assert!(store.state().open_alerts().await.unwrap().is_empty());
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["alerts"][0]["kind"], "gateway_offline");
    assert_eq!(bodies[0]["alerts"][0]["gateway"], "gw-hafen");
    assert_eq!(bodies[0]["alerts"][0]["devices"][0], "0303030303030303");
    assert_eq!(bodies[1]["alerts"][0]["state"], "cleared");
}
