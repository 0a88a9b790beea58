//! The technicians' JSON API under `/admin/api/v1`: device health, unknown devices and dead
//! letters. It shows DevEUIs and radio data, so it answers only requests that carry the
//! configured bearer token, and is off when no token is configured. (Login-based technician
//! pages come with the dashboards' admin views.)

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/v1/devices/health", get(health))
        .route("/admin/api/v1/devices/unknown", get(unknown))
        .route("/admin/api/v1/dead-letters", get(dead_letters))
        .route(
            "/admin/api/v1/devices/unmapped-fields",
            get(unmapped_fields),
        )
}

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The refusal for a request without the right token, or `None` when it may pass. Wrong tokens
/// count against the client like failed logins (`http.login_attempts_*`); beyond them the
/// answer is 429 without looking at the token, so guessing one stays slow.
fn refusal(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> Option<Response> {
    let Some(token) = &state.admin_token else {
        return Some(
            (
                StatusCode::NOT_FOUND,
                "the admin API is off: set http.admin_token\n",
            )
                .into_response(),
        );
    };
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| crate::limits::client_ip(c.0.ip(), headers, &state.http.trusted_proxies));
    // A token is taken first and given back when the bearer token is right, so parallel
    // guesses cannot all pass a check before any of them is counted.
    let now = Instant::now();
    if let Some(Err(wait)) = client.map(|ip| state.login_limiter.take(ip, now)) {
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, format!("{}", wait.ceil().max(1.0)))],
                "too many wrong tokens from this address; try again later\n",
            )
                .into_response(),
        );
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.as_bytes(), token.as_bytes()) {
        if let Some(ip) = client {
            state.login_limiter.give_back(ip);
        }
        None
    } else {
        if let Some(ip) = client {
            tracing::warn!(client = %ip, "admin API: wrong bearer token");
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token is needed\n",
            )
                .into_response(),
        )
    }
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin API cannot read the store");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

#[derive(Deserialize)]
struct Window {
    /// Hours of uplinks counted for packet loss; a week by default.
    hours: Option<i64>,
}

async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Query(window): Query<Window>,
) -> Response {
    if let Some(refused) = refusal(&state, &headers, &extensions) {
        return refused;
    }
    let since = sensorhub_store::time::now_ms() - window.hours.unwrap_or(168) * 3_600_000;
    match state.store.state().device_health(since).await {
        Ok(health) => Json(health).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn unknown(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    if let Some(refused) = refusal(&state, &headers, &extensions) {
        return refused;
    }
    match state.store.state().unknown_devices().await {
        Ok(devices) => Json(devices).into_response(),
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize)]
struct DeviceQuery {
    dev_eui: Option<String>,
}

/// Fields of codec output that became no reading, per device (`?dev_eui=` for one).
async fn unmapped_fields(
    State(state): State<AppState>,
    Query(query): Query<DeviceQuery>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    if let Some(refused) = refusal(&state, &headers, &extensions) {
        return refused;
    }
    let eui = query.dev_eui.map(|e| e.trim().to_ascii_lowercase());
    match state.store.state().unmapped_fields(eui.as_deref()).await {
        Ok(fields) => Json(fields).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn dead_letters(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    if let Some(refused) = refusal(&state, &headers, &extensions) {
        return refused;
    }
    match state.store.state().dead_letter_counts().await {
        Ok(counts) => Json(counts).into_response(),
        Err(e) => unavailable(e),
    }
}
