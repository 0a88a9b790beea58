//! The InfluxDB backend, for production deployments that already run InfluxDB.
//!
//! Schema: measurement `reading`, tags `station`, `quantity` and `unit`, one field `value`,
//! always a float (an integer field would conflict with later floats, a known trouble of
//! ChirpStack's own InfluxDB integration), timestamps in milliseconds. Writing the same
//! series and timestamp again overwrites the point: last write wins, as in SQLite.
//!
//! Writes go to `/write` (InfluxDB 1.x, `api = "v1"`) or through the `influxdb2` client to
//! `/api/v2/write` (InfluxDB 2.x and 3.x, `api = "v2"`). Reads use InfluxQL on `/query`, which
//! 1.x, 2.x (v1-compatible API, with a DBRP mapping for the bucket) and 3.x all answer.

mod line;
mod query;

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

use crate::config::{InfluxApi, StoreConfig};
use crate::{
    Bucket, LatestValue, PageQuery, RangeQuery, Reading, ReadingQuery, SeriesStart, StoreError,
};

/// Handle to an InfluxDB server; cheap to clone.
#[derive(Clone)]
pub struct InfluxStore {
    http: reqwest::Client,
    base: String,
    api: InfluxApi,
    database: String,
    org: String,
    bucket: String,
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
    /// The v2 write client, for `api = "v2"`.
    v2: Option<influxdb2::Client>,
}

