//! The public view of the store: public stations only, each with the latest values the
//! publication policy lets out and a position as coarse as its strictest series needs. Every
//! public surface that shows current values reads through here: the pages, the JSON API and
//! the folder target's `latest.csv` and `stations.geojson`.

use std::collections::BTreeMap;

use sensorhub_core::Quantity;
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{Level, RangeQuery, Store, StoreError, Theme, TimeSeries};
use serde::Serialize;

use crate::{PublicPolicy, QuantityPolicy};

#[derive(Debug, Clone, Serialize)]
pub struct PublicStation {
    pub id: String,
    /// The name for people: German (or the place's own), else the id.
    pub name: String,
    /// The English name, where one is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
    pub theme: Option<Theme>,
    /// For a water gauge: the datum its `water_level` is measured from (`NHN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datum: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub latest: Vec<PublicValue>,
    /// Levels that mean something, per quantity (in the quantity's unit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
}

impl PublicStation {
    /// The name in a language: English where given.
    pub fn name_in(&self, english: bool) -> &str {
        match (&self.name_en, english) {
            (Some(en), true) => en,
            _ => &self.name,
        }
    }
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
    /// Older than `http.stale_after`: shown as outdated.
    pub stale: bool,
    /// The highest of the station's levels of this quantity the value reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<PublicLevel>,
}

/// A level a value reached: its rank among the quantity's levels (1 the lowest) and its words.
#[derive(Debug, Clone, Serialize)]
pub struct PublicLevel {
    pub rank: usize,
    pub label_de: String,
    pub label_en: String,
}

/// Public stations with their latest values, ordered by id, through the publication policy:
/// no device-health quantity, no value newer than the delay, counts of people only as whole
/// intervals and never from 1 to k-1, positions as coarse as the strictest of the station's
/// series (shown now or not).
pub async fn stations(
    store: &Store,
    policy: &PublicPolicy,
    stale_ms: i64,
    now: i64,
) -> Result<Vec<PublicStation>, StoreError> {
    let registry: Vec<_> = store
        .state()
        .stations()
        .await?
        .into_iter()
        .filter(|s| s.public)
        .collect();
    let mut latest: BTreeMap<String, Vec<PublicValue>> = registry
        .iter()
        .map(|s| (s.id.clone(), Vec::new()))
        .collect();
    // A station's position follows every series it has, shown now or not: a position that
    // changed while a count is suppressed would tell that the count is small.
    let mut series: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let gauges: Vec<&str> = registry
        .iter()
        .filter(|s| s.info.gauge.is_some())
        .map(|s| s.id.as_str())
        .collect();
    let infos: BTreeMap<&str, &sensorhub_store::StationInfo> =
        registry.iter().map(|s| (s.id.as_str(), &s.info)).collect();
    for value in store.latest().await? {
        let Some(values) = latest.get_mut(&value.station) else {
            continue;
        };
        // A gauge shows its water level; the distance it is computed from stays with the
        // technicians.
        if value.quantity == "distance" && gauges.contains(&value.station.as_str()) {
            continue;
        }
        series
            .entry(value.station.clone())
            .or_default()
            .push(value.quantity.clone());
        let Some(quantity_policy) = policy.quantity(&value.quantity) else {
            continue;
        };
        let Some((time_ms, v)) = public_latest(store, &value, &quantity_policy, now).await? else {
            continue;
        };
        let quantity = Quantity::by_name(&value.quantity);
        let level = infos
            .get(value.station.as_str())
            .and_then(|info| info.level_of(&value.quantity, v))
            .map(|(rank, l)| PublicLevel {
                rank,
                label_de: l.label_de.clone(),
                label_en: l.label_en.clone(),
            });
        values.push(PublicValue {
            level,
            label_de: quantity.map_or(value.quantity.clone(), |q| q.label_de.to_owned()),
            label_en: quantity.map_or(value.quantity.clone(), |q| q.label_en.to_owned()),
            quantity: value.quantity,
            value: v,
            unit: value.unit,
            time: format_rfc3339(time_ms),
            stale: now - time_ms > stale_ms,
        });
    }
    Ok(registry
        .into_iter()
        .map(|s| {
            let values = latest.remove(&s.id).unwrap_or_default();
            let quantities = series.remove(&s.id).unwrap_or_default();
            let coordinates = policy.station_coordinates(quantities.iter().map(String::as_str));
            let position = match (s.lat, s.lon) {
                (Some(lat), Some(lon)) => Some(coordinates.apply(lat, lon)),
                _ => None,
            };
            let info = s.info;
            let given = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
            PublicStation {
                name: if info.name.trim().is_empty() {
                    s.id.clone()
                } else {
                    info.name
                },
                name_en: given(info.name_en),
                description: info.description,
                description_en: given(info.description_en),
                theme: info.theme,
                datum: info.gauge.map(|g| g.datum),
                levels: info.levels,
                id: s.id,
                lat: position.map(|p| p.0),
                lon: position.map(|p| p.1),
                latest: values,
            }
        })
        .collect())
}

/// The newest value of a series the policy lets out, as (time, value): the stored latest value
/// when it may be shown as it is; otherwise the last value (or, for counts of people, the last
/// whole interval) before the delay; `None` when nothing may be shown.
async fn public_latest(
    store: &Store,
    latest: &sensorhub_store::LatestValue,
    policy: &QuantityPolicy,
    now: i64,
) -> Result<Option<(i64, f64)>, StoreError> {
    let cutoff = now - policy.delay_ms;
    let step = policy.finest.step_ms();
    if step.is_none() && latest.time_ms < cutoff {
        return Ok((!policy.suppresses(latest.value)).then_some((latest.time_ms, latest.value)));
    }
    // Look back in growing windows, so a dense series costs one short query.
    for window in [3_600_000i64, 86_400_000, 30 * 86_400_000] {
        let span = window.max(2 * step.unwrap_or(0));
        let buckets = store
            .range(RangeQuery {
                station: latest.station.clone(),
                quantity: latest.quantity.clone(),
                since_ms: cutoff - span,
                until_ms: cutoff,
                resolution: policy.finest,
            })
            .await?;
        let whole = buckets
            .iter()
            .rev()
            .find(|b| b.start_ms + step.unwrap_or(1) <= cutoff);
        if let Some(b) = whole {
            return Ok((!policy.suppresses(b.mean)).then_some((b.start_ms, b.mean)));
        }
    }
    Ok(None)
}
