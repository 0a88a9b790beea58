//! Endpoints for operators: Prometheus metrics, liveness and readiness.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// What the web shows of a gateway running in the same process (`run`, `demo`): its counters
/// and whether it can take messages. The binary hands it in, so this crate needs no gateway.
/// What a replay answers, in time: (replayed, still failing), or why it failed.
pub type ReplayFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(usize, usize), String>> + Send + 'a>,
>;

/// Runs dead letters through the gateway's ingestion again (when the gateway runs in the same
/// process).
pub trait Replay: Send + Sync {
    fn replay(&self, ids: Vec<i64>) -> ReplayFuture<'_>;
}

/// What the data page lists of a published dataset.
#[derive(Debug, Clone, Default)]
pub struct DatasetSummary {
    pub name: String,
    pub title: String,
    pub description: String,
    pub licence_title: String,
    pub licence_url: String,
    /// First and last time covered (RFC 3339), where there is data.
    pub period: Option<(String, String)>,
    /// How often it is updated (an EU frequency code: HOURLY, DAILY, ...).
    pub frequency: String,
    /// Its files here: name, size in bytes, and the path they are served under.
    pub files: Vec<(String, u64, String)>,
    /// Its page on the portal it is published to.
    pub portal_page: Option<String>,
}

/// A future of the datasets for the data page.
pub type DatasetsFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Vec<DatasetSummary>> + Send + 'a>>;

/// The open data the publisher wrote, handed in by the binary (this crate needs no
/// publisher): the DCAT-AP.de catalog, the datasets for the data page, and their files.
pub trait OpenData: Send + Sync {
    /// The catalog in the format of `ext` (`ttl`, `rdf`, `jsonld`), as DCAT-AP.de 2.0 or
    /// (`version_3`) 3.0: bytes and media type; `None` for another extension.
    fn catalog(
        &self,
        ext: &str,
        version_3: bool,
    ) -> Option<Result<(Vec<u8>, &'static str), String>>;
    /// The published datasets.
    fn datasets(&self) -> DatasetsFuture<'_>;
    /// A file of a published dataset (only the dataset's own files): bytes and media type.
    fn file(&self, dataset: &str, file: &str) -> Option<(Vec<u8>, &'static str)>;
}

/// Checks a codec of The Things Network's device repository against its own published examples,
/// as `sensorhub devices import` does (the binary hands it in with the codecs' config).
pub trait CodecCheck: Send + Sync {
    fn check(&self, codec: &sensorhub_store::TtnCodec) -> Result<(), String>;
}

pub trait GatewayStatus: Send + Sync {
    /// Appends the gateway's counters in Prometheus text format.
    fn render_metrics(&self, out: &mut String);
    /// Why the gateway is not ready, if it is not.
    fn not_ready(&self) -> Option<NotReady>;
}

/// Why the gateway takes in nothing: what `/readyz` answers (in English, for operators'
/// probes) and what the technicians' workbench shows at its top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    CommitsFailing,
    SubscriptionRefused,
    BrokerNotConnected,
}

impl NotReady {
    pub fn english(self) -> &'static str {
        match self {
            NotReady::CommitsFailing => "store: commits are failing (see the log)",
            NotReady::SubscriptionRefused => {
                "broker: a subscription was refused (check the broker's ACL; asked again every keep-alive)"
            }
            NotReady::BrokerNotConnected => "broker: not connected",
        }
    }

    pub fn german(self) -> &'static str {
        match self {
            NotReady::CommitsFailing => {
                "Datenbank: Schreiben schlägt fehl (siehe Protokoll); Nachrichten werden nicht bestätigt, der Broker hält sie nur, soweit seine Warteschlange reicht."
            }
            NotReady::SubscriptionRefused => {
                "Broker: Ein Abonnement wurde abgelehnt (ACL des Brokers prüfen; es wird in jedem Keep-Alive-Intervall erneut angefordert)."
            }
            NotReady::BrokerNotConnected => "Broker: nicht verbunden.",
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    if let Some(m) = &state.metrics {
        m.render_metrics(&mut out);
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
            "# HELP {name} Alerts open (silent devices, low batteries, gateways offline), by kind.\n\
             # TYPE {name} gauge\n"
        ));
        for kind in sensorhub_store::AlertKind::ALL {
            let n = open.iter().filter(|(_, k, _)| *k == kind).count();
            out.push_str(&format!("{name}{{kind=\"{kind}\"}} {n}\n"));
        }
        let name = "sensorhub_gateways_offline";
        let n = open
            .iter()
            .filter(|(_, k, _)| *k == sensorhub_store::AlertKind::GatewayOffline)
            .count();
        out.push_str(&format!(
            "# HELP {name} Gateways heard before and silent for alerts.gateway_silent_after.\n\
             # TYPE {name} gauge\n{name} {n}\n"
        ));
    }
    state.cache.render_metrics(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// Ready when the store answers and, if the gateway runs here, the broker is connected.
async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    if let Err(e) = state.store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n"));
    }
    if let Some(reason) = state.metrics.as_ref().and_then(|m| m.not_ready()) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", reason.english()),
        );
    }
    (StatusCode::OK, "ready\n".into())
}
