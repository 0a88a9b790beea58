//! The anonymisation policy: what may leave for the public (pages, API, published files).
//!
//! Stations appear only under their public station id; device identifiers and radio metadata
//! never reach this layer (readings do not carry them); coordinates are coarsened here.

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

    /// Rounds a coordinate to the policy's precision.
    pub fn coarsen(&self, degrees: f64) -> f64 {
        let scale = 10f64.powi(i32::from(self.coordinate_decimals));
        (degrees * scale).round() / scale
    }
}
