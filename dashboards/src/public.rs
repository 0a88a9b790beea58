//! What the public may see: public stations only, with coarsened coordinates and no device
//! identifiers or radio metadata. Pages and API both read through here.

use sensorhub_core::Quantity;
use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{PageQuery, RangeQuery, Resolution, StoreError, TimeSeries};
use serde::Serialize;

use crate::AppState;

pub use sensorhub_policy::view::PublicStation;

/// Public stations with their latest values, through the publication policy
/// ([`sensorhub_policy::view::stations`], which the folder target reads through too).
pub async fn stations(state: &AppState) -> Result<Vec<PublicStation>, StoreError> {
    let now = sensorhub_store::time::now_ms();
    let stale_ms = state.http.stale_after.as_ms_i64();
    sensorhub_policy::view::stations(&state.store, &state.policy, stale_ms, now).await
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
    /// The values added up over the interval: for precipitation and counts.
    pub sum: f64,
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
    history_of(state, &public, quantity, resolution, since_ms, until_ms).await
}

/// The history of a quantity of a station already read through the policy; `None` when the
/// policy does not publish the quantity.
pub async fn history_of(
    state: &AppState,
    public: &PublicStation,
    quantity: &str,
    resolution: Resolution,
    since_ms: i64,
    until_ms: i64,
) -> Result<Option<History>, StoreError> {
    let station = public.id.as_str();
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
                whole
                    && ![b.mean, b.min, b.max, b.sum]
                        .iter()
                        .any(|v| policy.suppresses(*v))
            })
            .map(|b| point(&b))
            .collect(),
    }))
}

/// One page of a public station's quantity at the policy's finest resolution, ordered and cut
/// in the store instead of after reading the whole history. `None` where the policy drops
/// buckets one by one (counts of people, k-suppressed), which a store's page cannot know:
/// those are cut from [`history_of`]'s whole answer.
pub async fn history_page(
    state: &AppState,
    public: &PublicStation,
    quantity: &str,
    newest_first: bool,
    offset: usize,
    limit: usize,
) -> Result<Option<Vec<Point>>, StoreError> {
    let Some(policy) = state.policy.quantity(quantity) else {
        return Ok(Some(Vec::new()));
    };
    if policy.k > 0 {
        return Ok(None);
    }
    let resolution = policy.finest;
    let mut until_ms = sensorhub_store::time::now_ms() - policy.delay_ms;
    if let Some(step) = resolution.step_ms() {
        // Whole intervals only, as in the history.
        until_ms = until_ms.div_euclid(step) * step;
    }
    let buckets = state
        .store
        .page(PageQuery {
            range: RangeQuery {
                station: public.id.clone(),
                quantity: quantity.to_owned(),
                since_ms: 0,
                until_ms,
                resolution,
            },
            newest_first,
            offset,
            limit,
        })
        .await?;
    Ok(Some(buckets.iter().map(point).collect()))
}

fn point(b: &sensorhub_store::Bucket) -> Point {
    Point {
        time: format_rfc3339(b.start_ms),
        mean: (b.mean * 1e4).round() / 1e4,
        min: b.min,
        max: b.max,
        count: b.count,
        sum: (b.sum * 1e4).round() / 1e4,
    }
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
            // 720 points: a sensor's day-to-day shape stays visible over a month.
            Range::Month => Resolution::Hour,
        }
    }
}
