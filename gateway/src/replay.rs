//! Replaying dead letters: what was kept because it could not be used then (a device not yet
//! registered, a paused codec) runs through ingestion again, for example after registering
//! the devices it came from.

use sensorhub_store::DeadLetterReason;
use sensorhub_store::{IngestBatch, StoreError};

use crate::ingest::{Ingest, Outcome};

/// What a replay of dead letters did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Dead letters that now produced data (or were well-formed events) and were removed.
    pub replayed: usize,
    /// Dead letters that failed again and stay, with their original reason.
    pub still_failing: usize,
}

/// Runs dead letters (of one reason, or all) through ingestion again, for example after
/// registering the devices they came from. What now succeeds is committed and its dead letter
/// removed in the same transaction; what fails again stays as it was.
pub async fn replay_dead_letters(
    store: &sensorhub_store::Store,
    config: &crate::MqttConfig,
    rules: Vec<crate::NormalisationRule>,
    codecs: crate::CodecsConfig,
    reason: Option<DeadLetterReason>,
) -> Result<ReplayReport, StoreError> {
    replay(store, config, rules, codecs, reason, None).await
}

/// [`replay_dead_letters`] of the dead letters with these ids only (a device's, from its
/// page).
pub async fn replay_dead_letters_by_id(
    store: &sensorhub_store::Store,
    config: &crate::MqttConfig,
    rules: Vec<crate::NormalisationRule>,
    codecs: crate::CodecsConfig,
    ids: &[i64],
) -> Result<ReplayReport, StoreError> {
    let ids: std::collections::HashSet<i64> = ids.iter().copied().collect();
    replay(store, config, rules, codecs, None, Some(&ids)).await
}

async fn replay(
    store: &sensorhub_store::Store,
    config: &crate::MqttConfig,
    rules: Vec<crate::NormalisationRule>,
    codecs: crate::CodecsConfig,
    reason: Option<DeadLetterReason>,
    only: Option<&std::collections::HashSet<i64>>,
) -> Result<ReplayReport, StoreError> {
    let subscriptions = &config.subscriptions;
    let mut ingest = Ingest::new(store.state().clone(), config, rules, codecs).await?;
    let mut report = ReplayReport::default();
    let mut after = 0i64;
    loop {
        let letters = store
            .state()
            .dead_letters_to_replay(reason, after, 500)
            .await?;
        let Some(last) = letters.last().map(|(id, _)| *id) else {
            break;
        };
        after = last;
        let mut batch = IngestBatch::default();
        for (id, letter) in letters {
            if only.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            let Some(format) = crate::mqtt::format_of(subscriptions, &letter.topic) else {
                report.still_failing += 1;
                continue;
            };
            let mut one = IngestBatch::default();
            let outcome = ingest
                .handle(
                    &letter.topic,
                    &letter.payload,
                    format,
                    letter.time_ms,
                    &mut one,
                )
                .await?;
            if let Outcome::DeadLettered(_) = outcome {
                report.still_failing += 1;
                continue;
            }
            report.replayed += 1;
            batch.readings.append(&mut one.readings);
            batch.uplinks.append(&mut one.uplinks);
            batch.sessions.append(&mut one.sessions);
            batch.statuses.append(&mut one.statuses);
            batch.dead_letters.append(&mut one.dead_letters);
            batch.unknown_devices.append(&mut one.unknown_devices);
            batch.unmapped_fields.append(&mut one.unmapped_fields);
            batch.gateway_statuses.append(&mut one.gateway_statuses);
            batch.replayed_dead_letters.push(id);
        }
        store.commit(batch).await?;
    }
    Ok(report)
}
