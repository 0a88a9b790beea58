//! The publisher's schedule, as `sensorhub run` keeps it: the folder's latest values every
//! `publisher.interval_s` (at once on start, then late runs delayed, never doubled), and each
//! dataset on its own `schedule`, checked every 30 seconds. A failed run is logged and tried
//! again at the next turn; nothing here stops the process.

use std::future::Future;
use std::time::Duration;

use sensorhub_store::Store;

use crate::{DatasetConfig, FolderConfig, PrivacyConfig, RunOptions};

/// How often the datasets' schedules are looked at.
const DATASET_CHECK: Duration = Duration::from_secs(30);

/// Publishes on schedule until `shutdown` completes. A publication under way when it does is
/// finished first. The folder and the datasets run as tasks of their own, so a slow portal
/// delays no folder update.
pub async fn run(
    store: Store,
    privacy: PrivacyConfig,
    publisher: FolderConfig,
    datasets: Vec<DatasetConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let folder = {
        let policy = std::sync::Arc::new(crate::public_policy(&privacy, &datasets));
        let (store, publisher, stopped) = (store.clone(), publisher.clone(), stopped.clone());
        let period = Duration::from_secs(publisher.interval_s.max(1));
        tokio::spawn(every(period, stopped, move || {
            let (store, policy, publisher) = (store.clone(), policy.clone(), publisher.clone());
            async move {
                match crate::publish_to_folder(&store, &publisher, &policy).await {
                    Ok(r) => {
                        tracing::info!(stations = r.stations, values = r.values, folder = %publisher.folder, "published")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "publication failed; retrying at the next interval")
                    }
                }
            }
        }))
    };
    let sets = (!datasets.is_empty()).then(|| {
        let due = std::sync::Arc::new(tokio::sync::Mutex::new(vec![0i64; datasets.len()]));
        tokio::spawn(every(DATASET_CHECK, stopped, move || {
            let (store, privacy, publisher, datasets, due) = (
                store.clone(),
                privacy.clone(),
                publisher.clone(),
                datasets.clone(),
                due.clone(),
            );
            async move {
                let mut due = due.lock().await;
                publish_due(&store, &privacy, &publisher, &datasets, &mut due).await;
            }
        }))
    });
    shutdown.await;
    let _ = stop.send(true);
    let _ = folder.await;
    if let Some(sets) = sets {
        let _ = sets.await;
    }
}

/// Runs `job` now and then every `period` (a late run is delayed, never doubled) until
/// `stopped` says so; a run under way is finished. The binary's periodic jobs (retention,
/// pruning, alert checks) run through it too.
pub async fn every<F, Fut>(
    period: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => job().await,
            () = until_stopped(&mut stopped) => return,
        }
    }
}

/// Publishes every dataset whose time has come; a success sets its next time.
async fn publish_due(
    store: &Store,
    privacy: &PrivacyConfig,
    publisher: &FolderConfig,
    datasets: &[DatasetConfig],
    due: &mut [i64],
) {
    let now = sensorhub_store::time::now_ms();
    for (dataset, next) in datasets.iter().zip(due.iter_mut()) {
        if now < *next {
            continue;
        }
        let result = crate::publish_all(
            store,
            privacy,
            publisher,
            std::slice::from_ref(dataset),
            RunOptions::default(),
            &|line| tracing::info!("{line}"),
        )
        .await;
        match result {
            Ok(outcomes) => {
                for o in outcomes {
                    tracing::info!(dataset = %o.dataset, uploaded = o.uploaded.len(), unchanged = o.unchanged.len(), datastore_rows = o.datastore_rows, "dataset published");
                }
                *next = now + dataset.schedule.as_ms_i64();
            }
            Err(e) => {
                tracing::error!(dataset = %dataset.name, error = %e, "dataset publication failed; trying again shortly")
            }
        }
    }
}

/// Completes once `stopped` says so (the guard it reads is dropped before it returns).
async fn until_stopped(stopped: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folder is published at once on start; the schedule stops on shutdown.
    #[tokio::test]
    async fn publishes_at_once_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&sensorhub_store::StoreConfig {
            path: dir.path().join("s.db").display().to_string(),
            ..sensorhub_store::StoreConfig::default()
        })
        .unwrap();
        let folder = FolderConfig {
            folder: dir.path().join("out").display().to_string(),
            interval_s: 3600,
            ckan: None,
            public_url: None,
            contributor_id: None,
        };
        let stop = tokio::time::sleep(Duration::from_millis(500));
        tokio::time::timeout(
            Duration::from_secs(10),
            run(store, PrivacyConfig::default(), folder, Vec::new(), stop),
        )
        .await
        .expect("the schedule stops on shutdown");
        assert!(dir.path().join("out/latest.csv").is_file());
        assert!(dir.path().join("out/stations.geojson").is_file());
    }
}