/// InfluxQL answers of `/query`.
#[derive(Deserialize)]
struct QueryResponse {
    #[serde(default)]
    results: Vec<StatementResult>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct StatementResult {
    #[serde(default)]
    series: Vec<Series>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    columns: Vec<String>,
    #[serde(default)]
    values: Vec<Vec<serde_json::Value>>,
}

fn influx_error(operation: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Influx {
        operation,
        detail: detail.to_string(),
    }
}

impl InfluxStore {
    pub fn new(config: &StoreConfig) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| influx_error("connect", e))?;
        let base = config.url.trim_end_matches('/').to_owned();
        let v2 = (config.api == InfluxApi::V2).then(|| {
            influxdb2::Client::new(
                base.clone(),
                config.org.clone(),
                config.token.clone().unwrap_or_default(),
            )
        });
        Ok(InfluxStore {
            http,
            base,
            api: config.api,
            database: config.database.clone(),
            org: config.org.clone(),
            bucket: config.bucket.clone(),
            token: config.token.clone(),
            user: config.user.clone(),
            password: config.password.clone(),
            v2,
        })
    }

    fn authorise(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(token) = &self.token {
            request.header("Authorization", format!("Token {token}"))
        } else if let Some(user) = &self.user {
            request.basic_auth(user, self.password.as_deref())
        } else {
            request
        }
    }

    /// Writes readings; non-finite values cannot be stored in InfluxDB and are refused.
    pub async fn write(&self, readings: &[Reading]) -> Result<(), StoreError> {
        if readings.is_empty() {
            return Ok(());
        }
        let body = line::encode(readings)?;
        match (&self.v2, self.api) {
            (Some(client), InfluxApi::V2) => client
                .write_line_protocol_with_precision(
                    &self.org,
                    &self.bucket,
                    body,
                    influxdb2::api::write::TimestampPrecision::Milliseconds,
                )
                .await
                .map_err(|e| match e {
                    influxdb2::RequestError::Http { status, text }
                        if matches!(status.as_u16(), 400 | 413 | 422) =>
                    {
                        StoreError::InfluxRefused {
                            operation: "write (v2)",
                            detail: format!("{status}: {}", text.trim()),
                        }
                    }
                    other => influx_error("write (v2)", other),
                }),
            _ => {
                let request = self
                    .http
                    .post(format!("{}/write", self.base))
                    .query(&[("db", self.database.as_str()), ("precision", "ms")])
                    .body(body);
                let response = self
                    .authorise(request)
                    .send()
                    .await
                    .map_err(|e| influx_error("write", e))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    let detail = format!("{status}: {}", text.trim());
                    if matches!(status.as_u16(), 400 | 413 | 422) {
                        Err(StoreError::InfluxRefused {
                            operation: "write",
                            detail,
                        })
                    } else {
                        Err(influx_error("write", detail))
                    }
                }
            }
        }
    }

    /// Runs one InfluxQL statement and returns its series.
    async fn query(&self, operation: &'static str, q: &str) -> Result<Vec<Series>, StoreError> {
        let request = self.http.post(format!("{}/query", self.base)).form(&[
            ("db", self.database.as_str()),
            ("epoch", "ms"),
            ("q", q),
        ]);
        let response = self
            .authorise(request)
            .send()
            .await
            .map_err(|e| influx_error(operation, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| influx_error(operation, e))?;
        let parsed: QueryResponse = serde_json::from_str(&text)
            .map_err(|_| influx_error(operation, format!("{status}: {}", text.trim())))?;
        if let Some(error) = parsed.error {
            return Err(influx_error(operation, error));
        }
        let mut series = Vec::new();
        for result in parsed.results {
            if let Some(error) = result.error {
                return Err(influx_error(operation, error));
            }
            series.extend(result.series);
        }
        Ok(series)
    }

    /// Whether the server answers `/ping`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let response = self
            .authorise(self.http.get(format!("{}/ping", self.base)))
            .send()
            .await
            .map_err(|e| influx_error("ping", e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(influx_error("ping", response.status()))
        }
    }

    /// Creates the database (1.x only; 2.x and 3.x buckets are created by their admins).
    pub async fn create_database(&self) -> Result<(), StoreError> {
        let q = format!("CREATE DATABASE {}", query::identifier(&self.database));
        self.query("create database", &q).await.map(|_| ())
    }

    pub async fn latest(&self) -> Result<Vec<LatestValue>, StoreError> {
        let series = self
            .query(
                "latest values",
                "SELECT last(value) FROM reading GROUP BY station, quantity, unit",
            )
            .await?;
        let mut latest = Vec::new();
        for s in series {
            for row in &s.values {
                let (Some(time_ms), Some(value)) = (query::number(row, 0), query::float(row, 1))
                else {
                    continue;
                };
                latest.push(LatestValue {
                    station: s.tags.get("station").cloned().unwrap_or_default(),
                    quantity: s.tags.get("quantity").cloned().unwrap_or_default(),
                    unit: s.tags.get("unit").cloned().unwrap_or_default(),
                    time_ms,
                    value,
                });
            }
        }
        latest.sort_by(|a, b| (&a.station, &a.quantity).cmp(&(&b.station, &b.quantity)));
        Ok(latest)
    }

    pub async fn range(&self, q: &RangeQuery) -> Result<Vec<Bucket>, StoreError> {
        let mut buckets = self.buckets(&query::range(q)).await?;
        buckets.sort_by_key(|b| b.start_ms);
        Ok(buckets)
    }

    /// One page of a series: InfluxQL orders and cuts it (`ORDER BY time DESC LIMIT OFFSET`).
    pub async fn page(&self, q: &PageQuery) -> Result<Vec<Bucket>, StoreError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let mut buckets = self.buckets(&query::page(q)).await?;
        if q.newest_first {
            buckets.sort_by_key(|b| std::cmp::Reverse(b.start_ms));
        } else {
            buckets.sort_by_key(|b| b.start_ms);
        }
        Ok(buckets)
    }

    /// When every series begins: its first reading.
    pub async fn starts(&self) -> Result<Vec<SeriesStart>, StoreError> {
        let series = self
            .query(
                "series starts",
                "SELECT first(value) FROM reading GROUP BY station, quantity",
            )
            .await?;
        let mut starts: Vec<SeriesStart> = series
            .iter()
            .flat_map(|s| {
                s.values.iter().filter_map(|row| {
                    Some(SeriesStart {
                        station: s.tags.get("station")?.clone(),
                        quantity: s.tags.get("quantity")?.clone(),
                        time_ms: query::number(row, 0)?,
                    })
                })
            })
            .collect();
        starts.sort_by(|a, b| (&a.station, &a.quantity).cmp(&(&b.station, &b.quantity)));
        Ok(starts)
    }

    /// The buckets an InfluxQL range or page statement answers, in its order.
    async fn buckets(&self, statement: &str) -> Result<Vec<Bucket>, StoreError> {
        let series = self.query("range query", statement).await?;
        let mut buckets = Vec::new();
        for s in series {
            let raw = s.columns.len() == 2;
            for row in &s.values {
                let Some(start_ms) = query::number(row, 0) else {
                    continue;
                };
                let bucket = if raw {
                    query::float(row, 1).map(|v| Bucket {
                        start_ms,
                        mean: v,
                        min: v,
                        max: v,
                        count: 1,
                        sum: v,
                    })
                } else {
                    match (
                        query::float(row, 1),
                        query::float(row, 2),
                        query::float(row, 3),
                        query::number(row, 4),
                        query::float(row, 5),
                    ) {
                        (Some(mean), Some(min), Some(max), Some(count), Some(sum)) if count > 0 => {
                            Some(Bucket {
                                start_ms,
                                mean,
                                min,
                                max,
                                count: count as u64,
                                sum,
                            })
                        }
                        _ => None,
                    }
                };
                buckets.extend(bucket);
            }
        }
        Ok(buckets)
    }

    pub async fn readings(&self, q: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        let series = self.query("read readings", &query::readings(q)).await?;
        let mut readings = query::readings_of(series);
        readings.sort_by(|a, b| {
            (a.time_ms, &a.station, &a.quantity).cmp(&(b.time_ms, &b.station, &b.quantity))
        });
        if let Some(limit) = q.limit {
            readings.truncate(limit);
        }
        Ok(readings)
    }

    /// Every reading of the window in chunks of up to `chunk`, one hour of the window at a
    /// time, ordered by series within each hour.
    pub fn export(
        &self,
        since_ms: i64,
        until_ms: i64,
        chunk: usize,
    ) -> mpsc::Receiver<Result<Vec<Reading>, StoreError>> {
        const SLICE_MS: i64 = 3_600_000;
        let (tx, rx) = mpsc::channel(4);
        let store = self.clone();
        let chunk = chunk.max(1);
        tokio::spawn(async move {
            let mut start = since_ms;
            while start < until_ms {
                let end = (start + SLICE_MS).min(until_ms);
                let q = ReadingQuery {
                    since_ms: Some(start),
                    until_ms: Some(end),
                    ..ReadingQuery::default()
                };
                let series = match store.query("export", &query::export(&q)).await {
                    Ok(series) => series,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for part in query::readings_of(series).chunks(chunk) {
                    if tx.send(Ok(part.to_vec())).await.is_err() {
                        return;
                    }
                }
                start = end;
            }
        });
        rx
    }

    /// Deletes readings older than `cutoff_ms` (InfluxQL `DELETE`, which 1.x answers; on 2.x
    /// and 3.x set the bucket's retention period instead).
    pub async fn retain(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.query(
            "retention",
            &format!("DELETE FROM reading WHERE time < {cutoff_ms}ms"),
        )
        .await?;
        // InfluxDB does not say how many points a DELETE removed.
        Ok(0)
    }
}
