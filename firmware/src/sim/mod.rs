//! The node simulator (host only): virtual nodes run the firmware (drivers, node application,
//! LoRaWAN link) on simulated hardware and publish their uplinks to an MQTT broker, either as
//! raw frames from virtual gateways or as a network server's application events.
//!
//! - `environment`: plausible coastal weather, tides and batteries.
//! - `peripherals`: simulated SHT4x, BME280, A02YYUW and battery ADC the drivers talk to.
//! - `gateway_bridge`: raw frames as ChirpStack Gateway Bridge publishes them.
//! - `chirpstack`, `tts`: a network server's application uplinks carrying the reports.

mod backfill;
mod chirpstack;
mod environment;
pub mod gateway_bridge;
pub mod nvm;
pub mod peripherals;
mod tts;

use std::future::Future;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::drivers::a02yyuw::A02yyuw;
use crate::drivers::battery::BatteryMonitor;
use crate::drivers::bme280::Bme280;
use crate::drivers::counter::{Occupancy, PulseInput};
use crate::drivers::scd4x::{self, Scd4x};
use crate::drivers::sht4x::{self, Precision, Sht4x};
use crate::drivers::soil::SoilProbe;
use crate::link::{Credentials, Link, Uplink, VirtualRadio};
use crate::node::{Application, Decision, Schedule};
use crate::report::{Report, MAX_REPORT_LEN};
use environment::{Environment, Rng};
use nvm::{NodeNvm, SimNvm};
use peripherals::{
    A02yyuwPart, BatteryAdc, Bme280Part, Fault, NoDelay, PulseWire, Scd4xPart, Sht4xPart, SoilAdc,
    Wire, BATTERY_DIVIDER, SOIL_CALIBRATION,
};

/// What kind of station a virtual node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Temperature, humidity and pressure.
    Weather,
    /// Ultrasonic distance to the water surface (a tide gauge).
    WaterLevel,
    /// CO2 (with temperature and humidity) indoors, from an SCD4x.
    AirQuality,
    /// Soil moisture from a capacitive probe.
    Soil,
    /// A car park's occupancy from the induction loops at its gates.
    Parking,
    /// People through a beach entrance, from a light barrier.
    Visitors,
}

impl NodeKind {
    /// The kinds of the first ten nodes, repeated: weather stations and tide gauges first (as
    /// simulations of six nodes have always had), then one node of each other kind.
    const PATTERN: [NodeKind; 10] = [
        NodeKind::Weather,
        NodeKind::Weather,
        NodeKind::WaterLevel,
        NodeKind::Weather,
        NodeKind::Weather,
        NodeKind::WaterLevel,
        NodeKind::AirQuality,
        NodeKind::Soil,
        NodeKind::Parking,
        NodeKind::Visitors,
    ];

    /// Station id prefix and device name.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            NodeKind::Weather => ("wetter", "Wetterstation"),
            NodeKind::WaterLevel => ("pegel", "Pegel"),
            NodeKind::AirQuality => ("luft", "Raumluft"),
            NodeKind::Soil => ("boden", "Bodenfeuchte"),
            NodeKind::Parking => ("parken", "Parkplatz"),
            NodeKind::Visitors => ("strand", "Strandzugang"),
        }
    }
}

/// Spaces of the simulated car park.
const PARKING_CAPACITY: u16 = 120;

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
    /// The Things Stack v3 application uplinks.
    Tts,
    /// Raw LoRaWAN frames from virtual gateways, as ChirpStack Gateway Bridge publishes them.
    ChirpstackGateway,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `mqtt://host:port`.
    pub broker: String,
    pub nodes: usize,
    /// How often each node measures.
    pub interval: Duration,
    /// Longest time a node stays silent when nothing changes.
    pub heartbeat: Duration,
    pub format: SimFormat,
    /// Seed of the simulated world, so that runs can be repeated.
    pub seed: u64,
    /// Print every report sent, one JSON object a line on stdout, with the values as encoded.
    pub print_reports: bool,
    /// File for the nodes' non-volatile memory (frame counters), so that a restart goes on
    /// where the nodes left off; `None` keeps it in memory.
    pub state: Option<std::path::PathBuf>,
    /// Before going live, send this much history first: the nodes run in simulated time,
    /// one measurement every `backfill_every`, each frame carrying its own time.
    pub backfill: Option<Duration>,
    pub backfill_every: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("broker `{0}`: expected mqtt://host:port")]
    BadBroker(String),
    #[error("publishing failed: {0}")]
    Publish(#[from] rumqttc::ClientError),
}

