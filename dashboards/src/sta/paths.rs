//! Resource paths: `Things('a')/Datastreams` read into steps, and the entities they name,
//! found step by step along the navigation properties.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::data::{observation_at, observations, Data};
use super::entities::{Links, SEP};
use super::error;
use crate::AppState;

/// One step of a resource path: an entity set, or one entity of it.
#[derive(Debug, PartialEq)]
pub(super) struct Step {
    pub(super) name: String,
    pub(super) id: Option<String>,
}

/// `Things('a')/Datastreams` into its steps; an id in quotes (`''` for a quote) or bare.
pub(super) fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for segment in path.trim_matches('/').split('/') {
        let (name, id) = match segment.split_once('(') {
            None => (segment.to_owned(), None),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("`{segment}`: an id ends with `)`"))?;
                let id = match inner.strip_prefix('\'').and_then(|i| i.strip_suffix('\'')) {
                    Some(quoted) => quoted.replace("''", "'"),
                    None => inner.to_owned(),
                };
                (name.to_owned(), Some(id))
            }
        };
        if name.is_empty() {
            return Err("an empty path segment".into());
        }
        steps.push(Step { name, id });
    }
    Ok(steps)
}

/// Every entity a resource path names, or why it names none.
pub(super) async fn resolve(
    state: &AppState,
    data: &Data,
    links: &Links<'_>,
    steps: &[Step],
    page: &str,
) -> Result<Resolved, Response> {
    let not_found = || error(StatusCode::NOT_FOUND, "no such entity");
    let first = &steps[0];
    // The entities of the first set, or of the one entity named.
    let mut current: Vec<Value> = match first.name.as_str() {
        "Things" => data.stations.iter().map(|s| links.thing(s, page)).collect(),
        "Locations" => data
            .stations
            .iter()
            .filter(|s| s.lat.is_some())
            .map(|s| links.location(s))
            .collect(),
        "HistoricalLocations" => data
            .stations
            .iter()
            .filter(|s| s.lat.is_some())
            .map(|s| links.historical_location(s))
            .collect(),
        "FeaturesOfInterest" => data.stations.iter().map(|s| links.feature(s)).collect(),
        "Datastreams" => data
            .all_datastreams()
            .into_iter()
            .map(|(s, q, u)| data.datastream_entity(links, s, &q, &u))
            .collect(),
        "Sensors" => data.all_sensors().iter().map(|m| links.sensor(m)).collect(),
        "ObservedProperties" => {
            let mut quantities: Vec<String> = data
                .all_datastreams()
                .into_iter()
                .map(|(_, q, _)| q)
                .collect();
            quantities.sort();
            quantities.dedup();
            quantities
                .iter()
                .map(|q| links.observed_property(q))
                .collect()
        }
        "Observations" => match &first.id {
            // One observation: its datastream's, found by its time.
            Some(id) => {
                let (ds, ms) = id.rsplit_once(SEP).ok_or_else(not_found)?;
                let ms: i64 = ms.parse().map_err(|_| not_found())?;
                let (s, q, _) = data.datastream(ds).ok_or_else(not_found)?;
                observation_at(state, links, s, &q, ms)
                    .await?
                    .into_iter()
                    .collect()
            }
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "Observations: ask for a datastream's, Datastreams('ID')/Observations",
                ))
            }
        },
        other => {
            return Err(error(
                StatusCode::NOT_FOUND,
                &format!("`{other}` is not an entity set of this service"),
            ))
        }
    };
    if let Some(id) = &first.id {
        current.retain(|e| e["@iot.id"] == id.as_str());
        if current.is_empty() {
            return Err(not_found());
        }
    }
    let mut set = first.name.clone();
    let mut one = first.id.clone();
    for step in &steps[1..] {
        let Some(id) = one.clone() else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "{}: navigate from one entity, such as {set}('ID')/{}",
                    step.name, step.name
                ),
            ));
        };
        let related = related(state, data, links, &set, &id, &step.name, page).await?;
        let (next_set, single) = related;
        current = single;
        if let Some(wanted) = &step.id {
            current.retain(|e| e["@iot.id"] == wanted.as_str());
            if current.is_empty() {
                return Err(not_found());
            }
        }
        set = next_set;
        one = step.id.clone().or_else(|| {
            // A to-one navigation (`Datastreams('x')/Thing`) is one entity.
            (!step.name.ends_with('s') && current.len() == 1)
                .then(|| current[0]["@iot.id"].as_str().unwrap_or("").to_owned())
        });
    }
    let last = steps.last().expect("a path has a step");
    let single = last.id.is_some() || !last.name.ends_with('s');
    Ok(Resolved {
        entities: current,
        single,
        set,
    })
}

