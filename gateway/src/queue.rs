//! The committer's queue: MQTT messages and webhook posts wait in it alike until a batch takes
//! them, bounded in messages and in bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::Publish;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::ingest::Outcome;
use crate::{MqttConfig, PayloadFormat};

/// The committer's queue: MQTT messages and webhook posts wait in it alike, bounded in
/// messages and in bytes ([`MqttConfig::batch_size`], [`MqttConfig::batch_max_bytes`]).
pub struct Queue {
    pub(crate) inbox: Inbox,
    pub(crate) rx: mpsc::Receiver<Received>,
}

/// A queue for [`crate::run_queued`], and the [`Intake`] webhooks put their posts into it with.
pub fn queue(config: &MqttConfig) -> (Intake, Queue) {
    let (tx, rx) = mpsc::channel::<Received>(config.batch_size.max(1));
    let inbox = Inbox {
        tx,
        budget: Arc::new(Semaphore::new(config.batch_max_bytes.max(1))),
        budget_total: config.batch_max_bytes.max(1),
        max_message_bytes: config.max_message_bytes,
    };
    (Intake(inbox.clone()), Queue { inbox, rx })
}

/// Puts messages that did not come over MQTT (webhook posts) into the committer's queue; each
/// gets its [`Outcome`] back once what it produced is committed.
#[derive(Clone)]
pub struct Intake(Inbox);

impl Intake {
    /// Queues `payload` as a message on `topic` in `format` and waits until it is committed.
    /// `None` when the gateway has stopped.
    pub async fn submit(
        &self,
        topic: String,
        payload: Vec<u8>,
        format: PayloadFormat,
    ) -> Option<Outcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let publish = Publish::new(topic, rumqttc::QoS::AtLeastOnce, payload);
        if !self.0.put_with(publish, Some(format), Some(reply)).await {
            return None;
        }
        answer.await.ok()
    }

    /// The largest message the gateway takes in whole (`mqtt.max_message_bytes`).
    pub fn max_message_bytes(&self) -> usize {
        self.0.max_message_bytes
    }
}

/// A publish as the poller hands it over.
pub(crate) struct Received {
    /// For a message above `mqtt.max_message_bytes`, only its first bytes.
    pub(crate) publish: Publish,
    /// When the poller received it.
    pub(crate) at: Instant,
    /// The same instant on the wall clock (Unix milliseconds): the receipt time of what it
    /// carries, and where the merge window for copies from several gateways is measured, so
    /// that a slow commit before it does not turn another gateway's copy into a replay.
    pub(crate) received_ms: i64,
    /// The payload's size as received.
    pub(crate) size: usize,
    /// This message's share of `mqtt.batch_max_bytes`, given back when it is dropped.
    _budget: OwnedSemaphorePermit,
    /// The format of a message that did not come over MQTT (its topic matches no subscription).
    pub(crate) format: Option<PayloadFormat>,
    /// Where the outcome goes once committed, for a webhook post.
    pub(crate) reply: Option<tokio::sync::oneshot::Sender<Outcome>>,
}

/// Where the poller puts messages: a queue bounded in messages and in bytes.
#[derive(Clone)]
pub(crate) struct Inbox {
    pub(crate) tx: mpsc::Sender<Received>,
    budget: Arc<Semaphore>,
    budget_total: usize,
    max_message_bytes: usize,
}

impl Inbox {
    /// Cuts a message that is too large down to what a dead letter keeps, waits for its share
    /// of the byte budget, and queues it. `false` once the committer is gone.
    pub(crate) async fn put(&self, publish: Publish) -> bool {
        self.put_with(publish, None, None).await
    }

    async fn put_with(
        &self,
        mut publish: Publish,
        format: Option<PayloadFormat>,
        reply: Option<tokio::sync::oneshot::Sender<Outcome>>,
    ) -> bool {
        let (at, received_ms) = (Instant::now(), sensorhub_store::time::now_ms());
        let size = publish.payload.len();
        if size > self.max_message_bytes {
            // A copy, so the large buffer is freed now rather than when the message is.
            publish.payload = publish.payload[..self.max_message_bytes].to_vec().into();
        }
        let cost = (publish.payload.len() + publish.topic.len()).min(self.budget_total);
        let Ok(permit) = self
            .budget
            .clone()
            .acquire_many_owned(cost.min(u32::MAX as usize) as u32)
            .await
        else {
            return false;
        };
        let received = Received {
            publish,
            at,
            received_ms,
            size,
            _budget: permit,
            format,
            reply,
        };
        self.tx.send(received).await.is_ok()
    }
}

/// Takes what else has arrived, up to `limit` messages, waiting at most `linger` for more.
pub(crate) async fn gather(
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
