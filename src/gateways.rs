//! Gateway entries on the command line: `sensorhub gateways add|list|import|export|remove`,
//! CSV (columns `gateway_id,name,lat,lon`) or JSON (an array of entries). `list` adds what the
//! uplinks show: when each gateway was last heard, and the uplinks and devices of the last
//! 24 hours.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sensorhub_store::{GatewayInfo, GatewaySeen};
use serde::Deserialize;

use crate::cli::{ImportFormat, ListFormat};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 4] = ["gateway_id", "name", "lat", "lon"];

#[derive(Deserialize)]
struct CsvRow {
    gateway_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
}

fn number(column: &str, t: &str) -> Result<Option<f64>> {
    let t = t.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.replace(',', ".")
        .parse()
        .map(Some)
        .with_context(|| format!("{column}: `{t}` is not a number"))
}

fn from_row(row: CsvRow) -> Result<GatewayInfo> {
    Ok(GatewayInfo {
        gateway_id: row.gateway_id,
        name: row.name,
        lat: number("lat", &row.lat)?,
        lon: number("lon", &row.lon)?,
    }
    .validate()?)
}

/// Reads entries from CSV (header row with at least `gateway_id`) or JSON; every problem is
/// reported with its line or index, and nothing is imported unless everything is valid.
pub fn read_file(path: &Path, format: Option<ImportFormat>) -> Result<Vec<GatewayInfo>> {
    crate::entries::read_file(
        path,
        format,
        &crate::entries::Kind {
            name: "gateway",
            key_column: "gateway_id",
            from_row,
            check: |g: GatewayInfo| Ok(g.validate()?),
            key: |g| &g.gateway_id,
        },
    )
}

/// Writes entries as CSV or JSON (for `export`), or as a table with what the uplinks show.
pub fn write(
    entries: &[GatewayInfo],
    seen: &[GatewaySeen],
    format: ListFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, entries)?;
            writeln!(out)?;
        }
        ListFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(CSV_COLUMNS)?;
            let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            for g in entries {
                writer.write_record([
                    g.gateway_id.clone(),
                    g.name.clone(),
                    num(g.lat),
                    num(g.lon),
                ])?;
            }
            writer.flush()?;
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<24} {:<24} {:<20} {:>8} {:>8}",
                "GATEWAY", "NAME", "LAST HEARD (UTC)", "UPLINKS", "DEVICES"
            )?;
            let mut ids: Vec<&str> = entries.iter().map(|g| g.gateway_id.as_str()).collect();
            ids.extend(seen.iter().map(|g| g.gateway_id.as_str()));
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                let entry = entries.iter().find(|g| g.gateway_id == id);
                let heard = seen.iter().find(|g| g.gateway_id == id);
                let last = heard.map_or("never".to_owned(), |g| {
                    sensorhub_store::time::format_rfc3339(g.last_seen_ms)[..16].replace('T', " ")
                });
                writeln!(
                    out,
                    "{:<24} {:<24} {:<20} {:>8} {:>8}",
                    id,
                    entry.map_or("", |g| g.name.as_str()),
                    last,
                    heard.map_or(0, |g| g.uplinks),
                    heard.map_or(0, |g| g.devices),
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
        let good = dir.path().join("gateways.csv");
        std::fs::write(
            &good,
            "gateway_id,name,lat,lon\n0016c001f153a14c,Hafen Wyk,\"54,6921\",8.5702\neui-9c5c8e00001a05c4,Kirche Nieblum,,\n",
        )
        .unwrap();
        let entries = read_file(&good, None).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].lat, Some(54.6921));
        let mut out = Vec::new();
        write(&entries, &[], ListFormat::Csv, &mut out).unwrap();
        let back = dir.path().join("back.csv");
        std::fs::write(&back, &out).unwrap();
        assert_eq!(read_file(&back, None).unwrap(), entries);

        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "gateway_id,name,lat,lon\ngw 1,x,,\nok-1,y,54,\nok-1,z,,\n",
        )
        .unwrap();
        let err = read_file(&bad, None).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("line 3"), "{err}");
        assert!(
            err.contains("ok-1 appears more than once") || err.contains("line 3"),
            "{err}"
        );
    }
}
