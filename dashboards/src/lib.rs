//! The web side: resident pages, the public JSON API, the technicians' views and operations
//! endpoints.
//!
//! - `pages`: server-rendered HTML that works without JavaScript (German first, English too):
//!   overview map and list, station pages with charts and their data tables, accessibility
//!   statement, data and licence.
//! - `html`: what the pages share: language, number and time formats, the page frames (maud).
//! - `api`: `/api/v1/...`: stations, latest values, history, OpenAPI document, and the live
//!   stream (`api/live.rs`: Server-Sent Events fed by changes of the latest values).
//! - `limits`: ETags and the per-client rate limit.
//! - `admin`: the technicians' login-protected pages and their token API (`admin/auth.rs`
//!   holds the session and token extractors every handler there asks for).
//! - `error`: the one error type handlers return.
//! - `land`: the map's land layer, Natural Earth data embedded in the binary.
//! - `ops`: `/metrics`, `/healthz`, `/readyz` for the people who run it.
//! - `public`: the one place that decides what the public may see (public stations only,
//!   coordinates coarsened), used by pages and API alike.

mod admin;
mod api;
mod cache;
mod config;
mod error;
mod headers;
mod html;
mod land;
mod limits;
mod ops;
mod pages;
mod peer;
mod public;
mod sta;

use std::future::Future;

use std::sync::Arc;

use axum::Router;
use sensorhub_store::Store;
use tokio::net::TcpListener;

pub use admin::{hash_password, random_password};
pub use config::{HttpConfig, UserConfig};
pub use ops::{
    CodecCheck, DatasetSummary, DatasetsFuture, GatewayStatus, NotReady, OpenData, Replay,
    ReplayFuture,
};
pub use sensorhub_policy::{PrivacyConfig, PublicPolicy};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The gateway's counters when it runs in the same process (`run`, `demo`).
    pub metrics: Option<Arc<dyn GatewayStatus>>,
    /// Replays of dead letters through the gateway, when it runs in the same process.
    pub replay: Option<Arc<dyn Replay>>,
    /// The check of device repository codecs for the web import; without it such rows are
    /// left to the command line.
    pub codecs: Option<Arc<dyn CodecCheck>>,
    /// The published open data: catalog, data page, files.
    pub open_data: Option<Arc<dyn OpenData>>,
    /// The site's public address (`publisher.public_url`), for absolute links.
    pub public_url: Option<String>,
    /// Battery curves per device type (`[batteries]`), for percentages from voltages.
    pub batteries: Arc<sensorhub_store::Batteries>,
    /// The publication policy every public answer goes through.
    pub policy: PublicPolicy,
    /// Token of the technicians' API; `None` switches it off.
    pub admin_token: Option<String>,
    pub http: Arc<HttpConfig>,
    pub(crate) live: api::live::Hub,
    /// When the series begin, for the SensorThings Datastreams.
    pub(crate) sta_starts: Arc<sta::StartsCache>,
    /// Public answers kept between commits.
    pub(crate) cache: Arc<cache::AnswerCache>,
    pub(crate) limiter: Arc<limits::RateLimiter>,
    pub(crate) login_limiter: Arc<limits::RateLimiter>,
    pub(crate) security_headers: headers::SecurityHeaders,
}

impl AppState {
    pub fn new(
        store: Store,
        metrics: Option<Arc<dyn GatewayStatus>>,
        policy: PublicPolicy,
        http: HttpConfig,
    ) -> AppState {
        let cache = Arc::new(cache::AnswerCache::new(http.cache_max_bytes));
        AppState {
            store,
            metrics,
            replay: None,
            codecs: None,
            open_data: None,
            public_url: None,
            batteries: Arc::default(),
            policy,
            admin_token: http.admin_token.clone(),
            limiter: Arc::new(limits::RateLimiter::new(
                http.rate_limit_per_s,
                http.rate_limit_burst,
            )),
            login_limiter: Arc::new(limits::RateLimiter::with_rate(
                f64::from(http.login_attempts_per_hour) / 3600.0,
                f64::from(http.login_attempts_burst),
            )),
            security_headers: headers::SecurityHeaders::new(&http),
            http: Arc::new(http),
            live: api::live::Hub::new(),
            sta_starts: Arc::default(),
            cache,
        }
    }
}

/// The live feed's events (changed latest values of public stations, after their commit), as
/// `/api/v1/stream` sends them, for other surfaces in the same process (the SensorThings MQTT
/// extension). The feed runs while the dashboard serves.
pub fn live_feed(state: &AppState) -> tokio::sync::broadcast::Receiver<Arc<str>> {
    state.live.subscribe()
}

/// The SensorThings MQTT messages (topic, payload) of live-feed events.
pub use sta::MqttTopics as StaMqttTopics;

pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The router with `extra` routes of other stages (the gateway's webhooks) beside ours,
/// under the same security headers.
pub fn router_with(state: AppState, extra: Router) -> Router {
    Router::new()
        .merge(pages::routes(state.clone()))
        .merge(api::routes(state.clone()))
        .merge(ops::routes())
        .merge(admin::routes())
        .merge(sta::routes(state.clone()))
        .with_state(state.clone())
        .merge(extra)
        .layer(axum::middleware::from_fn_with_state(state, headers::add))
}

/// Serves until `shutdown` completes, with the live feed running alongside.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Router::new(), shutdown).await
}

/// [`serve`] with `extra` routes beside the dashboard's.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    extra: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feed = tokio::spawn(api::live::watch(state.clone()));
    // Live-feed streams are answered beside hyper, everything else by the router.
    let listener = api::stream_conn::Splitter::new(listener, state.clone())?;
    let result = axum::serve(listener, peer::MakePeerRouter(router_with(state, extra)))
        .with_graceful_shutdown(shutdown)
        .await;
    feed.abort();
    result
}
