//! Killing the process in the middle of writes loses no committed batch and corrupts nothing.
//!
//! The test runs a writer in a child process (this same test binary, running the ignored
//! `writer_process` test), which commits batches of readings and reports each commit on
//! stdout. After some commits the parent kills it with SIGKILL, mid-write, and then checks the
//! file: SQLite's integrity check passes, every reported batch is there in full, the batch that
//! was in flight is there in full or not at all, and the rollups agree with the raw data.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use rusqlite::Connection;
use sensorhub_store::{Reading, SqliteStore};

const BATCH: usize = 2_000;
const DB_ENV: &str = "SENSORHUB_CRASH_TEST_DB";

fn batch(n: usize) -> Vec<Reading> {
    (0..BATCH)
        .map(|i| Reading {
            station: format!("batch-{n}"),
            quantity: format!("q{}", i % 4),
            unit: "m".into(),
            time_ms: 1_714_521_600_000 + (i / 4) as i64 * 60_000,
            value: (n * BATCH + i) as f64,
        })
        .collect()
}

#[tokio::test]
#[ignore = "helper process of killed_writer_loses_no_committed_batch"]
async fn writer_process() {
    let path = std::env::var(DB_ENV).expect("run by killed_writer_loses_no_committed_batch");
    let store = SqliteStore::open(path).unwrap();
    for n in 0.. {
        store.write_readings(batch(n)).await.unwrap();
        println!("committed {n}");
    }
}

#[test]
fn killed_writer_loses_no_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "writer_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("committed ") {
            committed = Some(n.parse::<usize>().unwrap());
            if committed == Some(15) {
                break;
            }
        }
    }
    // The writer is inside its next transaction now; kill it as a power cut would.
    child.kill().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("committed ") {
            committed = Some(n.parse().unwrap());
        }
    }
    let _ = child.wait();
    let committed = committed.expect("the writer committed nothing before it was killed");

    let conn = Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let count = |station: String| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM readings r JOIN series s ON s.id = r.series_id WHERE s.station = ?1",
            [station],
            |r| r.get(0),
        )
        .unwrap()
    };
    for n in 0..=committed {
        assert_eq!(
            count(format!("batch-{n}")),
            BATCH as i64,
            "committed batch {n} is incomplete"
        );
    }
    let in_flight = count(format!("batch-{}", committed + 1));
    assert!(
        in_flight == 0 || in_flight == BATCH as i64,
        "half a batch: {in_flight}"
    );
    let (raw, rolled): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM readings), (SELECT SUM(count) FROM hourly)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(raw, rolled, "hourly rollups disagree with raw readings");
    // The store opens again and takes new writes.
    drop(conn);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        store.write_readings(batch(10_000)).await.unwrap();
    });
}
