//! `sensorhub demo`: the whole system on embedded defaults in one process.
//!
//! An embedded MQTT broker (rumqttd) on a free loopback port, simulated nodes publishing
//! ChirpStack events to it, the gateway, the SQLite store under the data folder, the dashboard
//! and the folder publisher. The simulated nodes are registered in the store first, so what
//! they send is stored from the first uplink.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rumqttd::{Broker, ConnectionSettings, RouterConfig, ServerSettings};
use sensorhub_firmware::sim::{self, SimConfig, SimFormat};
use sensorhub_gateway::{MqttConfig, PayloadFormat, Subscription};
use sensorhub_store::{Device, Store, StoreConfig};

use crate::config::Config;
use crate::system::{self, Parts, Shutdown};

pub struct DemoOptions {
    pub http: String,
    pub nodes: usize,
    pub interval: Duration,
    pub heartbeat: Duration,
    pub data_dir: PathBuf,
}

/// Places on Föhr and Amrum for the simulator's first ten stations: names, themes, positions
/// (the real places, rounded), and for
/// the gauges their datum (the distance sensor 4.5 m above NHN, so the simulated tide of 1.6 to
/// 4.4 m down to the water reads as 0.1 to 2.9 m above NHN).
pub fn station_entries(nodes: usize) -> Vec<sensorhub_store::StationInfo> {
    use sensorhub_store::{Gauge, Level, StationInfo, Theme};
    let level = |quantity: &str, above: f64, de: &str, en: &str| Level {
        quantity: quantity.into(),
        above,
        label_de: de.into(),
        label_en: en.into(),
    };
    let gauge = || {
        Some(Gauge {
            datum: "NHN".into(),
            sensor_height_m: 4.5,
        })
    };
    let places = [
        (
            "wetter-01",
            "Wetter Wyk",
            "Wyk weather",
            "Am Flugplatz Wyk auf Föhr",
            "At Wyk airfield on Föhr",
            Theme::Weather,
            None,
            (54.6867, 8.5275),
        ),
        (
            "wetter-02",
            "Wetter Nieblum",
            "Nieblum weather",
            "Ortsmitte Nieblum, Föhr",
            "Centre of Nieblum, Föhr",
            Theme::Weather,
            None,
            (54.6871, 8.4905),
        ),
        (
            "pegel-03",
            "Pegel Wyk",
            "Wyk tide gauge",
            "Am Fähranleger in Wyk auf Föhr",
            "At the ferry pier of Wyk on Föhr",
            Theme::Water,
            gauge(),
            (54.6905, 8.5728),
        ),
        (
            "wetter-04",
            "Wetter Norddorf",
            "Norddorf weather",
            "Norddorf auf Amrum",
            "Norddorf on Amrum",
            Theme::Weather,
            None,
            (54.6755, 8.3440),
        ),
        (
            "wetter-05",
            "Wetter Nebel",
            "Nebel weather",
            "Nebel auf Amrum",
            "Nebel on Amrum",
            Theme::Weather,
            None,
            (54.6560, 8.3700),
        ),
        (
            "pegel-06",
            "Pegel Wittdün",
            "Wittdün tide gauge",
            "Hafen Wittdün auf Amrum",
            "Wittdün harbour on Amrum",
            Theme::Water,
            gauge(),
            (54.6300, 8.3985),
        ),
        (
            "luft-07",
            "Raumluft Bürgerbüro Wyk",
            "Wyk citizens' office air",
            "CO₂ im Bürgerbüro des Amtes in Wyk auf Föhr",
            "CO₂ in the Amt's citizens' office in Wyk on Föhr",
            Theme::Air,
            None,
            (54.7015, 8.5575),
        ),
        (
            "boden-08",
            "Bodenfeuchte Oevenum",
            "Oevenum soil moisture",
            "Grünland bei Oevenum, Föhr",
            "Grassland near Oevenum, Föhr",
            Theme::Soil,
            None,
            (54.7043, 8.5128),
        ),
        (
            "parken-09",
            "Parkplatz Südstrand Wyk",
            "Wyk south beach car park",
            "120 Stellplätze am Südstrand von Wyk auf Föhr",
            "120 spaces at Wyk's south beach on Föhr",
            Theme::Parking,
            None,
            (54.6850, 8.5530),
        ),
        (
            "strand-10",
            "Strandzugang Nebel",
            "Nebel beach entrance",
            "Zugang zum Kniepsand bei Nebel auf Amrum; gezählt werden Personen je Stunde",
            "Entrance to the Kniepsand near Nebel on Amrum; people counted per hour",
            Theme::Visitors,
            None,
            (54.6480, 8.3380),
        ),
    ];
    places
        .into_iter()
        .take(nodes)
        .map(
            |(station, name, name_en, description, description_en, theme, gauge, (lat, lon))| {
                StationInfo {
                    station: station.into(),
                    name: name.into(),
                    name_en: Some(name_en.into()),
                    description: description.into(),
                    description_en: Some(description_en.into()),
                    theme: Some(theme),
                    lat: Some(lat),
                    lon: Some(lon),
                    // The simulated tide reaches both within a day; real thresholds are the
                    // authorities' to set (for the North Sea coast, the BSH's).
                    levels: match theme {
                        Theme::Water => vec![
                            level("water_level", 2.3, "erhöht", "elevated"),
                            level("water_level", 2.7, "Sturmflut", "storm surge"),
                        ],
                        // The German Environment Agency's guide values for indoor CO₂: above
                        // 1000 ppm air the room, above 2000 ppm it is unacceptable.
                        Theme::Air => vec![
                            level("co2", 1000.0, "lüften", "ventilate"),
                            level("co2", 2000.0, "inakzeptabel", "unacceptable"),
                        ],
                        Theme::Parking => vec![
                            level("parking_occupancy", 100.0, "fast voll", "almost full"),
                            level("parking_occupancy", 119.0, "voll", "full"),
                        ],
                        _ => Vec::new(),
                    },
                    gauge,
                }
            },
        )
        .collect()
}

