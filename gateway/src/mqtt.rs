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

use sensorhub_store::DeadLetterReason;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, TlsConfiguration,
    Transport,
};
use sensorhub_store::{IngestBatch, Store, StoreError};

use crate::commit::{commit_resilient, dead_letter_raw, Source};
use crate::ingest::{Handled, Ingest, Outcome};
use crate::metrics::GatewayMetrics;
use crate::queue::{gather, Inbox, Received};
pub use crate::queue::{queue, Intake, Queue};
use crate::subscribing::Subscribing;
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
        .set_max_packet_size(crate::config::MQTT_MAX_PACKET, 1 << 20);
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
    codecs: crate::CodecsConfig,
    store: Store,
    metrics: Arc<GatewayMetrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let (_, queue) = queue(&config);
    run_queued(config, rules, codecs, store, metrics, queue, shutdown).await
}

/// [`run`] on a queue that webhooks may also put messages into.
pub async fn run_queued(
    config: MqttConfig,
    rules: Vec<crate::NormalisationRule>,
    codecs: crate::CodecsConfig,
    store: Store,
    metrics: Arc<GatewayMetrics>,
    queue: Queue,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let options = mqtt_options(&config)?;
    let batch_size = config.batch_size.max(1);
    // Room for every ack the gateway can owe at once (the queue, the batch being parsed and
    // the one committing) beside the subscriptions, so that a full channel never refuses the
    // subscribe after a reconnect.
    let requests = 3 * batch_size + config.subscriptions.len() + 64;
    let (client, eventloop) = AsyncClient::new(options, requests);
    let Queue { inbox, mut rx } = queue;
    let mut ingest = Ingest::new(store.state().clone(), &config, rules, codecs).await?;
    tracing::info!(url = %config.url, client_id = %config.client_id, "gateway starting");
    let poller = tokio::spawn(poll(
        eventloop,
        client.clone(),
        config.subscriptions.clone(),
        inbox,
        metrics.clone(),
    ));

    tokio::pin!(shutdown);
    let linger = Duration::from_millis(config.batch_wait_ms);
    let mut unacked: Vec<Publish> = Vec::new();
    // The batch being committed: the next one is gathered and parsed meanwhile, and committed
    // after it. Each is acknowledged once its own commit is durable.
    let mut committing: Option<tokio::task::JoinHandle<Vec<Publish>>> = None;
    loop {
        let first = tokio::select! {
            done = async { committing.as_mut().expect("guarded").await }, if committing.is_some() => {
                committing = None;
                unacked = committed(done);
                unacked.retain(|p| client.try_ack(p).is_err());
                continue;
            }
            received = rx.recv() => match received {
                Some(p) => p,
                None => break,
            },
            _ = &mut shutdown => break,
        };
        let mut received = vec![first];
        gather(&mut rx, &mut received, batch_size, linger).await;

        // One part per message, so that the store can set aside one message's part.
        // JavaScript decodes run on the codec thread while the next messages are parsed;
        // their results are collected in order afterwards.
        let mut parts = Vec::with_capacity(received.len());
        let mut handled = Vec::with_capacity(received.len());
        for r in &received {
            let mut part = IngestBatch::default();
            handled.push(ingest_one(&mut ingest, &metrics, &config, r, &mut part).await);
            parts.push(part);
        }
        let mut outcomes = Vec::with_capacity(received.len());
        for (h, part) in handled.into_iter().zip(parts.iter_mut()) {
            outcomes.push(match h {
                Handled::Done(outcome) => outcome,
                Handled::Pending(pending) => ingest.finish(pending, part).await,
            });
        }
        if let Some(previous) = committing.take() {
            unacked = committed(previous.await);
        }
        let parsed = Parsed {
            received,
            parts,
            outcomes,
        };
        committing = Some(tokio::spawn(commit_batch(
            store.clone(),
            metrics.clone(),
            client.clone(),
            std::mem::take(&mut unacked),
            parsed,
        )));
    }
    if let Some(last) = committing.take() {
        unacked = committed(last.await);
    }

    // Whatever is still unacknowledged was committed; the broker may redeliver it harmlessly.
    // One deadline for them all, not one each: thousands can be left when the broker is gone.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    for p in &unacked {
        if tokio::time::timeout_at(deadline, client.ack(p))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
    metrics.connected.store(false, Ordering::Relaxed);
    tracing::info!("gateway stopped");
    Ok(())
}

/// A batch parsed: the messages, what each produced, and what became of each.
struct Parsed {
    received: Vec<Received>,
    parts: Vec<IngestBatch>,
    outcomes: Vec<Outcome>,
}

/// What a commit task left to acknowledge (the client's queue was full). A commit task that
/// panicked takes the gateway down with it, as a panic in the loop did: the process restarts
/// from what is committed, and the broker redelivers what was never acknowledged.
fn committed(task: Result<Vec<Publish>, tokio::task::JoinError>) -> Vec<Publish> {
    match task {
        Ok(left) => left,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a commit task was cancelled: {e}"),
    }
}

