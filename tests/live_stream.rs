//! `/api/v1/stream` as clients and attackers use it, through a running `sensorhub run` with a
//! real Mosquitto: the live feed's connections are answered beside hyper
//! (`dashboards/src/api/stream_conn.rs`), so they are checked here from the socket up: the
//! answer's head, a new value as an event, the same rate limit as the API, and connections that
//! never finish their request, send too much, or only look like a stream request, none of which
//! keeps the server from answering others.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{http_get, lpp_uplink, publish_all, Mosquitto, Sensorhub};

const EUI: &str = "0404040404040404";

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until `needle` has arrived (or the stream ends); everything read.
fn read_until(stream: &mut TcpStream, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) && Instant::now() < deadline {
        stream
            .set_read_timeout(Some(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(10)),
            ))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn the_live_stream_sends_new_values_and_withstands_hostile_connections() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-stream");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    std::fs::write(
        &hub.config,
        config.replace(
            "[http]\n",
            "[http]\nrate_limit_per_s = 2\nrate_limit_burst = 4\n",
        ),
    )
    .unwrap();
    hub.register(EUI, "pegel-wyk", true);
    hub.start();
    let port = hub.http_port;

    // Attackers first: a request line that never ends, one that stops inside the prefix, and
    // a head far too long. The server answers others meanwhile.
    let mut slow = connect(port);
    slow.write_all(b"GET /api/v1/str").unwrap();
    let mut stalled = connect(port);
    stalled
        .write_all(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut flood = connect(port);
    flood
        .write_all(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let long = format!("X-Filler: {}\r\n", "a".repeat(9000));
    let _ = flood.write_all(long.as_bytes());
    let refused = read_until(&mut flood, "\r\n\r\n", Duration::from_secs(10));
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert_eq!(http_get(port, "/healthz", "").unwrap().status, 200);

    // Only a stream request is taken from hyper: a longer path is the router's 404.
    let mut lookalike = connect(port);
    lookalike
        .write_all(b"GET /api/v1/streamer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_until(&mut lookalike, "\r\n\r\n", Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    // A listener: the head as an event stream, then each new value as an event.
    let mut listener = connect(port);
    listener
        .write_all(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let head = read_until(&mut listener, "\r\n\r\n", Duration::from_secs(10));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_ascii_lowercase();
    for header in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "x-content-type-options: nosniff",
        "content-security-policy:",
        "transfer-encoding: chunked",
    ] {
        assert!(lower.contains(header), "{header} missing: {head}");
    }
    // An HTTP/1.0 client, which knows no chunked body: the events as they are, then the end
    // of the connection.
    let mut old = connect(port);
    old.write_all(b"GET /api/v1/stream HTTP/1.0\r\n\r\n")
        .unwrap();
    let old_head = read_until(&mut old, "\r\n\r\n", Duration::from_secs(10));
    let old_lower = old_head.to_ascii_lowercase();
    assert!(old_head.starts_with("HTTP/1.1 200"), "{old_head}");
    assert!(
        !old_lower.contains("transfer-encoding") && old_lower.contains("connection: close"),
        "{old_head}"
    );

    let t0 = sensorhub_store::time::now_ms() / 1000 * 1000;
    let mut got = String::new();
    for i in 0..30 {
        publish_all(
            &broker.url(),
            &[lpp_uplink(EUI, 7.0 + i as f64 / 10.0, 50.0, t0 + i * 1000)],
        );
        got.push_str(&read_until(
            &mut listener,
            "event: reading",
            Duration::from_millis(700),
        ));
        if got.contains("event: reading") {
            break;
        }
    }
    assert!(got.contains("event: reading"), "no event: {got}");
    let data = got
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let event: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(event["station"], "pegel-wyk");
    assert!(!got.contains(EUI), "{got}");
    let old_got = read_until(&mut old, "event: reading", Duration::from_secs(10));
    let old_body = old_got
        .split_once("\r\n\r\n")
        .map_or(&old_got[..], |(_, b)| b);
    assert!(
        old_body.starts_with("event: reading\ndata: {") || old_body.starts_with(":\n\n"),
        "an HTTP/1.0 body is not chunked: {old_body:?}"
    );

    // The API's rate limit: beyond the burst, 429 with Retry-After, and the connection closes.
    let mut limited = None;
    for _ in 0..10 {
        let mut client = connect(port);
        client
            .write_all(b"GET /api/v1/stream?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let answer = read_until(&mut client, "\r\n\r\n", Duration::from_secs(5));
        if answer.starts_with("HTTP/1.1 429") {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("never limited");
    assert!(
        limited.to_ascii_lowercase().contains("retry-after:"),
        "{limited}"
    );

    // The attackers still hold their sockets; the server still answers.
    drop((slow, stalled));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(http_get(port, "/healthz", "").unwrap().status, 200);
}

/// An attacker collecting open streams from one address: the rate limit counts new ones
/// only, so the open ones are counted too (`http.live_streams_per_client`), and a closed one
/// makes room again.
#[test]
fn one_address_cannot_hold_more_streams_than_its_share() {
    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-stream-share");
    let config = std::fs::read_to_string(&hub.config).unwrap();
    std::fs::write(
        &hub.config,
        config.replace(
            "[http]\n",
            "[http]\nrate_limit_per_s = 0\nlive_streams_per_client = 20\n",
        ),
    )
    .unwrap();
    hub.start();
    let port = hub.http_port;
    let open = |n: usize| -> (TcpStream, String) {
        let mut stream = connect(port);
        stream
            .write_all(format!("GET /api/v1/stream?n={n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let head = read_until(&mut stream, "\r\n\r\n", Duration::from_secs(10));
        (stream, head)
    };
    let mut held = Vec::new();
    for n in 0..20 {
        let (stream, head) = open(n);
        assert!(head.starts_with("HTTP/1.1 200"), "stream {n}: {head}");
        held.push(stream);
    }
    let (_, refused) = open(20);
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.contains("too many open streams"), "{refused}");
    // One closes; its place is free again (once the server has seen it go).
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (stream, head) = open(21);
        if head.starts_with("HTTP/1.1 200") {
            held.push(stream);
            break;
        }
        assert!(Instant::now() < deadline, "no room after a close: {head}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(http_get(port, "/healthz", "").unwrap().status, 200);
}
