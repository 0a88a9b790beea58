//! The `[store]` config section.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// `sqlite` (embedded, the default) or `influxdb`.
    pub backend: Backend,
    /// SQLite file; also holds the registry and dead letters with every backend.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Influxdb,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: Backend::Sqlite,
            path: "sensorhub-data/sensorhub.db".into(),
        }
    }
}

impl StoreConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.backend == Backend::Influxdb {
            problems.push(
                "store.backend: `influxdb` is not built yet; this version stores in `sqlite`"
                    .into(),
            );
        }
        if self.path.is_empty() {
            problems.push("store.path: must name a file".into());
        }
        problems
    }
}
