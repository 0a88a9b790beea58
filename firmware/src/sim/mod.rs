//! The node simulator (host only): virtual nodes run the firmware's report encoding on
//! simulated sensors and publish their uplinks to an MQTT broker as a network server would.
//!
//! - `environment`: plausible coastal weather, tides and batteries.
//! - `chirpstack`: ChirpStack v4 `up` events carrying the encoded reports.

mod chirpstack;
mod environment;
pub mod gateway_bridge;

use std::future::Future;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::report::{Report, MAX_REPORT_LEN};
use environment::{Environment, Rng};

/// What kind of station a virtual node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Temperature, humidity and pressure.
    Weather,
    /// Ultrasonic distance to the water surface (a tide gauge).
    WaterLevel,
}

/// A virtual node as the device registry needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDevice {
    pub dev_eui: String,
    pub name: String,
    pub station: String,
    pub kind: NodeKind,
    pub lat: f64,
    pub lon: f64,
    /// ABP session for raw frames: DevAddr (8 hex digits), NwkSKey and AppSKey (32 each).
    /// Demo keys, derived from the node's number: never for real devices.
    pub dev_addr: String,
    pub nwk_s_key: String,
    pub app_s_key: String,
}

/// Output formats of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFormat {
    /// ChirpStack v4 application events (decoded by a network server).
    Chirpstack,
    /// Raw LoRaWAN frames from virtual gateways, as ChirpStack Gateway Bridge publishes them.
    ChirpstackGateway,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `mqtt://host:port`.
    pub broker: String,
    pub nodes: usize,
    pub interval: Duration,
    pub format: SimFormat,
    /// Seed of the simulated world, so that runs can be repeated.
    pub seed: u64,
    /// Print every report sent, one JSON object a line on stdout, with the values as encoded.
    pub print_reports: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("broker `{0}`: expected mqtt://host:port")]
    BadBroker(String),
    #[error("publishing failed: {0}")]
    Publish(#[from] rumqttc::ClientError),
}

/// The virtual nodes of a simulation with `n` nodes: every third is a tide gauge, the others
/// weather stations, spread around Wyk auf Föhr.
pub fn devices(n: usize) -> Vec<SimDevice> {
    (0..n)
        .map(|i| {
            let kind = if i % 3 == 2 {
                NodeKind::WaterLevel
            } else {
                NodeKind::Weather
            };
            let number = i + 1;
            let (prefix, label) = match kind {
                NodeKind::Weather => ("wetter", "Wetterstation"),
                NodeKind::WaterLevel => ("pegel", "Pegel"),
            };
            let (dev_addr, nwk, app) = gateway_bridge::session(number);
            SimDevice {
                dev_addr: gateway_bridge::hex(&dev_addr),
                nwk_s_key: gateway_bridge::hex(&nwk),
                app_s_key: gateway_bridge::hex(&app),
                dev_eui: format!("70b3d57ed00{number:05x}"),
                name: format!("{label} {number}"),
                station: format!("{prefix}-{number:02}"),
                kind,
                lat: 54.69 + 0.011 * (i % 5) as f64,
                lon: 8.57 + 0.017 * (i / 5) as f64,
            }
        })
        .collect()
}

/// Parses durations such as `500ms`, `10s`, `5m`, `1h`, `1d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1_000,
        "m" | "min" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

fn broker_address(url: &str) -> Result<(String, u16), SimError> {
    let bad = || SimError::BadBroker(url.to_owned());
    let rest = url.strip_prefix("mqtt://").ok_or_else(bad)?;
    let (host, port) = rest
        .trim_end_matches('/')
        .rsplit_once(':')
        .ok_or_else(bad)?;
    Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
}

