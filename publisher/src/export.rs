//! From the store to the files of a dataset: aggregated rows per month under the policy, a
//! rolling "latest" file, the stations as GeoJSON, and a Frictionless data package describing
//! the CSV files.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::sync::Arc;

use sensorhub_store::time::format_rfc3339;
use sensorhub_store::{Bucket, RangeQuery, Resolution, Store, StoreError, TimeSeries};
use serde_json::{json, Value};

use crate::dataset::{parse_day, DatasetConfig};
use crate::{PrivacyConfig, PublishError};
use sensorhub_policy::{feature_collection, pseudonym, Coordinates, Csv, GeoPoint, StationIds};

mod schema;
use schema::datapackage;
pub use schema::{columns_markdown, interval_de, table_schema};
mod spool;
pub use spool::{Content, Spool, Spooled, Unchecked};

/// One aggregated row: a station's quantity over one interval. The texts are shared between
/// the rows of a series (a year of hourly rows for 500 stations is millions of rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Start of the interval, ms since the epoch.
    pub time_ms: i64,
    pub station: Arc<str>,
    pub quantity: Arc<str>,
    pub unit: Arc<str>,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub count: u64,
    pub sum: Option<f64>,
}

/// An interval's values under the policy, without the texts of its series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cells {
    pub time_ms: i64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub count: u64,
    pub sum: Option<f64>,
}

impl Row {
    fn new(station: &Arc<str>, quantity: &Arc<str>, unit: &Arc<str>, c: Cells) -> Row {
        Row {
            time_ms: c.time_ms,
            station: station.clone(),
            quantity: quantity.clone(),
            unit: unit.clone(),
            mean: c.mean,
            min: c.min,
            max: c.max,
            count: c.count,
            sum: c.sum,
        }
    }

    fn cells(&self) -> Cells {
        Cells {
            time_ms: self.time_ms,
            mean: self.mean,
            min: self.min,
            max: self.max,
            count: self.count,
            sum: self.sum,
        }
    }
}

/// A published station.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStation {
    pub id: String,
    /// The station's name, published only beside its plain id.
    pub name: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

/// One month of a dataset: its label (`2026-10`) and how many rows its CSV has.
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub label: String,
    pub rows: usize,
}

/// Everything a dataset publishes, before it becomes files.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    /// The months collected so far, oldest first (their CSVs are files of their own).
    pub months: Vec<Month>,
    pub latest: Vec<Row>,
    pub stations: Vec<PublicStation>,
    /// Published ids of the stations, for the privacy check.
    pub station_ids: Vec<String>,
    /// Nothing at or after this instant is published (delay and whole intervals).
    pub cutoff_ms: i64,
    pub since_ms: i64,
    /// First and last interval start published.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub coordinates: Coordinates,
}

/// One file of a dataset.
#[derive(Debug, Clone)]
pub struct OutFile {
    pub name: String,
    /// CKAN resource format: CSV, GeoJSON, JSON.
    pub format: &'static str,
    pub mimetype: &'static str,
    pub description: String,
    pub content: Content,
    /// The month a monthly CSV holds.
    pub month: Option<String>,
}

/// The CSV columns with their Table Schema type and German and English descriptions.
pub const COLUMNS: [(&str, &str, &str, &str); 9] = [
    (
        "time",
        "datetime",
        "Beginn des Intervalls (ISO 8601, UTC)",
        "Start of the interval (ISO 8601, UTC)",
    ),
    (
        "station",
        "string",
        "Kennung der Messstation",
        "Identifier of the station",
    ),
    (
        "quantity",
        "string",
        "Messgröße (Vokabular von sensorhub)",
        "Quantity measured (sensorhub vocabulary)",
    ),
    ("unit", "string", "Einheit der Werte", "Unit of the values"),
    (
        "mean",
        "number",
        "Mittelwert im Intervall",
        "Mean over the interval",
    ),
    (
        "min",
        "number",
        "Kleinster Wert im Intervall",
        "Smallest value in the interval",
    ),
    (
        "max",
        "number",
        "Größter Wert im Intervall",
        "Largest value in the interval",
    ),
    (
        "count",
        "integer",
        "Anzahl der Messungen im Intervall",
        "Number of measurements in the interval",
    ),
    (
        "sum",
        "number",
        "Summe der Werte im Intervall (für Niederschlag und Zählungen)",
        "Sum of the values in the interval (for precipitation and counts)",
    ),
];

