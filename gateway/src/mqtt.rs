//! The session with the broker.
//!
//! Two tasks: the poller drives rumqttc's event loop (connect, re-subscribe on every ConnAck,
//! reconnect with backoff) and hands publishes over a bounded channel; the committer takes
//! what has arrived, turns it into one [`IngestBatch`], commits it and only then acknowledges
//! the messages. Acknowledgements never block the committer: the broker redelivers anything
//! not acknowledged, and readings are idempotent, so a late ack costs nothing.
//!
//! The session is persistent (`clean_session = false`) under a fixed client id, so QoS 1
//! messages published while the gateway is down wait at the broker.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS, TlsConfiguration,
    Transport,
};
use sensorhub_store::{IngestBatch, Store, StoreError};
use tokio::sync::mpsc;

use crate::ingest::{Ingest, Outcome};
use crate::metrics::GatewayMetrics;
use crate::{MqttConfig, PayloadFormat, Subscription};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("mqtt.url `{0}`: expected mqtt://host:port or mqtts://host:port")]
    BadUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds the client options from the config: fixed id, persistent session, manual acks.
pub fn mqtt_options(config: &MqttConfig) -> Result<MqttOptions, GatewayError> {
    let bad = || GatewayError::BadUrl(config.url.clone());
    let (tls, rest) = if let Some(rest) = config.url.strip_prefix("mqtt://") {
        (false, rest)
    } else if let Some(rest) = config.url.strip_prefix("mqtts://") {
        (true, rest)
    } else {
        return Err(bad());
    };
    let authority = rest.trim_end_matches('/');
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (authority, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut options = MqttOptions::new(config.client_id.clone(), host, port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(config.keep_alive_s.max(5)))
        .set_max_packet_size(1 << 20, 1 << 20);
    if tls {
        options.set_transport(Transport::Tls(TlsConfiguration::Native));
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options.set_credentials(user.clone(), password.clone());
    }
    Ok(options)
}

/// Whether an MQTT topic filter (with `+` and `#`) matches a topic.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for part in filter.split('/') {
        match (part, levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (exact, Some(level)) if exact == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

pub(crate) fn format_of(subscriptions: &[Subscription], topic: &str) -> Option<PayloadFormat> {
    subscriptions
        .iter()
        .find(|s| topic_matches(&s.topic, topic))
        .map(|s| s.format)
}

/// Runs the gateway until `shutdown` completes, then commits what it holds and disconnects.
pub async fn run(
    config: MqttConfig,
    rules: Vec<crate::NormalisationRule>,
    store: Store,
    metrics: Arc<GatewayMetrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let options = mqtt_options(&config)?;
    let batch_size = config.batch_size.max(1);
    let (client, eventloop) = AsyncClient::new(options, 2 * batch_size + 64);
    let (tx, mut rx) = mpsc::channel::<Received>(batch_size);
    let mut ingest = Ingest::new(store.state().clone(), config.dedup_window_ms, rules).await?;
    tracing::info!(url = %config.url, client_id = %config.client_id, "gateway starting");
    let poller = tokio::spawn(poll(
        eventloop,
        client.clone(),
        config.subscriptions.clone(),
        tx,
        metrics.clone(),
    ));

    tokio::pin!(shutdown);
    let linger = Duration::from_millis(config.batch_wait_ms);
    let mut unacked: Vec<Publish> = Vec::new();
    let mut received_at: Vec<Instant> = Vec::with_capacity(batch_size);
    loop {
        let first = tokio::select! {
            received = rx.recv() => match received {
                Some(p) => p,
                None => break,
            },
            _ = &mut shutdown => break,
        };
        let mut received = vec![first];
        gather(&mut rx, &mut received, batch_size, linger).await;
        received_at.clear();
        received_at.extend(received.iter().map(|r| r.1));
        let publishes: Vec<Publish> = received.into_iter().map(|r| r.0).collect();

        let mut batch = IngestBatch::default();
        let mut outcomes = Vec::with_capacity(publishes.len());
        for p in &publishes {
            let format = format_of(&config.subscriptions, &p.topic);
            let now = sensorhub_store::time::now_ms();
            let outcome = match format {
                Some(format) => {
                    handle_until_done(&mut ingest, &metrics, p, format, now, &mut batch).await
                }
                // A broker may deliver topics we never subscribed to (a session left from an
                // older config): keep them rather than guess a format.
                None => {
                    let mut one = IngestBatch::default();
                    let outcome = dead_letter_unmatched(p, now, &mut one);
                    batch.dead_letters.append(&mut one.dead_letters);
                    outcome
                }
            };
            outcomes.push(outcome);
        }
        commit_until_done(&store, &metrics, batch).await;
        for outcome in outcomes {
            outcome.count(&metrics);
        }
        for at in &received_at {
            metrics.ingest_latency.observe(at.elapsed());
        }
        unacked.extend(publishes);
        unacked.retain(|p| client.try_ack(p).is_err());
    }

    // Whatever is still unacknowledged was committed; the broker may redeliver it harmlessly.
    for p in &unacked {
        let _ = tokio::time::timeout(Duration::from_millis(200), client.ack(p)).await;
    }
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
    metrics.connected.store(false, Ordering::Relaxed);
    tracing::info!("gateway stopped");
    Ok(())
}

/// Takes what else has arrived, up to `limit` messages, waiting at most `linger` for more.
/// A publish and when the poller received it.
type Received = (Publish, Instant);

async fn gather(
    rx: &mut mpsc::Receiver<Received>,
    out: &mut Vec<Received>,
    limit: usize,
    linger: Duration,
) {
    let deadline = tokio::time::Instant::now() + linger;
    while out.len() < limit {
        match rx.try_recv() {
            Ok(p) => out.push(p),
            Err(_) if linger.is_zero() => break,
            Err(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => out.push(p),
                _ => break,
            },
        }
    }
}

fn dead_letter_unmatched(p: &Publish, now: i64, batch: &mut IngestBatch) -> Outcome {
    tracing::warn!(topic = %p.topic, "message on a topic no subscription names; dead-lettered");
    batch.dead_letters.push(sensorhub_store::DeadLetter {
        time_ms: now,
        topic: p.topic.clone(),
        payload: p.payload.to_vec(),
        reason: "unmatched_topic".into(),
        detail: "no subscription in the config matches this topic".into(),
    });
    Outcome::DeadLettered("unmatched_topic")
}

/// Handles one message, retrying while the registry cannot be read: bad input never errors,
/// so an error here is the store's, and dropping the message would lose it.
async fn handle_until_done(
    ingest: &mut Ingest,
    metrics: &GatewayMetrics,
    p: &Publish,
    format: PayloadFormat,
    now: i64,
    batch: &mut IngestBatch,
) -> Outcome {
    let mut delay = Duration::from_millis(100);
    loop {
        match ingest
            .handle(&p.topic, &p.payload, format, now, batch)
            .await
        {
            Ok(outcome) => return outcome,
            Err(e) => {
                metrics.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "registry lookup failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn commit_until_done(store: &Store, metrics: &GatewayMetrics, batch: IngestBatch) {
    let mut delay = Duration::from_millis(100);
    loop {
        match store.commit(batch.clone()).await {
            Ok(()) => {
                metrics.commits.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                metrics.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "store commit failed; messages stay unacknowledged; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Drives the MQTT connection: re-subscribes on every ConnAck (rumqttc does not restore
/// subscriptions itself), forwards publishes, and reconnects with exponential backoff.
async fn poll(
    mut eventloop: EventLoop,
    client: AsyncClient,
    subscriptions: Vec<Subscription>,
    tx: mpsc::Sender<Received>,
    metrics: Arc<GatewayMetrics>,
) {
    let mut backoff = Duration::from_millis(500);
    // Subscriptions not yet acknowledged since the last ConnAck; "connected" (and so
    // `/readyz`) waits for all of them, since a publish before the SubAck may pass us by.
    let mut pending_subacks = 0usize;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(500);
                pending_subacks = subscriptions.len();
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to the broker"
                );
                for s in &subscriptions {
                    let qos = if s.qos == 0 {
                        QoS::AtMostOnce
                    } else {
                        QoS::AtLeastOnce
                    };
                    if let Err(e) = client.try_subscribe(s.topic.clone(), qos) {
                        tracing::error!(topic = %s.topic, error = %e, "cannot subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                {
                    tracing::error!(
                        pkid = ack.pkid,
                        "the broker refused a subscription; check its ACL"
                    );
                }
                pending_subacks = pending_subacks.saturating_sub(1);
                if pending_subacks == 0 {
                    metrics.connected.store(true, Ordering::Relaxed);
                    tracing::info!("subscribed; ingesting");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                metrics.received.fetch_add(1, Ordering::Relaxed);
                if tx.send((p, Instant::now())).await.is_err() {
                    return;
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                metrics.connected.store(false, Ordering::Relaxed);
                if tx.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "MQTT connection lost; reconnecting in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters_match_like_mqtt() {
        let f = "application/+/device/+/event/up";
        assert!(topic_matches(f, "application/a/device/0101/event/up"));
        assert!(!topic_matches(f, "application/a/device/0101/event/join"));
        assert!(!topic_matches(f, "application/a/device/0101/event/up/x"));
        assert!(topic_matches(
            "eu868/gateway/#",
            "eu868/gateway/g1/event/up"
        ));
        assert!(topic_matches("#", "a"));
        assert!(!topic_matches("a/+", "a"));
    }

    #[test]
    fn urls_parse_with_default_ports_and_refuse_other_schemes() {
        let mut config = MqttConfig {
            url: "mqtt://127.0.0.1:1884".into(),
            ..MqttConfig::default()
        };
        assert_eq!(
            mqtt_options(&config).unwrap().broker_address(),
            ("127.0.0.1".into(), 1884)
        );
        config.url = "mqtts://broker.example".into();
        assert_eq!(mqtt_options(&config).unwrap().broker_address().1, 8883);
        for bad in ["http://x:1", "mqtt://:1883", "mqtt://host:notaport"] {
            config.url = bad.into();
            assert!(mqtt_options(&config).is_err(), "{bad}");
        }
    }
}
