//! The public JSON API, version 1: stations, latest values, history, the live stream and the
//! OpenAPI document. Every answer passes through `public` (public stations only, coordinates
//! coarsened); JSON answers carry an ETag and Cache-Control; each client is rate limited.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use sensorhub_store::Resolution;

pub(crate) mod live;
pub(crate) mod stream_conn;

use crate::error::AppError;
use crate::limits::{cached_json, rate_limit};
use crate::public;
use crate::AppState;

const OPENAPI: &str = include_str!("../../assets/openapi.json");

pub fn routes(state: AppState) -> Router<AppState> {
    // Answers kept between commits (`crate::cache`), inside the rate limit.
    let cached = Router::new()
        .route("/api/v1/stations", get(stations))
        .route("/api/v1/stations.geojson", get(stations_geojson))
        .route("/api/v1/land.geojson", get(land_geojson))
        .route("/api/v1/stations/{id}", get(station))
        .route("/api/v1/stations/{id}/history", get(history))
        .route("/api/v1/latest", get(latest))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::cache::cached,
        ));
    Router::new()
        .merge(cached)
        .route("/api/v1/stream", get(live::stream))
        .route("/api/v1/openapi.json", get(openapi))
        .route_layer(middleware::from_fn_with_state(state, rate_limit))
}

fn json_body<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `GET /api/v1/stations`: every public station with its coarsened position and latest values.
async fn stations(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let stations = public::stations(&state).await?;
    Ok(cached_json(&headers, json_body(&stations), 10))
}

/// `GET /api/v1/stations.geojson`: the same stations as a GeoJSON FeatureCollection (RFC 7946)
/// for GIS tools and web maps: one Point per station with a position, coordinates coarsened as
/// everywhere, the latest values as properties.
async fn stations_geojson(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let stations = public::stations(&state).await?;
    let points = stations.into_iter().filter_map(|s| {
        let mut properties = serde_json::Map::new();
        properties.insert("station".into(), serde_json::json!(s.id));
        properties.insert("name".into(), serde_json::json!(s.name));
        properties.insert("theme".into(), serde_json::json!(s.theme));
        properties.insert("latest".into(), serde_json::json!(s.latest));
        Some(sensorhub_policy::GeoPoint {
            lat: s.lat?,
            lon: s.lon?,
            id: Some(s.id),
            properties,
        })
    });
    let collection = sensorhub_policy::feature_collection(points);
    Ok(geojson(cached_json(&headers, json_body(&collection), 10)))
}

/// `GET /api/v1/land.geojson`: the land (Natural Earth 1:10m) around the public stations, the
/// map's background when no tile server is configured.
async fn land_geojson(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let stations = public::stations(&state).await?;
    let bbox = crate::land::Bbox::around(stations.iter().filter_map(|s| Some((s.lon?, s.lat?))));
    let body = crate::land::geojson(bbox);
    Ok(geojson(cached_json(
        &headers,
        body.as_bytes().to_vec(),
        3600,
    )))
}

/// Says GeoJSON (RFC 7946) on a successful answer.
fn geojson(mut response: Response) -> Response {
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/geo+json"),
        );
    }
    response
}

/// `GET /api/v1/stations/{id}`.
async fn station(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let station = public::station(&state, &id).await?;
    let station = station.ok_or(AppError::ApiNotFound("station"))?;
    Ok(cached_json(&headers, json_body(&station), 10))
}

#[derive(Serialize)]
struct FlatValue {
    station: String,
    quantity: String,
    value: f64,
    unit: String,
    time: String,
    stale: bool,
}

/// `GET /api/v1/latest`: the newest value of every public series, flat.
async fn latest(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let flat: Vec<FlatValue> = public::stations(&state)
        .await?
        .into_iter()
        .flat_map(|s| {
            let id = s.id;
            s.latest.into_iter().map(move |v| FlatValue {
                station: id.clone(),
                quantity: v.quantity,
                value: v.value,
                unit: v.unit,
                time: v.time,
                stale: v.stale,
            })
        })
        .collect();
    Ok(cached_json(&headers, json_body(&flat), 10))
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    pub quantity: String,
    pub resolution: Option<Resolution>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Parses the window of a history request: RFC 3339 times; by default the last 24 hours.
pub fn window(query: &HistoryQuery) -> Result<(i64, i64), String> {
    let now = sensorhub_store::time::now_ms();
    let parse = |t: &Option<String>, default: i64, name: &str| match t {
        None => Ok(default),
        Some(text) => sensorhub_store::time::parse_rfc3339(text)
            .ok_or_else(|| format!("{name}: `{text}` is not an RFC 3339 time")),
    };
    let until = parse(&query.until, now, "until")?;
    let since = parse(&query.since, until - 86_400_000, "since")?;
    if since >= until {
        return Err("since must be before until".into());
    }
    let span = until - since;
    let resolution = query.resolution.unwrap_or(Resolution::Hour);
    // Keep answers bounded: at most about 10,000 points.
    let limit = match resolution.step_ms() {
        None | Some(60_000) => 7 * 86_400_000,
        Some(step) => step * 10_000,
    };
    if span > limit {
        return Err(format!(
            "the window is too long for resolution {resolution:?}; ask for at most {} days or a \
             coarser resolution",
            limit / 86_400_000
        ));
    }
    Ok((since, until))
}

/// `GET /api/v1/stations/{id}/history?quantity=Q&resolution=1h&since=T&until=T`.
async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (since, until) = window(&query).map_err(AppError::ApiBadRequest)?;
    let resolution = query.resolution.unwrap_or(Resolution::Hour);
    let history = public::history(&state, &id, &query.quantity, resolution, since, until).await?;
    let history = history.ok_or(AppError::ApiNotFound("station"))?;
    Ok(cached_json(&headers, json_body(&history), 60))
}

/// `GET /api/v1/openapi.json`: the API described as OpenAPI 3.0.
async fn openapi(headers: HeaderMap) -> Response {
    cached_json(&headers, OPENAPI.as_bytes().to_vec(), 3600)
}