/// The columns a dataset's CSV files have.
pub fn columns(dataset: &DatasetConfig) -> Vec<&'static str> {
    let functions = dataset.function_columns();
    COLUMNS
        .iter()
        .map(|c| c.0)
        .filter(|c| ["time", "station", "quantity", "unit"].contains(c) || functions.contains(c))
        .collect()
}

/// Collects a dataset from the store at `now_ms` with the policy applied, a month at a time:
/// [`Collector::begin`] works out the stations and the window, [`Collector::next_month`]
/// reads and aggregates one month into its CSV, [`Collector::finish`] gives what the other
/// files and the metadata need.
pub struct Collector {
    collected: Collected,
    /// The published stations as the registry has them, with their published ids.
    registry: Vec<(String, Arc<str>)>,
    quantities: Vec<(String, Arc<str>, Arc<str>)>,
    resolution: Resolution,
    columns: Vec<&'static str>,
    k: f64,
    latest_from: i64,
    /// The next month to read.
    month_from: i64,
    /// That month's read, started while the month before was being written.
    reading: Option<Reading>,
    dataset_name: String,
}

/// A month's CSV goes to its file in pieces of about this many bytes.
const SPILL_BYTES: usize = 1 << 20;

/// A month being read from the store: its window and the answers to come.
struct Reading {
    from: i64,
    until: i64,
    answers: tokio::task::JoinHandle<Result<Vec<Vec<Bucket>>, StoreError>>,
}

impl Drop for Reading {
    /// A publication that stopped (a month failed its check, the caller gave up) reads no
    /// further month.
    fn drop(&mut self) {
        self.answers.abort();
    }
}

impl Collector {
    pub async fn begin(
        store: &Store,
        dataset: &DatasetConfig,
        privacy: &PrivacyConfig,
        now_ms: i64,
    ) -> Result<Collector, PublishError> {
        let resolution = dataset.interval;
        let delay = dataset.privacy.delay.as_ms_i64();
        let cutoff_ms = match resolution.step_ms() {
            Some(step) => (now_ms - delay).div_euclid(step) * step,
            None => now_ms - delay,
        };
        let since_ms = match &dataset.since {
            Some(day) => parse_day(day)
                .ok_or_else(|| PublishError::Config(format!("{}: bad since", dataset.name)))?,
            None => month_start(cutoff_ms, -12),
        };
        let key = match dataset.privacy.station_ids {
            StationIds::Public => None,
            StationIds::Hmac => Some(
                std::env::var(&dataset.privacy.hmac_key_env)
                    .map_err(|_| {
                        PublishError::Config(format!(
                            "{}: the pseudonym key `{}` is not set",
                            dataset.name, dataset.privacy.hmac_key_env
                        ))
                    })?
                    .into_bytes(),
            ),
        };
        let published_id = |id: &str| match &key {
            Some(key) => pseudonym(key, id),
            None => id.to_owned(),
        };
        let coordinates = Coordinates::resolve(&dataset.privacy, privacy);
        let registry: Vec<_> = store
            .state()
            .stations()
            .await?
            .into_iter()
            .filter(|s| s.public && dataset.publishes_station(&s.id))
            .collect();
        let stations: Vec<PublicStation> = registry
            .iter()
            .filter_map(|s| {
                let (lat, lon) = coordinates.apply(s.lat?, s.lon?);
                let name = s.info.name.trim();
                Some(PublicStation {
                    id: published_id(&s.id),
                    name: (key.is_none() && !name.is_empty()).then(|| name.to_owned()),
                    lat,
                    lon,
                })
            })
            .collect();
        // Each published id (an HMAC in pseudonym mode) is worked out once, not once a row.
        let registry: Vec<(String, Arc<str>)> = registry
            .into_iter()
            .map(|s| {
                let id = Arc::from(published_id(&s.id));
                (s.id, id)
            })
            .collect();
        let mut quantities: Vec<(String, Arc<str>, Arc<str>)> = dataset
            .quantities
            .iter()
            .map(|q| {
                let unit = sensorhub_core::Quantity::by_name(q).map_or("", |q| q.unit);
                (q.clone(), Arc::from(q.as_str()), Arc::from(unit))
            })
            .collect();
        // Read in the order the files list them (station, then quantity), so that a month's
        // rows need only a stable sort by time.
        let mut registry = registry;
        registry.sort_by(|a, b| a.1.cmp(&b.1));
        quantities.sort_by(|a, b| a.1.cmp(&b.1));
        let mut station_ids: Vec<String> = registry.iter().map(|(_, id)| id.to_string()).collect();
        station_ids.sort();
        Ok(Collector {
            collected: Collected {
                months: Vec::new(),
                latest: Vec::new(),
                stations,
                station_ids,
                cutoff_ms,
                since_ms,
                first_ms: None,
                last_ms: None,
                coordinates,
            },
            registry,
            quantities,
            resolution,
            columns: columns(dataset),
            k: f64::from(dataset.privacy.k),
            latest_from: cutoff_ms - i64::from(dataset.latest_days) * 86_400_000,
            month_from: since_ms,
            reading: None,
            dataset_name: dataset.name.clone(),
        })
    }

