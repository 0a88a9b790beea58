//! The SensorThings API's MQTT extension (`[sta] mqtt_url`): every new value of a public
//! station, after its commit, published as its Observation (to `v1.1/Observations`,
//! `v1.1/Datastreams('ID')/Observations`, ...) and its changed Datastream (`v1.1/Datastreams('ID')`,
//! `v1.1/Things('ID')/Datastreams`, ...) on the broker, so that SensorThings clients subscribe
//! instead of polling. Only what the live feed carries leaves:
//! the publication policy has been applied.

use std::time::Duration;

use rumqttc::{AsyncClient, QoS};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

/// `[sta]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaConfig {
    /// The broker SensorThings clients subscribe to (`mqtt://host:port`); off when unset.
    pub mqtt_url: Option<String>,
}

impl StaConfig {
    pub fn problems(&self) -> Vec<String> {
        match &self.mqtt_url {
            Some(url) => match options(url) {
                Ok(_) => Vec::new(),
                Err(e) => vec![format!("sta.mqtt_url: {e}")],
            },
            None => Vec::new(),
        }
    }
}

fn options(url: &str) -> Result<rumqttc::MqttOptions, String> {
    let config = sensorhub_gateway::MqttConfig {
        url: url.to_owned(),
        client_id: format!("sensorhub-sta-{}", std::process::id()),
        ..sensorhub_gateway::MqttConfig::default()
    };
    let mut options = sensorhub_gateway::mqtt::mqtt_options(&config).map_err(|e| e.to_string())?;
    options.set_clean_session(true).set_manual_acks(false);
    Ok(options)
}

/// Publishes the live feed's values until the feed ends.
pub async fn run(state: sensorhub_dashboards::AppState, url: String, site: String) {
    let Ok(options) = options(&url) else {
        return;
    };
    let (client, mut events) = AsyncClient::new(options, 256);
    tokio::spawn(async move {
        loop {
            if let Err(e) = events.poll().await {
                tracing::warn!(error = %e, "SensorThings MQTT: the broker is not reachable; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    let mut feed = sensorhub_dashboards::live_feed(&state);
    let mut topics = sensorhub_dashboards::StaMqttTopics::new(&site);
    loop {
        match feed.recv().await {
            Ok(data) => {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&data) else {
                    continue;
                };
                for (topic, payload) in topics.messages(&state, &event).await {
                    if let Err(e) = client
                        .publish(topic, QoS::AtLeastOnce, false, payload)
                        .await
                    {
                        tracing::warn!(error = %e, "SensorThings MQTT: a message was not queued");
                    }
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "SensorThings MQTT: fell behind the live feed");
            }
            Err(RecvError::Closed) => return,
        }
    }
}
