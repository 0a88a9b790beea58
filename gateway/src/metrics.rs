//! Counters the gateway keeps, exposed on `/metrics` in Prometheus text format.
//!
//! Every message is counted once as received and then once as stored, skipped or
//! dead-lettered (by reason), so `received = stored + skipped + dead-lettered + in flight`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct GatewayMetrics {
    pub received: AtomicU64,
    /// Messages whose readings and metadata were committed.
    pub stored: AtomicU64,
    /// Readings committed.
    pub readings: AtomicU64,
    /// Well-formed messages with nothing to store (join, log, ... events).
    pub skipped: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    /// Connected to the broker with every subscription acknowledged.
    pub connected: AtomicBool,
    dead_letters: Mutex<BTreeMap<&'static str, u64>>,
}

impl GatewayMetrics {
    pub fn dead_lettered(&self, reason: &'static str) {
        *self
            .dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    pub fn dead_letters(&self, reason: &str) -> u64 {
        self.dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Appends the counters in Prometheus text exposition format.
    pub fn render(&self, out: &mut String) {
        let counters = [
            (
                "sensorhub_messages_received_total",
                "MQTT messages received.",
                &self.received,
            ),
            (
                "sensorhub_messages_stored_total",
                "Messages whose data was committed.",
                &self.stored,
            ),
            (
                "sensorhub_readings_stored_total",
                "Readings committed.",
                &self.readings,
            ),
            (
                "sensorhub_messages_skipped_total",
                "Well-formed messages with nothing to store.",
                &self.skipped,
            ),
            (
                "sensorhub_store_commits_total",
                "Store transactions committed.",
                &self.commits,
            ),
            (
                "sensorhub_store_commit_failures_total",
                "Store transactions that failed and were retried.",
                &self.commit_failures,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "sensorhub_dead_letters_total";
        let _ = writeln!(
            out,
            "# HELP {name} Messages dead-lettered, by reason.\n# TYPE {name} counter"
        );
        for (reason, count) in self
            .dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {count}");
        }
        let name = "sensorhub_mqtt_connected";
        let connected = u8::from(self.connected.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP {name} 1 while the gateway is connected to the broker.\n# TYPE {name} gauge\n{name} {connected}"
        );
    }
}
