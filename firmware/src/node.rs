//! The node application: when to measure, what is worth an uplink, and when the radio may send.
//!
//! A node measures on a fixed schedule and reports when something changed by more than a
//! threshold, when a sensor fails or recovers, or when the heartbeat interval has passed without
//! an uplink, so that a silent node always means a problem. Every uplink is booked against the
//! EU868 duty cycle of its sub-band using the LoRa time on air; a report that the budget does
//! not allow yet waits, and the node measures again as soon as the sub-band is free.

use crate::airtime::LoraSettings;
use crate::duty_cycle::DutyCycle;
use crate::report::Report;

/// LoRaWAN overhead of an uplink without MAC commands: MHDR 1, DevAddr 4, FCtrl 1, FCnt 2,
/// FPort 1, MIC 4.
pub const FRAME_OVERHEAD: usize = 13;

/// The EU868 default channels, all in the 868.0-868.6 MHz sub-band (1 %).
pub const DEFAULT_CHANNEL_HZ: u32 = 868_100_000;

/// The smallest change of each value that is worth an uplink before the heartbeat is due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// °C.
    pub air_temperature: f32,
    /// Percentage points.
    pub relative_humidity: f32,
    /// hPa.
    pub air_pressure: f32,
    /// Metres.
    pub distance: f32,
    /// Volts.
    pub battery: f32,
    /// ppm.
    pub co2: f32,
    /// Percentage points.
    pub soil_moisture: f32,
    /// Spaces.
    pub parking_occupancy: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            air_temperature: 0.5,
            relative_humidity: 5.0,
            air_pressure: 1.0,
            distance: 0.05,
            battery: 0.1,
            co2: 50.0,
            soil_moisture: 1.0,
            parking_occupancy: 1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub measure_every_ms: u64,
    /// Longest time without an uplink.
    pub heartbeat_ms: u64,
    pub thresholds: Thresholds,
    /// Spreading factor of the uplinks (7 to 12), for the duty-cycle budget.
    pub spreading_factor: u8,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            measure_every_ms: 5 * 60_000,
            heartbeat_ms: 60 * 60_000,
            thresholds: Thresholds::default(),
            spreading_factor: 7,
        }
    }
}

