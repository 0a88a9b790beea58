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
    let stale_ms = crate::parse_duration_ms(&state.http.stale_after).unwrap_or(10_800_000);
    let now = sensorhub_store::time::now_ms();
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
            time: format_rfc3339(latest.time_ms),
            stale: now - latest.time_ms > stale_ms,
        });
    }
    Ok(stations.into_values().collect())
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
