//! Public answers kept between commits (`dashboards/src/cache.rs`), through a running
//! `sensorhub run` with a real Mosquitto: a value committed by the gateway is in the very next
//! answer of the JSON API, the pages and the SensorThings API, although each was asked for (and
//! kept) just before; `If-None-Match` gets 304 until a commit changes the answer;
//! `Accept-Encoding` chooses brotli, gzip or neither, each the same bytes once decompressed; and
//! a client asking for ever new URLs never makes the cache hold more than `http.cache_max_bytes`,
//! and answers that are not kept (404s, overlong URLs) leave nothing behind.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{lpp_uplink, publish_all, Mosquitto, Sensorhub};
use sensorhub_store::{ReadingQuery, SqliteStore};

const EUI: &str = "0303030303030303";
const BOUND: usize = 300_000;

struct Answer {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A GET with the body as bytes (compressed bodies are no text).
fn get(port: u16, path: &str, headers: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut body = raw[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers: head,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line + 2..line + 2 + size]);
        data = &data[line + 2 + size + 2..];
    }
}

fn metric(port: u16, name: &str) -> f64 {
    let text = get(port, "/metrics", "").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .parse()
        .unwrap()
}

#[test]
fn cached_answers_follow_every_commit_honour_conditions_and_encodings_and_stay_bounded() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-cache");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    std::fs::write(
        &hub.config,
        config.replace(
            "[http]\n",
            &format!("[http]\ncache_max_bytes = {BOUND}\nrate_limit_per_s = 0\n"),
        ),
    )
    .unwrap();
    hub.register(EUI, "pegel-wyk", true);
    hub.start();
    let port = hub.http_port;
    let store = SqliteStore::open(hub.dir.path().join("data/sensorhub.db")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stored = |value: f64| {
        runtime.block_on(async {
            store
                .readings(ReadingQuery {
                    stations: vec!["pegel-wyk".into()],
                    quantity: Some("air_temperature".into()),
                    ..ReadingQuery::default()
                })
                .await
                .unwrap()
                .iter()
                .any(|r| r.value == value)
        })
    };
    let answers = [
        "/api/v1/stations",
        "/api/v1/latest",
        "/api/v1/stations/pegel-wyk",
        "/stations/pegel-wyk",
        "/sta/v1.1/Datastreams('pegel-wyk~air_temperature')/Observations?$top=1&$orderby=phenomenonTime%20desc",
    ];

    // Each round: every answer asked for (and kept), then a new value committed by the
    // gateway, then every answer again, which must hold it.
    let start = sensorhub_store::time::now_ms() / 1000 * 1000 - 60_000;
    let mut etag = None;
    for round in 0..4 {
        let value = 11.5 + round as f64;
        for path in answers {
            let before = get(port, path, "");
            assert!(
                round == 0 || before.status == 200,
                "{path}: {}",
                before.status
            );
        }
        let kept = get(port, "/api/v1/stations", "");
        if let Some(old) = &etag {
            // Unchanged since the last round's answer: 304.
            let again = get(
                port,
                "/api/v1/stations",
                &format!("If-None-Match: {old}\r\n"),
            );
            assert_eq!(again.status, 304, "{}", again.headers);
            assert!(again.body.is_empty());
        }
        let kept_etag = kept.header("etag").unwrap().to_owned();
        publish_all(
            &broker.url(),
            &[lpp_uplink(EUI, value, 60.0, start + round * 1000)],
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !stored(value) {
            assert!(Instant::now() < deadline, "round {round}: not stored");
            std::thread::sleep(Duration::from_millis(20));
        }
        for path in answers {
            // The pages write German numbers.
            let shown = if path.starts_with("/stations/") {
                format!("{value}").replace('.', ",")
            } else {
                format!("{value}")
            };
            let after = get(port, path, "");
            assert_eq!(after.status, 200, "{path}");
            assert!(
                after.text().contains(&shown),
                "round {round}: {path} does not show {shown} right after its commit: {}",
                after.text()
            );
        }
        // The answer changed, so the old ETag no longer matches.
        let changed = get(
            port,
            "/api/v1/stations",
            &format!("If-None-Match: {kept_etag}\r\n"),
        );
        assert_eq!(changed.status, 200);
        assert_ne!(changed.header("etag").unwrap(), kept_etag);
        etag = Some(changed.header("etag").unwrap().to_owned());
    }
    assert!(metric(port, "sensorhub_http_cache_hits_total") > 0.0);

    // Encodings: each the same bytes once decompressed; refused ones are not sent. (The page
    // names the time it was built: asked for again until no write of the gateway came between.)
    let page = |headers: &str| get(port, "/stations/pegel-wyk", headers);
    let (plain, br, gz, none) = (0..20)
        .find_map(|_| {
            let plain = page("");
            let br = page("Accept-Encoding: gzip, br\r\n");
            let gz = page("Accept-Encoding: gzip;q=1, br;q=0\r\n");
            let none = page("Accept-Encoding: gzip;q=0, br;q=0\r\n");
            let again = page("");
            (again.body == plain.body).then_some((plain, br, gz, none))
        })
        .expect("the same page twice");
    assert!(plain.body.len() > 1024 && plain.header("content-encoding").is_none());
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut unpacked = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut unpacked).unwrap();
    assert!(unpacked == plain.body, "brotli: not the plain page");
    assert!(
        br.body.len() < plain.body.len() / 2,
        "{} bytes",
        br.body.len()
    );
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(unpacked == plain.body, "gzip: not the plain page");
    assert!(none.header("content-encoding").is_none());
    assert!(none.body == plain.body, "identity: not the plain page");
    assert!(br
        .header("vary")
        .is_some_and(|v| v.contains("Accept-Encoding")));
    // A compressed answer's ETag matches the plain one's condition too.
    let tag = br.header("etag").unwrap().to_owned();
    let conditional = (0..20)
        .map(|_| page(&format!("If-None-Match: {tag}\r\n")).status)
        .find(|s| *s == 304);
    assert_eq!(conditional, Some(304));

    // A client inventing URLs: the cache stays within its bound, and keeps answering.
    for i in 0..400 {
        let path = format!(
            "/api/v1/stations/pegel-wyk/history?quantity=air_temperature&resolution=raw&since={}",
            sensorhub_store::time::format_rfc3339(start - i * 1000)
        );
        let page = get(port, &path, "Accept-Encoding: br\r\n");
        assert_eq!(page.status, 200, "{path}");
        if i % 50 == 0 {
            let bytes = metric(port, "sensorhub_http_cache_bytes");
            assert!(bytes <= BOUND as f64, "{bytes} bytes held, bound {BOUND}");
        }
    }
    for i in 0..60 {
        get(
            port,
            &format!("/?lang=en&n={i}"),
            "Accept-Encoding: gzip\r\n",
        );
        let bytes = metric(port, "sensorhub_http_cache_bytes");
        assert!(bytes <= BOUND as f64, "{bytes} bytes held, bound {BOUND}");
    }
    assert!(metric(port, "sensorhub_http_cache_entries") > 1.0);
    // Answers that are not kept (404s) leave nothing behind; nor do overlong URLs.
    let entries = metric(port, "sensorhub_http_cache_entries");
    for i in 0..300 {
        assert_eq!(get(port, &format!("/stations/nope-{i}"), "").status, 404);
    }
    let long = format!("/?lang=de&pad={}", "x".repeat(4000));
    assert_eq!(get(port, &long, "").status, 200);
    let after = metric(port, "sensorhub_http_cache_entries");
    assert!(after <= entries, "{entries} entries before, {after} after");
    let last = get(port, "/api/v1/stations", "");
    assert!(last.text().contains("14.5"));
}
