//! Test harness for end-to-end tests: a real Mosquitto per test on a free loopback port, the
//! real `sensorhub` binary, and a plain HTTP client. Everything started here stops on drop.

#![allow(dead_code)]

pub mod ckan;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Waits until `check` returns `Some`, failing the test after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mosquitto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOSQUITTO") {
        return path.into();
    }
    for candidate in [
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
        "/usr/bin/mosquitto",
    ] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("Mosquitto is not installed: run the tests with ./scripts/test, which installs it");
}

/// A real Mosquitto on a loopback port, with its own config in a temp folder.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn start() -> Mosquitto {
        Mosquitto::start_with(|_| String::new())
    }

    /// A broker with more config lines, written by `extra` from the broker's folder (for an ACL
    /// file beside the config, say). It queues up to a million QoS 1 messages a client, so that
    /// a bench's `BENCH_UPLINKS` beyond 100,000 is not cut short by the broker.
    pub fn start_with(extra: impl FnOnce(&std::path::Path) -> String) -> Mosquitto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 max_inflight_messages 20000\nmax_queued_messages 1000000\n{}",
                extra(dir.path())
            ),
        )
        .unwrap();
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        wait_for("mosquitto to listen", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Makes the broker read its config, ACL and password files again (SIGHUP).
    pub fn reload(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes messages with QoS 1 and returns once the broker acknowledged every one.
pub fn publish_all(url: &str, messages: &[(String, Vec<u8>)]) {
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = MqttOptions::new(format!("test-pub-{}", free_port()), "127.0.0.1", port);
        // Large enough for the oversized messages the hostile-input tests send.
        options.set_max_packet_size(64 << 20, 64 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, messages.len() + 10);
        for (topic, payload) in messages {
            client
                .publish(topic.clone(), QoS::AtLeastOnce, false, payload.clone())
                .await
                .unwrap();
        }
        let mut acked = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while acked < messages.len() {
            let event = tokio::time::timeout_at(deadline, eventloop.poll())
                .await
                .expect("broker acknowledged every publish in time")
                .expect("MQTT connection");
            if let Event::Incoming(Packet::PubAck(_)) = event {
                acked += 1;
            }
        }
        client.disconnect().await.unwrap();
        while let Ok(Ok(event)) =
            tokio::time::timeout(Duration::from_secs(2), eventloop.poll()).await
        {
            if let Event::Outgoing(Outgoing::Disconnect) = event {
                break;
            }
        }
    });
}

/// The technicians' API token of every test config.
pub const ADMIN_TOKEN: &str = "test-admin-token-8f3a";

/// A response of the plain HTTP client.
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// GET over HTTP/1.1 with `Connection: close`; `None` while nothing listens.
pub fn http_get(port: u16, path: &str, extra_headers: &str) -> Option<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra_headers}\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Response {
        status,
        headers: head.to_owned(),
        body: body.to_owned(),
    })
}

/// The real `sensorhub` binary with a config file in a temp folder.
pub struct Sensorhub {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub http_port: u16,
    /// Environment variables every command gets (secrets named by `*_env` keys).
    pub env: Vec<(String, String)>,
    children: Vec<Child>,
}

impl Sensorhub {
    /// Writes a config that reads ChirpStack events from `broker_url`.
    pub fn new(broker_url: &str, client_id: &str) -> Sensorhub {
        Sensorhub::with_subscriptions(
            broker_url,
            client_id,
            "[[mqtt.subscriptions]]\ntopic = \"application/+/device/+/event/up\"\nformat = \"chirpstack\"\n",
        )
    }