/// The simulator's nodes as registry entries: every station public, as a demo should show.
pub fn registry_entries(nodes: usize) -> Vec<Device> {
    sim::devices(nodes)
        .into_iter()
        .map(|d| Device {
            dev_eui: d
                .dev_eui
                .parse()
                .expect("the simulator's DevEUIs are 16 hex digits"),
            name: d.name,
            station: d.station,
            device_type: sensorhub_store::DeviceType::CayenneLpp,
            lat: Some(d.lat),
            lon: Some(d.lon),
            public: true,
            dev_addr: Some(
                d.dev_addr
                    .parse()
                    .expect("the simulator's DevAddrs are hex"),
            ),
            nwk_s_key: Some(d.nwk_s_key.parse().expect("the simulator's keys are hex")),
            app_s_key: Some(d.app_s_key.parse().expect("the simulator's keys are hex")),
        })
        .collect()
}

/// Starts rumqttd on a free loopback port in its own threads and waits until it accepts.
fn start_broker() -> Result<SocketAddr> {
    let address = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("no free loopback port for the embedded broker")?;
    let server = ServerSettings {
        name: "demo".into(),
        listen: address,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 1 << 20,
            max_inflight_count: 1_000,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = rumqttd::Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1_000,
            max_outgoing_packet_count: 1_000,
            max_segment_size: 16 << 20,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("demo".to_owned(), server)])),
        ..Default::default()
    };
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = Broker::new(config).start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .context("cannot start the embedded broker")?;
    let started = Instant::now();
    while TcpStream::connect(address).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the embedded broker did not start listening on {address}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(address)
}