    /// What is known before the months are read: the stations, the window, the coordinates.
    pub fn collected(&self) -> &Collected {
        &self.collected
    }

    /// The next month that has rows, as its label and CSV; `None` after the last.
    pub async fn next_month(
        &mut self,
        store: &Store,
        spool: &Spool,
    ) -> Result<Option<(String, Unchecked)>, PublishError> {
        loop {
            let Some(mut reading) = self.reading.take().or_else(|| self.read_next(store)) else {
                return Ok(None);
            };
            // The store reads the month after while this one is turned into text.
            self.reading = self.read_next(store);
            let answers = (&mut reading.answers)
                .await
                .map_err(|e| StoreError::Worker(e.to_string()))??;
            let label = month_label(reading.from);
            let name = month_file_name(&self.dataset_name, &label);
            if let Some(csv) = self.month_csv(reading.from, reading.until, answers, spool, &name)? {
                return Ok(Some((label, csv)));
            }
        }
    }

    /// Starts reading the next month of every series; `None` past the cut-off.
    fn read_next(&mut self, store: &Store) -> Option<Reading> {
        let from = self.month_from;
        if from >= self.collected.cutoff_ms {
            return None;
        }
        let until = month_start(from, 1).min(self.collected.cutoff_ms);
        self.month_from = month_start(from, 1);
        let mut queries = Vec::with_capacity(self.registry.len() * self.quantities.len());
        for (station, _) in &self.registry {
            for (quantity, ..) in &self.quantities {
                queries.push(RangeQuery {
                    station: station.clone(),
                    quantity: quantity.clone(),
                    since_ms: from,
                    until_ms: until,
                    resolution: self.resolution,
                });
            }
        }
        let store = store.clone();
        Some(Reading {
            from,
            until,
            answers: tokio::spawn(async move { store.ranges(queries).await }),
        })
    }

    /// The CSV of one month from its series' buckets (in registry order, each oldest first),
    /// written into the spool as `name`, or `None` when it has no rows.
    fn month_csv(
        &mut self,
        from: i64,
        until: i64,
        answers: Vec<Vec<Bucket>>,
        spool: &Spool,
        name: &str,
    ) -> Result<Option<Unchecked>, PublishError> {
        let k = self.k;
        let per_quantity = self.quantities.len().max(1);
        // Each series' intervals under the policy: the station's index, the quantity's, cells.
        let series: Vec<(usize, usize, Vec<Cells>)> = answers
            .into_iter()
            .enumerate()
            .map(|(i, buckets)| {
                let (s, q) = (i / per_quantity, i % per_quantity);
                let people = sensorhub_policy::is_people_count(&self.quantities[q].0);
                let suppress = |v: f64| -> Option<f64> {
                    let small = people && v > 0.0 && v < k;
                    (!small).then_some(v)
                };
                let cells = buckets
                    .into_iter()
                    .filter(|b| b.start_ms >= from && b.start_ms < until)
                    .map(|b| Cells {
                        time_ms: b.start_ms,
                        mean: suppress(round(b.mean)),
                        min: suppress(b.min),
                        max: suppress(b.max),
                        count: b.count,
                        sum: suppress(round(b.sum)),
                    })
                    .collect();
                (s, q, cells)
            })
            .collect();
        let total: usize = series.iter().map(|(.., cells)| cells.len()).sum();
        if total == 0 {
            return Ok(None);
        }
        let mut out = spool.create(name)?;
        // The series merged by time; among rows of one time, in series order (station, then
        // quantity), as the files have always listed them.
        let mut heap: BinaryHeap<Reverse<(i64, usize)>> = series
            .iter()
            .enumerate()
            .filter_map(|(i, (.., cells))| Some(Reverse((cells.first()?.time_ms, i))))
            .collect();
        let mut next = vec![0usize; series.len()];
        let mut writer = RowWriter::new(&self.columns, SPILL_BYTES + 4096);
        let c = &mut self.collected;
        while let Some(Reverse((time_ms, i))) = heap.pop() {
            let (s, q, cells) = &series[i];
            let cell = cells[next[i]];
            next[i] += 1;
            if let Some(after) = cells.get(next[i]) {
                heap.push(Reverse((after.time_ms, i)));
            }
            let station = &self.registry[*s].1;
            let (_, quantity, unit) = &self.quantities[*q];
            writer.row([station, quantity, unit], &cell);
            if writer.csv.len() >= SPILL_BYTES {
                writer.csv.flush(|bytes| out.write(bytes))?;
            }
            c.first_ms = Some(c.first_ms.map_or(time_ms, |f| f.min(time_ms)));
            c.last_ms = Some(c.last_ms.map_or(time_ms, |l| l.max(time_ms)));
            if time_ms >= self.latest_from {
                c.latest.push(Row::new(station, quantity, unit, cell));
            }
        }
        c.months.push(Month {
            label: month_label(from),
            rows: total,
        });
        writer.csv.flush(|bytes| out.write(bytes))?;
        Ok(Some(out))
    }