pub(super) struct Resolved {
    pub(super) entities: Vec<Value>,
    /// The entity set they belong to.
    pub(super) set: String,
    /// The path names one entity (`Things('x')`, `Datastreams('x')/Thing`).
    pub(super) single: bool,
}

/// The entities related to `set('id')` by `property`, and their set.
#[allow(clippy::too_many_arguments)]
pub(super) async fn related(
    state: &AppState,
    data: &Data,
    links: &Links<'_>,
    set: &str,
    id: &str,
    property: &str,
    page: &str,
) -> Result<(String, Vec<Value>), Response> {
    let nope = || {
        error(
            StatusCode::NOT_FOUND,
            &format!("{set} has no navigation property `{property}`"),
        )
    };
    let station_of = |id: &str| data.station(id.split(SEP).next().unwrap_or(""));
    let out = match (set, property) {
        ("Things", "Locations") | ("FeaturesOfInterest", "Locations") => {
            let s = station_of(id).ok_or_else(nope)?;
            ("Locations", vec![links.location(s)])
        }
        ("Things", "HistoricalLocations") | ("Locations", "HistoricalLocations") => {
            let s = station_of(id).ok_or_else(nope)?;
            ("HistoricalLocations", vec![links.historical_location(s)])
        }
        ("Locations", "Things") | ("HistoricalLocations", "Thing") | ("Datastreams", "Thing") => {
            let s = station_of(id).ok_or_else(nope)?;
            ("Things", vec![links.thing(s, page)])
        }
        ("HistoricalLocations", "Locations") => {
            let s = station_of(id).ok_or_else(nope)?;
            ("Locations", vec![links.location(s)])
        }
        ("Things", "Datastreams") => {
            let s = station_of(id).ok_or_else(nope)?;
            let list = s
                .latest
                .iter()
                .map(|v| data.datastream_entity(links, s, &v.quantity, &v.unit))
                .collect();
            ("Datastreams", list)
        }
        ("Datastreams", "Sensor") => {
            let (s, _, _) = data.datastream(id).ok_or_else(nope)?;
            ("Sensors", vec![links.sensor(&data.sensor(&s.id))])
        }
        ("Sensors", "Datastreams") => {
            let list = data
                .all_datastreams()
                .into_iter()
                .filter(|(s, _, _)| data.sensor(&s.id).id == id)
                .map(|(s, q, u)| data.datastream_entity(links, s, &q, &u))
                .collect();
            ("Datastreams", list)
        }
        ("Datastreams", "ObservedProperty") => {
            let (_, q, _) = data.datastream(id).ok_or_else(nope)?;
            ("ObservedProperties", vec![links.observed_property(&q)])
        }
        ("ObservedProperties", "Datastreams") => {
            let list = data
                .all_datastreams()
                .into_iter()
                .filter(|(_, q, _)| q == id)
                .map(|(s, q, u)| data.datastream_entity(links, s, &q, &u))
                .collect();
            ("Datastreams", list)
        }
        ("Datastreams", "Observations") => {
            let (s, q, _) = data.datastream(id).ok_or_else(nope)?;
            ("Observations", observations(state, links, s, &q).await?)
        }
        ("Observations", "Datastream") => {
            let ds = id.rsplit_once(SEP).map_or("", |(d, _)| d);
            let (s, q, u) = data.datastream(ds).ok_or_else(nope)?;
            (
                "Datastreams",
                vec![data.datastream_entity(links, s, &q, &u)],
            )
        }
        ("Observations", "FeatureOfInterest") => {
            let s = station_of(id).ok_or_else(nope)?;
            ("FeaturesOfInterest", vec![links.feature(s)])
        }
        ("FeaturesOfInterest", "Observations") => {
            let s = station_of(id).ok_or_else(nope)?;
            let mut all = Vec::new();
            for v in &s.latest {
                all.extend(observations(state, links, s, &v.quantity).await?);
            }
            ("Observations", all)
        }
        _ => return Err(nope()),
    };
    Ok((out.0.to_owned(), out.1))
}