/// Measures one cycle of a node at `now_ms`.
fn measure(device: &SimDevice, env: &mut Environment, index: usize, now_ms: i64) -> Report {
    match device.kind {
        NodeKind::Weather => Report {
            air_temperature: Some(env.air_temperature(index, now_ms) as f32),
            relative_humidity: Some(env.relative_humidity(index, now_ms) as f32),
            air_pressure: Some(env.air_pressure(now_ms) as f32),
            distance: None,
            battery: Some(env.battery(index, now_ms) as f32),
        },
        NodeKind::WaterLevel => Report {
            distance: Some(env.distance_to_water(index, now_ms) as f32),
            battery: Some(env.battery(index, now_ms) as f32),
            ..Report::default()
        },
    }
}

/// Runs the simulation until `shutdown` completes. Each node reports every `interval`, the
/// nodes spread evenly over it; the first round goes out at once.
pub async fn run(config: SimConfig, shutdown: impl Future<Output = ()>) -> Result<(), SimError> {
    let (host, port) = broker_address(&config.broker)?;
    let mut options = MqttOptions::new(format!("sensorhub-sim-{}", std::process::id()), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let poller = tokio::spawn(async move {
        loop {
            if let Err(e) = eventloop.poll().await {
                tracing::warn!(error = %e, "simulator lost the broker; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });

    let devices = devices(config.nodes);
    let mut env = Environment::new(config.seed);
    let mut rng = Rng::new(config.seed ^ 0x5eed);
    let mut f_cnt = vec![0u32; devices.len()];
    let step = config.interval / devices.len().max(1) as u32;
    tokio::pin!(shutdown);
    let mut first_round = true;
    'outer: loop {
        for (i, device) in devices.iter().enumerate() {
            let now_ms = now_ms();
            let report = measure(device, &mut env, i, now_ms);
            let mut buffer = [0u8; MAX_REPORT_LEN];
            let len = report.encode(&mut buffer).unwrap_or(0);
            let events = match config.format {
                SimFormat::Chirpstack => vec![chirpstack::up_event(
                    device,
                    f_cnt[i],
                    &buffer[..len],
                    now_ms,
                    &mut rng,
                )],
                SimFormat::ChirpstackGateway => {
                    gateway_bridge::up_events(i + 1, f_cnt[i], &buffer[..len], &mut rng)
                }
            };
            if config.print_reports {
                print_report(device, f_cnt[i], now_ms, &buffer[..len]);
            }
            f_cnt[i] = f_cnt[i].wrapping_add(1);
            for (topic, body) in events {
                client.publish(topic, QoS::AtLeastOnce, false, body).await?;
            }
            if !first_round || i + 1 == devices.len() {
                tokio::select! {
                    _ = tokio::time::sleep(if first_round { Duration::ZERO } else { step }) => {}
                    _ = &mut shutdown => break 'outer,
                }
            }
        }
        if first_round {
            first_round = false;
            tokio::select! {
                _ = tokio::time::sleep(step) => {}
                _ = &mut shutdown => break 'outer,
            }
        }
    }
    let _ = client.disconnect().await;
    poller.abort();
    Ok(())
}

/// One line of JSON: which node sent what, with the values exactly as encoded on air.
fn print_report(device: &SimDevice, f_cnt: u32, time_ms: i64, payload: &[u8]) {
    let mut values = serde_json::Map::new();
    for item in sensorhub_core::lpp::decode(payload).flatten() {
        for (quantity, value) in item.quantities() {
            values.insert(quantity.to_owned(), value.into());
        }
    }
    let line = serde_json::json!({
        "dev_eui": device.dev_eui,
        "station": device.station,
        "f_cnt": f_cnt,
        "time_ms": time_ms,
        "values": values,
    });
    println!("{line}");
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("3 weeks"), None);
    }

    #[test]
    fn devices_are_distinct_and_valid() {
        let devices = devices(12);
        for (i, d) in devices.iter().enumerate() {
            assert!(
                d.dev_eui.parse::<sensorhub_core::DevEui>().is_ok(),
                "{}",
                d.dev_eui
            );
            assert!(devices[i + 1..]
                .iter()
                .all(|o| o.dev_eui != d.dev_eui && o.station != d.station));
        }
        assert_eq!(
            devices
                .iter()
                .filter(|d| d.kind == NodeKind::WaterLevel)
                .count(),
            4
        );
    }
}
