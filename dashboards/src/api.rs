//! The public JSON API, version 1.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::public::{self, PublicStation};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/stations", get(stations))
}

/// `GET /api/v1/stations`: every public station with its coarsened position and latest values.
async fn stations(State(state): State<AppState>) -> Result<Json<Vec<PublicStation>>, StatusCode> {
    public::stations(&state).await.map(Json).map_err(|e| {
        tracing::error!(error = %e, "cannot read stations");
        StatusCode::SERVICE_UNAVAILABLE
    })
}
