//! OGC SensorThings API 1.1 (Sensing, read-only) under `/sta/v1.1`, and the same for 1.0
//! clients under `/sta/v1.0`, over the public data only: every entity is made from what
//! [`crate::public`] lets out (public stations, coarsened positions, the policy's resolution,
//! delay and k-suppression), so no DevEUI, radio or device-health value can appear.
//!
//! Built: the root document, every entity set and entity, navigation from an entity to its
//! related set (`paths.rs`), `@iot.nextLink` paging with a server maximum, `$top`, `$skip`,
//! `$count`, `$select`, `$orderby`, `$filter` over an entity's own properties (`filter.rs`)
//! and `$expand` with nested options (`query.rs`). A datastream's observations are paged in
//! the store where the options allow it, and the map query's newest observations come from
//! the latest values (`data.rs`). Sensors are device models (`sensors.rs`). Writes are 405.
//! The MQTT extension's messages are made in `mqtt.rs`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::AppState;

mod data;
mod entities;
mod filter;
mod mqtt;
mod paths;
mod query;
mod sensors;
pub(crate) use data::StartsCache;
use data::{page_in_store, Data, Needs};
use entities::Links;
pub use mqtt::MqttTopics;
use paths::{parse_path, related, resolve};
use query::*;

/// The versions served: the same entities, each under its own root.
const VERSIONS: [&str; 2] = ["v1.1", "v1.0"];

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
        .route("/sta/{version}", get(root).fallback(read_only))
        .route("/sta/{version}/", get(root).fallback(read_only))
        .route("/sta/{version}/{*path}", get(resource).fallback(read_only))
        // Answers kept between commits, inside the same per-client limit as the JSON API.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::cache::cached,
        ))
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

fn unknown_version(version: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("`{version}`: this service speaks SensorThings v1.1 and v1.0"),
    )
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

/// The conformance classes implemented, exactly. Filtering (`request-data/filter`) is not
/// among them while filters across navigation properties and the geospatial functions are
/// missing; nor is the MQTT extension's, which names the create-update-delete topics too.
pub(crate) const CONFORMANCE: [&str; 9] = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/order",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/top",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/skip",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/count",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/select",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/expand",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data/status-code",
];

/// `/sta/v1.1`: the entity sets and the conformance classes implemented (1.0 has no server
/// settings: its root lists the sets alone).
async fn root(
    State(state): State<AppState>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !VERSIONS.contains(&version.as_str()) {
        return unknown_version(&version);
    }
    let base = format!("{}/sta/{version}", site(&state, &headers));
    let value: Vec<Value> = SETS
        .iter()
        .map(|s| json!({"name": s, "url": format!("{base}/{s}")}))
        .collect();
    let mut body = json!({ "value": value });
    if version == "v1.1" {
        body["serverSettings"] = json!({ "conformance": CONFORMANCE });
    }
    Json(body).into_response()
}

