//! The technicians' JSON API under `/admin/api/v1`: device health, unknown devices and dead
//! letters. It shows DevEUIs and radio data, so it answers only requests that carry the
//! configured bearer token ([`AdminToken`]), and is off when no token is configured.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::AdminToken;
use crate::error::AppError;
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

#[derive(Deserialize)]
struct Window {
    /// Hours of uplinks counted for packet loss; a week by default.
    hours: Option<i64>,
}

async fn health(
    _: AdminToken,
    State(state): State<AppState>,
    Query(window): Query<Window>,
) -> Result<Response, AppError> {
    let since = sensorhub_store::time::now_ms() - window.hours.unwrap_or(168) * 3_600_000;
    Ok(Json(state.store.state().device_health(since).await?).into_response())
}

async fn unknown(_: AdminToken, State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(state.store.state().unknown_devices().await?).into_response())
}

#[derive(Deserialize)]
struct DeviceQuery {
    dev_eui: Option<String>,
}

/// Fields of codec output that became no reading, per device (`?dev_eui=` for one).
async fn unmapped_fields(
    _: AdminToken,
    State(state): State<AppState>,
    Query(query): Query<DeviceQuery>,
) -> Result<Response, AppError> {
    let eui = query.dev_eui.map(|e| e.trim().to_ascii_lowercase());
    let fields = state.store.state().unmapped_fields(eui.as_deref()).await?;
    Ok(Json(fields).into_response())
}

async fn dead_letters(_: AdminToken, State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(state.store.state().dead_letter_counts().await?).into_response())
}
