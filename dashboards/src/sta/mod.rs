//! OGC SensorThings API 1.1 (Sensing, read-only) under `/sta/v1.1`, over the public data
//! only: every entity is made from what [`crate::public`] lets out (public stations,
//! coarsened positions, the policy's resolution, delay and k-suppression), so no DevEUI, radio
//! or device-health value can appear.
//!
//! Built so far: the root document, every entity set and entity, navigation from an entity to
//! its related set, `@iot.nextLink` paging with a server maximum, `$top`, `$skip`, `$count`,
//! `$select`, `$orderby` (one or more properties, `asc`/`desc`), `$filter` over an entity's
//! own properties (`filter.rs`) and `$expand` with nested options; the map query's newest
//! observations come from the latest values. Writes are 405.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::public::{self, PublicStation};
use crate::AppState;

mod entities;
mod filter;
mod query;
use entities::{Links, SEP};
use query::*;

/// The SensorThings MQTT messages of one live-feed event (a changed latest value of a public
/// station, `crate::api::live`): the Observation, as the HTTP API writes it, under
/// `v1.1/Datastreams('ID')/Observations` and `v1.1/Observations` (and the same for `v1.0`).
pub fn mqtt_messages(site: &str, event: &Value) -> Vec<(String, String)> {
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
    let base = format!("{}/sta/v1.1", site.trim_end_matches('/'));
    let links = Links { base: &base };
    let datastream = format!("{station}{SEP}{quantity}");
    let payload = links.observation(&datastream, time, ms, value).to_string();
    let mut out = Vec::new();
    for version in ["v1.1", "v1.0"] {
        out.push((
            format!("{version}/Datastreams('{datastream}')/Observations"),
            payload.clone(),
        ));
        out.push((format!("{version}/Observations"), payload.clone()));
    }
    out
}

const SETS: [&str; 8] = [
    "Datastreams",
    "FeaturesOfInterest",
    "HistoricalLocations",
    "Locations",
    "Observations",
    "ObservedProperties",
    "Sensors",
    "Things",
];

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/sta/v1.1", get(root).fallback(read_only))
        .route("/sta/v1.1/", get(root).fallback(read_only))
        .route("/sta/v1.1/{*path}", get(resource).fallback(read_only))
        // The same per-client limit as the JSON API.
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::limits::rate_limit,
        ))
}

/// The site's address as links name it: the configured public address, else the request's
/// `Host` (when it is a plain host name), else the listen address.
fn site(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", state.http.listen),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"code": status.as_u16(), "type": "error", "message": message})),
    )
        .into_response()
}

async fn read_only(method: Method) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method}: this SensorThings API is read-only; the data comes from the sensors"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, "GET".parse().expect("a header value"));
    response
}

/// `/sta/v1.1`: the entity sets and the conformance classes implemented. Filtering is not
/// among them while filters across navigation properties and the geospatial functions are
/// missing.
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = format!("{}/sta/v1.1", site(&state, &headers));
    let value: Vec<Value> = SETS
        .iter()
        .map(|s| json!({"name": s, "url": format!("{base}/{s}")}))
        .collect();
    Json(json!({
        "value": value,
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/order",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/top",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/skip",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/count",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/select",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/expand",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/status-code",
            ],
        },
    }))
    .into_response()
}

/// One step of a resource path: an entity set, or one entity of it.
#[derive(Debug, PartialEq)]
struct Step {
    name: String,
    id: Option<String>,
}

/// `Things('a')/Datastreams` into its steps; an id in quotes (`''` for a quote) or bare.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
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

/// The public data the entities are made of, with its stations indexed by id.
struct Data {
    stations: Vec<PublicStation>,
    index: std::collections::HashMap<String, usize>,
}

impl Data {
    fn new(stations: Vec<PublicStation>) -> Data {
        let index = stations
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Data { stations, index }
    }

    fn station(&self, id: &str) -> Option<&PublicStation> {
        self.index.get(id).map(|i| &self.stations[*i])
    }

    /// A datastream id's station and quantity, if it is one of a public station.
    fn datastream(&self, id: &str) -> Option<(&PublicStation, String, String)> {
        let (station, quantity) = id.split_once(SEP)?;
        let s = self.station(station)?;
        let value = s.latest.iter().find(|v| v.quantity == quantity)?;
        Some((s, quantity.to_owned(), value.unit.clone()))
    }

    fn all_datastreams(&self) -> Vec<(&PublicStation, String, String)> {
        self.stations
            .iter()
            .flat_map(|s| {
                s.latest
                    .iter()
                    .map(move |v| (s, v.quantity.clone(), v.unit.clone()))
            })
            .collect()
    }
}

/// A datastream's observations, through the same policy as the history API: everything the
/// policy lets out, at its finest resolution.
async fn observations(
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
    .map_err(|e| {
        tracing::error!(error = %e, "a SensorThings request cannot use the store");
        error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
    })?;
    let Some(history) = history else {
        return Ok(Vec::new());
    };
    let datastream = format!("{}{SEP}{quantity}", s.id);
    Ok(history
        .points
        .iter()
        .filter_map(|p| {
            let ms = sensorhub_store::time::parse_rfc3339(&p.time)?;
            Some(links.observation(&datastream, &p.time, ms, p.mean))
        })
        .collect())
}

