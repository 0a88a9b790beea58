//! The command line: every subcommand, flag and argument of `sensorhub`, parsed by clap.
//! `main.rs` dispatches them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sensorhub_core::duration::HumanDuration;

use crate::readings;

#[derive(Parser)]
#[command(
    name = "sensorhub",
    version,
    about = "LoRaWAN sensor network to open data"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
pub(crate) struct ConfigArg {
    /// The TOML config file (see `sensorhub config example`).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub(crate) config: PathBuf,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// The whole system on embedded defaults: broker, simulated nodes, gateway, store, dashboard, publisher.
    Demo {
        /// Where the dashboard listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: String,
        /// How many simulated sensor nodes (the first ten are six weather stations and tide
        /// gauges, then air, soil, car park and beach entrance).
        #[arg(long, default_value_t = 10)]
        nodes: usize,
        /// How often each node measures (e.g. 10s, 1m).
        #[arg(long, default_value = "10s", value_parser = interval)]
        interval: HumanDuration,
        /// Longest a node stays silent when nothing changed enough to report (default: six
        /// intervals). `--heartbeat` equal to `--interval` makes every measurement an uplink.
        #[arg(long, value_parser = interval)]
        heartbeat: Option<HumanDuration>,
        /// Folder for the store and the published files.
        #[arg(long, default_value = "sensorhub-data")]
        data_dir: PathBuf,
    },
    /// Gateway, dashboards and the scheduled publisher in one process.
    Run(ConfigArg),
    /// Only the gateway: MQTT in, readings into the store.
    Gateway(ConfigArg),
    /// Only the dashboards and the public API.
    Serve(ConfigArg),
    /// Publish once now: the folder's latest values and every dataset to its target.
    Publish(PublishArgs),
    /// The device registry.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Stations as places: names, descriptions, themes, positions, gauge datums.
    Stations {
        #[command(subcommand)]
        command: StationsCommand,
    },
    /// Gateways: names and positions for the network server's gateway ids, and what they heard.
    Gateways {
        #[command(subcommand)]
        command: GatewaysCommand,
    },
    /// Print stored readings of a device or station.
    Readings(readings::ReadingsArgs),
    /// Messages the gateway could not use, kept for inspection.
    DeadLetters {
        #[command(flatten)]
        config: ConfigArg,
        /// How many of the newest to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// `table` or `json` (one object a line, payload in base64).
        #[arg(long, value_enum, default_value = "table")]
        format: TableOrJson,
        /// Run the dead letters through ingestion again (after registering devices, fixing a
        /// codec, ...): what succeeds now is stored and removed, the rest stays.
        #[arg(long)]
        replay: bool,
        /// With --replay: only dead letters of this reason, e.g. unknown_device.
        #[arg(long, requires = "replay", value_parser = dead_letter_reason())]
        reason: Option<sensorhub_store::DeadLetterReason>,
    },
    /// Simulated sensor nodes publishing to a broker.
    Simulate {
        /// Broker to publish to, mqtt://HOST:PORT.
        #[arg(long)]
        broker: String,
        #[arg(long, default_value_t = 6)]
        nodes: usize,
        /// How often each node measures (e.g. 10s, 1m).
        #[arg(long, default_value = "10s", value_parser = interval)]
        interval: HumanDuration,
        /// Longest a node stays silent when nothing changed enough to report (default: six
        /// intervals). `--heartbeat` equal to `--interval` makes every measurement an uplink.
        #[arg(long, value_parser = interval)]
        heartbeat: Option<HumanDuration>,
        /// `chirpstack` (ChirpStack v4 application events), `tts` (The Things Stack v3
        /// uplinks) or `chirpstack-gateway` (raw frames from virtual gateways, ABP with the
        /// nodes' demo keys).
        #[arg(long, value_enum, default_value = "chirpstack")]
        format: SimulateFormat,
        /// Seed of the simulated world.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the simulated devices as CSV for `sensorhub devices import` and continue.
        #[arg(long, value_name = "FILE")]
        write_devices: Option<PathBuf>,
        /// Print every report sent as one JSON object a line on stdout.
        #[arg(long)]
        print_reports: bool,
        /// Keep the nodes' frame counters in this file, so that a restart goes on where they
        /// left off (the gateway refuses repeated counters as replays).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// First send this much history (e.g. 7d), one measurement per node every 15 minutes,
        /// each frame dated in the past; then go live.
        #[arg(long, value_parser = interval)]
        backfill: Option<HumanDuration>,
    },
    /// Device alerts (silent devices, low batteries) for technicians.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Technician accounts for the `/admin` pages.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check or print configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Try a codec before trusting it.
    Codecs {
        #[command(subcommand)]
        command: CodecsCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum CodecsCommand {
    /// Run a codec on one payload: decoded and normalized data, the readings that would be
    /// stored, and the fields that would stay unmapped (with a rule to paste).
    Test {
        /// A JavaScript codec file, a device repository codec definition (.yaml), or
        /// ttn:VENDOR/CODEC (with --config naming [codecs] ttn_repository).
        file: String,
        #[arg(long)]
        fport: u8,
        /// The payload in hex (spaces allowed).
        #[arg(long)]
        hex: String,
        /// A config whose [[normalisation]] rules (and [codecs]) apply.
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run the codec a device repository codec definition (CODEC.yaml) names against every
    /// example in it; exits 1 if one is not reproduced.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum AlertsCommand {
    /// Check once now: print what opened or cleared, send it to `alerts.webhook_url` and
    /// record it (`run` does this every `alerts.check_every`).
    Check(ConfigArg),
    /// The open alerts.
    List(ConfigArg),
}

#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Read a password from stdin and print its argon2 hash for `[[http.users]]`.
    HashPassword,
}

#[derive(clap::Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArg,
    /// Print the API calls and file writes instead of making them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Publish only this dataset.
    #[arg(long, value_name = "NAME")]
    pub(crate) dataset: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum StationsCommand {
    /// Describe one station (replaces its entry); its devices report under the id.
    Add {
        #[command(flatten)]
        config: ConfigArg,
        /// The public station id the devices report under.
        #[arg(long)]
        station: String,
        /// Its name for people (German, or the place's own name).
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        name_en: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        description_en: Option<String>,
        /// wasser, wetter, luft, boden, parken, besucher, laerm, energie or sonstiges.
        #[arg(long)]
        theme: Option<sensorhub_store::Theme>,
        /// The station's own position (else its devices').
        #[arg(long, allow_hyphen_values = true, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true, requires = "lat")]
        lon: Option<f64>,
        /// For a water gauge: the datum (NHN, PNP, ...) its water level is measured from.
        #[arg(long, requires = "sensor_height_m")]
        datum: Option<String>,
        /// For a water gauge: the distance sensor's height above the datum, in metres.
        #[arg(long, allow_hyphen_values = true, requires = "datum")]
        sensor_height_m: Option<f64>,
        /// A level that means something, in the quantity's unit, repeatable:
        /// `water_level>2.5=erhöht/elevated`.
        #[arg(long = "level", value_parser = level)]
        levels: Vec<sensorhub_store::Level>,
    },
    /// List the station entries.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// table, csv or json.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Import station entries from CSV (with a header row) or JSON.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        file: PathBuf,
        /// csv or json; by default from the file's extension.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
    },
    /// Export the station entries as CSV or JSON.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// csv, json or table.
        #[arg(long, value_enum, default_value = "csv")]
        format: ListFormat,
    },
    /// Remove a station's entry (its devices and readings stay).
    Remove {
        #[command(flatten)]
        config: ConfigArg,
        station: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum GatewaysCommand {
    /// Name a gateway and give its position (replaces its entry).
    Add {
        #[command(flatten)]
        config: ConfigArg,
        /// The id the network server uses (ChirpStack: 16 hex digits).
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, allow_hyphen_values = true, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true, requires = "lat")]
        lon: Option<f64>,
    },
    /// List the gateways: entries and those heard, with the last 24 hours.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// table, csv or json.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Import gateway entries from CSV (`gateway_id,name,lat,lon`) or JSON.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        file: PathBuf,
        /// csv or json; by default from the file's extension.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
    },
    /// Export the gateway entries as CSV or JSON.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// csv, json or table.
        #[arg(long, value_enum, default_value = "csv")]
        format: ListFormat,
    },
    /// Remove a gateway's entry (what it heard stays).
    Remove {
        #[command(flatten)]
        config: ConfigArg,
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum DevicesCommand {
    /// Register one device (replaces one with the same DevEUI).
    Add {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        dev_eui: sensorhub_core::DevEui,
        #[arg(long)]
        name: String,
        /// Public station id the readings appear under.
        #[arg(long)]
        station: String,
        /// Codec: cayenne-lpp, ..., js:PATH, or ttn:VENDOR/CODEC (checked against its
        /// published examples).
        #[arg(long, default_value = "cayenne-lpp")]
        device_type: sensorhub_store::DeviceType,
        #[arg(long, allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Show the station on public pages and in published data.
        #[arg(long)]
        public: bool,
        #[arg(long)]
        dev_addr: Option<sensorhub_core::DevAddr>,
        #[arg(long)]
        nwk_s_key: Option<sensorhub_core::AesKey>,
        #[arg(long)]
        app_s_key: Option<sensorhub_core::AesKey>,
    },
    /// List registered devices (and devices seen but not registered).
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// table, csv or json.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Import devices from CSV (with a header row) or JSON.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        file: PathBuf,
        /// csv or json; by default from the file's extension.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
    },
    /// Export the registry as CSV or JSON.
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// csv, json or table.
        #[arg(long, value_enum, default_value = "csv")]
        format: ListFormat,
        /// Include ABP session keys (secret!).
        #[arg(long)]
        include_keys: bool,
    },
    /// Device health: last seen, packet loss, radio, battery, decode errors.
    Health {
        #[command(flatten)]
        config: ConfigArg,
        /// Window for counts and packet loss: an age (24h, 7d) or a time.
        #[arg(long, default_value = "7d")]
        since: String,
        /// table or json (one object a line).
        #[arg(long, value_enum, default_value = "table")]
        format: TableOrJson,
    },
    /// Fields of a device's codec output that became no reading: name, last value, how often
    /// seen, why, and a rule to paste into the config.
    Fields {
        #[command(flatten)]
        config: ConfigArg,
        dev_eui: String,
        /// table or json (one object a line).
        #[arg(long, value_enum, default_value = "table")]
        format: TableOrJson,
    },
    /// Remove a device from the registry (its readings stay).
    Remove {
        #[command(flatten)]
        config: ConfigArg,
        dev_eui: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Check a config file, including its environment overrides.
    Check { file: PathBuf },
    /// Print a commented example config.
    Example,
}

