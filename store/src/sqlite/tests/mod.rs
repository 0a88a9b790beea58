use super::*;
use crate::{DeadLetterReason, Device, Uplink};

mod key_order;

fn reading(station: &str, quantity: &str, time_ms: i64, value: f64) -> Reading {
    Reading {
        station: station.into(),
        quantity: quantity.into(),
        unit: "°C".into(),
        time_ms,
        value,
    }
}

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("nested/store.db")).unwrap();
    (dir, store)
}

fn device(dev_eui: &str, station: &str, public: bool) -> Device {
    Device {
        dev_eui: dev_eui.parse().unwrap(),
        name: format!("node {dev_eui}"),
        station: station.into(),
        device_type: "cayenne-lpp".parse().unwrap(),
        lat: Some(54.5),
        lon: Some(8.5),
        public,
        dev_addr: None,
        nwk_s_key: Some("00112233445566778899aabbccddeeff".parse().unwrap()),
        app_s_key: None,
    }
}

#[tokio::test]
async fn redelivered_batch_changes_nothing_and_last_write_wins() {
    let (_dir, store) = temp_store();
    let batch = vec![reading("a", "air_temperature", 1_000, 1.0)];
    store.write_readings(batch.clone()).await.unwrap();
    store.write_readings(batch).await.unwrap();
    let all = store.readings(ReadingQuery::default()).await.unwrap();
    assert_eq!(all.len(), 1);

    store
        .write_readings(vec![reading("a", "air_temperature", 1_000, 2.0)])
        .await
        .unwrap();
    let all = store.readings(ReadingQuery::default()).await.unwrap();
    assert_eq!(all, vec![reading("a", "air_temperature", 1_000, 2.0)]);
}

#[tokio::test]
async fn latest_ignores_late_older_readings() {
    let (_dir, store) = temp_store();
    store
        .write_readings(vec![reading("a", "air_temperature", 2_000, 5.0)])
        .await
        .unwrap();
    store
        .write_readings(vec![reading("a", "air_temperature", 1_000, 9.0)])
        .await
        .unwrap();
    let latest = store.latest().await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].time_ms, latest[0].value), (2_000, 5.0));
}

#[tokio::test]
async fn query_filters_by_station_quantity_and_half_open_window() {
    let (_dir, store) = temp_store();
    store
        .write_readings(vec![
            reading("a", "air_temperature", 1_000, 1.0),
            reading("a", "air_temperature", 2_000, 2.0),
            reading("a", "relative_humidity", 2_000, 50.0),
            reading("b", "air_temperature", 2_000, 3.0),
            reading("a", "air_temperature", 3_000, 4.0),
        ])
        .await
        .unwrap();
    let got = store
        .readings(ReadingQuery {
            stations: vec!["a".into()],
            quantity: Some("air_temperature".into()),
            since_ms: Some(2_000),
            until_ms: Some(3_000),
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(got, vec![reading("a", "air_temperature", 2_000, 2.0)]);
}

#[tokio::test]
async fn dead_letters_and_unknown_devices_are_kept() {
    let (_dir, store) = temp_store();
    let now = crate::time::now_ms();
    let dead = |reason: &str| DeadLetter {
        time_ms: now,
        topic: "t".into(),
        payload: vec![0xff, 0x00],
        size: 2,
        reason: DeadLetterReason::parse(reason).unwrap(),
        detail: "d".into(),
    };
    let sighting = |at: i64| UnknownDevice {
        dev_eui: "0101010101010101".parse().unwrap(),
        name_hint: Some("Test device".into()),
        first_seen_ms: at,
        last_seen_ms: at,
        uplinks: 1,
        last_topic: format!("topic {at}"),
    };
    for at in [10, 20] {
        store
            .commit(IngestBatch {
                dead_letters: vec![dead("bad_json"), dead("bad_base64")],
                unknown_devices: vec![sighting(at)],
                ..IngestBatch::default()
            })
            .await
            .unwrap();
    }
    let counts = store.dead_letter_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![
            DeadLetterCount {
                reason: DeadLetterReason::BadBase64,
                count: 2
            },
            DeadLetterCount {
                reason: DeadLetterReason::BadJson,
                count: 2
            }
        ]
    );
    assert_eq!(
        store.dead_letters(10).await.unwrap()[0].payload,
        vec![0xff, 0x00]
    );
    let unknown = store.unknown_devices().await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        (
            unknown[0].first_seen_ms,
            unknown[0].last_seen_ms,
            unknown[0].uplinks
        ),
        (10, 20, 2)
    );
    assert_eq!(unknown[0].last_topic, "topic 20");

    store
        .put_devices(vec![device("0101010101010101", "s1", true)])
        .await
        .unwrap();
    assert!(store.unknown_devices().await.unwrap().is_empty());
}