/// Every entity a resource path names, or why it names none.
async fn resolve(
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
            .map(|(s, q, u)| links.datastream(s, &q, &u))
            .collect(),
        "Sensors" => data
            .all_datastreams()
            .into_iter()
            .map(|(s, q, _)| links.sensor(s, &q))
            .collect(),
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
                let (s, q, _) = data.datastream(ds).ok_or_else(not_found)?;
                observations(state, links, s, &q)
                    .await?
                    .into_iter()
                    .filter(|o| o["@iot.id"] == format!("{ds}{SEP}{ms}").as_str())
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

struct Resolved {
    entities: Vec<Value>,
    /// The entity set they belong to.
    set: String,
    /// The path names one entity (`Things('x')`, `Datastreams('x')/Thing`).
    single: bool,
}

/// The entities related to `set('id')` by `property`, and their set.
#[allow(clippy::too_many_arguments)]
async fn related(
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
                .map(|v| links.datastream(s, &v.quantity, &v.unit))
                .collect();
            ("Datastreams", list)
        }
        ("Datastreams", "Sensor") => {
            let (s, q, _) = data.datastream(id).ok_or_else(nope)?;
            ("Sensors", vec![links.sensor(s, &q)])
        }
        ("Sensors", "Datastreams") => {
            let (s, q, u) = data.datastream(id).ok_or_else(nope)?;
            ("Datastreams", vec![links.datastream(s, &q, &u)])
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
                .map(|(s, q, u)| links.datastream(s, &q, &u))
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
            ("Datastreams", vec![links.datastream(s, &q, &u)])
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

/// Any resource path under `/sta/v1.1/`.
async fn resource(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let steps = match parse_path(&path) {
        Ok(steps) => steps,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let options = match options(&query) {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let stations = match public::stations(&state).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "a SensorThings request cannot use the store");
            return error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable");
        }
    };
    let data = Data::new(stations);
    let page = site(&state, &headers);
    let base = format!("{page}/sta/v1.1");
    let links = Links { base: &base };
    let resolved = match resolve(&state, &data, &links, &steps, &page).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let ctx = Context {
        state: &state,
        data: &data,
        links: &links,
        page: &page,
        budget: std::sync::atomic::AtomicUsize::new(0),
    };
    let set = resolved.set;
    if resolved.single {
        let Some(e) = resolved.entities.into_iter().next() else {
            return error(StatusCode::NOT_FOUND, "no such entity");
        };
        return match expand(&ctx, &set, e, &options.expand).await {
            Ok(e) => Json(select(e, &options.select, &options.expand)).into_response(),
            Err(response) => response,
        };
    }
    let (entities, total) = page_of(resolved.entities, &options);
    let mut page_entities = Vec::with_capacity(entities.len());
    for e in entities {
        match expand(&ctx, &set, e, &options.expand).await {
            Ok(e) => page_entities.push(select(e, &options.select, &options.expand)),
            Err(response) => return response,
        }
    }
    Json(wrap(page_entities, total, &options, &path, &base)).into_response()
}

/// What an expansion needs to find related entities.
struct Context<'a> {
    state: &'a AppState,
    data: &'a Data,
    links: &'a Links<'a>,
    page: &'a str,
    /// Entities put inline so far; beyond [`MAX_ENTITIES`] the answer is refused.
    budget: std::sync::atomic::AtomicUsize,
}

type Expanded<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Response>> + Send + 'a>>;

/// The entity with its `$expand` items inline, each through its own options (recursively).
fn expand<'a>(
    ctx: &'a Context<'a>,
    set: &'a str,
    mut entity: Value,
    items: &'a [Expand],
) -> Expanded<'a> {
    Box::pin(async move {
        let Some(id) = entity["@iot.id"].as_str().map(str::to_owned) else {
            return Ok(entity);
        };
        for item in items {
            let (related_set, list) = match newest(ctx, set, &id, item) {
                Some(found) => found,
                None => {
                    related(
                        ctx.state,
                        ctx.data,
                        ctx.links,
                        set,
                        &id,
                        &item.property,
                        ctx.page,
                    )
                    .await?
                }
            };
            let (list, total) = page_of(list, &item.options);
            let spent = ctx
                .budget
                .fetch_add(list.len(), std::sync::atomic::Ordering::Relaxed);
            if spent + list.len() > MAX_ENTITIES {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "$expand: the answer would hold more than {MAX_ENTITIES} entities; ask for fewer with $top"
                    ),
                ));
            }
            let mut done = Vec::with_capacity(list.len());
            for e in list {
                let e = expand(ctx, &related_set, e, &item.options.expand).await?;
                done.push(select(e, &item.options.select, &item.options.expand));
            }
            let key = item.property.clone();
            if key.ends_with('s') {
                if item.options.count {
                    entity[format!("{key}@iot.count")] = json!(total);
                }
                entity[key] = Value::Array(done);
            } else {
                entity[key] = done.into_iter().next().unwrap_or(Value::Null);
            }
        }
        Ok(entity)
    })
}

/// The map query's `Observations($top=1;$orderby=phenomenonTime desc)` of a datastream,
/// answered from the station's latest values (through the same policy) instead of its history.
fn newest(ctx: &Context<'_>, set: &str, id: &str, item: &Expand) -> Option<(String, Vec<Value>)> {
    let o = &item.options;
    let newest_only = set == "Datastreams"
        && item.property == "Observations"
        && o.top == 1
        && o.skip == 0
        && o.filter.is_none()
        && o.orderby == [("phenomenonTime".to_owned(), true)];
    if !newest_only {
        return None;
    }
    let (s, quantity, _) = ctx.data.datastream(id)?;
    let value = s.latest.iter().find(|v| v.quantity == quantity)?;
    let ms = sensorhub_store::time::parse_rfc3339(&value.time)?;
    Some((
        "Observations".to_owned(),
        vec![ctx.links.observation(id, &value.time, ms, value.value)],
    ))
}

#[cfg(test)]
mod tests;
