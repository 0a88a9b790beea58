//! The anonymisation policy: what may leave for the public (pages, API, published files).
//!
//! Stations appear only under their public station id; device identifiers and radio metadata
//! never reach this layer (readings do not carry them); coordinates are coarsened here.

use sensorhub_core::duration::HumanDuration;
use serde::{Deserialize, Serialize};

/// The default anonymisation policy for everything public: pages, API and published data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Decimal places kept of public coordinates: 3 is about 100 m, 2 about 1 km.
    pub coordinate_decimals: u8,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            coordinate_decimals: 3,
        }
    }
}

impl PrivacyConfig {
    pub fn problems(&self) -> Vec<String> {
        if self.coordinate_decimals > 5 {
            vec![format!(
                "privacy.coordinate_decimals: {} places locate a single house; use 5 or fewer",
                self.coordinate_decimals
            )]
        } else {
            Vec::new()
        }
    }
}

/// Quantities that count people or their vehicles: small values of these can single someone
/// out, so the policy's `k` applies to them.
pub const PEOPLE_COUNTS: [&str; 8] = [
    "visitor_count",
    "parking_occupancy",
    "occupancy",
    "presence",
    "motion",
    "motion_count",
    "motion_detected",
    "count",
];

/// Whether `quantity` (a series name: `visitor_count_2` is a visitor count) counts people.
pub fn is_people_count(quantity: &str) -> bool {
    let base = sensorhub_core::Quantity::by_name(quantity).map_or(quantity, |q| q.name);
    PEOPLE_COUNTS.contains(&base)
}

/// How stations are named in published data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StationIds {
    /// The station's public id from the registry.
    #[default]
    Public,
    /// A keyed HMAC-SHA256 pseudonym of the public id: stable, not reversible without the key.
    Hmac,
}

/// A dataset's anonymisation policy (`[datasets.privacy]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetPolicy {
    pub station_ids: StationIds,
    /// Environment variable holding the pseudonym key (at least 32 characters) for `hmac`.
    pub hmac_key_env: String,
    /// Decimal places of coordinates; by default `[privacy].coordinate_decimals`.
    pub coordinate_decimals: Option<u8>,
    /// Instead of decimals: the centre of a grid cell this many metres wide (at least 100).
    pub grid_m: Option<u32>,
    /// Exact coordinates, only for public infrastructure such as tide gauges. Refused for
    /// datasets with counts of people.
    pub exact_coordinates: bool,
    /// Counts of people or vehicles from 1 to k-1 are suppressed (left empty).
    pub k: u32,
    /// Hold back the newest data this long (`0s`, `1h`, `1d`).
    pub delay: HumanDuration,
}

impl Default for DatasetPolicy {
    fn default() -> Self {
        DatasetPolicy {
            station_ids: StationIds::Public,
            hmac_key_env: "SENSORHUB_PSEUDONYM_KEY".into(),
            coordinate_decimals: None,
            grid_m: None,
            exact_coordinates: false,
            k: 5,
            delay: HumanDuration::ZERO,
        }
    }
}

impl DatasetPolicy {
    pub fn problems(&self, at: &str, quantities: &[String]) -> Vec<String> {
        let mut problems = Vec::new();
        let counts_people = quantities.iter().any(|q| is_people_count(q));
        if self.exact_coordinates && (self.grid_m.is_some() || self.coordinate_decimals.is_some()) {
            problems.push(format!(
                "{at}: exact_coordinates contradicts grid_m / coordinate_decimals; choose one"
            ));
        }
        if self.grid_m.is_some() && self.coordinate_decimals.is_some() {
            problems.push(format!(
                "{at}: grid_m and coordinate_decimals both set; choose one"
            ));
        }
        if self.exact_coordinates && counts_people {
            problems.push(format!(
                "{at}.exact_coordinates: unsafe for counts of people; coarsen the locations"
            ));
        }
        if let Some(d) = self.coordinate_decimals {
            if d > 4 {
                problems.push(format!(
                    "{at}.coordinate_decimals: {d} places (about {} m) locate a single house; use \
                     4 or fewer, or exact_coordinates for public infrastructure",
                    (111_320.0 / 10f64.powi(i32::from(d))).round()
                ));
            }
        }
        if let Some(g) = self.grid_m {
            if g < 100 {
                problems.push(format!(
                    "{at}.grid_m: {g} m cells locate a single house; use 100 or more"
                ));
            }
        }
        if counts_people && self.k < 2 {
            problems.push(format!(
                "{at}.k: {} lets a count of one person through; use 2 or more (5 is usual)",
                self.k
            ));
        }
        if self.station_ids == StationIds::Hmac {
            if self.hmac_key_env.is_empty() {
                problems.push(format!("{at}.hmac_key_env: name the variable with the key"));
            } else if std::env::var(&self.hmac_key_env).map_or(0, |k| k.len()) < 32 {
                problems.push(format!(
                    "{at}.hmac_key_env: `{}` must hold a key of at least 32 characters",
                    self.hmac_key_env
                ));
            }
        }
        problems
    }
}

/// How coordinates leave: resolved from a dataset policy and the global default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coordinates {
    Decimals(u8),
    Grid { metres: u32 },
    Exact,
}

