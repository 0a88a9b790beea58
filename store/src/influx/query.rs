//! InfluxQL statements and the parsing of their answers.

use super::Series;
use crate::{PageQuery, RangeQuery, Reading, ReadingQuery, Resolution};

/// A string literal in single quotes.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A double-quoted identifier.
pub fn identifier(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

pub fn number(row: &[serde_json::Value], index: usize) -> Option<i64> {
    row.get(index)?.as_f64().map(|v| v as i64)
}

pub fn float(row: &[serde_json::Value], index: usize) -> Option<f64> {
    row.get(index)?.as_f64()
}

pub fn range(q: &RangeQuery) -> String {
    let (since, until) = q.aligned();
    let filter = format!(
        "station = {} AND quantity = {} AND time >= {since}ms AND time < {until}ms",
        literal(&q.station),
        literal(&q.quantity)
    );
    match q.resolution {
        Resolution::Raw => format!("SELECT value FROM reading WHERE {filter}"),
        r => format!(
            "SELECT mean(value), min(value), max(value), count(value), sum(value) FROM reading WHERE {filter} \
             GROUP BY time({}) fill(none)",
            r.name()
        ),
    }
}

/// A range statement ordered and cut: `ORDER BY time DESC`, `LIMIT`, `OFFSET`.
pub fn page(q: &PageQuery) -> String {
    format!(
        "{}{} LIMIT {} OFFSET {}",
        range(&q.range),
        if q.newest_first {
            " ORDER BY time DESC"
        } else {
            ""
        },
        q.limit,
        q.offset
    )
}

fn conditions(q: &ReadingQuery) -> String {
    let mut parts = Vec::new();
    if !q.stations.is_empty() {
        let any: Vec<_> = q
            .stations
            .iter()
            .map(|s| format!("station = {}", literal(s)))
            .collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    if let Some(quantity) = &q.quantity {
        parts.push(format!("quantity = {}", literal(quantity)));
    }
    if let Some(since) = q.since_ms {
        parts.push(format!("time >= {since}ms"));
    }
    if let Some(until) = q.until_ms {
        parts.push(format!("time < {until}ms"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    }
}

pub fn readings(q: &ReadingQuery) -> String {
    format!(
        "SELECT value FROM reading{} GROUP BY station, quantity, unit",
        conditions(q)
    )
}

pub fn export(q: &ReadingQuery) -> String {
    readings(q)
}

/// Readings of `GROUP BY station, quantity, unit` answers.
pub fn readings_of(series: Vec<Series>) -> Vec<Reading> {
    let mut out = Vec::new();
    for s in series {
        let tag = |k: &str| s.tags.get(k).cloned().unwrap_or_default();
        let (station, quantity, unit) = (tag("station"), tag("quantity"), tag("unit"));
        for row in &s.values {
            if let (Some(time_ms), Some(value)) = (number(row, 0), float(row, 1)) {
                out.push(Reading {
                    station: station.clone(),
                    quantity: quantity.clone(),
                    unit: unit.clone(),
                    time_ms,
                    value,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(literal("o'brien"), "'o\\'brien'");
    }

    #[test]
    fn aggregated_ranges_are_aligned_and_grouped() {
        let q = RangeQuery {
            station: "s".into(),
            quantity: "q".into(),
            since_ms: 3_600_001,
            until_ms: 7_200_001,
            resolution: Resolution::Hour,
        };
        assert_eq!(
            range(&q),
            "SELECT mean(value), min(value), max(value), count(value), sum(value) FROM reading WHERE \
             station = 's' AND quantity = 'q' AND time >= 3600000ms AND time < 10800000ms \
             GROUP BY time(1h) fill(none)"
        );
    }
}
