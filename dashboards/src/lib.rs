//! The web side: resident pages, the public JSON API, and operations endpoints.
//!
//! - `pages`: server-rendered HTML that works without JavaScript (German first, English too).
//! - `api`: `/api/v1/...`, public stations and their latest values.
//! - `ops`: `/metrics`, `/healthz`, `/readyz` for the people who run it.
//! - `public`: the one place that decides what the public may see (public stations only,
//!   coordinates coarsened), used by pages and API alike.

mod admin;
mod api;
mod config;
mod ops;
mod pages;
mod public;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use sensorhub_gateway::GatewayMetrics;
use sensorhub_store::Store;
use tokio::net::TcpListener;

pub use config::HttpConfig;
pub use sensorhub_publisher::PrivacyConfig;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The gateway's counters when it runs in the same process (`run`, `demo`).
    pub metrics: Option<Arc<GatewayMetrics>>,
    pub privacy: PrivacyConfig,
    /// Token of the technicians' API; `None` switches it off.
    pub admin_token: Option<String>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(ops::routes())
        .merge(admin::routes())
        .with_state(state)
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
