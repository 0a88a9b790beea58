//! The live feed: one task watches the latest values and broadcasts every change of a public station to all clients of
//! `/api/v1/stream` as Server-Sent Events. A slow client skips what it missed; it never holds
//! the others up. Commits of a gateway in the same process wake the task at once; values that
//! another process writes are found by polling.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use tokio::sync::broadcast;

use crate::AppState;

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<str>>,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            sender: broadcast::channel(1024).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.sender.subscribe()
    }
}

/// How often the feed looks for values when nothing in this process writes (`sensorhub serve`
/// beside a gateway in another process).
const POLL: Duration = Duration::from_millis(500);
/// With a gateway in this process (`run`, `demo`) its commits wake the feed at once; this slow
/// look only catches values that other processes wrote.
const POLL_WITH_PUSH: Duration = Duration::from_secs(5);
/// The least time between two reads of the latest values, however fast commits arrive.
const MIN_GAP: Duration = Duration::from_millis(100);

/// Broadcasts changed latest values of public stations until aborted.
pub async fn watch(state: AppState) {
    watch_with(state, POLL).await
}

/// [`watch`] with its own polling period (tests switch polling off to see the push path).
pub(crate) async fn watch_with(state: AppState, poll: Duration) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut first = true;
    let mut commits = state.store.commits();
    let mut pushed = false;
    loop {
        let wait = if pushed {
            poll.max(POLL_WITH_PUSH)
        } else {
            poll
        };
        tokio::select! {
            changed = commits.changed() => match changed {
                Ok(()) => pushed = true,
                Err(_) => tokio::time::sleep(wait).await,
            },
            _ = tokio::time::sleep(wait) => {}
        }
        // Nobody listening: no reads (the InfluxDB backend's latest-values query is not cheap);
        // the next listener starts from a fresh baseline.
        if state.live.sender.receiver_count() == 0 {
            first = true;
            continue;
        }
        let started = std::time::Instant::now();
        let stations = match crate::public::stations(&state).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "live feed cannot read the store");
                continue;
            }
        };
        for station in stations {
            for value in station.latest {
                let key = (station.id.clone(), value.quantity.clone());
                if seen.get(&key) == Some(&value.time) {
                    continue;
                }
                seen.insert(key, value.time.clone());
                if first {
                    continue;
                }
                let event = serde_json::json!({
                    "station": station.id,
                    "quantity": value.quantity,
                    "label_de": value.label_de,
                    "label_en": value.label_en,
                    "value": value.value,
                    "unit": value.unit,
                    "time": value.time,
                    "level": value.level,
                });
                let _ = state.live.sender.send(Arc::from(event.to_string()));
            }
        }
        first = false;
        // A slow store gets breathing room: at most half the time goes to this feed.
        tokio::time::sleep(started.elapsed().max(MIN_GAP)).await;
    }
}

/// `GET /api/v1/stream`: `event: reading` with one changed value as JSON per event.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.live.sender.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(data) => {
                    let event = Event::default().event("reading").data(&*data);
                    return Some((Ok(event), receiver));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensorhub_store::{Device, Reading, Store, StoreConfig, TimeSeries};

    fn device(eui: &str, station: &str, public: bool) -> Device {
        Device {
            dev_eui: eui.parse().unwrap(),
            name: station.into(),
            station: station.into(),
            device_type: "cayenne-lpp".parse().unwrap(),
            lat: Some(54.69),
            lon: Some(8.57),
            public,
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        }
    }

    fn reading(station: &str, time_ms: i64, value: f64) -> Reading {
        Reading {
            station: station.into(),
            quantity: "water_level".into(),
            unit: "cm".into(),
            time_ms,
            value,
        }
    }

    /// With polling practically off (an hour), only the store's commit signal can bring new
    /// values to listeners; private stations never reach them.
    #[tokio::test]
    async fn commits_in_this_process_reach_listeners_without_polling() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            path: dir.path().join("s.db").to_string_lossy().into_owned(),
            ..StoreConfig::default()
        };
        let store = Store::open(&config).unwrap();
        store
            .state()
            .put_devices(vec![
                device("70b3d57ed0000001", "pegel-wyk", true),
                device("70b3d57ed0000002", "garten-privat", false),
            ])
            .await
            .unwrap();
        let state = AppState::new(
            store.clone(),
            None,
            Default::default(),
            crate::HttpConfig::default(),
        );
        let mut events = state.live.sender.subscribe();
        let feed = tokio::spawn(watch_with(state, Duration::from_secs(3600)));

        let t0 = 1_700_000_000_000;
        let mut event = None;
        for i in 0..50 {
            let time = t0 + i * 60_000;
            store
                .write(vec![
                    reading("garten-privat", time, 900.0 + i as f64),
                    reading("pegel-wyk", time, 100.0 + i as f64),
                ])
                .await
                .unwrap();
            if let Ok(Ok(e)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await
            {
                event = Some((e, i));
                break;
            }
        }
        feed.abort();
        let (event, i) = event.expect("no event although values were committed");
        let json: serde_json::Value = serde_json::from_str(&event).unwrap();
        assert_eq!(json["station"], "pegel-wyk", "{json}");
        assert_eq!(json["quantity"], "water_level");
        // A value written after the first read (the baseline), and none not yet written.
        let value = json["value"].as_f64().unwrap();
        assert!(
            (101.0..=100.0 + i as f64).contains(&value),
            "{json} after {i}"
        );
        assert!(!event.contains("garten-privat") && !event.contains("70b3d57ed"));
    }
}
