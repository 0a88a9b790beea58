//! Runs the parts of the system a command asks for, side by side, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use sensorhub_dashboards::AppState;
use sensorhub_gateway::GatewayMetrics;
use sensorhub_store::{Store, TimeSeries};
use tokio::sync::watch;

use crate::config::Config;

#[derive(Clone, Copy)]
pub struct Parts {
    pub gateway: bool,
    pub serve: bool,
    pub publish: bool,
}

impl Parts {
    pub const ALL: Parts = Parts {
        gateway: true,
        serve: true,
        publish: true,
    };
    pub const GATEWAY: Parts = Parts {
        gateway: true,
        serve: false,
        publish: false,
    };
    pub const SERVE: Parts = Parts {
        gateway: false,
        serve: true,
        publish: false,
    };
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A shutdown that many tasks can wait for.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Starts listening for the signals; the sender side stays with the returned trigger.
    pub fn on_signal() -> (Shutdown, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let trigger = tx.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stopping");
            let _ = tx.send(true);
        });
        (Shutdown(rx), trigger)
    }

    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

pub async fn run(config: Config, parts: Parts) -> Result<()> {
    let store =
        Store::open(&config.store).with_context(|| format!("store {}", config.store.path))?;
    let (shutdown, _trigger) = Shutdown::on_signal();
    run_with(config, parts, store, shutdown).await
}

/// Runs the parts on an open store until `shutdown`.
pub async fn run_with(
    config: Config,
    parts: Parts,
    store: Store,
    shutdown: Shutdown,
) -> Result<()> {
    let metrics = Arc::new(GatewayMetrics::default());
    let mut tasks = tokio::task::JoinSet::new();

    // Webhook posts go into the gateway's own queue; they need the gateway and the HTTP server
    // in one process (`run`).
    let (intake, queue) = sensorhub_gateway::queue(&config.mqtt);
    let webhooks = match config.ingest.secrets(|name| std::env::var(name).ok()) {
        Ok(secrets) => secrets,
        Err(problems) => anyhow::bail!("ingest.webhooks: {}", problems.join("; ")),
    };
    let served = parts.gateway && parts.serve;
    if !webhooks.is_empty() && !served {
        tracing::warn!("ingest.webhooks are served only by `sensorhub run` (gateway and dashboard in one process)");
    }
    let webhook_routes = (parts.gateway && !webhooks.is_empty())
        .then(|| sensorhub_gateway::webhook::routes(intake, webhooks));
    if parts.gateway {
        let (mqtt, store, metrics, stop) = (
            config.mqtt.clone(),
            store.clone(),
            metrics.clone(),
            shutdown.clone(),
        );
        let (rules, codecs) = (config.normalisation.clone(), config.codecs.clone());
        tasks.spawn(async move {
            sensorhub_gateway::run_queued(mqtt, rules, codecs, store, metrics, queue, stop.wait())
                .await
                .context("gateway")
        });
    }
    if parts.gateway && config.store.retention_days > 0 {
        let (store, days, stop) = (store.clone(), config.store.retention_days, shutdown.clone());
        tasks.spawn(every(Duration::from_secs(3600), stop, move || {
            let store = store.clone();
            async move {
                let cutoff = sensorhub_store::time::now_ms() - i64::from(days) * 86_400_000;
                match store.retain(cutoff).await {
                    Ok(n) => tracing::info!(deleted = n, days, "retention applied"),
                    Err(e) => tracing::error!(error = %e, "retention failed; retrying in an hour"),
                }
            }
        }));
    }
    if parts.gateway {
        // Dead letters also age out while no new ones arrive (new ones prune with their commit).
        let (store, stop) = (store.clone(), shutdown.clone());
        tasks.spawn(every(Duration::from_secs(3600), stop, move || {
            let store = store.clone();
            async move {
                match store.state().prune_dead_letters().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "old dead letters removed"),
                    Err(e) => tracing::error!(error = %e, "pruning dead letters failed; retrying in an hour"),
                }
            }
        }));
    }
    if parts.gateway {
        let (store, alerts, silent_after, stop) = (
            store.clone(),
            config.alerts.clone(),
            config.http.silent_after,
            shutdown.clone(),
        );
        let batteries = Arc::new(config.batteries());
        tasks.spawn(every(alerts.check_every.as_std(), stop, move || {
            let (store, alerts, batteries) = (store.clone(), alerts.clone(), batteries.clone());
            async move {
                let now = sensorhub_store::time::now_ms();
                if let Err(e) =
                    crate::alerts::check(&store, &alerts, silent_after, &batteries, now).await
                {
                    tracing::error!(error = %format!("{e:#}"), "alert check failed; trying again at the next check");
                }
            }
        }));
    }
    if parts.serve {
        let listener = tokio::net::TcpListener::bind(&config.http.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.http.listen))?;
        let address = listener.local_addr()?;
        tracing::info!("dashboard on http://{address}/ , API on http://{address}/api/v1/stations");
        // Without an explicit portal link, the pages link the first dataset published to CKAN.
        let mut http = config.http.clone();
        if http.portal_url.is_none() {
            let ckan_dataset = config
                .datasets
                .iter()
                .find(|d| d.target == sensorhub_publisher::Target::Ckan);
            if let (Some(ckan), Some(dataset)) = (&config.publisher.ckan, ckan_dataset) {
                http.portal_url = Some(format!(
                    "{}/dataset/{}",
                    ckan.url.trim_end_matches('/'),
                    dataset.name
                ));
            }
        }
        let state = AppState::new(
            store.clone(),
            parts.gateway.then(|| {
                Arc::new(GatewayStatus(metrics.clone()))
                    as Arc<dyn sensorhub_dashboards::GatewayStatus>
            }),
            sensorhub_publisher::public_policy(&config.privacy, &config.datasets),
            http,
        );
        let mut state = state;
        if parts.gateway {
            state.replay = Some(Arc::new(Replayer {
                store: store.clone(),
                mqtt: config.mqtt.clone(),
                rules: config.normalisation.clone(),
                codecs: config.codecs.clone(),
            }));
        }
        state.codecs = Some(Arc::new(CodecChecker(config.codecs.clone())));
        state.public_url = config.publisher.public_url.clone();
        state.open_data = Some(Arc::new(crate::open_data::OpenDataFiles::new(
            &config,
            store.clone(),
        )));
        state.batteries = Arc::new(config.batteries());
        if let Some(url) = config.sta.mqtt_url.clone() {
            let site = config
                .publisher
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.http.listen));
            let (state, stop) = (state.clone(), shutdown.clone());
            tasks.spawn(async move {
                tokio::select! {
                    _ = sensorhub::sta_mqtt::run(state, url, site) => {}
                    _ = stop.wait() => {}
                }
                Ok(())
            });
        }
        let stop = shutdown.clone();
        let extra = webhook_routes.unwrap_or_default();
        tasks.spawn(async move {
            sensorhub_dashboards::serve_with(listener, state, extra, stop.wait())
                .await
                .context("dashboard server")
        });
    }
    if parts.publish {
        let (store, privacy, publisher, datasets, stop) = (
            store.clone(),
            config.privacy.clone(),
            config.publisher.clone(),
            config.datasets.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            sensorhub_publisher::run(store, privacy, publisher, datasets, stop.wait()).await;
            Ok(())
        });
    }

    // The first part to fail stops the process; the others stop on the shutdown signal.
    while let Some(result) = tasks.join_next().await {
        result.context("a task panicked")??;
    }
    Ok(())
}