    /// Everything collected, once [`Collector::next_month`] said there is no more.
    pub fn finish(self) -> Collected {
        self.collected
    }
}

/// Four decimals are beyond any sensor's accuracy and keep means readable.
fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// The start of the month `offset` months from the one holding `ms` (UTC).
pub fn month_start(ms: i64, offset: i32) -> i64 {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let months = t.year() * 12 + i32::from(u8::from(t.month())) - 1 + offset;
    let (year, month) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let month = time::Month::try_from(month as u8).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(year, month, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .unwrap_or(0)
}

fn month_label(ms: i64) -> String {
    format_rfc3339(ms)[..7].to_owned()
}

/// The CSV of `rows` with the dataset's columns: UTF-8, a header, RFC 4180 quoting, empty
/// fields for suppressed values.
pub fn csv_bytes(rows: &[Row], columns: &[&str]) -> Vec<u8> {
    let mut writer = RowWriter::new(columns, 64 * (rows.len() + 1));
    for row in rows {
        writer.row([&row.station, &row.quantity, &row.unit], &row.cells());
    }
    writer.finish()
}

/// A column of the published CSV.
#[derive(Debug, Clone, Copy)]
enum Column {
    Time,
    Station,
    Quantity,
    Unit,
    Mean,
    Min,
    Max,
    Count,
    Sum,
    Unknown,
}

impl Column {
    fn of(name: &str) -> Column {
        match name {
            "time" => Column::Time,
            "station" => Column::Station,
            "quantity" => Column::Quantity,
            "unit" => Column::Unit,
            "mean" => Column::Mean,
            "min" => Column::Min,
            "max" => Column::Max,
            "count" => Column::Count,
            "sum" => Column::Sum,
            _ => Column::Unknown,
        }
    }
}

/// Writes rows in time order as the published CSV (the one way a row becomes text): each
/// time is formatted once for all the rows that share it.
struct RowWriter {
    csv: Csv,
    columns: Vec<Column>,
    time: (i64, String),
}

impl RowWriter {
    fn new(columns: &[&str], capacity: usize) -> RowWriter {
        RowWriter {
            csv: Csv::with_capacity(columns, capacity),
            columns: columns.iter().map(|c| Column::of(c)).collect(),
            time: (i64::MIN, String::new()),
        }
    }

    /// One row: station, quantity and unit, then the interval's values.
    fn row(&mut self, [station, quantity, unit]: [&str; 3], cells: &Cells) {
        if cells.time_ms != self.time.0 {
            self.time = (cells.time_ms, format_rfc3339_seconds(cells.time_ms));
        }
        let csv = &mut self.csv;
        for column in &self.columns {
            match column {
                Column::Time => csv.value(&self.time.1),
                Column::Station => csv.text(station),
                Column::Quantity => csv.text(quantity),
                Column::Unit => csv.text(unit),
                Column::Mean => csv.number(cells.mean),
                Column::Min => csv.number(cells.min),
                Column::Max => csv.number(cells.max),
                Column::Count => csv.value(cells.count),
                Column::Sum => csv.number(cells.sum),
                Column::Unknown => csv.value(""),
            };
        }
        csv.end_row();
    }

    fn finish(self) -> Vec<u8> {
        self.csv.into_string().into_bytes()
    }
}

/// `2026-11-22T10:00:00Z`: whole seconds, as Table Schema's default datetime format wants.
pub fn format_rfc3339_seconds(ms: i64) -> String {
    let full = format_rfc3339(ms);
    match full.find('.') {
        Some(dot) => format!("{}Z", &full[..dot]),
        None => full,
    }
}

/// Reads rows back from a CSV this module wrote (any subset of the columns): what a consumer
/// of the file sees, and what the DataStore receives.
pub fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let at = |name: &str| header.iter().position(|h| h == name);
    let (time, station, quantity, unit) = (at("time"), at("station"), at("quantity"), at("unit"));
    let (mean, min, max, count) = (at("mean"), at("min"), at("max"), at("count"));
    let sum = at("sum");
    let mut texts: BTreeMap<String, Arc<str>> = BTreeMap::new();
    let mut shared = |text: &str| -> Arc<str> {
        texts
            .entry(text.to_owned())
            .or_insert_with(|| Arc::from(text))
            .clone()
    };
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| e.to_string())?;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let number = |i: Option<usize>| -> Result<Option<f64>, String> {
            match field(i) {
                "" => Ok(None),
                t => t
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("line {}: `{t}` is not a number", line + 2)),
            }
        };
        rows.push(Row {
            time_ms: sensorhub_store::time::parse_rfc3339(field(time))
                .ok_or_else(|| format!("line {}: bad time", line + 2))?,
            station: shared(field(station)),
            quantity: shared(field(quantity)),
            unit: shared(field(unit)),
            mean: number(mean)?,
            min: number(min)?,
            max: number(max)?,
            count: match field(count) {
                "" => 0,
                t => t
                    .parse()
                    .map_err(|_| format!("line {}: bad count", line + 2))?,
            },
            sum: number(sum)?,
        });
    }
    Ok(rows)
}