const METRES_PER_DEGREE: f64 = 111_320.0;

impl Coordinates {
    pub fn resolve(policy: &DatasetPolicy, default: &PrivacyConfig) -> Coordinates {
        if policy.exact_coordinates {
            Coordinates::Exact
        } else if let Some(metres) = policy.grid_m {
            Coordinates::Grid { metres }
        } else {
            Coordinates::Decimals(
                policy
                    .coordinate_decimals
                    .unwrap_or(default.coordinate_decimals),
            )
        }
    }

    /// `(lat, lon)` as it may be published.
    pub fn apply(self, lat: f64, lon: f64) -> (f64, f64) {
        match self {
            Coordinates::Exact => (lat, lon),
            Coordinates::Decimals(d) => {
                let scale = 10f64.powi(i32::from(d));
                ((lat * scale).round() / scale, (lon * scale).round() / scale)
            }
            Coordinates::Grid { metres } => {
                let lat_step = f64::from(metres) / METRES_PER_DEGREE;
                let lat = ((lat / lat_step).floor() + 0.5) * lat_step;
                let lon_step = f64::from(metres) / (METRES_PER_DEGREE * lat.to_radians().cos());
                let lon = ((lon / lon_step).floor() + 0.5) * lon_step;
                // Seven places (1 cm) are plenty for a cell centre and keep files tidy.
                ((lat * 1e7).round() / 1e7, (lon * 1e7).round() / 1e7)
            }
        }
    }

    /// Whether a published `(lat, lon)` is no finer than the policy allows.
    pub fn allows(self, lat: f64, lon: f64) -> bool {
        match self {
            Coordinates::Exact => true,
            Coordinates::Decimals(d) => {
                let scale = 10f64.powi(i32::from(d));
                [lat, lon]
                    .iter()
                    .all(|x| ((x * scale) - (x * scale).round()).abs() < 1e-6)
            }
            Coordinates::Grid { .. } => {
                let (a, b) = self.apply(lat, lon);
                (a - lat).abs() < 1e-6 && (b - lon).abs() < 1e-6
            }
        }
    }
}

/// The keyed pseudonym of a public station id.
pub fn pseudonym(key: &[u8], station: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(station.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("st-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_and_inconsistent_policies_are_refused() {
        let q = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ok = DatasetPolicy::default();
        assert!(ok.problems("p", &q(&["visitor_count"])).is_empty());
        let exact_people = DatasetPolicy {
            exact_coordinates: true,
            ..DatasetPolicy::default()
        };
        assert!(exact_people.problems("p", &q(&["water_level"])).is_empty());
        assert!(exact_people.problems("p", &q(&["visitor_count"]))[0].contains("unsafe"));
        let fine = DatasetPolicy {
            coordinate_decimals: Some(6),
            ..DatasetPolicy::default()
        };
        assert!(fine.problems("p", &q(&["water_level"]))[0].contains("single house"));
        let both = DatasetPolicy {
            coordinate_decimals: Some(2),
            grid_m: Some(500),
            ..DatasetPolicy::default()
        };
        assert!(both.problems("p", &q(&["water_level"]))[0].contains("choose one"));
        let k1 = DatasetPolicy {
            k: 1,
            ..DatasetPolicy::default()
        };
        assert!(k1.problems("p", &q(&["parking_occupancy"]))[0].contains("p.k"));
        let hmac = DatasetPolicy {
            station_ids: StationIds::Hmac,
            hmac_key_env: "SENSORHUB_TEST_KEY_THAT_IS_NOT_SET".into(),
            ..DatasetPolicy::default()
        };
        assert!(hmac.problems("p", &q(&["water_level"]))[0].contains("32 characters"));
    }

    #[test]
    fn coordinates_are_coarsened_and_checked() {
        let d2 = Coordinates::Decimals(2);
        assert_eq!(d2.apply(54.69123, 8.57456), (54.69, 8.57));
        assert!(d2.allows(54.69, 8.57));
        assert!(!d2.allows(54.691, 8.57));
        let grid = Coordinates::Grid { metres: 1000 };
        let (lat, lon) = grid.apply(54.69123, 8.57456);
        assert!(grid.allows(lat, lon));
        assert!(!grid.allows(54.69123, 8.57456));
        // The cell centre is within half a diagonal (about 707 m) of the true place.
        let dy = (lat - 54.69123) * METRES_PER_DEGREE;
        let dx = (lon - 8.57456) * METRES_PER_DEGREE * lat.to_radians().cos();
        assert!((dx * dx + dy * dy).sqrt() <= 708.0);
        // Two places in one cell get the same published location.
        assert_eq!(grid.apply(54.69123, 8.57456), grid.apply(54.69200, 8.57400));
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_distinct() {
        let key = b"0123456789abcdef0123456789abcdef";
        assert_eq!(pseudonym(key, "pegel-01"), pseudonym(key, "pegel-01"));
        assert_ne!(pseudonym(key, "pegel-01"), pseudonym(key, "pegel-02"));
        assert_ne!(
            pseudonym(key, "pegel-01"),
            pseudonym(b"another key, another pseudonym!!", "pegel-01")
        );
        assert!(pseudonym(key, "pegel-01").starts_with("st-"));
    }
}
