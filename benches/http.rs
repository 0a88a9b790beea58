//! Dashboard benchmark against the running server (`sensorhub serve`, a separate process):
//!
//! 1. latency of `GET /api/v1/stations` (50 public stations, 4 values each) at an offered load
//!    of 1,000 requests per second for 10 s, open loop: each request is due at a fixed time
//!    and its latency counts from then, so a slow server cannot hide queueing;
//! 2. the server's memory for 10,000, 18,500 and 100,000 concurrent Server-Sent-Events clients
//!    (VmRSS before and after they connect), and how long one new value takes to reach all of
//!    them.
//!
//! Run with `cargo bench --bench http`. Each side holds up to 100,000 sockets, so both processes
//! need an open-file limit above that: below 110,000 the bench re-runs itself with 250,000 (as
//! root) or the hard limit, and measures as many clients as that allows.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use sensorhub_store::{Reading, TimeSeries};
use support::{open_loop, percentile, public_stations, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STATIONS: usize = 50;
const RATE: u64 = 1_000;
const SECONDS: u64 = 10;
const SSE_CLIENTS: [usize; 3] = [10_000, 18_500, 100_000];

fn open_file_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if open_file_limit() < 110_000 && std::env::var_os("BENCH_OPEN_FILES_RAISED").is_none() {
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("sh")
            .arg("-c")
            // Root may raise the hard limit too; others get theirs.
            .arg("ulimit -n 250000 2>/dev/null || ulimit -n \"$(ulimit -Hn)\"; exec \"$0\" \"$@\"")
            .arg(exe)
            .args(std::env::args().skip(1))
            .env("BENCH_OPEN_FILES_RAISED", "1")
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, port, store) = public_stations(&runtime, dir.path(), STATIONS);
    let server = serve(&runtime, &config, port);
    let pid = server.0.id();
    let base = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        // Warm-up: connections and caches.
        for _ in 0..200 {
            let _ = client.get(format!("{base}/api/v1/stations")).send().await;
        }

        // 1. Open-loop latency at 1,000 requests per second.
        let total = RATE * SECONDS;
        let (latencies, failed, elapsed) =
            open_loop(&client, &format!("{base}/api/v1/stations"), RATE, SECONDS).await;
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| GET /api/v1/stations offered | {RATE} req/s for {SECONDS} s ({total} requests, {STATIONS} stations) |"
        );
        println!(
            "| achieved | {:.0} req/s, {failed} failed |",
            latencies.len() as f64 / elapsed.as_secs_f64()
        );
        println!("| latency p50 | {:.2} ms |", percentile(&latencies, 0.50).as_secs_f64() * 1e3);
        println!("| latency p99 | {:.2} ms |", percentile(&latencies, 0.99).as_secs_f64() * 1e3);
        println!("| latency max | {:.2} ms |", latencies.last().unwrap().as_secs_f64() * 1e3);

        // 2. Memory of 10,000, then 100,000 concurrent SSE clients, and one new value's way to
        // all of them. Clients come from several loopback addresses: one has ports for 28,000.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss_kib(pid);
        let request = format!("GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n");
        let mut streams: Vec<TcpStream> = Vec::with_capacity(*SSE_CLIENTS.last().unwrap());
        let mut value = 4.2;
        for clients in SSE_CLIENTS {
            if open_file_limit() < clients as u64 + 1_000 {
                println!("| {clients} SSE clients | not measured: open-file limit {} |", open_file_limit());
                break;
            }
            let connect_started = Instant::now();
            while streams.len() < clients {
                let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (streams.len() / 20_000) as u8);
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind((source, 0).into()).unwrap();
                let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
                stream.write_all(request.as_bytes()).await.unwrap();
                let mut head = Vec::new();
                let mut buf = [0u8; 512];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).await.unwrap();
                    assert!(n > 0, "server closed an SSE connection");
                    head.extend_from_slice(&buf[..n]);
                }
                assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));
                streams.push(stream);
            }
            let connect_time = connect_started.elapsed();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = rss_kib(pid);

            // One new value; time until every client has it.
            value += 0.1;
            let fan_out_started = Instant::now();
            store
                .write(vec![Reading {
                    station: "station-00".into(),
                    quantity: "water_level".into(),
                    unit: "m".into(),
                    time_ms: sensorhub_store::time::now_ms(),
                    value,
                }])
                .await
                .unwrap();
            let mut readers = Vec::with_capacity(streams.len());
            for mut stream in streams.drain(..) {
                readers.push(tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !seen.windows(13).any(|w| w == b"event: readin") {
                        let n = stream.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return None;
                        }
                        seen.extend_from_slice(&buf[..n]);
                    }
                    Some(stream)
                }));
            }
            let mut received = 0;
            for r in readers {
                if let Some(s) = r.await.unwrap() {
                    received += 1;
                    streams.push(s);
                }
            }
            let fan_out = fan_out_started.elapsed();
            let rss_held = rss_kib(pid);
            println!("| {clients} SSE clients connected | in {:.1} s |", connect_time.as_secs_f64());
            println!("| server RSS before / with {clients} clients | {:.1} MB / {:.1} MB |", before as f64 / 1024.0, after as f64 / 1024.0);
            println!(
                "| memory held by {clients} SSE clients | {:.1} MB ({:.2} KB each) |",
                (after.saturating_sub(before)) as f64 / 1024.0,
                (after.saturating_sub(before)) as f64 / clients as f64
            );
            println!(
                "| one new value reached | {received} of {clients} clients in {:.0} ms (store write, 0.5 s poll, fan-out) |",
                fan_out.as_secs_f64() * 1e3
            );
            println!("| server RSS after the fan-out to {clients} | {:.1} MB |", rss_held as f64 / 1024.0);
        }
        drop(streams);
    });
    drop(server);
}