pub use sensorhub_policy::csv_text;

/// The stations as a GeoJSON FeatureCollection (RFC 7946: longitude first).
pub fn geojson_bytes(stations: &[PublicStation]) -> Vec<u8> {
    let points = stations.iter().map(|s| GeoPoint {
        id: None,
        lat: s.lat,
        lon: s.lon,
        properties: {
            let mut p = station_property(&s.id);
            if let Some(name) = &s.name {
                p.insert("name".into(), Value::String(name.clone()));
            }
            p
        },
    });
    serde_json::to_vec_pretty(&feature_collection(points)).unwrap_or_default()
}

/// `{"station": id}`, the properties of a station in the published GeoJSON.
pub fn station_property(id: &str) -> serde_json::Map<String, Value> {
    let mut properties = serde_json::Map::new();
    properties.insert("station".into(), Value::String(id.to_owned()));
    properties
}

fn month_file_name(dataset: &str, month: &str) -> String {
    format!("{dataset}-{month}.csv")
}

/// A month's CSV as a file of the dataset, its content to come from the spool once checked.
pub fn month_file(dataset: &DatasetConfig, month: &str) -> OutFile {
    OutFile {
        name: month_file_name(&dataset.name, month),
        format: "CSV",
        mimetype: "text/csv",
        description: format!(
            "Messwerte {month}, {} je Intervall von {} (UTC). / Readings of {month}.",
            dataset.function_columns().join(", "),
            dataset.interval.name()
        ),
        content: Content::Memory(Vec::new()),
        month: Some(month.to_owned()),
    }
}

/// The rolling CSV of the last `latest_days`.
pub fn latest_file(dataset: &DatasetConfig, collected: &Collected) -> OutFile {
    OutFile {
        name: format!("{}-latest.csv", dataset.name),
        format: "CSV",
        mimetype: "text/csv",
        description: format!(
            "Die letzten {} Tage, laufend aktualisiert. / The last {} days, kept current.",
            dataset.latest_days, dataset.latest_days
        ),
        content: Content::Memory(csv_bytes(&collected.latest, &columns(dataset))),
        month: None,
    }
}

/// The files of a dataset: the monthly CSVs (`months`, oldest first), the rolling latest CSV
/// ([`latest_file`]), the stations and the Frictionless data package that describes the CSVs.
pub fn files(
    dataset: &DatasetConfig,
    collected: &Collected,
    months: Vec<OutFile>,
    latest: OutFile,
) -> Vec<OutFile> {
    let mut files = months;
    files.push(latest);
    files.push(OutFile {
        name: format!("{}-stations.geojson", dataset.name),
        format: "GeoJSON",
        mimetype: "application/geo+json",
        description: "Messstationen (Lage nach Anonymisierungsregel). / Stations.".into(),
        content: Content::Memory(geojson_bytes(&collected.stations)),
        month: None,
    });
    let package = datapackage(dataset, &files);
    files.push(OutFile {
        name: "datapackage.json".into(),
        format: "JSON",
        mimetype: "application/json",
        description: "Frictionless Data Package mit Table Schema der CSV-Dateien. / Table Schema."
            .into(),
        content: Content::Memory(serde_json::to_vec_pretty(&package).unwrap_or_default()),
        month: None,
    });
    files
}

#[cfg(test)]
mod tests;
