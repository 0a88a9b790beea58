//! The publication policy of the public surfaces: resident pages, the JSON API, the live feed,
//! GeoJSON and a station's CSV download. They show current values, which no dataset file does,
//! so they must apply no less than the datasets do: for each quantity the strictest policy among
//! the datasets that publish it (the highest `k` and `delay`, the coarsest coordinates and, for
//! counts of people, the coarsest interval), or the `[privacy]` defaults where none does.
//! Quantities that describe the device itself (its battery) are never public.

use std::collections::HashMap;

use sensorhub_core::Quantity;
use sensorhub_store::Resolution;

use crate::privacy::{Coordinates, DatasetPolicy, PrivacyConfig};

/// What one dataset publishes, as the public surfaces must respect it.
#[derive(Debug, Clone, Copy)]
pub struct Publication<'a> {
    pub quantities: &'a [String],
    pub policy: &'a DatasetPolicy,
    /// The dataset's interval: counts of people are served no finer on the public surfaces.
    pub interval: Resolution,
}

/// Quantities about the device, not the world: device health, and where a tracker is (a
/// position finer than any coordinate policy), never public.
pub const DEVICE_QUANTITIES: [&str; 4] =
    ["battery_voltage", "battery_level", "latitude", "longitude"];

/// What the public surfaces apply to one quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantityPolicy {
    /// Values from 1 to k-1 are suppressed; 0 for quantities that count nobody.
    pub k: u32,
    /// The newest data held back, ms.
    pub delay_ms: i64,
    pub coordinates: Coordinates,
    /// Counts of people are served no finer than this (no minute-by-minute presence timeline).
    pub finest: Resolution,
}

impl QuantityPolicy {
    /// Whether a value (or an aggregate of values) must stay hidden: a count of 1 to k-1.
    pub fn suppresses(&self, value: f64) -> bool {
        self.k > 0 && value > 0.0 && value < f64::from(self.k)
    }

    /// The resolution to serve when `asked` for: never finer than the policy's.
    pub fn resolution(&self, asked: Resolution) -> Resolution {
        if step(asked) < step(self.finest) {
            self.finest
        } else {
            asked
        }
    }
}

fn step(r: Resolution) -> i64 {
    r.step_ms().unwrap_or(0)
}

/// The size in metres of what a coordinate policy lets through: the larger, the stricter.
fn cell_m(c: Coordinates) -> f64 {
    match c {
        Coordinates::Exact => 0.0,
        Coordinates::Decimals(d) => 111_320.0 / 10f64.powi(i32::from(d)),
        Coordinates::Grid { metres } => f64::from(metres),
    }
}

/// The strictest of two coordinate policies.
pub fn coarsest(a: Coordinates, b: Coordinates) -> Coordinates {
    if cell_m(b) > cell_m(a) {
        b
    } else {
        a
    }
}

/// The vocabulary name a series' quantity belongs to (`visitor_count_2` is `visitor_count`).
fn base(quantity: &str) -> &str {
    Quantity::by_name(quantity).map_or(quantity, |q| q.name)
}

/// The policy of every quantity the public may see.
#[derive(Debug, Clone)]
pub struct PublicPolicy {
    default: Coordinates,
    by_quantity: HashMap<String, QuantityPolicy>,
}

impl Default for PublicPolicy {
    fn default() -> Self {
        PublicPolicy::new(&PrivacyConfig::default(), [])
    }
}

impl PublicPolicy {
    pub fn new<'a>(
        privacy: &PrivacyConfig,
        datasets: impl IntoIterator<Item = Publication<'a>>,
    ) -> Self {
        let mut by_quantity: HashMap<String, QuantityPolicy> = HashMap::new();
        for dataset in datasets {
            let policy = dataset.policy;
            let interval = dataset.interval;
            for quantity in dataset.quantities {
                let q = base(quantity);
                let this = dataset_policy(q, policy, privacy, interval);
                let merged = match by_quantity.get(q) {
                    Some(seen) => QuantityPolicy {
                        k: seen.k.max(this.k),
                        delay_ms: seen.delay_ms.max(this.delay_ms),
                        coordinates: coarsest(seen.coordinates, this.coordinates),
                        finest: if step(this.finest) > step(seen.finest) {
                            this.finest
                        } else {
                            seen.finest
                        },
                    },
                    None => this,
                };
                by_quantity.insert(q.to_owned(), merged);
            }
        }
        PublicPolicy {
            default: Coordinates::Decimals(privacy.coordinate_decimals),
            by_quantity,
        }
    }

    /// The policy of `quantity`; `None` for what is never public (the device's own health).
    pub fn quantity(&self, quantity: &str) -> Option<QuantityPolicy> {
        let q = base(quantity);
        if DEVICE_QUANTITIES.contains(&q) {
            return None;
        }
        Some(match self.by_quantity.get(q) {
            Some(p) => *p,
            None => {
                let defaults = DatasetPolicy::default();
                let people = crate::privacy::is_people_count(q);
                QuantityPolicy {
                    k: if people { defaults.k } else { 0 },
                    delay_ms: 0,
                    coordinates: self.default,
                    finest: if people {
                        Resolution::Hour
                    } else {
                        Resolution::Raw
                    },
                }
            }
        })
    }

    /// How a station's position leaves: the strictest policy of the quantities it shows, or
    /// the `[privacy]` default for a station that shows none.
    pub fn station_coordinates<'a>(
        &self,
        quantities: impl Iterator<Item = &'a str>,
    ) -> Coordinates {
        quantities
            .filter_map(|q| self.quantity(q))
            .map(|p| p.coordinates)
            .reduce(coarsest)
            .unwrap_or(self.default)
    }
}

fn dataset_policy(
    quantity: &str,
    policy: &DatasetPolicy,
    privacy: &PrivacyConfig,
    interval: Resolution,
) -> QuantityPolicy {
    let people = crate::privacy::is_people_count(quantity);
    QuantityPolicy {
        k: if people { policy.k } else { 0 },
        delay_ms: policy.delay.as_ms_i64(),
        coordinates: Coordinates::resolve(policy, privacy),
        finest: if people { interval } else { Resolution::Raw },
    }
}
