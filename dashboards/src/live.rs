//! The live feed: one task watches the latest values (whoever writes them: this process's
//! gateway or another) and broadcasts every change of a public station to all clients of
//! `/api/v1/stream` as Server-Sent Events. A slow client skips what it missed; it never holds
//! the others up.

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
}

/// How often the watcher looks for new values.
const PERIOD: Duration = Duration::from_millis(500);

/// Broadcasts changed latest values of public stations until aborted.
pub async fn watch(state: AppState) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut first = true;
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
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
                });
                let _ = state.live.sender.send(Arc::from(event.to_string()));
            }
        }
        first = false;
        // A slow store gets breathing room: at most half the time goes to this feed.
        tokio::time::sleep(started.elapsed()).await;
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