/// Commits a parsed batch (retrying until the store takes it; a message whose part the store
/// refuses is dead-lettered alone), counts its outcomes, and acknowledges it at once: webhook
/// posts get their answers, MQTT messages their acks, after the acks still owed for earlier
/// batches (`unacked`). Returns the acks the client's queue had no room for.
async fn commit_batch(
    store: Store,
    metrics: Arc<GatewayMetrics>,
    client: AsyncClient,
    mut unacked: Vec<Publish>,
    batch: Parsed,
) -> Vec<Publish> {
    let Parsed {
        received,
        parts,
        mut outcomes,
    } = batch;
    let sources: Vec<Source<'_>> = received
        .iter()
        .map(|r| Source {
            publish: &r.publish,
            size: r.size,
            received_ms: r.received_ms,
        })
        .collect();
    let parts = Arc::new(parts);
    let set_aside = commit_resilient(&store, &metrics, Arc::clone(&parts), &sources).await;
    drop(sources);
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        if set_aside.contains(&i) {
            *outcome = Outcome::DeadLettered(DeadLetterReason::StoreRejected);
            outcome.count(&metrics);
        } else {
            outcome.count(&metrics);
            for u in &parts[i].unmapped_fields {
                metrics.unmapped(&u.device_type, 1);
            }
        }
    }
    drop(parts);
    for (mut r, outcome) in received.into_iter().zip(outcomes) {
        metrics.ingest_latency.observe(r.at.elapsed());
        // A webhook post is answered now that it is committed; it has nothing to ack.
        if let Some(reply) = r.reply.take() {
            let _ = reply.send(outcome);
            continue;
        }
        // Only the packet id is needed to acknowledge: the payload (and its share of the byte
        // budget) is released now.
        let mut publish = r.publish;
        publish.payload = Default::default();
        unacked.push(publish);
    }
    unacked.retain(|p| client.try_ack(p).is_err());
    unacked
}

/// What one received message produces, into `part`.
async fn ingest_one(
    ingest: &mut Ingest,
    metrics: &GatewayMetrics,
    config: &MqttConfig,
    r: &Received,
    part: &mut IngestBatch,
) -> Handled {
    let (p, now) = (&r.publish, r.received_ms);
    if r.size > config.max_message_bytes {
        let detail = format!(
            "message of {} bytes is larger than mqtt.max_message_bytes ({}); its first bytes are kept",
            r.size, config.max_message_bytes
        );
        return dead_letter_raw(p, r.size, now, DeadLetterReason::TooLarge, detail, part).into();
    }
    match r
        .format
        .or_else(|| format_of(&config.subscriptions, &p.topic))
    {
        Some(format) => handle_until_done(ingest, metrics, p, format, now, part).await,
        // A broker may deliver topics we never subscribed to (a session left from an older
        // config): keep them rather than guess a format.
        None => {
            let detail = "no subscription in the config matches this topic".to_owned();
            dead_letter_raw(
                p,
                r.size,
                now,
                DeadLetterReason::UnmatchedTopic,
                detail,
                part,
            )
            .into()
        }
    }
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
) -> Handled {
    let mut delay = Duration::from_millis(100);
    loop {
        match ingest.start(&p.topic, &p.payload, format, now, batch).await {
            Ok(handled) => return handled,
            Err(e) => {
                // Start the message afresh: nothing of the failed attempt may be committed.
                *batch = IngestBatch::default();
                metrics.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "registry lookup failed; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Drives the MQTT connection: re-subscribes on every ConnAck (rumqttc does not restore
/// subscriptions itself), forwards publishes, and reconnects with exponential backoff. A
/// subscription the broker refuses (an ACL that does not grant it) keeps the gateway not ready
/// and is asked for again every keep-alive interval, so that it starts ingesting once the
/// broker grants it, without a restart.
async fn poll(
    mut eventloop: EventLoop,
    client: AsyncClient,
    subscriptions: Vec<Subscription>,
    inbox: Inbox,
    metrics: Arc<GatewayMetrics>,
) {
    let mut backoff = Duration::from_millis(500);
    let keep_alive = eventloop.mqtt_options.keep_alive();
    let mut asking = Subscribing::new(subscriptions, keep_alive.max(Duration::from_secs(1)));
    loop {
        let event = eventloop.poll().await;
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(500);
                tracing::info!(
                    session_present = ack.session_present,
                    "connected to the broker"
                );
                // What rumqttc will still send of the requests asked for before: events it
                // queued before the connection broke, and, when the broker kept the session,
                // the requests it replays; the rest went with the old session.
                let stale_events = eventloop
                    .state
                    .events
                    .iter()
                    .filter(|e| matches!(e, Event::Outgoing(Outgoing::Subscribe(_))))
                    .count();
                let replayed = eventloop
                    .pending
                    .iter()
                    .filter(|r| matches!(r, rumqttc::Request::Subscribe(_)))
                    .count();
                asking.connected(&client, stale_events + replayed);
            }
            Ok(Event::Outgoing(Outgoing::Subscribe(pkid))) => asking.sent(pkid),
            Ok(Event::Incoming(Packet::SubAck(ack))) => asking.answered(&ack),
            Ok(Event::Incoming(Packet::Publish(p))) => {
                metrics.received.fetch_add(1, Ordering::Relaxed);
                if !inbox.put(p).await {
                    return;
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                asking.disconnected();
                metrics.connected.store(false, Ordering::Relaxed);
                metrics.subscriptions_refused.store(0, Ordering::Relaxed);
                if inbox.tx.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "MQTT connection lost; reconnecting in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        }
        asking.retry(&client);
        let refused = asking.refused.len() as u64;
        metrics
            .subscriptions_refused
            .store(refused, Ordering::Relaxed);
        if asking.ready() != metrics.connected.load(Ordering::Relaxed) {
            metrics.connected.store(asking.ready(), Ordering::Relaxed);
            if asking.ready() {
                tracing::info!("subscribed; ingesting");
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