#[tokio::test]
async fn registry_round_trips_and_one_private_device_hides_a_station() {
    let (_dir, store) = temp_store();
    store
        .put_devices(vec![
            device("0000000000000001", "pegel-1", true),
            device("0000000000000002", "pegel-1", false),
            device("0000000000000003", "wetter-1", true),
        ])
        .await
        .unwrap();
    let got = store.device("0000000000000001").await.unwrap().unwrap();
    assert_eq!(got, device("0000000000000001", "pegel-1", true));
    assert!(
        !format!("{got:?}").contains("00112233"),
        "keys leak through Debug"
    );

    let stations = store.stations().await.unwrap();
    assert_eq!(stations.len(), 2);
    assert!(!stations[0].public && stations[0].devices == 2);
    assert!(stations[1].public);

    store.remove_device("0000000000000002").await.unwrap();
    assert!(store.stations().await.unwrap()[0].public);
    assert!(matches!(
        store.remove_device("0000000000000002").await,
        Err(StoreError::UnknownDevice(_))
    ));
}

#[tokio::test]
async fn station_entries_name_and_place_their_stations() {
    let (_dir, store) = temp_store();
    let mut d = device("0000000000000001", "pegel-wyk", true);
    d.lat = Some(54.69123);
    d.lon = Some(8.57456);
    store.put_devices(vec![d]).await.unwrap();
    // Without an entry: the id, the device's position.
    let plain = &store.stations().await.unwrap()[0];
    assert_eq!(
        (plain.info.name_in(false), plain.lat),
        ("pegel-wyk", Some(54.69123))
    );
    let entry = crate::StationInfo {
        station: "pegel-wyk".into(),
        name: "Pegel Wyk".into(),
        name_en: Some("Wyk tide gauge".into()),
        theme: Some(crate::Theme::Water),
        lat: Some(54.6926),
        lon: Some(8.5718),
        gauge: Some(crate::Gauge {
            datum: "NHN".into(),
            sensor_height_m: 6.5,
        }),
        ..crate::StationInfo::default()
    };
    // An entry may come before any device of its station.
    let future = crate::StationInfo {
        station: "wetter-nebel".into(),
        name: "Wetter Nebel".into(),
        ..crate::StationInfo::default()
    };
    store
        .put_station_infos(vec![entry.clone(), future.clone()])
        .await
        .unwrap();
    let station = &store.stations().await.unwrap()[0];
    assert_eq!(station.info, entry);
    assert_eq!((station.lat, station.lon), (Some(54.6926), Some(8.5718)));
    assert_eq!(station.info.name_in(true), "Wyk tide gauge");
    assert_eq!(store.station_infos().await.unwrap(), vec![entry, future]);
    assert!(store.remove_station_info("wetter-nebel").await.unwrap());
    assert!(!store.remove_station_info("wetter-nebel").await.unwrap());
    assert_eq!(store.station_infos().await.unwrap().len(), 1);
}