pub async fn run(options: DemoOptions) -> Result<()> {
    let broker = start_broker()?;
    let broker_url = format!("mqtt://{broker}");
    let db = options.data_dir.join("sensorhub.db");
    let admin_password = sensorhub_dashboards::random_password();
    let config = Config {
        mqtt: MqttConfig {
            url: broker_url.clone(),
            client_id: "sensorhub-demo".into(),
            // Raw frames from the simulated nodes' virtual gateways: the demo runs the whole
            // path a network server would (MIC, counters, decryption, multi-gateway merge);
            // the gateways' connection states and stats come along.
            subscriptions: ["event/up", "event/stats", "state/conn"]
                .into_iter()
                .map(|event| Subscription {
                    topic: format!("eu868/gateway/+/{event}"),
                    format: PayloadFormat::ChirpstackGateway,
                    qos: 1,
                })
                .collect(),
            ..MqttConfig::default()
        },
        store: StoreConfig {
            path: db.display().to_string(),
            ..StoreConfig::default()
        },
        http: sensorhub_dashboards::HttpConfig {
            listen: options.http.clone(),
            attribution: "sensorhub demo".into(),
            // Plain HTTP on loopback: the browser would not send a Secure cookie back.
            secure_cookies: false,
            // A technician account for this run only, so the workbench can be tried.
            users: vec![sensorhub_dashboards::UserConfig {
                name: "technik".into(),
                password_hash: sensorhub_dashboards::hash_password(&admin_password),
            }],
            ..Default::default()
        },
        privacy: Default::default(),
        normalisation: demo_rules(),
        publisher: sensorhub_publisher::FolderConfig {
            folder: options.data_dir.join("opendata").display().to_string(),
            interval_s: 30,
            ckan: None,
            // The datasets' landing pages are the demo's own data page.
            public_url: Some(format!("http://{}", options.http)),
            contributor_id: None,
        },
        datasets: demo_datasets(),
        // No webhook: alerts (a node stopped, a battery low) go to the log.
        alerts: Default::default(),
        codecs: Default::default(),
        ingest: Default::default(),
        batteries: Default::default(),
        // SensorThings clients get the new observations from the embedded broker.
        sta: sensorhub::sta_mqtt::StaConfig {
            mqtt_url: Some(broker_url.clone()),
        },
    };
    config.check()?;
    let store = Store::open(&config.store).with_context(|| format!("store {}", db.display()))?;
    store
        .state()
        .put_devices(registry_entries(options.nodes))
        .await?;
    store
        .state()
        .put_station_infos(station_entries(options.nodes))
        .await?;

    let (shutdown, _trigger) = Shutdown::on_signal();
    let state = options.data_dir.join("simulator-nodes.json");
    let sim_config = SimConfig {
        broker: broker_url.clone(),
        nodes: options.nodes,
        interval: options.interval,
        heartbeat: options.heartbeat,
        format: SimFormat::ChirpstackGateway,
        seed: 1,
        print_reports: false,
        // A first run starts with a week of history, so every page is full at once; a run
        // on an existing data folder goes on from where the last one stopped.
        backfill: (!state.exists()).then_some(Duration::from_secs(7 * 86_400)),
        backfill_every: Duration::from_secs(15 * 60),
        state: Some(state),
    };
    let sim_stop = shutdown.clone();
    let http = options.http.clone();
    tokio::spawn(async move {
        // The nodes switch on once the gateway listens, so their first uplinks are not lost.
        wait_until_ready(&http).await;
        if let Err(e) = sim::run(sim_config, sim_stop.wait()).await {
            tracing::error!(error = %e, "simulator stopped");
        }
    });

    println!("sensorhub demo");
    println!("  dashboard    http://{}/", options.http);
    println!("  stations API http://{}/api/v1/stations", options.http);
    println!("  metrics      http://{}/metrics", options.http);
    println!(
        "  technicians  http://{}/admin (user technik, password {admin_password}, this run only)",
        options.http
    );
    println!(
        "  MQTT broker  {broker_url} (raw LoRaWAN frames from {} simulated nodes)",
        options.nodes
    );
    println!("  store        {}", db.display());
    println!("  open data    {}", config.publisher.folder);
    println!("Ctrl-C stops.");
    system::run_with(config, Parts::ALL, store, shutdown).await
}