/// The virtual nodes of a simulation with `n` nodes ([`NodeKind::PATTERN`]), spread around Wyk
/// auf Föhr.
pub fn devices(n: usize) -> Vec<SimDevice> {
    (0..n)
        .map(|i| {
            let kind = NodeKind::PATTERN[i % NodeKind::PATTERN.len()];
            let number = i + 1;
            let (prefix, label) = kind.names();
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

fn broker_address(url: &str) -> Result<(String, u16), SimError> {
    let bad = || SimError::BadBroker(url.to_owned());
    let rest = url.strip_prefix("mqtt://").ok_or_else(bad)?;
    let (host, port) = rest
        .trim_end_matches('/')
        .rsplit_once(':')
        .ok_or_else(bad)?;
    Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
}

/// The simulated hardware of one node, with the wires the world drives it through.
enum Hardware {
    Weather {
        sht: Sht4x<Sht4xPart>,
        sht_values: Wire<(f32, f32)>,
        sht_fault: Wire<Fault>,
        bme: Bme280<Bme280Part>,
        bme_values: Wire<(f32, f32, f32)>,
    },
    WaterLevel {
        gauge: A02yyuw<A02yyuwPart>,
        distance_mm: Wire<u16>,
        fault: Wire<Fault>,
    },
    AirQuality {
        scd: Scd4x<Scd4xPart>,
        values: Wire<(u16, f32, f32)>,
        fault: Wire<Fault>,
    },
    Soil {
        probe: SoilProbe<SoilAdc>,
        percent: Wire<f32>,
    },
    Parking {
        occupancy: Occupancy<PulseWire, PulseWire>,
        entries: Wire<u32>,
        exits: Wire<u32>,
        /// What the world's car park held at the last measurement.
        held: f64,
    },
    Visitors {
        barrier: PulseWire,
        pulses: Wire<u32>,
        /// When the world last added people, ms since the epoch.
        last_ms: Option<i64>,
        /// The hour (since the epoch) of the last report: the counter reports once an hour,
        /// the people of the hour before.
        reported_hour: Option<i64>,
    },
}

/// One virtual node: the firmware's application and LoRaWAN link on simulated hardware.
struct SimNode {
    device: SimDevice,
    index: usize,
    hardware: Hardware,
    battery: BatteryMonitor<BatteryAdc>,
    volts: Wire<f32>,
    app: Application,
    link: Link<VirtualRadio, NodeNvm>,
    /// When the node was switched on, in ms of the simulation clock.
    started_ms: u64,
}

impl SimNode {
    fn new(
        device: SimDevice,
        index: usize,
        schedule: Schedule,
        nvm: &SimNvm,
        seed: u64,
        started_ms: u64,
    ) -> Self {
        let hardware = match device.kind {
            NodeKind::Weather => {
                let sht_values = Wire::new((10.0, 80.0));
                let sht_fault = Wire::new(Fault(false));
                let bme_values = Wire::new((10.0, 80.0, 1013.0));
                let sht = Sht4x::new(
                    Sht4xPart::new(sht_values.clone(), sht_fault.clone()),
                    sht4x::DEFAULT_ADDRESS,
                );
                let bme = Bme280::new(Bme280Part::new(bme_values.clone()), 0x76)
                    .expect("the simulated BME280 answers with valid calibration");
                Hardware::Weather {
                    sht,
                    sht_values,
                    sht_fault,
                    bme,
                    bme_values,
                }
            }
            NodeKind::WaterLevel => {
                let distance_mm = Wire::new(4_000);
                let fault = Wire::new(Fault(false));
                Hardware::WaterLevel {
                    gauge: A02yyuw::new(A02yyuwPart::new(distance_mm.clone(), fault.clone())),
                    distance_mm,
                    fault,
                }
            }
            NodeKind::AirQuality => {
                let values = Wire::new((430, 20.0, 45.0));
                let fault = Wire::new(Fault(false));
                Hardware::AirQuality {
                    scd: Scd4x::new(
                        Scd4xPart {
                            values: values.clone(),
                            fault: fault.clone(),
                        },
                        scd4x::DEFAULT_ADDRESS,
                    ),
                    values,
                    fault,
                }
            }
            NodeKind::Soil => {
                let percent = Wire::new(30.0);
                Hardware::Soil {
                    probe: SoilProbe::new(
                        SoilAdc {
                            percent: percent.clone(),
                        },
                        SOIL_CALIBRATION,
                    ),
                    percent,
                }
            }
            NodeKind::Parking => {
                let (entries, exits) = (Wire::new(0), Wire::new(0));
                Hardware::Parking {
                    occupancy: Occupancy::new(
                        PulseWire(entries.clone()),
                        PulseWire(exits.clone()),
                        PARKING_CAPACITY,
                    ),
                    entries,
                    exits,
                    held: 0.0,
                }
            }
            NodeKind::Visitors => {
                let pulses = Wire::new(0);
                Hardware::Visitors {
                    barrier: PulseWire(pulses.clone()),
                    pulses,
                    last_ms: None,
                    reported_hour: None,
                }
            }
        };
        let volts = Wire::new(3.6);
        let (dev_addr, nwk_s_key, app_s_key) = gateway_bridge::session(index + 1);
        let mut link = Link::new(
            VirtualRadio::default(),
            nvm.node(&device.dev_eui),
            seed ^ (index as u64 + 1),
            schedule.spreading_factor,
        );
        link.activate(&Credentials::Abp {
            dev_addr,
            nwk_s_key,
            app_s_key,
        })
        .expect("ABP activation needs no network");
        SimNode {
            device,
            index,
            hardware,
            battery: BatteryMonitor::new(
                BatteryAdc {
                    volts: volts.clone(),
                },
                BATTERY_DIVIDER,
            ),
            volts,
            app: Application::new(schedule),
            link,
            started_ms,
        }
    }

    /// When the node wakes next, in ms of the simulation clock.
    fn due_ms(&self) -> u64 {
        self.started_ms + self.app.next_measurement_ms()
    }

    /// The world sets the sensors' inputs, the drivers read them; a failed driver leaves its
    /// values out, as the firmware on a real node does.
    fn measure(&mut self, env: &mut Environment, rng: &mut Rng, world_ms: i64) -> Report {
        let i = self.index;
        self.volts.set(env.battery(i, world_ms) as f32);
        let battery = self.battery.millivolts().ok().map(|mv| mv as f32 / 1000.0);
        match &mut self.hardware {
            Hardware::Weather {
                sht,
                sht_values,
                sht_fault,
                bme,
                bme_values,
            } => {
                let t = env.air_temperature(i, world_ms) as f32;
                let rh = env.relative_humidity(i, world_ms) as f32;
                let hpa = env.air_pressure(world_ms) as f32;
                sht_values.set((t, rh));
                bme_values.set((t, rh, hpa));
                // One measurement in a hundred meets a disturbed bus.
                sht_fault.set(Fault(rng.unit() < 0.01));
                let sht = sht.measure(Precision::High, &mut NoDelay).ok();
                let bme = bme.measure(&mut NoDelay).ok();
                Report {
                    air_temperature: sht.map(|m| m.temperature),
                    relative_humidity: sht.map(|m| m.relative_humidity),
                    air_pressure: bme.map(|m| m.pressure),
                    battery,
                    ..Report::default()
                }
            }
            Hardware::WaterLevel {
                gauge,
                distance_mm,
                fault,
            } => {
                let metres = env.distance_to_water(i, world_ms);
                distance_mm.set((metres * 1000.0).round().clamp(0.0, 65_535.0) as u16);
                fault.set(Fault(rng.unit() < 0.01));
                Report {
                    distance: gauge
                        .distance_mm(&mut NoDelay)
                        .ok()
                        .map(|mm| f32::from(mm) / 1000.0),
                    battery,
                    ..Report::default()
                }
            }
            Hardware::AirQuality { scd, values, fault } => {
                let co2 = env.co2(world_ms).round().clamp(0.0, 40_000.0) as u16;
                values.set((
                    co2,
                    21.0 + env.air_temperature(i, world_ms) as f32 * 0.1,
                    45.0,
                ));
                fault.set(Fault(rng.unit() < 0.01));
                let m = scd.measure(&mut NoDelay).ok();
                Report {
                    co2: m.map(|m| f32::from(m.co2_ppm)),
                    battery,
                    ..Report::default()
                }
            }
            Hardware::Soil { probe, percent } => {
                percent.set(env.soil_moisture(world_ms) as f32);
                Report {
                    soil_moisture: probe.moisture_percent().ok().map(f32::round),
                    battery,
                    ..Report::default()
                }
            }
            Hardware::Parking {
                occupancy,
                entries,
                exits,
                held,
            } => {
                // Cars pass the gates both ways; the loops count each one.
                let target = env.parking_target(PARKING_CAPACITY, world_ms);
                let through = (rng.unit() * 3.0).round();
                let change = target - *held;
                entries.set(entries.get() + (change.max(0.0) + through).round() as u32);
                exits.set(exits.get() + ((-change).max(0.0) + through).round() as u32);
                *held = target;
                Report {
                    parking_occupancy: occupancy.update().ok().map(f32::from),
                    battery,
                    ..Report::default()
                }
            }
            Hardware::Visitors {
                barrier,
                pulses,
                last_ms,
                reported_hour,
            } => {
                let minutes = last_ms.map_or(0.0, |t| (world_ms - t) as f64 / 60_000.0);
                *last_ms = Some(world_ms);
                pulses.set(pulses.get() + env.visitors(minutes, world_ms));
                // Counted per hour, as people counters are usually set up: the first
                // measurement of an hour takes the count of the hour before.
                let hour = world_ms.div_euclid(3_600_000);
                let due = reported_hour.is_none_or(|h| h != hour);
                let count = if due {
                    *reported_hour = Some(hour);
                    barrier.take().ok().map(|n| n as f32)
                } else {
                    None
                };
                Report {
                    visitor_count: count,
                    battery,
                    ..Report::default()
                }
            }
        }
    }
}

/// Runs the simulation until `shutdown` completes. Each node measures every `interval` and
/// reports what its application decides to send; the nodes start a little apart.
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

    let schedule = Schedule {
        measure_every_ms: config.interval.as_millis().max(1) as u64,
        heartbeat_ms: config.heartbeat.as_millis() as u64,
        ..Schedule::default()
    };
    let spacing_ms = (schedule.measure_every_ms / config.nodes.max(1) as u64).min(250);
    let nvm = SimNvm::open(config.state.clone());
    let mut nodes: Vec<SimNode> = devices(config.nodes)
        .into_iter()
        .enumerate()
        .map(|(i, d)| SimNode::new(d, i, schedule, &nvm, config.seed, i as u64 * spacing_ms))
        .collect();
    let mut env = Environment::new(config.seed);
    let mut rng = Rng::new(config.seed ^ 0x5eed);
    if let Some(span) = config.backfill {
        backfill::backfill(&client, &config, &mut nodes, &mut env, &mut rng, span).await?;
    }
    let clock = tokio::time::Instant::now();
    // Raw frames come from gateways, which say they are connected and send stats every 30 s.
    let raw = config.format == SimFormat::ChirpstackGateway;
    let mut counters = gateway_bridge::Counters::default();
    let mut stats_at = clock;
    if raw {
        for (topic, body) in gateway_bridge::conn_events() {
            client.publish(topic, QoS::AtLeastOnce, false, body).await?;
        }
    }
    tokio::pin!(shutdown);
    while let Some(node) = nodes.iter_mut().min_by_key(|n| n.due_ms()) {
        let due = clock + Duration::from_millis(node.due_ms());
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = &mut shutdown => break,
        }
        let node_ms = node.due_ms() - node.started_ms;
        let world_ms = now_ms();
        let report = node.measure(&mut env, &mut rng, world_ms);
        let Decision::Send(_) = node.app.on_measurement(node_ms, &report) else {
            continue;
        };
        let mut buffer = [0u8; MAX_REPORT_LEN];
        let len = report.encode(&mut buffer).unwrap_or(0);
        let uplink = match node.link.send(1, &buffer[..len]) {
            Ok(uplink) => uplink,
            Err(e) => {
                tracing::warn!(station = %node.device.station, error = ?e, "uplink failed");
                continue;
            }
        };
        node.app
            .sent(node_ms, &report, uplink.frequency_hz, uplink.airtime_us);
        let events = match config.format {
            SimFormat::Chirpstack => vec![chirpstack::up_event(
                &node.device,
                &uplink,
                &buffer[..len],
                world_ms,
                &mut rng,
            )],
            SimFormat::Tts => vec![tts::up_event(
                &node.device,
                &uplink,
                &buffer[..len],
                world_ms,
                &mut rng,
            )],
            SimFormat::ChirpstackGateway => {
                gateway_bridge::up_events(node.link.radio().last_frame(), &uplink, &mut rng)
            }
        };
        if config.print_reports {
            print_report(&node.device, &uplink, world_ms, &buffer[..len], &report);
        }
        counters.count(&events);
        for (topic, body) in events {
            client.publish(topic, QoS::AtLeastOnce, false, body).await?;
        }
        if raw && stats_at.elapsed() >= Duration::from_secs(30) {
            stats_at = tokio::time::Instant::now();
            for (topic, body) in counters.stats_events(world_ms) {
                client.publish(topic, QoS::AtLeastOnce, false, body).await?;
            }
        }
    }
    let _ = client.disconnect().await;
    poller.abort();
    Ok(())
}

/// One line of JSON: which node sent what, with the values exactly as encoded on air
/// (`values`) and as the drivers measured them (`measured`).
fn print_report(
    device: &SimDevice,
    uplink: &Uplink,
    time_ms: i64,
    payload: &[u8],
    report: &Report,
) {
    let mut values = serde_json::Map::new();
    let mut measured = serde_json::Map::new();
    for item in sensorhub_core::lpp::decode(payload).flatten() {
        for (quantity, value) in item.quantities() {
            values.insert(quantity.to_owned(), value.into());
            if let Some(v) = report.by_channel(item.channel) {
                measured.insert(quantity.to_owned(), f64::from(v).into());
            }
        }
    }
    let line = serde_json::json!({
        "dev_eui": device.dev_eui,
        "station": device.station,
        "f_cnt": uplink.f_cnt,
        "frequency": uplink.frequency_hz,
        "spreading_factor": uplink.spreading_factor,
        "airtime_ms": uplink.airtime_us as f64 / 1000.0,
        "time_ms": time_ms,
        "values": values,
        "measured": measured,
    });
    println!("{line}");
}

/// RFC 3339 UTC time of `ms` since the epoch, as network servers write it.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Twelve nodes: the ten of the pattern, then two weather stations again.
        let count = |kind| devices.iter().filter(|d| d.kind == kind).count();
        assert_eq!(count(NodeKind::WaterLevel), 2);
        assert_eq!(count(NodeKind::Weather), 6);
        for kind in [
            NodeKind::AirQuality,
            NodeKind::Soil,
            NodeKind::Parking,
            NodeKind::Visitors,
        ] {
            assert_eq!(count(kind), 1, "{kind:?}");
        }
        assert_eq!(devices[9].station, "strand-10");
    }
}
