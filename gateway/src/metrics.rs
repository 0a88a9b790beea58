//! Counters the gateway keeps, exposed on `/metrics` in Prometheus text format.
//!
//! Every message is counted once as received and then once as stored, skipped or
//! dead-lettered (by reason), so `received = stored + skipped + dead-lettered + in flight`.

use sensorhub_store::DeadLetterReason;
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
    /// Connected to the broker with every subscription granted.
    pub connected: AtomicBool,
    /// Subscriptions the broker refused (its ACL), asked for again every keep-alive.
    pub subscriptions_refused: AtomicU64,
    /// The last commit failed for a reason that may pass (disk full, locked, unwritable):
    /// the gateway is not ready until a commit succeeds again.
    pub commit_failing: AtomicBool,
    /// From receipt of a message to the commit of its batch.
    pub ingest_latency: Histogram,
    dead_letters: Mutex<BTreeMap<&'static str, u64>>,
    /// Numeric codec fields that became no reading, by device type.
    unmapped_fields: Mutex<BTreeMap<String, u64>>,
}

impl GatewayMetrics {
    pub fn dead_lettered(&self, reason: DeadLetterReason) {
        *self
            .dead_letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason.as_str())
            .or_default() += 1;
    }

    /// Counts `n` unmapped fields of uplinks of `device_type`.
    pub fn unmapped(&self, device_type: &str, n: u64) {
        let mut counts = self
            .unmapped_fields
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match counts.get_mut(device_type) {
            Some(count) => *count += n,
            None => {
                counts.insert(device_type.to_owned(), n);
            }
        }
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
        let name = "sensorhub_unmapped_fields_total";
        let _ = writeln!(
            out,
            "# HELP {name} Numeric fields of codec output that became no reading, by device type.\n# TYPE {name} counter"
        );
        for (device_type, count) in self
            .unmapped_fields
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let label = device_type
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = writeln!(out, "{name}{{device_type=\"{label}\"}} {count}");
        }
        self.ingest_latency.render(
            out,
            "sensorhub_ingest_latency_seconds",
            "From receipt of a message to the durable commit of its batch.",
        );
        let name = "sensorhub_mqtt_connected";
        let connected = u8::from(self.connected.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP {name} 1 while the gateway is connected to the broker with every subscription granted.\n# TYPE {name} gauge\n{name} {connected}"
        );
        let name = "sensorhub_mqtt_subscriptions_refused";
        let refused = self.subscriptions_refused.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP {name} Subscriptions the broker refused (its ACL), asked for again every keep-alive.\n# TYPE {name} gauge\n{name} {refused}"
        );
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// A Prometheus histogram with fixed buckets, updated without locks.
#[derive(Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last slot counts those above every bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of observations in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(30));
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(
            out.contains("x_bucket{le=\"+Inf\"} 3\nx_sum 30.0033\nx_count 3\n"),
            "{out}"
        );
    }
}
