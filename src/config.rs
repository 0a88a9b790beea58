//! The configuration: one TOML file, then `SENSORHUB_*` environment overrides, loaded once in
//! `main` and handed down.
//!
//! Unknown keys are errors that name the key path (a typo must not silently fall back to a
//! default). An override names its key path with `_` between levels, for example
//! `SENSORHUB_MQTT_URL` for `mqtt.url` or `SENSORHUB_MQTT_CLIENT_ID` for `mqtt.client_id`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use sensorhub_dashboards::{HttpConfig, PrivacyConfig};
use sensorhub_gateway::MqttConfig;
use sensorhub_publisher::FolderConfig;
use sensorhub_store::StoreConfig;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// Environment variables with this prefix override config keys.
const ENV_PREFIX: &str = "SENSORHUB_";
/// Variables with the prefix that are not config keys.
const ENV_NOT_CONFIG: &[&str] = &["SENSORHUB_LOG", "SENSORHUB_PSEUDONYM_KEY"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub mqtt: MqttConfig,
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub privacy: PrivacyConfig,
    pub publisher: FolderConfig,
    /// Rules mapping decoder fields onto the quantity vocabulary, per device type.
    pub normalisation: Vec<sensorhub_gateway::NormalisationRule>,
    /// The open datasets published to the folder or to CKAN.
    pub datasets: Vec<sensorhub_publisher::DatasetConfig>,
    /// Alerts for technicians: silent devices and low batteries, to a webhook.
    pub alerts: crate::alerts::AlertsConfig,
    /// Where codecs come from: a checkout of The Things Network's device repository.
    pub codecs: sensorhub_gateway::CodecsConfig,
    /// What arrives other than over MQTT: network servers' webhooks.
    pub ingest: sensorhub_gateway::IngestConfig,
    /// Battery discharge curves per device type, for percentages from voltages.
    pub batteries: sensorhub_store::BatteryConfig,
    /// The SensorThings API's MQTT extension.
    pub sta: crate::sta_mqtt::StaConfig,
}

impl Config {
    /// Reads `path`, applies the environment's overrides and checks the result.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let config = Config::parse(&text, std::env::vars())
            .with_context(|| format!("config file {}", path.display()))?;
        config.check()?;
        Ok(config)
    }

    /// Parses TOML text with overrides from `env` (name, value pairs).
    pub fn parse(text: &str, env: impl Iterator<Item = (String, String)>) -> Result<Config> {
        // toml's own message quotes the line, which may hold a secret: say where, not what.
        let mut table: Table = text.parse().map_err(|e: toml::de::Error| {
            let at = e.span().map_or(0, |s| s.start);
            let line = text[..at.min(text.len())].matches('\n').count() + 1;
            anyhow::anyhow!("not valid TOML at line {line}: {}", e.message())
        })?;
        apply_env(&mut table, env)?;
        from_table(table)
    }

    /// Problems that stop the system from running, all of them at once.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.mqtt.problems();
        problems.extend(self.store.problems());
        problems.extend(self.privacy.problems());
        problems.extend(self.http.problems());
        problems.extend(self.alerts.problems());
        problems.extend(self.batteries.problems());
        problems.extend(self.sta.problems());
        problems.extend(sensorhub_gateway::normalise::problems(&self.normalisation));
        if let Err(secrets) = self.ingest.secrets(|name| std::env::var(name).ok()) {
            problems.extend(secrets);
        }
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "http.listen: `{}` is not an address such as 127.0.0.1:8080",
                self.http.listen
            ));
        }
        if let Some(url) = &self.publisher.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.ends_with('/') {
                problems.push(format!(
                    "publisher.public_url: `{url}` is not an http(s) address without a trailing /"
                ));
            } else if let Err(e) = sensorhub_publisher::catalog::check_base(url) {
                problems.push(format!("publisher.public_url: {e}"));
            }
        }
        if let Some(id) = &self.publisher.contributor_id {
            if !id.starts_with("http://dcat-ap.de/def/contributors/") {
                problems.push(format!(
                    "publisher.contributor_id: `{id}` is not one of http://dcat-ap.de/def/contributors/"
                ));
            }
        }
        if self.publisher.interval_s == 0 {
            problems.push("publisher.interval_s: must be at least 1".into());
        }
        if let Some(ckan) = &self.publisher.ckan {
            problems.extend(ckan.problems());
        }
        for (i, dataset) in self.datasets.iter().enumerate() {
            problems.extend(dataset.problems(i, self.publisher.ckan.is_some()));
            if let Some(ckan) = &self.publisher.ckan {
                problems.extend(dataset.portal_problems(i, ckan.profile));
            }
            if self.datasets[..i].iter().any(|d| d.name == dataset.name) {
                problems.push(format!(
                    "datasets[{i}].name: `{}` is used twice; dataset names must be unique",
                    dataset.name
                ));
            }
        }
        problems
    }

    /// The battery curves (checked with the rest of the config).
    pub fn batteries(&self) -> sensorhub_store::Batteries {
        self.batteries.batteries().unwrap_or_default()
    }

    pub fn check(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        bail!("the config has problems:\n  - {}", problems.join("\n  - "))
    }
}

