//! The commit stage: what a batch of messages produced goes into the store, and only then are
//! the messages acknowledged (by the caller). Transient store errors are retried until they
//! pass; content the store refuses is found by splitting the batch and set aside as a dead
//! letter, so one message can never block the ones after it.

use sensorhub_store::DeadLetterReason;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::Publish;
use sensorhub_store::{IngestBatch, Store, StoreError};

use crate::ingest::Outcome;
use crate::metrics::GatewayMetrics;

/// The message a part came from, to dead-letter it if the store refuses the part.
pub(crate) struct Source<'a> {
    pub publish: &'a Publish,
    /// The payload's size as received (the publish may hold only its first bytes).
    pub size: usize,
    /// When it was received (Unix ms): a dead letter is dated then.
    pub received_ms: i64,
}

pub(crate) fn dead_letter_raw(
    p: &Publish,
    size: usize,
    now: i64,
    reason: DeadLetterReason,
    detail: String,
    batch: &mut IngestBatch,
) -> Outcome {
    tracing::warn!(topic = %p.topic, reason = reason.as_str(), %detail, bytes = size, "message dead-lettered");
    batch.dead_letters.push(sensorhub_store::DeadLetter {
        time_ms: now,
        topic: p.topic.clone(),
        payload: p.payload.to_vec(),
        size,
        reason,
        detail,
    });
    Outcome::DeadLettered(reason)
}

/// Commits every part. Transient store errors are retried until they pass; when the store
/// refuses the content itself, the batch is split until the message that causes it is found:
/// that message is kept as a dead letter `store_rejected` with the error, the rest committed.
/// Returns the indices of the messages set aside.
pub(crate) async fn commit_resilient(
    store: &Store,
    metrics: &GatewayMetrics,
    parts: Arc<Vec<IngestBatch>>,
    sources: &[Source<'_>],
) -> Vec<usize> {
    let mut set_aside = Vec::new();
    // Ranges of parts still to commit, the next one last.
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    pending.push(0..parts.len());
    while let Some(range) = pending.pop() {
        let Err(error) = commit_retrying(store, metrics, parts.clone(), range.clone()).await else {
            continue;
        };
        if range.len() > 1 {
            let middle = range.start + range.len() / 2;
            pending.push(middle..range.end);
            pending.push(range.start..middle);
            continue;
        }
        let r = &sources[range.start];
        tracing::error!(topic = %r.publish.topic, %error, "the store refused what this message produced; dead-lettered");
        let mut letter = IngestBatch::default();
        dead_letter_raw(
            r.publish,
            r.size,
            r.received_ms,
            DeadLetterReason::StoreRejected,
            error.to_string(),
            &mut letter,
        );
        keep_until_done(store, metrics, Arc::new(vec![letter])).await;
        set_aside.push(range.start);
    }
    set_aside
}

/// Commits a dead letter, retrying whatever the error: when not even a dead letter can be
/// written (a corrupt or foreign file), the store itself is broken, and acknowledging the
/// message would lose it; `/readyz` says so meanwhile.
async fn keep_until_done(store: &Store, metrics: &GatewayMetrics, letter: Arc<Vec<IngestBatch>>) {
    let mut delay = Duration::from_millis(100);
    while let Err(e) = commit_retrying(store, metrics, letter.clone(), 0..1).await {
        metrics.commit_failing.store(true, Ordering::Relaxed);
        tracing::error!(error = %e, "the store refuses even a dead letter; retrying in {delay:?}");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Commits `parts[range]`, retrying transient errors with backoff (a log line and a counted
/// failure each, and `/readyz` not ready meanwhile); returns errors caused by the content.
async fn commit_retrying(
    store: &Store,
    metrics: &GatewayMetrics,
    parts: Arc<Vec<IngestBatch>>,
    range: std::ops::Range<usize>,
) -> Result<(), StoreError> {
    let mut delay = Duration::from_millis(100);
    loop {
        match store.commit_parts(parts.clone(), range.clone()).await {
            Ok(()) => {
                metrics.commits.fetch_add(1, Ordering::Relaxed);
                metrics.commit_failing.store(false, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) if e.is_transient() => {
                metrics.commit_failures.fetch_add(1, Ordering::Relaxed);
                metrics.commit_failing.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, "store commit failed; messages stay unacknowledged; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                metrics.commit_failures.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use rumqttc::QoS;

    use super::*;

    fn part(station: &str, value: f64) -> IngestBatch {
        IngestBatch {
            readings: vec![sensorhub_store::Reading {
                station: station.into(),
                quantity: "air_temperature".into(),
                unit: "°C".into(),
                time_ms: 1_000,
                value,
            }],
            ..IngestBatch::default()
        }
    }

    /// What the store refuses (here a NaN, which SQLite stores as NULL into a NOT NULL column)
    /// is found by splitting the batch and set aside; everything else is committed.
    #[tokio::test]
    async fn a_batch_the_store_refuses_is_split_until_the_culprit_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&sensorhub_store::StoreConfig {
            path: dir.path().join("s.db").display().to_string(),
            ..Default::default()
        })
        .unwrap();
        let metrics = GatewayMetrics::default();
        let stations = ["a", "b", "c", "d", "e"];
        let parts: Vec<IngestBatch> = stations
            .iter()
            .map(|s| part(s, if *s == "d" { f64::NAN } else { 1.5 }))
            .collect();
        let publishes: Vec<Publish> = stations
            .iter()
            .map(|s| Publish::new(*s, QoS::AtLeastOnce, b"{}".to_vec()))
            .collect();
        let sources: Vec<Source<'_>> = publishes
            .iter()
            .map(|publish| Source {
                publish,
                size: 2,
                received_ms: sensorhub_store::time::now_ms(),
            })
            .collect();
        let set_aside = commit_resilient(&store, &metrics, Arc::new(parts), &sources).await;
        assert_eq!(set_aside, vec![3]);
        let latest = store.state().latest().await.unwrap();
        let stored: Vec<&str> = latest.iter().map(|l| l.station.as_str()).collect();
        assert_eq!(stored, vec!["a", "b", "c", "e"]);
        let letters = store.state().dead_letters(10).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            (letters[0].reason.as_str(), letters[0].topic.as_str()),
            (DeadLetterReason::StoreRejected.as_str(), "d")
        );
        assert!(!metrics.commit_failing.load(Ordering::Relaxed));
    }
}
