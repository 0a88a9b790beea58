//! The MQTT extension's messages: for each live-feed event (a changed latest value of a public
//! station, `crate::api::live`, sent after its commit), the entities it created or changed, as
//! the HTTP API writes them, under the topics a SensorThings client subscribes to:
//!
//! - the new Observation: `Observations`, `Datastreams('ID')/Observations` and
//!   `FeaturesOfInterest('ID')/Observations`;
//! - its Datastream, whose phenomenon time now ends later: `Datastreams`, `Datastreams('ID')`
//!   and `Things('ID')/Datastreams`;
//!
//! each under `v1.1/` and `v1.0/`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::data::Data;
use super::entities::{Links, SEP};
use super::VERSIONS;
use crate::public::PublicStation;
use crate::AppState;

/// How long the stations read for the Datastream messages are used before they are read again
/// (a station the feed names but the copy lacks is read at once, at most once a second).
const FRESH: Duration = Duration::from_secs(10);
const RETRY: Duration = Duration::from_secs(1);

/// Makes the messages; keeps a copy of the public stations and their series' starts, so that
/// a busy feed does not read the store for each value.
pub struct MqttTopics {
    site: String,
    stations: HashMap<String, PublicStation>,
    starts: std::sync::Arc<super::data::Starts>,
    read_at: Option<Instant>,
}

impl MqttTopics {
    /// For links under `site` (the public address, no trailing `/`).
    pub fn new(site: &str) -> MqttTopics {
        MqttTopics {
            site: site.trim_end_matches('/').to_owned(),
            stations: HashMap::new(),
            starts: Default::default(),
            read_at: None,
        }
    }

    /// The (topic, payload) pairs of one live-feed event; none for an event that is not a
    /// value.
    pub async fn messages(&mut self, state: &AppState, event: &Value) -> Vec<(String, String)> {
        let (Some(station), Some(quantity), Some(time), Some(value)) = (
            event["station"].as_str(),
            event["quantity"].as_str(),
            event["time"].as_str(),
            event["value"].as_f64(),
        ) else {
            return Vec::new();
        };
        let Some(ms) = sensorhub_store::time::parse_rfc3339(time) else {
            return Vec::new();
        };
        self.refresh(state, station).await;
        let datastream = format!("{station}{SEP}{quantity}");
        let mut out = Vec::new();
        for version in VERSIONS {
            let base = format!("{}/sta/{version}", self.site);
            let links = Links { base: &base };
            let observation = links.observation(&datastream, time, ms, value).to_string();
            for topic in [
                format!("{version}/Observations"),
                format!("{version}/Datastreams('{datastream}')/Observations"),
                format!("{version}/FeaturesOfInterest('{station}')/Observations"),
            ] {
                out.push((topic, observation.clone()));
            }
            // The Datastream as it stands with this value, where the station is known.
            let Some(s) = self.stations.get(station) else {
                continue;
            };
            let mut s = s.clone();
            match s.latest.iter_mut().find(|v| v.quantity == quantity) {
                Some(v) => {
                    v.time = time.to_owned();
                    v.value = value;
                }
                None => continue,
            }
            let unit = event["unit"].as_str().unwrap_or_default();
            let start = self
                .starts
                .get(&(station.to_owned(), quantity.to_owned()))
                .copied()
                .unwrap_or(ms);
            let entity = links
                .datastream(&s, quantity, unit, Some(start))
                .to_string();
            for topic in [
                format!("{version}/Datastreams"),
                format!("{version}/Datastreams('{datastream}')"),
                format!("{version}/Things('{station}')/Datastreams"),
            ] {
                out.push((topic, entity.clone()));
            }
        }
        out
    }

    async fn refresh(&mut self, state: &AppState, station: &str) {
        let age = self.read_at.map(|t| t.elapsed());
        let due = match age {
            None => true,
            Some(age) => age > FRESH || (!self.stations.contains_key(station) && age > RETRY),
        };
        if !due {
            return;
        }
        self.read_at = Some(Instant::now());
        let needs = super::data::Needs {
            starts: true,
            sensors: false,
        };
        match Data::load(state, needs).await {
            Ok(data) => {
                let (stations, starts) = data.into_parts();
                self.starts = starts;
                self.stations = stations.into_iter().map(|s| (s.id.clone(), s)).collect();
            }
            Err(_) => tracing::warn!("SensorThings MQTT: the stations cannot be read"),
        }
    }
}
