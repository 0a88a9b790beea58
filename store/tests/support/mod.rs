//! Real servers for the store's tests and benchmarks: InfluxDB 1.x and VictoriaMetrics from
//! Debian's packages, each started on a free loopback port with its data in a temp folder and
//! stopped on drop.

#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn binary(env: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return path.into();
    }
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let path = PathBuf::from(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run the tests with ./scripts/test, which installs it");
}

/// Sends a bare HTTP/1.1 request and returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::Write;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    // Undo chunked transfer encoding, which both servers use for larger answers.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            out.push_str(after.get(..size)?);
            rest = after.get(size + 2..)?;
        }
        out
    } else {
        rest.to_owned()
    };
    Some((status, body))
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Server {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// InfluxDB 1.x (Debian's `influxdb`).
    pub fn influxdb() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (port, rpc) = (free_port(), free_port());
        let d = dir.path().display();
        let conf = dir.path().join("influxdb.conf");
        std::fs::write(
            &conf,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [continuous_queries]\n  enabled = false\n"
            ),
        )
        .unwrap();
        let child = Command::new(binary("INFLUXD", "influxd"))
            .arg("-config")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start influxd");
        wait_until("influxd", || {
            matches!(http(port, "GET", "/ping", ""), Some((204, _)))
        });
        Server {
            child,
            port,
            _dir: dir,
        }
    }

    /// VictoriaMetrics single node (Debian's `victoria-metrics`), which accepts InfluxDB's
    /// `/api/v2/write`. It hides the newest 30 s unless told otherwise, and drops data older
    /// than its retention, so both are set for tests.
    pub fn victoria_metrics() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(binary("VICTORIA_METRICS", "victoria-metrics"))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-retentionPeriod=100y")
            .arg("-search.latencyOffset=0s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        wait_until("victoria-metrics", || {
            matches!(http(port, "GET", "/health", ""), Some((200, _)))
        });
        Server {
            child,
            port,
            _dir: dir,
        }
    }
}