/// Why a report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The node's first uplink after a start.
    First,
    /// A value moved by at least its threshold.
    Change,
    /// A sensor failed or came back.
    SensorChange,
    /// Nothing to say for a heartbeat interval.
    Heartbeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send(Reason),
    /// Nothing worth an uplink.
    Quiet,
    /// Worth an uplink, but the duty cycle forbids sending before `until_ms`.
    Wait {
        reason: Reason,
        until_ms: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Application {
    schedule: Schedule,
    duty: DutyCycle,
    last_sent: Option<(u64, Report)>,
    waiting: Option<Reason>,
    next_measurement_ms: u64,
}

impl Application {
    pub fn new(schedule: Schedule) -> Self {
        Application {
            schedule,
            duty: DutyCycle::default(),
            last_sent: None,
            waiting: None,
            next_measurement_ms: 0,
        }
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// When the node should wake up and measure next.
    pub fn next_measurement_ms(&self) -> u64 {
        self.next_measurement_ms
    }

    /// Time on air of an uplink carrying `payload_len` bytes at the schedule's spreading factor.
    pub fn airtime_us(&self, payload_len: usize) -> u64 {
        LoraSettings::eu868_uplink(self.schedule.spreading_factor)
            .time_on_air_us(FRAME_OVERHEAD + payload_len)
    }

    /// The node measured `report` at `now_ms`: send it, keep quiet, or wait for the duty cycle.
    pub fn on_measurement(&mut self, now_ms: u64, report: &Report) -> Decision {
        self.next_measurement_ms = now_ms + self.schedule.measure_every_ms;
        let Some(reason) = self.reason(now_ms, report).or(self.waiting) else {
            return Decision::Quiet;
        };
        if self.duty.can_send(DEFAULT_CHANNEL_HZ, now_ms) {
            return Decision::Send(reason);
        }
        let until_ms = self
            .duty
            .free_at_ms(DEFAULT_CHANNEL_HZ)
            .unwrap_or(self.next_measurement_ms);
        self.waiting = Some(reason);
        self.next_measurement_ms = self.next_measurement_ms.min(until_ms);
        Decision::Wait { reason, until_ms }
    }

    /// The radio sent `report` at `now_ms` on `frequency_hz`, on air for `airtime_us`.
    pub fn sent(&mut self, now_ms: u64, report: &Report, frequency_hz: u32, airtime_us: u64) {
        self.duty.record(frequency_hz, now_ms, airtime_us);
        self.last_sent = Some((now_ms, *report));
        self.waiting = None;
    }

    fn reason(&self, now_ms: u64, report: &Report) -> Option<Reason> {
        let Some((sent_ms, last)) = &self.last_sent else {
            return Some(Reason::First);
        };
        let t = &self.schedule.thresholds;
        let pairs = [
            (
                report.air_temperature,
                last.air_temperature,
                t.air_temperature,
            ),
            (
                report.relative_humidity,
                last.relative_humidity,
                t.relative_humidity,
            ),
            (report.air_pressure, last.air_pressure, t.air_pressure),
            (report.distance, last.distance, t.distance),
            (report.battery, last.battery, t.battery),
            (report.co2, last.co2, t.co2),
            (report.soil_moisture, last.soil_moisture, t.soil_moisture),
            (
                report.parking_occupancy,
                last.parking_occupancy,
                t.parking_occupancy,
            ),
        ];
        if pairs
            .iter()
            .any(|(now, then, _)| now.is_some() != then.is_some())
        {
            return Some(Reason::SensorChange);
        }
        let changed = pairs
            .iter()
            .any(|(now, then, threshold)| match (now, then) {
                (Some(a), Some(b)) => (a - b).abs() >= *threshold,
                _ => false,
            });
        // A count of people (of the period the counter closed) is always sent, zero too: a
        // count left unsent would be lost, and a missing zero reads as a gap.
        let counted = report.visitor_count.is_some();
        if changed || counted {
            Some(Reason::Change)
        } else if now_ms >= sent_ms + self.schedule.heartbeat_ms {
            Some(Reason::Heartbeat)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::MAX_REPORT_LEN;

    const MIN: u64 = 60_000;

    fn weather(t: f32) -> Report {
        Report {
            air_temperature: Some(t),
            relative_humidity: Some(80.0),
            air_pressure: Some(1013.0),
            battery: Some(3.6),
            ..Report::default()
        }
    }

    /// A people counter's hourly count goes out every time, zero included, though the value is
    /// the same as the last one sent; without a count, nothing is due before the heartbeat.
    #[test]
    fn every_count_of_people_is_sent() {
        let mut app = Application::new(Schedule::default());
        let count = |n: Option<f32>| Report {
            visitor_count: n,
            battery: Some(3.6),
            ..Report::default()
        };
        let mut now = 0;
        for n in [Some(12.0), Some(12.0), Some(0.0), Some(0.0)] {
            assert!(
                matches!(app.on_measurement(now, &count(n)), Decision::Send(_)),
                "{n:?} at {now}"
            );
            app.sent(now, &count(n), DEFAULT_CHANNEL_HZ, 50_000);
            // Half-hourly here, so that the hourly heartbeat is never what sends it.
            now += 30 * MIN;
        }
        // A minute after the last count: no count, nothing changed.
        assert_eq!(
            app.on_measurement(now - 29 * MIN, &count(None)),
            Decision::Quiet
        );
    }

    /// One day at 5-minute measurements: a still night, a warming morning, a sensor that fails
    /// at noon and comes back, a still afternoon.
    #[test]
    fn a_simulated_day() {
        let mut app = Application::new(Schedule::default());
        let mut sent = Vec::new();
        let mut now = 0;
        while now < 24 * 60 * MIN {
            assert_eq!(app.next_measurement_ms(), now, "measures on schedule");
            let hour = now as f32 / (60 * MIN) as f32;
            let mut report = if hour < 6.0 {
                weather(8.0)
            } else if hour < 12.0 {
                weather(8.0 + (hour - 6.0) * 1.0) // +1 °C per hour
            } else {
                weather(14.0)
            };
            if (12.0..12.5).contains(&hour) {
                report.air_temperature = None; // SHT4x CRC failures for half an hour
            }
            match app.on_measurement(now, &report) {
                Decision::Send(reason) => {
                    let mut buffer = [0u8; MAX_REPORT_LEN];
                    let len = report.encode(&mut buffer).unwrap();
                    app.sent(now, &report, DEFAULT_CHANNEL_HZ, app.airtime_us(len));
                    sent.push((now, reason));
                }
                Decision::Quiet => {}
                Decision::Wait { .. } => panic!("SF7 every 5 minutes never hits 1 %"),
            }
            now += 5 * MIN;
        }
        let at = |h: u64, m: u64| (h * 60 + m) * MIN;
        // Night: the first uplink, then one heartbeat an hour.
        let night: Vec<_> = sent.iter().filter(|(t, _)| *t < at(6, 0)).collect();
        assert_eq!(night[0], &(0, Reason::First));
        assert!(night[1..].iter().all(|(_, r)| *r == Reason::Heartbeat));
        assert_eq!(night.len(), 6);
        // 06:00 is a heartbeat. Then +1 °C an hour against a 0.5 °C threshold -> a change
        // report every 30 minutes (06:30 ... 11:30), no heartbeats needed.
        let morning: Vec<_> = sent
            .iter()
            .filter(|(t, _)| (at(6, 5)..at(12, 0)).contains(t))
            .collect();
        assert!(morning.iter().all(|(_, r)| *r == Reason::Change));
        assert_eq!(morning.len(), 11, "{morning:?}");
        // Noon: the failure and the recovery each go out at once.
        assert!(sent.contains(&(at(12, 0), Reason::SensorChange)));
        assert!(sent.contains(&(at(12, 30), Reason::SensorChange)));
        // Never more than a heartbeat interval without an uplink.
        for pair in sent.windows(2) {
            assert!(pair[1].0 - pair[0].0 <= 60 * MIN, "{pair:?}");
        }
        assert!(sent.len() < 40, "{} uplinks", sent.len());
    }

    /// At SF12 a weather report is on air for 1.65 s, so a node that has news every minute must
    /// wait out the 1 % rule; nothing is lost, the news goes out when the sub-band is free.
    #[test]
    fn the_duty_cycle_budget_holds_at_sf12() {
        let schedule = Schedule {
            measure_every_ms: MIN,
            spreading_factor: 12,
            ..Schedule::default()
        };
        let mut app = Application::new(schedule);
        let mut transmissions: Vec<(u64, u64)> = Vec::new();
        let mut waits = 0;
        let mut now = 0;
        let mut temperature = 0.0;
        while now < 6 * 60 * MIN {
            now = app.next_measurement_ms();
            temperature += 1.0; // always news
            let report = weather(temperature);
            match app.on_measurement(now, &report) {
                Decision::Send(_) => {
                    let mut buffer = [0u8; MAX_REPORT_LEN];
                    let len = report.encode(&mut buffer).unwrap();
                    let airtime = app.airtime_us(len);
                    assert!(airtime > 1_600_000, "{airtime}");
                    app.sent(now, &report, DEFAULT_CHANNEL_HZ, airtime);
                    transmissions.push((now, airtime));
                }
                Decision::Wait { until_ms, .. } => {
                    waits += 1;
                    assert!(until_ms > now);
                    assert!(app.next_measurement_ms() <= until_ms);
                }
                Decision::Quiet => panic!("there is always news"),
            }
        }
        assert!(waits > 0, "the budget must have stopped some uplinks");
        // The off-time rule of the LoRaWAN regional parameters: after T on air, 99 T silent.
        for pair in transmissions.windows(2) {
            let (start, airtime) = pair[0];
            let off_us = (pair[1].0 - start) * 1_000 - airtime;
            assert!(off_us >= 99 * airtime, "{pair:?}");
        }
        // Which keeps the whole run within 1 %.
        let (first, _) = transmissions[0];
        let (last, last_airtime) = transmissions[transmissions.len() - 1];
        let on_air: u64 = transmissions.iter().map(|(_, a)| a).sum();
        assert!(on_air * 100 <= (last - first) * 1_000 + last_airtime * 100);
        // Yet the node uses most of what it may: 36 s / 1.65 s is about 21 uplinks an hour.
        assert!(transmissions.len() >= 6 * 15, "{}", transmissions.len());
    }
}