#[tokio::test]
async fn uplinks_commit_with_readings() {
    let (_dir, store) = temp_store();
    store
        .commit(IngestBatch {
            readings: vec![reading("a", "air_temperature", 1, 1.0)],
            uplinks: vec![Uplink {
                dev_eui: "0101010101010101".parse().unwrap(),
                time_ms: 1,
                f_cnt: Some(7),
                f_port: Some(1),
                dedup_id: None,
                rssi: Some(-36.0),
                snr: Some(10.5),
                gateway_count: 1,
                gateways: Vec::new(),
                time_source: crate::TimeSource::Network,
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let path = store.path().to_path_buf();
    drop(store);
    let conn = Connection::open(path).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM uplinks WHERE f_cnt = 7", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn reopening_keeps_data_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(SqliteStore::open(&path).unwrap());
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", schema::VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::SchemaTooNew { .. })
    ));
}

fn letter(time_ms: i64, payload: Vec<u8>) -> DeadLetter {
    DeadLetter {
        time_ms,
        topic: "t".into(),
        size: payload.len(),
        payload,
        reason: DeadLetterReason::BadJson,
        detail: "d".into(),
    }
}

#[tokio::test]
async fn dead_letters_are_cut_counted_and_pruned_by_number_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let limits = DeadLetterLimits {
        max_rows: 3,
        payload_bytes: 4,
        keep_days: 30,
    };
    let store = SqliteStore::open_with(dir.path().join("s.db"), limits).unwrap();
    let now = crate::time::now_ms();
    let old = now - 31 * 86_400_000;
    let batch = IngestBatch {
        dead_letters: vec![letter(old, b"old!".to_vec())],
        ..IngestBatch::default()
    };
    // The age limit applies with every commit of dead letters: the old one goes at once.
    store.commit(batch).await.unwrap();
    assert!(store.dead_letters(10).await.unwrap().is_empty());
    for i in 0..5u8 {
        let batch = IngestBatch {
            dead_letters: vec![letter(now + i64::from(i), vec![i; 10])],
            ..IngestBatch::default()
        };
        store.commit(batch).await.unwrap();
    }
    let kept = store.dead_letters(10).await.unwrap();
    assert_eq!(kept.len(), 3, "only the newest 3");
    assert_eq!(kept[0].payload, vec![4; 4], "cut to 4 bytes");
    assert_eq!(kept[0].size, 10, "with the size as received");
    assert_eq!(kept[2].payload, vec![2; 4]);

    // A replay leaves a gap in the ids; the limit still keeps exactly the newest 3.
    let ids: Vec<i64> = store
        .dead_letters_to_replay(None, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let replayed = IngestBatch {
        replayed_dead_letters: vec![ids[1]],
        ..IngestBatch::default()
    };
    store.commit(replayed).await.unwrap();
    let batch = IngestBatch {
        dead_letters: vec![letter(now + 10, vec![9; 10])],
        ..IngestBatch::default()
    };
    store.commit(batch).await.unwrap();
    let kept = store.dead_letters(10).await.unwrap();
    let first_bytes: Vec<u8> = kept.iter().map(|d| d.payload[0]).collect();
    assert_eq!(first_bytes, vec![9, 4, 2], "the newest 3 around the gap");
}

#[tokio::test]
async fn content_the_store_refuses_is_not_transient() {
    let (_dir, store) = temp_store();
    let err = store
        .write_readings(vec![reading("a", "air_temperature", 1, f64::NAN)])
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    // A refused transaction leaves nothing behind: the next batch (with the same series) works.
    store
        .write_readings(vec![reading("a", "air_temperature", 2, 1.0)])
        .await
        .unwrap();
    assert_eq!(store.latest().await.unwrap().len(), 1);
}

#[test]
fn a_file_that_cannot_be_written_is_refused_at_open_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(SqliteStore::open(&path).unwrap());
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_mode(0o444);
    std::fs::set_permissions(&path, perms).unwrap();
    // root writes read-only files anyway: make the file immutable as well where it can.
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    let result = SqliteStore::open(&path);
    if immutable {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&path)
            .status();
    }
    let err = result
        .err()
        .expect("a file that cannot be written is refused");
    assert!(err.to_string().contains("s.db"), "{err}");
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err}");
}

