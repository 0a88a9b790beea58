//! The public data one SensorThings answer is made of: the public stations (read once per
//! request, indexed by id), when their series begin and their sensors' models (read only when
//! the answer holds Datastreams or Sensors), and their Observations from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::entities::{Links, SEP};
use super::error;
use super::query::Options;
use super::sensors::{self, Model};
use crate::public::{self, PublicStation};
use crate::AppState;

/// When each (station, quantity) series begins, ms.
pub(super) type Starts = HashMap<(String, String), i64>;

pub(super) struct Data {
    pub(super) stations: Vec<PublicStation>,
    index: HashMap<String, usize>,
    starts: Arc<Starts>,
    sensors: HashMap<String, Model>,
}

/// When the series begin, kept between requests: it changes only when a series is added (then
/// read again, at most every [`MISSING_AGAIN`]) or when retention removes old readings (so read
/// again after [`STARTS_FRESH`] anyway). Reading it costs two index lookups per series.
#[derive(Default)]
pub struct StartsCache(Mutex<Option<(Instant, Arc<Starts>)>>);

const STARTS_FRESH: Duration = Duration::from_secs(60);
const MISSING_AGAIN: Duration = Duration::from_secs(5);

impl StartsCache {
    async fn get(
        &self,
        state: &AppState,
        stations: &[PublicStation],
    ) -> Result<Arc<Starts>, Response> {
        use sensorhub_store::TimeSeries;
        let cached = self.0.lock().expect("starts cache").clone();
        if let Some((at, starts)) = cached {
            // Series are only added (retention keeps a series' rollups): more datastreams than
            // starts means a new one.
            let missing = stations.iter().map(|s| s.latest.len()).sum::<usize>() > starts.len();
            let age = at.elapsed();
            if age < STARTS_FRESH && (!missing || age < MISSING_AGAIN) {
                return Ok(starts);
            }
        }
        let starts: Arc<Starts> = Arc::new(
            state
                .store
                .starts()
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|s| ((s.station, s.quantity), s.time_ms))
                .collect(),
        );
        *self.0.lock().expect("starts cache") = Some((Instant::now(), starts.clone()));
        Ok(starts)
    }
}

/// What of the store an answer needs besides the stations.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Needs {
    pub(super) starts: bool,
    pub(super) sensors: bool,
}

impl Needs {
    /// From the path and the query as written: Datastreams need their series' starts, Sensors
    /// the device models.
    pub(super) fn of(path: &str, expand: Option<&str>) -> Needs {
        let mentions = |word: &str| path.contains(word) || expand.is_some_and(|e| e.contains(word));
        Needs {
            starts: mentions("Datastream"),
            sensors: mentions("Sensor"),
        }
    }
}

fn unavailable(e: sensorhub_store::StoreError) -> Response {
    tracing::error!(error = %e, "a SensorThings request cannot use the store");
    error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
}

impl Data {
    pub(super) async fn load(state: &AppState, needs: Needs) -> Result<Data, Response> {
        let stations = public::stations(state).await.map_err(unavailable)?;
        let starts = if needs.starts {
            state.sta_starts.get(state, &stations).await?
        } else {
            Arc::default()
        };
        let sensors = if needs.sensors {
            let devices = state.store.state().devices().await.map_err(unavailable)?;
            sensors::by_station(&devices)
        } else {
            HashMap::new()
        };
        Ok(Data::new(stations, starts, sensors))
    }

    pub(super) fn new(
        stations: Vec<PublicStation>,
        starts: Arc<Starts>,
        sensors: HashMap<String, Model>,
    ) -> Data {
        let index = stations
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Data {
            stations,
            index,
            starts,
            sensors,
        }
    }

    /// The stations and the series' starts.
    pub(super) fn into_parts(self) -> (Vec<PublicStation>, Arc<Starts>) {
        (self.stations, self.starts)
    }

    pub(super) fn station(&self, id: &str) -> Option<&PublicStation> {
        self.index.get(id).map(|i| &self.stations[*i])
    }

    /// A datastream id's station and quantity, if it is one of a public station.
    pub(super) fn datastream(&self, id: &str) -> Option<(&PublicStation, String, String)> {
        let (station, quantity) = id.split_once(SEP)?;
        let s = self.station(station)?;
        let value = s.latest.iter().find(|v| v.quantity == quantity)?;
        Some((s, quantity.to_owned(), value.unit.clone()))
    }