/// Runs `job` now and then every `period` (a late run is delayed, never doubled) until `stop`.
async fn every<F, Fut>(period: Duration, stop: Shutdown, job: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    sensorhub_publisher::schedule::every(period, stop.0, job).await;
    Ok(())
}

/// The gateway's counters as the dashboards show them.
/// Replays of a device's dead letters from its page, through the gateway's ingestion with
/// this process's config.
struct Replayer {
    store: Store,
    mqtt: sensorhub_gateway::MqttConfig,
    rules: Vec<sensorhub_gateway::NormalisationRule>,
    codecs: sensorhub_gateway::CodecsConfig,
}

impl sensorhub_dashboards::Replay for Replayer {
    fn replay(&self, ids: Vec<i64>) -> sensorhub_dashboards::ReplayFuture<'_> {
        Box::pin(async move {
            let report = sensorhub_gateway::replay::replay_dead_letters_by_id(
                &self.store,
                &self.mqtt,
                self.rules.clone(),
                self.codecs.clone(),
                &ids,
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok((report.replayed, report.still_failing))
        })
    }
}

/// The device repository check of `devices import`, for the workbench's import.
struct CodecChecker(sensorhub_gateway::CodecsConfig);

impl sensorhub_dashboards::CodecCheck for CodecChecker {
    fn check(&self, codec: &sensorhub_store::TtnCodec) -> Result<(), String> {
        sensorhub_gateway::codec::ttn::verify(&self.0, codec).map(|_| ())
    }
}

struct GatewayStatus(Arc<sensorhub_gateway::GatewayMetrics>);

impl sensorhub_dashboards::GatewayStatus for GatewayStatus {
    fn render_metrics(&self, out: &mut String) {
        self.0.render(out);
    }

    fn not_ready(&self) -> Option<sensorhub_dashboards::NotReady> {
        use sensorhub_dashboards::NotReady;
        use std::sync::atomic::Ordering;
        if self.0.commit_failing.load(Ordering::Relaxed) {
            Some(NotReady::CommitsFailing)
        } else if self.0.subscriptions_refused.load(Ordering::Relaxed) > 0 {
            Some(NotReady::SubscriptionRefused)
        } else if !self.0.connected.load(Ordering::Relaxed) {
            Some(NotReady::BrokerNotConnected)
        } else {
            None
        }
    }
}