#[tokio::test]
async fn unmapped_fields_are_counted_per_device_and_bounded() {
    let (_dir, store) = temp_store();
    let field = |dev_eui: &str, name: &str, value: f64, at: i64| crate::UnmappedField {
        dev_eui: dev_eui.parse().unwrap(),
        device_type: "js:codec.js".parse().unwrap(),
        field: name.into(),
        last_value: value,
        unit: Some("mm".into()),
        why: "unknown_unit".into(),
        quantity: Some("distance".into()),
        seen: 1,
        first_seen_ms: at,
        last_seen_ms: at,
    };
    // Within one batch and across batches: one row, every sighting counted, the last value.
    store
        .commit(IngestBatch {
            unmapped_fields: vec![
                field("0101010101010101", "level", 1.0, 10),
                field("0101010101010101", "level", 2.0, 20),
            ],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    store
        .commit(IngestBatch {
            unmapped_fields: vec![field("0101010101010101", "level", 3.0, 30)],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let got = store
        .unmapped_fields(Some("0101010101010101"))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (
            got[0].seen,
            got[0].last_value,
            got[0].first_seen_ms,
            got[0].last_seen_ms
        ),
        (3, 3.0, 10, 30)
    );
    // A codec that invents a new name every time fills no disk: 200 fields per device.
    let invented: Vec<_> = (0..1_000)
        .map(|i| field("0202020202020202", &format!("f{i}"), 1.0, 40))
        .collect();
    store
        .commit(IngestBatch {
            unmapped_fields: invented,
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let kept = store
        .unmapped_fields(Some("0202020202020202"))
        .await
        .unwrap();
    assert_eq!(kept.len(), crate::UNMAPPED_FIELDS_PER_DEVICE);
    assert_eq!(store.unmapped_fields(None).await.unwrap().len(), 201);
}

/// Each copy of an uplink names its gateway; the store keeps every gateway of the uplink,
/// lists them strongest first, sums them up per gateway, and drops them with retention.
#[tokio::test]
async fn the_gateways_of_an_uplink_add_up_across_copies() {
    let (_dir, store) = temp_store();
    let heard = |id: &str, rssi: f64| crate::Heard {
        gateway_id: id.into(),
        rssi: Some(rssi),
        snr: Some(5.0),
    };
    let copy = |ts: i64, gateways: Vec<crate::Heard>| IngestBatch {
        uplinks: vec![Uplink {
            dev_eui: "0101010101010101".into(),
            time_ms: ts,
            f_cnt: Some(7),
            f_port: Some(1),
            dedup_id: None,
            rssi: gateways.first().and_then(|g| g.rssi),
            snr: Some(5.0),
            gateway_count: gateways.len() as u32,
            gateways,
            time_source: crate::TimeSource::Network,
        }],
        ..IngestBatch::default()
    };
    store
        .commit(copy(
            1_000,
            vec![heard("gw-a", -90.0), heard("gw-b", -70.0)],
        ))
        .await
        .unwrap();
    // A later copy of the same uplink, through a third gateway, in another batch.
    store
        .commit(copy(1_000, vec![heard("gw-c", -110.0)]))
        .await
        .unwrap();
    store
        .commit(copy(5_000, vec![heard("gw-a", -80.0)]))
        .await
        .unwrap();

    let uplinks = store.uplinks("0101010101010101", 0, 10).await.unwrap();
    assert_eq!(uplinks.len(), 2);
    let ids: Vec<&str> = uplinks[1]
        .gateways
        .iter()
        .map(|g| g.gateway_id.as_str())
        .collect();
    assert_eq!(ids, ["gw-b", "gw-a", "gw-c"]);
    let seen = store.gateways(0).await.unwrap();
    let a = seen.iter().find(|g| g.gateway_id == "gw-a").unwrap();
    assert_eq!((a.uplinks, a.devices, a.last_seen_ms), (2, 1, 5_000));
    assert_eq!((a.rssi_min, a.rssi_max), (Some(-90.0), Some(-80.0)));
    assert_eq!(seen.len(), 3);
    // Only what is newer than the window counts; retention removes the old rows.
    let recent = store.gateways(2_000).await.unwrap();
    assert_eq!(
        recent
            .iter()
            .find(|g| g.gateway_id == "gw-b")
            .unwrap()
            .uplinks,
        0
    );
    store.retain(2_000).await.unwrap();
    assert_eq!(store.gateways(0).await.unwrap().len(), 1);
}
