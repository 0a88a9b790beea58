//! The gateway's subscriptions on one broker connection: which are granted, refused or still
//! unanswered since the last ConnAck, and asking again for what is not granted.

use std::time::Duration;

use rumqttc::{AsyncClient, QoS};

use crate::Subscription;

/// Where subscriptions are asked for: the MQTT client (a recorder in the tests).
pub(crate) trait Subscriber {
    fn subscribe(&self, topic: &str, qos: QoS) -> Result<(), rumqttc::ClientError>;
}

impl Subscriber for AsyncClient {
    fn subscribe(&self, topic: &str, qos: QoS) -> Result<(), rumqttc::ClientError> {
        self.try_subscribe(topic, qos)
    }
}

/// What became of the subscriptions since the last ConnAck. "Ready" waits for every one to be
/// granted: a publish before the SubAck may pass us by, and none comes while it is refused.
/// What is not granted is asked for again once an interval (a SubAck normally comes within
/// milliseconds; subscribing twice to one filter is harmless), so that neither a refusal nor a
/// request lost with a connection leaves the gateway deaf.
pub(crate) struct Subscribing {
    subscriptions: Vec<Subscription>,
    /// Asked for, not yet sent, in the order rumqttc sends them (its request channel is FIFO).
    queued: std::collections::VecDeque<usize>,
    /// Sent, by packet id, waiting for the SubAck.
    awaiting: std::collections::HashMap<u16, usize>,
    granted: std::collections::BTreeSet<usize>,
    /// Refused by the broker and not granted since.
    pub(crate) refused: std::collections::BTreeSet<usize>,
    connected: bool,
    retry_every: Duration,
    last_asked: std::time::Instant,
}

impl Subscribing {
    pub(crate) fn new(subscriptions: Vec<Subscription>, retry_every: Duration) -> Self {
        Subscribing {
            subscriptions,
            queued: Default::default(),
            awaiting: Default::default(),
            granted: Default::default(),
            refused: Default::default(),
            connected: false,
            retry_every,
            last_asked: std::time::Instant::now(),
        }
    }

    pub(crate) fn ready(&self) -> bool {
        self.connected && self.granted.len() == self.subscriptions.len()
    }

    /// A new connection: every subscription is asked for again. Of the requests asked for
    /// before and not yet sent, only the first `still_to_send` will be (rumqttc drops the
    /// rest when the broker did not keep the session).
    pub(crate) fn connected(&mut self, client: &impl Subscriber, still_to_send: usize) {
        self.connected = true;
        self.granted.clear();
        self.queued.truncate(still_to_send);
        // Sent on the old connection and never answered: gone with it.
        self.awaiting.clear();
        self.ask(client, (0..self.subscriptions.len()).collect());
    }

    /// The connection broke: what the broker refused is asked again on the next one (and
    /// until then the broker is not connected, rather than refusing).
    pub(crate) fn disconnected(&mut self) {
        self.connected = false;
        self.refused.clear();
    }

    fn ask(&mut self, client: &impl Subscriber, which: Vec<usize>) {
        self.last_asked = std::time::Instant::now();
        for i in which {
            let s = &self.subscriptions[i];
            let qos = if s.qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            match client.subscribe(&s.topic, qos) {
                Ok(()) => self.queued.push_back(i),
                Err(e) => tracing::error!(topic = %s.topic, error = %e, "cannot subscribe"),
            }
        }
    }

    pub(crate) fn sent(&mut self, pkid: u16) {
        if let Some(i) = self.queued.pop_front() {
            self.awaiting.insert(pkid, i);
        }
    }

    pub(crate) fn answered(&mut self, ack: &rumqttc::SubAck) {
        let Some(i) = self.awaiting.remove(&ack.pkid) else {
            return;
        };
        let topic = &self.subscriptions[i].topic;
        if ack
            .return_codes
            .iter()
            .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
        {
            self.granted.remove(&i);
            if self.refused.insert(i) {
                tracing::error!(
                    %topic,
                    "the broker refused the subscription (check its ACL); asking again every {:?}",
                    self.retry_every
                );
            }
        } else {
            self.granted.insert(i);
            if self.refused.remove(&i) {
                tracing::info!(%topic, "the broker granted the subscription it had refused");
            }
        }
    }

