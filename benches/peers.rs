//! sensorhub beside nginx serving the same bytes (issue 19), in one run on this machine:
//! `sensorhub serve` (release) over 50 public stations, and Debian's nginx on another loopback
//! port with its own config in a temp folder, serving the answers sensorhub gave as files.
//! Each target is loaded with Debian's `wrk` (2 threads, 50 connections, `RUN_S` seconds,
//! three runs, medians); the servers' CPU time per request comes from `/proc`. Then the
//! latency of sensorhub at 1,000 requests per second, open loop.
//!
//! Run with `scripts/bench-peers`, which installs nginx and wrk where they are missing.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{cpu_time, free_port, open_loop, percentile, public_stations, serve};

const STATIONS: usize = 50;
const RUN_S: u64 = 10;
const RUNS: usize = 3;

/// One wrk run's figures.
#[derive(Debug, Clone, Copy)]
struct Run {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_per_request_us: f64,
}

fn ms(text: &str) -> f64 {
    let text = text.trim();
    if let Some(v) = text.strip_suffix("us") {
        v.parse::<f64>().unwrap() / 1e3
    } else if let Some(v) = text.strip_suffix("ms") {
        v.parse().unwrap()
    } else if let Some(v) = text.strip_suffix('s') {
        v.parse::<f64>().unwrap() * 1e3
    } else {
        panic!("a wrk time: {text}")
    }
}

/// The PIDs whose CPU counts for a server: itself and its children (nginx's workers).
fn family(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        all.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
    }
    all
}

fn wrk(url: &str, pid: u32) -> Run {
    let cpu = |pids: &[u32]| pids.iter().map(|p| cpu_time(*p)).sum::<Duration>();
    let pids = family(pid);
    let before = cpu(&pids);
    let out = Command::new("wrk")
        .args(["-t2", "-c50", &format!("-d{RUN_S}s"), "--latency", url])
        .output()
        .expect("wrk (scripts/bench-peers installs it)");
    let used = cpu(&pids) - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let find = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
            .unwrap_or_else(|| panic!("`{prefix}` in wrk's output: {text}"))
            .to_owned()
    };
    // "  123456 requests in 10.00s, 4.20GB read"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ")?.0.parse().ok())
        .unwrap_or_else(|| panic!("the requests in wrk's output: {text}"));
    assert!(
        !text.contains("Non-2xx"),
        "{url} answered with errors: {text}"
    );
    Run {
        requests_per_s: find("Requests/sec:").parse().unwrap(),
        p50_ms: ms(&find("50%")),
        p99_ms: ms(&find("99%")),
        cpu_per_request_us: used.as_secs_f64() * 1e6 / requests,
    }
}

fn median(runs: &[Run], f: impl Fn(&Run) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// nginx's master, stopped with SIGTERM so that it stops its workers too (a killed master
/// leaves them running).
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn nginx(dir: &std::path::Path, port: u16) -> Nginx {
    let www = dir.join("www");
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
               client_body_temp_path {d}/tmp-body;\n  proxy_temp_path {d}/tmp-proxy;\n\
               fastcgi_temp_path {d}/tmp-fastcgi;\n  uwsgi_temp_path {d}/tmp-uwsgi;\n  scgi_temp_path {d}/tmp-scgi;\n\
               server {{\n    listen 127.0.0.1:{port};\n    root {w};\n\
                 location = /api/v1/stations {{ default_type application/json; try_files /stations.json =404; }}\n\
                 location = / {{ default_type \"text/html; charset=utf-8\"; try_files /index.html =404; }}\n  }}\n}}\n",
            d = dir.display(),
            w = www.display(),
        ),
    )
    .unwrap();
    let server = Nginx(
        Command::new("nginx")
            .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
            .args(["-e", dir.join("nginx-error.log").to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .expect("nginx (scripts/bench-peers installs it)"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "nginx did not start: {:?}",
        std::fs::read_to_string(dir.join("nginx-error.log"))
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, port, _store) = public_stations(&runtime, dir.path(), STATIONS);
    let hub = serve(&runtime, &config, port);
    let base = format!("http://127.0.0.1:{port}");
    // The same bytes for nginx: the answers as sensorhub sends them without compression (this
    // client asks for none).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let mut sizes = Vec::new();
    for (path, file) in [("/api/v1/stations", "stations.json"), ("/", "index.html")] {
        let body = runtime.block_on(async {
            let r = client.get(format!("{base}{path}")).send().await.unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap()
        });
        sizes.push(body.len());
        std::fs::write(www.join(file), &body).unwrap();
    }
    let nginx_port = free_port();
    let web = nginx(dir.path(), nginx_port);
    let nginx_base = format!("http://127.0.0.1:{nginx_port}");

    println!(
        "wrk -t2 -c50 -d{RUN_S}s, medians of {RUNS} runs; {STATIONS} public stations; \
         /api/v1/stations {} bytes, / {} bytes",
        sizes[0], sizes[1]
    );
    println!("| target | requests/s | p50 | p99 | server CPU per request | ratio to nginx |");
    println!("|---|---:|---:|---:|---:|---:|");
    for path in ["/api/v1/stations", "/"] {
        let ours: Vec<Run> = (0..RUNS)
            .map(|_| wrk(&format!("{base}{path}"), hub.0.id()))
            .collect();
        let theirs: Vec<Run> = (0..RUNS)
            .map(|_| wrk(&format!("{nginx_base}{path}"), web.0.id()))
            .collect();
        let ratio = median(&ours, |r| r.requests_per_s) / median(&theirs, |r| r.requests_per_s);
        for (name, runs, ratio) in [
            ("sensorhub", &ours, format!("{ratio:.2}")),
            ("nginx, the same bytes as a file", &theirs, "1".to_owned()),
        ] {
            println!(
                "| {name} `GET {path}` | {:.0} | {:.2} ms | {:.2} ms | {:.0} µs | {ratio} |",
                median(runs, |r| r.requests_per_s),
                median(runs, |r| r.p50_ms),
                median(runs, |r| r.p99_ms),
                median(runs, |r| r.cpu_per_request_us),
            );
        }
    }

    println!();
    println!("sensorhub at 1,000 requests/s for 10 s, open loop:");
    println!("| request | achieved | failed | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    runtime.block_on(async {
        for path in ["/api/v1/stations", "/"] {
            let (latencies, failed, elapsed) =
                open_loop(&client, &format!("{base}{path}"), 1_000, 10).await;
            println!(
                "| `GET {path}` | {:.0} req/s | {failed} | {:.2} ms | {:.2} ms | {:.2} ms |",
                latencies.len() as f64 / elapsed.as_secs_f64(),
                percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3,
                latencies.last().unwrap().as_secs_f64() * 1e3,
            );
        }
    });
    drop(web);
    drop(hub);
}
