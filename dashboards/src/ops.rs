//! Endpoints for operators: Prometheus metrics, liveness and readiness.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    if let Some(m) = &state.metrics {
        m.render(&mut out);
    }
    if let Ok(counts) = state.store.state().dead_letter_counts().await {
        let name = "sensorhub_dead_letters_kept";
        out.push_str(&format!(
            "# HELP {name} Dead letters kept in the store, by reason.\n# TYPE {name} gauge\n"
        ));
        for c in counts {
            out.push_str(&format!("{name}{{reason=\"{}\"}} {}\n", c.reason, c.count));
        }
    }
    if let Ok(open) = state.store.state().open_alerts().await {
        let name = "sensorhub_alerts_open";
        out.push_str(&format!(
            "# HELP {name} Device alerts open (silent devices, low batteries), by kind.\n\
             # TYPE {name} gauge\n"
        ));
        for kind in ["silent", "low_battery"] {
            let n = open.iter().filter(|(_, k, _)| k == kind).count();
            out.push_str(&format!("{name}{{kind=\"{kind}\"}} {n}\n"));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// Ready when the store answers and, if the gateway runs here, the broker is connected.
async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    if let Err(e) = state.store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"));
    }
    if let Some(m) = &state.metrics {
        if m.commit_failing.load(Ordering::Relaxed) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "store: commits are failing (see the log)\n".into(),
            );
        }
        if !m.connected.load(Ordering::Relaxed) {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "broker: not connected\n".into(),
            );
        }
    }
    (StatusCode::OK, "ready\n".into())
}