    pub(super) fn all_datastreams(&self) -> Vec<(&PublicStation, String, String)> {
        self.stations
            .iter()
            .flat_map(|s| {
                s.latest
                    .iter()
                    .map(move |v| (s, v.quantity.clone(), v.unit.clone()))
            })
            .collect()
    }

    /// When a series begins, where the answer read it.
    pub(super) fn start(&self, station: &str, quantity: &str) -> Option<i64> {
        self.starts
            .get(&(station.to_owned(), quantity.to_owned()))
            .copied()
    }

    /// The model measuring at a station.
    pub(super) fn sensor(&self, station: &str) -> Model {
        self.sensors.get(station).cloned().unwrap_or_else(|| Model {
            id: "unknown".into(),
            name: "A device of an unrecorded model".into(),
            description: "No registered device of this station names its type.".into(),
            metadata: String::new(),
            encoding: "text/html",
        })
    }

    /// A Datastream entity, with its phenomenon time from its start to its newest value.
    pub(super) fn datastream_entity(
        &self,
        links: &Links<'_>,
        s: &PublicStation,
        quantity: &str,
        unit: &str,
    ) -> Value {
        links.datastream(s, quantity, unit, self.start(&s.id, quantity))
    }

    /// Every distinct sensor of the public datastreams, sorted by id.
    pub(super) fn all_sensors(&self) -> Vec<Model> {
        let mut out: Vec<Model> = self
            .stations
            .iter()
            .filter(|s| !s.latest.is_empty())
            .map(|s| self.sensor(&s.id))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }
}

/// A datastream's observations, through the same policy as the history API: everything the
/// policy lets out, at its finest resolution, oldest first.
pub(super) async fn observations(
    state: &AppState,
    links: &Links<'_>,
    s: &PublicStation,
    quantity: &str,
) -> Result<Vec<Value>, Response> {
    let now = sensorhub_store::time::now_ms();
    let history = public::history_of(
        state,
        s,
        quantity,
        sensorhub_store::Resolution::Raw,
        0,
        now + 1,
    )
    .await
    .map_err(unavailable)?;
    Ok(history.map_or_else(Vec::new, |h| to_observations(links, s, quantity, &h.points)))
}

/// The observation of a datastream at one time (its `@iot.id`), read from that instant alone.
pub(super) async fn observation_at(
    state: &AppState,
    links: &Links<'_>,
    s: &PublicStation,
    quantity: &str,
    ms: i64,
) -> Result<Option<Value>, Response> {
    let step = state
        .policy
        .quantity(quantity)
        .and_then(|p| p.finest.step_ms())
        .unwrap_or(1);
    let history = public::history_of(
        state,
        s,
        quantity,
        sensorhub_store::Resolution::Raw,
        ms,
        ms.saturating_add(step),
    )
    .await
    .map_err(unavailable)?;
    let found = history.map_or_else(Vec::new, |h| to_observations(links, s, quantity, &h.points));
    let id = format!("{}{SEP}{quantity}{SEP}{ms}", s.id);
    Ok(found.into_iter().find(|o| o["@iot.id"] == id.as_str()))
}

/// A page of a datastream's observations cut in the store, for the options that allow it (no
/// filter, no count, ordered by time or not at all): `None` otherwise, or where the policy
/// suppresses single buckets. With whether another page follows.
pub(super) async fn page_in_store(
    state: &AppState,
    links: &Links<'_>,
    s: &PublicStation,
    quantity: &str,
    o: &Options,
) -> Result<Option<(Vec<Value>, bool)>, Response> {
    let newest_first = match o.orderby.as_slice() {
        [] => false,
        [(p, desc)] if ["phenomenonTime", "resultTime", "id"].contains(&p.as_str()) => *desc,
        _ => return Ok(None),
    };
    if o.filter.is_some() || o.count {
        return Ok(None);
    }
    let points = public::history_page(
        state,
        s,
        quantity,
        newest_first,
        o.skip,
        o.top.saturating_add(1),
    )
    .await
    .map_err(unavailable)?;
    Ok(points.map(|mut points| {
        let more = points.len() > o.top;
        points.truncate(o.top);
        (to_observations(links, s, quantity, &points), more)
    }))
}

fn to_observations(
    links: &Links<'_>,
    s: &PublicStation,
    quantity: &str,
    points: &[public::Point],
) -> Vec<Value> {
    let datastream = format!("{}{SEP}{quantity}", s.id);
    points
        .iter()
        .filter_map(|p| {
            let ms = sensorhub_store::time::parse_rfc3339(&p.time)?;
            Some(links.observation(&datastream, &p.time, ms, p.mean))
        })
        .collect()
}