    /// Asks again, once an interval, for what is not granted since the last ConnAck. The
    /// check runs on every event; on a quiet connection those are the keep-alive pings, hence
    /// the slack of a tenth.
    pub(crate) fn retry(&mut self, client: &impl Subscriber) {
        if !self.connected || self.ready() || self.last_asked.elapsed() < self.retry_every * 9 / 10
        {
            return;
        }
        let again = (0..self.subscriptions.len())
            .filter(|i| !self.granted.contains(i))
            .collect();
        self.ask(client, again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MqttConfig;

    /// Records what is asked for.
    #[derive(Default)]
    struct Asked(std::cell::RefCell<Vec<String>>);

    impl Subscriber for Asked {
        fn subscribe(&self, topic: &str, _: QoS) -> Result<(), rumqttc::ClientError> {
            self.0.borrow_mut().push(topic.to_owned());
            Ok(())
        }
    }

    impl Asked {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.borrow_mut())
        }
    }

    fn suback(pkid: u16, granted: bool) -> rumqttc::SubAck {
        let code = if granted {
            rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)
        } else {
            rumqttc::SubscribeReasonCode::Failure
        };
        rumqttc::SubAck::new(pkid, vec![code])
    }

    #[test]
    fn a_refused_subscription_is_not_ready_and_asked_again_each_interval_until_granted() {
        let subscriptions: Vec<Subscription> = ["up/#", "gw/#"]
            .into_iter()
            .map(|topic| Subscription {
                topic: topic.into(),
                ..MqttConfig::default().subscriptions[0].clone()
            })
            .collect();
        let client = Asked::default();
        let mut s = Subscribing::new(subscriptions, Duration::from_millis(50));
        s.connected(&client, 0);
        assert_eq!(client.take(), ["up/#", "gw/#"]);
        assert!(!s.ready(), "not before the SubAcks");
        s.sent(1);
        s.sent(2);
        s.answered(&suback(1, true));
        s.answered(&suback(2, false));
        assert!(!s.ready(), "one refused");
        assert_eq!(s.refused.len(), 1);
        // Not again before the interval; then only the refused one, until it is granted.
        s.retry(&client);
        assert!(client.take().is_empty());
        std::thread::sleep(Duration::from_millis(60));
        s.retry(&client);
        assert_eq!(client.take(), ["gw/#"]);
        s.retry(&client);
        assert!(client.take().is_empty(), "once an interval");
        s.sent(3);
        s.answered(&suback(3, false));
        std::thread::sleep(Duration::from_millis(60));
        s.retry(&client);
        assert_eq!(client.take(), ["gw/#"]);
        s.sent(4);
        s.answered(&suback(4, true));
        assert!(s.ready());
        assert!(s.refused.is_empty());
        std::thread::sleep(Duration::from_millis(60));
        s.retry(&client);
        assert!(client.take().is_empty(), "nothing to ask once ready");
        // A SubAck of the old connection means nothing after a reconnect.
        s.disconnected();
        assert!(!s.ready());
        s.connected(&client, 0);
        assert_eq!(client.take(), ["up/#", "gw/#"]);
        s.answered(&suback(4, false));
        assert!(
            s.refused.is_empty(),
            "not an answer to this connection's request"
        );
        s.sent(5);
        s.sent(6);
        s.answered(&suback(5, true));
        assert!(!s.ready(), "one not answered yet");
        // A request lost with the connection: asked again after the interval.
        std::thread::sleep(Duration::from_millis(60));
        s.retry(&client);
        assert_eq!(client.take(), ["gw/#"]);
        s.answered(&suback(6, true));
        assert!(s.ready());

        // Asked for, then the connection broke before rumqttc sent them, and the broker kept
        // no session: rumqttc drops those requests, so the next packet ids belong to the
        // requests of the new connection, in order.
        s.disconnected();
        s.ask(&client, vec![1]);
        s.connected(&client, 0);
        assert_eq!(client.take(), ["gw/#", "up/#", "gw/#"]);
        s.sent(7);
        s.sent(8);
        s.answered(&suback(7, false));
        s.answered(&suback(8, true));
        assert_eq!(
            s.refused
                .iter()
                .map(|i| s.subscriptions[*i].topic.as_str())
                .collect::<Vec<_>>(),
            ["up/#"],
            "the refusal is booked to the filter it answers"
        );
        assert!(!s.ready());
        s.disconnected();
        assert!(s.refused.is_empty(), "not connected, rather than refused");
    }
}
