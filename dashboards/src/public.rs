//! What the public may see: public stations only, with coarsened coordinates and no device
//! identifiers or radio metadata. Pages and API both read through here.

use std::collections::BTreeMap;

use sensorhub_core::Quantity;
use sensorhub_store::{StoreError, TimeSeries};
use serde::Serialize;

use crate::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct PublicStation {
    pub id: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub latest: Vec<PublicValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicValue {
    pub quantity: String,
    pub label_de: String,
    pub label_en: String,
    pub value: f64,
    pub unit: String,
    /// RFC 3339 UTC.
    pub time: String,
}

/// Public stations with their latest values, ordered by id.
pub async fn stations(state: &AppState) -> Result<Vec<PublicStation>, StoreError> {
    let mut stations: BTreeMap<String, PublicStation> = state
        .store
        .state()
        .stations()
        .await?
        .into_iter()
        .filter(|s| s.public)
        .map(|s| {
            let station = PublicStation {
                id: s.id.clone(),
                lat: s.lat.map(|v| state.privacy.coarsen(v)),
                lon: s.lon.map(|v| state.privacy.coarsen(v)),
                latest: Vec::new(),
            };
            (s.id, station)
        })
        .collect();
    for latest in state.store.latest().await? {
        let Some(station) = stations.get_mut(&latest.station) else {
            continue;
        };
        let quantity = Quantity::by_name(&latest.quantity);
        station.latest.push(PublicValue {
            label_de: quantity.map_or(latest.quantity.clone(), |q| q.label_de.to_owned()),
            label_en: quantity.map_or(latest.quantity.clone(), |q| q.label_en.to_owned()),
            quantity: latest.quantity,
            value: latest.value,
            unit: latest.unit,
            time: sensorhub_store::time::format_rfc3339(latest.time_ms),
        });
    }
    Ok(stations.into_values().collect())
}
