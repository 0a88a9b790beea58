//! A commit writes its rows in key order: what that must not change.

use super::*;

/// A commit writes its rows in key order, not in the order the messages came: of two with the
/// same key in one commit, the later message's must still win, in every table it reaches.
#[tokio::test]
async fn within_one_commit_the_later_of_two_same_keys_wins_whatever_the_order() {
    let (_dir, store) = temp_store();
    let uplink = |dev_eui: &str, time_ms: i64, f_cnt: u32| Uplink {
        dev_eui: dev_eui.parse().unwrap(),
        time_ms,
        f_cnt: Some(f_cnt),
        f_port: Some(1),
        dedup_id: None,
        rssi: None,
        snr: None,
        gateway_count: 0,
        gateways: Vec::new(),
        time_source: crate::TimeSource::Network,
    };
    // Messages of two series and two devices interleaved, newest key first; the first and
    // the last message share a key and differ.
    let parts: Vec<IngestBatch> = [
        ("b", 3_000, 1.0, "0202020202020202", 1),
        ("a", 2_000, 5.0, "0101010101010101", 2),
        ("b", 1_000, 7.0, "0202020202020201", 3),
        ("a", 1_000, 6.0, "0101010101010101", 4),
        ("b", 3_000, 2.0, "0202020202020202", 5),
    ]
    .into_iter()
    .map(|(station, ts, value, dev_eui, f_cnt)| IngestBatch {
        readings: vec![reading(station, "air_temperature", ts, value)],
        uplinks: vec![uplink(dev_eui, ts, f_cnt)],
        ..IngestBatch::default()
    })
    .collect();
    store
        .commit_parts(std::sync::Arc::new(parts), 0..5)
        .await
        .unwrap();
    let b = store
        .readings(ReadingQuery {
            stations: vec!["b".into()],
            ..ReadingQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        b.iter().map(|r| (r.time_ms, r.value)).collect::<Vec<_>>(),
        vec![(1_000, 7.0), (3_000, 2.0)]
    );
    let latest = store.latest().await.unwrap();
    let newest: Vec<_> = latest
        .iter()
        .map(|l| (l.station.as_str(), l.time_ms, l.value))
        .collect();
    assert_eq!(newest, vec![("a", 2_000, 5.0), ("b", 3_000, 2.0)]);
    let path = store.path().to_path_buf();
    drop(store);
    let conn = Connection::open(path).unwrap();
    let hour: (i64, f64) = conn
        .query_row(
            "SELECT count, sum FROM hourly JOIN series ON series.id = series_id
             WHERE station = 'b'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(hour, (2, 9.0), "the hour holds 7 and the later 2, not 1");
    let f_cnt: i64 = conn
        .query_row(
            "SELECT f_cnt FROM uplinks WHERE dev_eui = '0202020202020202' AND ts = 3000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(f_cnt, 5, "the later uplink of the same device and time");
}
