//! What the public may see: public stations only, with coarsened coordinates and no device
//! identifiers or radio metadata. Pages and API both read through here.

use std::collections::BTreeMap;

use sensorhub_core::Quantity;
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{RangeQuery, Resolution, StoreError, TimeSeries};
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
    /// Older than `http.stale_after`: shown as outdated.
    pub stale: bool,
}

/// Public stations with their latest values, ordered by id, through the publication policy:
/// no device-health quantity, no value newer than the delay, counts of people only as whole
/// intervals and never from 1 to k-1, positions as coarse as the strictest of the station's
/// series (shown now or not).
pub async fn stations(state: &AppState) -> Result<Vec<PublicStation>, StoreError> {
    let registry: Vec<_> = state
        .store
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
    let stale_ms = state.http.stale_after.as_ms_i64();
    let now = sensorhub_store::time::now_ms();
    // A station's position follows every series it has, shown now or not: a position that
    // changed while a count is suppressed would tell that the count is small.
    let mut series: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for value in state.store.latest().await? {
        let Some(values) = latest.get_mut(&value.station) else {
            continue;
        };
        series
            .entry(value.station.clone())
            .or_default()
            .push(value.quantity.clone());
        let Some(policy) = state.policy.quantity(&value.quantity) else {
            continue;
        };
        let Some((time_ms, v)) = public_latest(state, &value, &policy, now).await? else {
            continue;
        };
        let quantity = Quantity::by_name(&value.quantity);
        values.push(PublicValue {
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
            let coordinates = state
                .policy
                .station_coordinates(quantities.iter().map(String::as_str));
            let position = match (s.lat, s.lon) {
                (Some(lat), Some(lon)) => Some(coordinates.apply(lat, lon)),
                _ => None,
            };
            PublicStation {
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
    state: &AppState,
    latest: &sensorhub_store::LatestValue,
    policy: &sensorhub_policy::QuantityPolicy,
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
        let buckets = state
            .store
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

/// One public station with its latest values; `None` for an unknown or private station.
pub async fn station(state: &AppState, id: &str) -> Result<Option<PublicStation>, StoreError> {
    Ok(stations(state).await?.into_iter().find(|s| s.id == id))
}

/// A history window of a public station's quantity.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub station: String,
    pub quantity: String,
    pub label_de: String,
    pub label_en: String,
    pub unit: String,
    pub resolution: Resolution,
    pub since: String,
    pub until: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Start of the interval (the reading's time when raw), RFC 3339 UTC.
    pub time: String,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
}

/// The history of a public station's quantity; `None` when the station is not public.
pub async fn history(
    state: &AppState,
    station: &str,
    quantity: &str,
    resolution: Resolution,
    since_ms: i64,
    until_ms: i64,
) -> Result<Option<History>, StoreError> {
    let Some(public) = self::station(state, station).await? else {
        return Ok(None);
    };
    let Some(policy) = state.policy.quantity(quantity) else {
        return Ok(None);
    };
    let resolution = policy.resolution(resolution);
    let until_ms = until_ms.min(sensorhub_store::time::now_ms() - policy.delay_ms);
    let since_ms = since_ms.min(until_ms);
    let unit = public
        .latest
        .iter()
        .find(|v| v.quantity == quantity)
        .map(|v| v.unit.clone())
        .or_else(|| Quantity::by_name(quantity).map(|q| q.unit.to_owned()))
        .unwrap_or_default();
    let buckets = state
        .store
        .range(RangeQuery {
            station: station.to_owned(),
            quantity: quantity.to_owned(),
            since_ms,
            until_ms,
            resolution,
        })
        .await?;
    let q = Quantity::by_name(quantity);
    Ok(Some(History {
        station: station.to_owned(),
        quantity: quantity.to_owned(),
        label_de: q.map_or(quantity.to_owned(), |q| q.label_de.to_owned()),
        label_en: q.map_or(quantity.to_owned(), |q| q.label_en.to_owned()),
        unit,
        resolution,
        since: format_rfc3339(since_ms),
        until: format_rfc3339(until_ms),
        points: buckets
            .into_iter()
            // Counts of people: whole intervals only, and none with a count of 1 to k-1.
            .filter(|b| {
                let whole = policy.finest == Resolution::Raw
                    || b.start_ms + resolution.step_ms().unwrap_or(1) <= until_ms;
                whole && ![b.mean, b.min, b.max].iter().any(|v| policy.suppresses(*v))
            })
            .map(|b| Point {
                time: format_rfc3339(b.start_ms),
                mean: (b.mean * 1e4).round() / 1e4,
                min: b.min,
                max: b.max,
                count: b.count,
            })
            .collect(),
    }))
}

/// The windows the pages offer, with their resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Day,
    Week,
    Month,
}

impl Range {
    pub fn parse(text: Option<&str>) -> Range {
        match text {
            Some("7d") => Range::Week,
            Some("30d") => Range::Month,
            _ => Range::Day,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    pub fn span_ms(self) -> i64 {
        match self {
            Range::Day => 86_400_000,
            Range::Week => 7 * 86_400_000,
            Range::Month => 30 * 86_400_000,
        }
    }

    pub fn resolution(self) -> Resolution {
        match self {
            Range::Day => Resolution::QuarterHour,
            Range::Week => Resolution::Hour,
            Range::Month => Resolution::Day,
        }
    }
}