/// Waits until `/readyz` on `address` answers 200 (store reachable, broker subscribed), at most
/// 30 s; the simulator starts either way.
async fn wait_until_ready(address: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            let request = format!("GET /readyz HTTP/1.0\r\nHost: {address}\r\n\r\n");
            let mut answer = Vec::new();
            if stream.write_all(request.as_bytes()).await.is_ok()
                && stream.read_to_end(&mut answer).await.is_ok()
                && (answer.starts_with(b"HTTP/1.0 200") || answer.starts_with(b"HTTP/1.1 200"))
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the node firmware's fixed LPP channels mean (LPP names only a data type): the supply
/// voltage on the battery channel is the device's health (shown to technicians, never public),
/// the concentration is CO₂, the percentage soil moisture, the analog input a car park's
/// occupancy and the generic sensor the people a light barrier counted.
fn demo_rules() -> Vec<sensorhub_gateway::NormalisationRule> {
    [
        ("voltage", "battery_voltage"),
        ("concentration", "co2"),
        ("percentage", "soil_moisture"),
        ("analog_input", "parking_occupancy"),
        ("count", "visitor_count"),
    ]
    .into_iter()
    .map(|(field, quantity)| sensorhub_gateway::NormalisationRule {
        device_type: sensorhub_gateway::normalise::ForDevices::Type(
            sensorhub_store::DeviceType::CayenneLpp,
        ),
        field: field.into(),
        quantity: quantity.into(),
        scale: 1.0,
        offset: 0.0,
        unit: None,
    })
    .collect()
}

/// The demo's open datasets: weather, water, air and soil per minute; the car park and the
/// beach entrance per hour, counts from 1 to 4 suppressed (k = 5).
fn demo_datasets() -> Vec<sensorhub_publisher::DatasetConfig> {
    let counts = sensorhub_publisher::DatasetConfig {
        name: "sensorhub-demo-parken-besucher".into(),
        title: "Parkplatz und Strandzugang der Demo".into(),
        title_en: Some("Car park and beach entrance of the demo".into()),
        description: "Belegte Stellplätze und gezählte Personen je Stunde; Werte von 1 bis 4 \
                      werden nicht veröffentlicht."
            .into(),
        quantities: ["parking_occupancy", "visitor_count"]
            .map(String::from)
            .to_vec(),
        interval: sensorhub_store::Resolution::Hour,
        keywords: vec!["Parken".into(), "Besucher".into(), "LoRaWAN".into()],
        ..demo_dataset()
    };
    vec![demo_dataset(), counts]
}

/// The demo's open dataset of measurements, per minute, into the folder.
fn demo_dataset() -> sensorhub_publisher::DatasetConfig {
    sensorhub_publisher::DatasetConfig {
        name: "sensorhub-demo-messwerte".into(),
        title: "Messwerte der Demo-Stationen".into(),
        title_en: Some("Readings of the demo stations".into()),
        description: "Simulierte Wetter-, Pegel-, Luft- und Bodenstationen auf Föhr und Amrum."
            .into(),
        quantities: [
            "air_temperature",
            "relative_humidity",
            "air_pressure",
            "water_level",
            "co2",
            "soil_moisture",
        ]
        .map(String::from)
        .to_vec(),
        interval: sensorhub_store::Resolution::Minute,
        frequency: "CONT".into(),
        schedule: sensorhub_core::duration::HumanDuration::from_mins(1),
        latest_days: 1,
        attribution: "sensorhub demo".into(),
        publisher: "sensorhub demo".into(),
        spatial: Some("010540000000".into()),
        keywords: vec![
            "Wetter".into(),
            "Pegel".into(),
            "Luftqualität".into(),
            "LoRaWAN".into(),
        ],
        ..Default::default()
    }
}
