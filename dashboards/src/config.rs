//! The `[http]` config section.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address the dashboard and API listen on.
    pub listen: String,
    /// Bearer token for the technicians' JSON API under `/admin/api/v1` (device health,
    /// unknown devices, dead letters); better set as SENSORHUB_HTTP_ADMIN_TOKEN. Without it that
    /// API is off.
    pub admin_token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            admin_token: None,
        }
    }
}
