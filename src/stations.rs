//! Station entries on the command line: `sensorhub stations add|list|import|export|remove`,
//! CSV (columns `station,name,name_en,description,description_en,theme,lat,lon`, and for a
//! gauge `datum,sensor_height_m`, and `levels` as `QUANTITY>VALUE=WORD/WORD_EN` separated by
//! `;`) or JSON (an array of entries).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sensorhub_store::{Gauge, StationInfo};
use serde::Deserialize;

use crate::cli::{ImportFormat, ListFormat};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "station",
    "name",
    "name_en",
    "description",
    "description_en",
    "theme",
    "lat",
    "lon",
    "datum",
    "sensor_height_m",
    "levels",
];

#[derive(Deserialize)]
struct CsvRow {
    station: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    description_en: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    datum: String,
    #[serde(default)]
    sensor_height_m: String,
    #[serde(default)]
    levels: String,
}

fn text(t: &str) -> Option<String> {
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn number(column: &str, t: &str) -> Result<Option<f64>> {
    match text(t) {
        None => Ok(None),
        Some(t) => t
            .replace(',', ".")
            .parse()
            .map(Some)
            .with_context(|| format!("{column}: `{t}` is not a number")),
    }
}

fn from_row(row: CsvRow) -> Result<StationInfo> {
    let info = StationInfo {
        station: row.station.trim().to_owned(),
        name: row.name.trim().to_owned(),
        name_en: text(&row.name_en),
        description: row.description.trim().to_owned(),
        description_en: text(&row.description_en),
        theme: text(&row.theme).map(|t| t.parse()).transpose()?,
        lat: number("lat", &row.lat)?,
        lon: number("lon", &row.lon)?,
        gauge: Gauge::from_parts(
            text(&row.datum),
            number("sensor_height_m", &row.sensor_height_m)?,
        )?,
        levels: row
            .levels
            .split(';')
            .filter(|l| !l.trim().is_empty())
            .map(sensorhub_store::Level::parse)
            .collect::<Result<_, _>>()?,
    };
    Ok(info.validate()?)
}

/// Reads entries from CSV (header row with at least `station`) or JSON; every problem is
/// reported with its line or index, and nothing is imported unless everything is valid.
pub fn read_file(path: &Path, format: Option<ImportFormat>) -> Result<Vec<StationInfo>> {
    crate::entries::read_file(
        path,
        format,
        &crate::entries::Kind {
            name: "station",
            key_column: "station",
            from_row,
            check: |s: StationInfo| Ok(s.validate()?),
            key: |s| &s.station,
        },
    )
}

/// Writes entries as CSV, JSON or a table.
pub fn write(entries: &[StationInfo], format: ListFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, entries)?;
            writeln!(out)?;
        }
        ListFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(CSV_COLUMNS)?;
            let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            for s in entries {
                writer.write_record([
                    s.station.clone(),
                    s.name.clone(),
                    s.name_en.clone().unwrap_or_default(),
                    s.description.clone(),
                    s.description_en.clone().unwrap_or_default(),
                    s.theme.map(|t| t.to_string()).unwrap_or_default(),
                    num(s.lat),
                    num(s.lon),
                    s.gauge
                        .as_ref()
                        .map(|g| g.datum.clone())
                        .unwrap_or_default(),
                    num(s.gauge.as_ref().map(|g| g.sensor_height_m)),
                    s.levels
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                ])?;
            }
            writer.flush()?;
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<24}  {:<10}  {:<8}  name",
                "station", "theme", "datum"
            )?;
            for s in entries {
                writeln!(
                    out,
                    "{:<24}  {:<10}  {:<8}  {}",
                    s.station,
                    s.theme.map(|t| t.to_string()).unwrap_or_default(),
                    s.gauge.as_ref().map_or("", |g| g.datum.as_str()),
                    crate::readings::printable(&s.name)
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_mistakes_are_named_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stations.csv");
        std::fs::write(
            &path,
            "station,name,name_en,description,description_en,theme,lat,lon,datum,sensor_height_m,levels\n\
             pegel-wyk,\"Pegel Wyk, Hafen\",Wyk tide gauge,Am Fähranleger,,wasser,54.6926,8.5718,NHN,6.5,water_level>2.5=erhöht/elevated;water_level>3.5=Sturmflut/storm surge\n\
             strand-nord,Strand Nord,,,,visitors,,,,,\n",
        )
        .unwrap();
        let entries = read_file(&path, None).unwrap();
        assert_eq!(entries[0].name, "Pegel Wyk, Hafen");
        assert_eq!(entries[0].gauge.as_ref().unwrap().sensor_height_m, 6.5);
        assert_eq!(entries[1].theme, Some(sensorhub_store::Theme::Visitors));
        let (rank, level) = entries[0].level_of("water_level", 3.6).unwrap();
        assert_eq!((rank, level.label_en.as_str()), (2, "storm surge"));
        assert!(entries[0].level_of("water_level", 2.4).is_none());
        let mut out = Vec::new();
        write(&entries, ListFormat::Csv, &mut out).unwrap();
        std::fs::write(&path, &out).unwrap();
        assert_eq!(read_file(&path, None).unwrap(), entries);

        std::fs::write(
            &path,
            "station,theme,lat,lon,datum\nPegel Wyk,wasser,,,\nok-1,sea,,,\nok-2,,54,,\nok-3,,,,NHN\n",
        )
        .unwrap();
        let err = format!("{:#}", read_file(&path, None).unwrap_err());
        for line in ["line 2", "line 3", "line 4", "line 5"] {
            assert!(err.contains(line), "{line} missing from: {err}");
        }
    }
}