    /// Writes a config with the given `[[mqtt.subscriptions]]` blocks.
    pub fn with_subscriptions(broker_url: &str, client_id: &str, subscriptions: &str) -> Sensorhub {
        let dir = tempfile::tempdir().unwrap();
        let http_port = free_port();
        let config = dir.path().join("sensorhub.toml");
        std::fs::write(
            &config,
            format!(
                r#"[mqtt]
url = "{broker_url}"
client_id = "{client_id}"
batch_wait_ms = 0

{subscriptions}
[store]
backend = "sqlite"
path = "{db}"

[http]
listen = "127.0.0.1:{http_port}"
admin_token = "{ADMIN_TOKEN}"

[publisher]
folder = "{folder}"
interval_s = 3600
"#,
                db = dir.path().join("data/sensorhub.db").display(),
                folder = dir.path().join("opendata").display(),
            ),
        )
        .unwrap();
        Sensorhub {
            dir,
            config,
            http_port,
            env: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Registers a Cayenne LPP device on Wyk auf Föhr under `station` (the name too).
    pub fn register(&self, dev_eui: &str, station: &str, public: bool) {
        self.register_as(dev_eui, station, "cayenne-lpp", public);
    }

    /// Registers a device of `device_type` on Wyk auf Föhr under `station` (the name too).
    pub fn register_as(&self, dev_eui: &str, station: &str, device_type: &str, public: bool) {
        let mut args = vec![
            "devices",
            "add",
            "--dev-eui",
            dev_eui,
            "--name",
            station,
            "--station",
            station,
            "--device-type",
            device_type,
            "--lat",
            "54.692134",
            "--lon",
            "8.570211",
        ];
        if public {
            args.push("--public");
        }
        self.ok(&args);
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sensorhub"));
        cmd.args(args).env("SENSORHUB_LOG", "warn");
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// Runs a subcommand with `--config` appended and returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", self.config.to_str().unwrap()]);
        self.command(&all).output().expect("run sensorhub")
    }

    /// Like `cli`, failing the test unless the command succeeds; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "sensorhub {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `sensorhub run` and waits until it is ready (store open, broker subscribed).
    pub fn start(&mut self) {
        self.spawn();
        let port = self.http_port;
        wait_for("sensorhub to be ready", Duration::from_secs(30), || {
            http_get(port, "/readyz", "").filter(|r| r.status == 200)
        });
    }

    /// The argon2 hash `sensorhub admin hash-password` prints for `password`.
    pub fn hash_password(&self, password: &str) -> String {
        let mut hasher = self
            .command(&["admin", "hash-password"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(hasher.stdin.take().unwrap(), "{password}").unwrap();
        let hashed = hasher.wait_with_output().unwrap();
        assert!(hashed.status.success());
        let hash = String::from_utf8(hashed.stdout).unwrap().trim().to_owned();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        hash
    }

    /// Starts `sensorhub run` without waiting for it.
    pub fn spawn(&mut self) {
        let child = self
            .command(&["run", "--config", self.config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sensorhub run");
        self.children.push(child);
    }

    /// Process ids of the started processes.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Kills every started process with SIGKILL, as a crash or power cut would.
    pub fn kill(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Readings of a device as JSON objects, via `sensorhub readings`.
    pub fn readings(&self, dev_eui: &str) -> Vec<serde_json::Value> {
        self.ok(&["readings", "--device", dev_eui, "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
            .collect()
    }
}

impl Drop for Sensorhub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A file of the project's copy of the public fixtures.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A ChirpStack `up` event of `dev_eui` with temperature and humidity at `time_ms`.
pub fn lpp_uplink(
    dev_eui: &str,
    temperature: f64,
    humidity: f64,
    time_ms: i64,
) -> (String, Vec<u8>) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut buffer = [0u8; 16];
    let mut writer = sensorhub_core::lpp::LppWriter::new(&mut buffer);
    writer
        .push(1, sensorhub_core::lpp::LppType::Temperature, &[temperature])
        .unwrap();
    writer
        .push(2, sensorhub_core::lpp::LppType::Humidity, &[humidity])
        .unwrap();
    let payload = writer.payload().to_vec();
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("chirpstack-v4-up.json")).unwrap();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    event["deduplicationId"] = format!("5bc7e3c4-4401-4b8d-9386-{n:012x}").into();
    event["deviceInfo"]["devEui"] = dev_eui.into();
    event["data"] = base64::engine::general_purpose::STANDARD
        .encode(payload)
        .into();
    event["time"] = sensorhub_store::time::format_rfc3339(time_ms).into();
    let topic =
        format!("application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{dev_eui}/event/up");
    (topic, serde_json::to_vec(&event).unwrap())
}

/// POST a form over plain HTTP; the status and the head of the answer.
pub fn post_form(port: u16, path: &str, cookie: &str, form: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{cookie}\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw.split("\r\n\r\n").next().unwrap().to_owned())
}

/// The `sh_session` cookie a successful login sets, from the answer's head.
pub fn session_cookie(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("set-cookie: sh_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}