/// Deserialises a table, refusing unknown keys by their full path.
fn from_table(table: Table) -> Result<Config> {
    let mut unknown = Vec::new();
    let value = Value::Table(table);
    let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let ignoring = serde_ignored::Deserializer::new(value, &mut note_unknown);
    let config: Config = serde_path_to_error::deserialize(ignoring).map_err(|e| {
        let path = e.path().to_string();
        if is_secret_key(&path) {
            // serde's message quotes the value; a secret's value is never printed.
            anyhow::anyhow!("key `{path}`: not a valid value (not shown: the key holds a secret)")
        } else {
            anyhow::anyhow!("key `{path}`: {}", e.into_inner())
        }
    })?;
    if !unknown.is_empty() {
        bail!("unknown config key(s): {}", unknown.join(", "));
    }
    Ok(config)
}

/// Whether a key path names a secret (or where one comes from), whose value is never printed.
fn is_secret_key(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    ["password", "token", "key", "secret"]
        .iter()
        .any(|word| last.contains(word))
}

/// Names of environment variables that config keys (`hmac_key_env`, `token_env`, ...) name as
/// the source of a secret: such a variable may start with `SENSORHUB_` without being a key.
fn secret_sources(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Table(table) => {
            for (key, value) in table {
                match value {
                    Value::String(name) if key.ends_with("_env") => out.push(name.clone()),
                    other => secret_sources(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secret_sources(v, out)),
        _ => {}
    }
}

/// Applies `SENSORHUB_*` overrides onto the file's table. The default config tells which keys
/// exist, so `SENSORHUB_MQTT_CLIENT_ID` finds `mqtt.client_id` although names contain `_`.
fn apply_env(table: &mut Table, env: impl Iterator<Item = (String, String)>) -> Result<()> {
    let defaults = Table::try_from(Config::default()).context("default config")?;
    let mut sources = Vec::new();
    secret_sources(&Value::Table(table.clone()), &mut sources);
    for (name, raw) in env {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if ENV_NOT_CONFIG.contains(&name.as_str()) || sources.contains(&name) {
            continue;
        }
        let key = key.to_ascii_lowercase();
        let Some((section, rest)) =
            defaults
                .iter()
                .filter(|(_, v)| v.is_table())
                .find_map(|(k, _)| {
                    key.strip_prefix(&format!("{k}_"))
                        .map(|rest| (k.clone(), rest.to_owned()))
                })
        else {
            bail!(
                "environment variable {name} names no config section (sections: {})",
                defaults
                    .iter()
                    .filter(|(_, v)| v.is_table())
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let known = defaults[&section].as_table().and_then(|t| t.get(&rest));
        let value =
            typed_like(known, &raw).with_context(|| format!("environment variable {name}"))?;
        let target = table
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()));
        match target.as_table_mut() {
            Some(t) => {
                t.insert(rest, value);
            }
            None => bail!("environment variable {name}: the config file's section is not a table"),
        }
    }
    Ok(())
}

/// Reads an override as the type its key has in the default config (string when unknown).
fn typed_like(known: Option<&Value>, raw: &str) -> Result<Value> {
    Ok(match known {
        Some(Value::Integer(_)) => {
            Value::Integer(raw.trim().parse().context("expected an integer")?)
        }
        Some(Value::Float(_)) => Value::Float(raw.trim().parse().context("expected a number")?),
        Some(Value::Boolean(_)) => {
            Value::Boolean(raw.trim().parse().context("expected true or false")?)
        }
        Some(Value::Array(_)) | Some(Value::Table(_)) => {
            bail!("lists and tables cannot be set from the environment; use the config file")
        }
        _ => Value::String(raw.to_owned()),
    })
}

/// The commented example config printed by `sensorhub config example`.
pub const EXAMPLE: &str = include_str!("../sensorhub.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed_and_their_variables_are_not_keys() {
        let err =
            Config::parse("[http]\nadmin_token = 4711000999\n", std::iter::empty()).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("http.admin_token") && !text.contains("4711000999"),
            "{text}"
        );
        let err =
            Config::parse("[store]\npassword = [\"hunter2\"]\n", std::iter::empty()).unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));
        let err =
            Config::parse("[http]\nadmin_token = s3cr3t-t0ken\n", std::iter::empty()).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("line 2") && !text.contains("s3cr3t"),
            "{text}"
        );
        let env = [("SENSORHUB_CKAN_TOKEN".to_owned(), "secret-value".to_owned())];
        let config = Config::parse(
            "[publisher.ckan]\nurl = \"https://ckan.example.org\"\norganization = \"amt\"\ntoken_env = \"SENSORHUB_CKAN_TOKEN\"\n",
            env.clone().into_iter(),
        );
        assert!(config.is_ok(), "{:#}", config.unwrap_err());
        // Without a key naming it, the same variable is an unknown key.
        assert!(Config::parse("", env.into_iter()).is_err());
    }

    fn no_env() -> std::iter::Empty<(String, String)> {
        std::iter::empty()
    }

    #[test]
    fn example_config_parses_and_passes_its_own_check() {
        let config = Config::parse(EXAMPLE, no_env()).unwrap();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(
            config.mqtt.subscriptions[0].topic,
            "application/+/device/+/event/up"
        );
    }

    #[test]
    fn unsafe_or_inconsistent_dataset_policies_are_refused() {
        let text = r#"
            [[datasets]]
            name = "besucher"
            title = "Besucherzahlen"
            quantities = ["visitor_count"]
            attribution = "Amt"
            target = "ckan"
            [datasets.privacy]
            exact_coordinates = true
            k = 1
            [[datasets]]
            name = "besucher"
            title = "Noch einmal"
            quantities = ["water_level"]
            attribution = "Amt"
            [datasets.privacy]
            coordinate_decimals = 6
            station_ids = "hmac"
            hmac_key_env = "SENSORHUB_TEST_UNSET_KEY"
        "#;
        let problems = Config::parse(text, no_env()).unwrap().problems().join("\n");
        for expected in [
            "datasets[0].privacy.exact_coordinates: unsafe for counts of people",
            "datasets[0].privacy.k",
            "datasets[0].target: \"ckan\" needs a [publisher.ckan] section",
            "datasets[1].name: `besucher` is used twice",
            "datasets[1].privacy.coordinate_decimals: 6 places",
            "datasets[1].privacy.hmac_key_env",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing in:\n{problems}"
            );
        }
    }

    #[test]
    fn documented_keys_are_read() {
        let text = r#"
            [mqtt]
            url = "mqtt://10.1.2.3:1884"
            client_id = "amt-foehr"
            [[mqtt.subscriptions]]
            topic = "application/+/device/+/event/up"
            format = "chirpstack"
            [store]
            backend = "sqlite"
            path = "/var/lib/sensorhub/sensorhub.db"
            [http]
            listen = "0.0.0.0:8080"
        "#;
        let c = Config::parse(text, no_env()).unwrap();
        assert_eq!(c.mqtt.url, "mqtt://10.1.2.3:1884");
        assert_eq!(c.mqtt.client_id, "amt-foehr");
        assert_eq!(c.store.path, "/var/lib/sensorhub/sensorhub.db");
        assert_eq!(c.http.listen, "0.0.0.0:8080");
    }

    #[test]
    fn unknown_keys_are_named_by_path() {
        let err = Config::parse("[mqtt]\nurll = \"x\"\n", no_env()).unwrap_err();
        assert!(format!("{err:#}").contains("mqtt.urll"), "{err:#}");
        let err = Config::parse(
            "[[mqtt.subscriptions]]\ntopic = \"t\"\nformat = \"chirpstack\"\nqos_level = 1\n",
            no_env(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("mqtt.subscriptions.0.qos_level"),
            "{err:#}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = Config::parse("[mqtt]\nbatch_size = \"many\"\n", no_env()).unwrap_err();
        assert!(format!("{err:#}").contains("mqtt.batch_size"), "{err:#}");
    }

    #[test]
    fn durations_licences_and_intervals_are_read_once_and_named_when_wrong() {
        let text = "[http]\nsilent_after = \"90m\"\nlicence = \"cc-zero\"\n\
                    [[datasets]]\nname = \"a\"\ninterval = \"15m\"\nschedule = \"2h\"\n\
                    [datasets.privacy]\ndelay = \"1d\"\n";
        let c = Config::parse(text, no_env()).unwrap();
        assert_eq!(c.http.silent_after.as_ms(), 90 * 60_000);
        assert_eq!(c.http.licence.id, "cc-zero");
        assert_eq!(
            c.datasets[0].interval,
            sensorhub_store::Resolution::QuarterHour
        );
        assert_eq!(c.datasets[0].schedule.as_ms(), 2 * 3_600_000);
        assert_eq!(c.datasets[0].privacy.delay.as_ms(), 86_400_000);
        let env = std::iter::once(("SENSORHUB_ALERTS_CHECK_EVERY".to_owned(), "30s".to_owned()));
        assert_eq!(
            Config::parse("", env).unwrap().alerts.check_every.as_ms(),
            30_000
        );
        for (bad, key) in [
            ("[http]\nstale_after = \"3 hours\"\n", "http.stale_after"),
            ("[mqtt]\nmax_clock_skew = \"10\"\n", "mqtt.max_clock_skew"),
            ("[alerts]\ncheck_every = \"often\"\n", "alerts.check_every"),
            (
                "[[datasets]]\nname = \"a\"\n[datasets.privacy]\ndelay = \"-1h\"\n",
                "privacy.delay",
            ),
            (
                "[[datasets]]\nname = \"a\"\ninterval = \"2h\"\n",
                "interval",
            ),
            ("[[datasets]]\nname = \"a\"\nlicence = \"mit\"\n", "licence"),
            ("[http]\nlicence = \"dl-by-de\"\n", "http.licence"),
        ] {
            let err = format!("{:#}", Config::parse(bad, no_env()).unwrap_err());
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn environment_overrides_file_with_typed_values() {
        let env = [
            ("SENSORHUB_MQTT_CLIENT_ID", "from-env"),
            ("SENSORHUB_MQTT_BATCH_SIZE", "42"),
            ("SENSORHUB_MQTT_PASSWORD", "secret"),
            ("SENSORHUB_MQTT_USER", "gw"),
            ("SENSORHUB_LOG", "debug"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let c = Config::parse("[mqtt]\nclient_id = \"file\"\n", env.into_iter()).unwrap();
        assert_eq!(c.mqtt.client_id, "from-env");
        assert_eq!(c.mqtt.batch_size, 42);
        assert_eq!(c.mqtt.password.as_deref(), Some("secret"));
    }

    #[test]
    fn environment_typos_are_errors() {
        for (name, value) in [
            ("SENSORHUB_MQTT_URLL", "x"),
            ("SENSORHUB_MQQT_URL", "x"),
            ("SENSORHUB_MQTT_BATCH_SIZE", "lots"),
        ] {
            let env = std::iter::once((name.to_owned(), value.to_owned()));
            assert!(Config::parse("", env).is_err(), "{name}");
        }
    }

    #[test]
    fn check_lists_every_problem() {
        let c = Config::parse(
            "[mqtt]\nurl = \"http://x\"\n[http]\nlisten = \"nowhere\"\n[store]\nbackend = \"influxdb\"\nurl = \"ftp://x\"\n",
            no_env(),
        )
        .unwrap();
        let problems = c.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