/// `--format` of listings that can be a table, CSV or JSON (one object a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Table,
    Csv,
    Json,
}

/// `--format` of listings that are a table or JSON (one object a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableOrJson {
    Table,
    Json,
}

/// `--format` of data: JSON (one object a line) or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DataFormat {
    Json,
    Csv,
}

/// `--format` of a device or station file to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImportFormat {
    Csv,
    Json,
}

/// `--format` of what the simulator publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimulateFormat {
    Chirpstack,
    Tts,
    ChirpstackGateway,
}

/// `--reason`: one of the dead-letter reasons, by its label.
fn dead_letter_reason(
) -> impl clap::builder::TypedValueParser<Value = sensorhub_store::DeadLetterReason> {
    use clap::builder::TypedValueParser;
    use sensorhub_store::DeadLetterReason;
    let labels = DeadLetterReason::ALL.iter().map(|r| r.as_str());
    clap::builder::PossibleValuesParser::new(labels)
        .map(|label| DeadLetterReason::parse(&label).expect("clap admits only the listed labels"))
}

/// `--interval`, `--heartbeat`: a duration such as `10s` or `1m`, not zero.
fn interval(text: &str) -> Result<HumanDuration, String> {
    match text.parse::<HumanDuration>() {
        Ok(d) if d.as_ms() > 0 => Ok(d),
        _ => Err(format!(
            "`{text}` is not a duration such as 500ms, 10s, 5m or 1h"
        )),
    }
}

/// `--level QUANTITY>VALUE=WORD/WORD_EN`.
fn level(text: &str) -> Result<sensorhub_store::Level, String> {
    sensorhub_store::Level::parse(text).map_err(|e| e.to_string())
}