/// Any resource path under `/sta/v1.1/` (or `/sta/v1.0/`).
async fn resource(
    State(state): State<AppState>,
    Path((version, path)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !VERSIONS.contains(&version.as_str()) {
        return unknown_version(&version);
    }
    let steps = match parse_path(&path) {
        Ok(steps) => steps,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let options = match options(&query) {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let needs = Needs::of(&path, options.expand_text.as_deref());
    let data = match Data::load(&state, needs).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let page = site(&state, &headers);
    let base = format!("{page}/sta/{version}");
    let links = Links { base: &base };
    let ctx = Context {
        state: &state,
        data: &data,
        links: &links,
        page: &page,
        budget: std::sync::atomic::AtomicUsize::new(0),
    };
    // A datastream's observations, paged in the store where the options allow it.
    if let [first, second] = steps.as_slice() {
        if let (("Datastreams", Some(id)), ("Observations", None)) = (
            (first.name.as_str(), first.id.as_deref()),
            (second.name.as_str(), second.id.as_deref()),
        ) {
            let Some((s, quantity, _)) = data.datastream(id) else {
                return error(StatusCode::NOT_FOUND, "no such entity");
            };
            match page_in_store(&state, &links, s, &quantity, &options).await {
                Ok(Some((entities, more))) => {
                    // Without a count the total only decides whether a next page is linked.
                    let total = options.skip + entities.len() + usize::from(more);
                    return finish(
                        &ctx,
                        "Observations",
                        entities,
                        total,
                        &options,
                        &path,
                        &base,
                    )
                    .await;
                }
                Ok(None) => {}
                Err(response) => return response,
            }
        }
    }
    let resolved = match resolve(&state, &data, &links, &steps, &page).await {
        Ok(r) => r,
        Err(response) => return response,
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
    finish(&ctx, &set, entities, total, &options, &path, &base).await
}

/// A page of a collection: each entity expanded and selected, wrapped with its count and
/// next link.
async fn finish(
    ctx: &Context<'_>,
    set: &str,
    entities: Vec<Value>,
    total: usize,
    options: &Options,
    path: &str,
    base: &str,
) -> Response {
    let mut page_entities = Vec::with_capacity(entities.len());
    for e in entities {
        match expand(ctx, set, e, &options.expand).await {
            Ok(e) => page_entities.push(select(e, &options.select, &options.expand)),
            Err(response) => return response,
        }
    }
    let count = page_entities.len();
    json(&wrap(page_entities, total, options, path, base), count)
}

/// A JSON answer, written into a buffer sized for `entities` entities at once instead of
/// grown (and copied) step by step.
fn json(value: &Value, entities: usize) -> Response {
    let mut body = Vec::with_capacity((entities.max(1) * 1024).min(8 << 20));
    if serde_json::to_writer(&mut body, value).is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the answer cannot be written",
        );
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from(body),
    )
        .into_response()
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
            let (related_set, list, total) = match cut(ctx, set, &id, item).await? {
                Some((list, total)) => ("Observations".to_owned(), list, total),
                None => {
                    let (related_set, all) = related(
                        ctx.state,
                        ctx.data,
                        ctx.links,
                        set,
                        &id,
                        &item.property,
                        ctx.page,
                    )
                    .await?;
                    let (list, total) = page_of(all, &item.options);
                    (related_set, list, total)
                }
            };
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

/// A datastream's expanded Observations cut before they are read: the map query's
/// `Observations($top=1;$orderby=phenomenonTime desc)` from the station's latest values
/// (through the same policy), other pages in the store where the options allow. `None` where
/// the whole set must be read. With the total, which counts only where `$count` was asked.
async fn cut(
    ctx: &Context<'_>,
    set: &str,
    id: &str,
    item: &Expand,
) -> Result<Option<(Vec<Value>, usize)>, Response> {
    if set != "Datastreams" || item.property != "Observations" {
        return Ok(None);
    }
    let Some((s, quantity, _)) = ctx.data.datastream(id) else {
        return Ok(None);
    };
    let o = &item.options;
    let newest_only = o.top == 1
        && o.skip == 0
        && !o.count
        && o.filter.is_none()
        && o.orderby == [("phenomenonTime".to_owned(), true)];
    if newest_only {
        let value = s.latest.iter().find(|v| v.quantity == quantity);
        let newest = value.and_then(|v| {
            let ms = sensorhub_store::time::parse_rfc3339(&v.time)?;
            Some(ctx.links.observation(id, &v.time, ms, v.value))
        });
        let list: Vec<Value> = newest.into_iter().collect();
        let total = list.len();
        return Ok(Some((list, total)));
    }
    Ok(page_in_store(ctx.state, ctx.links, s, &quantity, o)
        .await?
        .map(|(list, more)| {
            let total = o.skip + list.len() + usize::from(more);
            (list, total)
        }))
}

#[cfg(test)]
mod tests;
