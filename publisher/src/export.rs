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
mod collector;
pub use collector::Collector;

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
