//! `sensorhub readings` and `sensorhub dead-letters`: what the store holds, for people and
//! scripts. JSON output is one object a line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Args;
use sensorhub_store::time::{format_rfc3339, now_ms, parse_rfc3339};
use sensorhub_store::{ReadingQuery, SqliteStore, Store, TimeSeries};

use crate::config::Config;

#[derive(Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["device", "station"]))]
pub struct ReadingsArgs {
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// Readings of the station this device reports under (DevEUI, 16 hex digits).
    #[arg(long)]
    device: Option<String>,
    /// Readings of a station (public station id).
    #[arg(long)]
    station: Option<String>,
    /// Only this quantity, e.g. air_temperature.
    #[arg(long)]
    quantity: Option<String>,
    /// From this time on: RFC 3339 (2024-05-01T00:00:00Z), a date (2024-05-01), or an age (24h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Before this time; same forms as --since.
    #[arg(long)]
    until: Option<String>,
    /// json (one object a line) or csv.
    #[arg(long, value_enum, default_value = "json")]
    format: crate::cli::DataFormat,
}

/// Reads a point in time as RFC 3339, a plain date (midnight UTC), or an age before now.
pub fn parse_time(text: &str) -> Result<i64> {
    if let Some(ms) = parse_rfc3339(text) {
        return Ok(ms);
    }
    if let Some(ms) = parse_rfc3339(&format!("{text}T00:00:00Z")) {
        return Ok(ms);
    }
    if let Ok(age) = text.parse::<sensorhub_core::duration::HumanDuration>() {
        return Ok(now_ms() - age.as_ms_i64());
    }
    bail!("`{text}` is not a time: use RFC 3339, a date (2024-05-01) or an age (24h)")
}

pub async fn run(args: ReadingsArgs) -> Result<()> {
    let config = Config::load(&args.config)?;
    let store = Store::open(&config.store)?;
    let station = match (&args.device, &args.station) {
        (Some(dev_eui), _) => {
            let eui: sensorhub_core::DevEui = dev_eui
                .parse()
                .map_err(|e| anyhow::anyhow!("--device `{dev_eui}`: {e}"))?;
            store
                .state()
                .device(&eui.to_string())
                .await?
                .with_context(|| format!("device {eui} is not in the registry"))?
                .station
        }
        (None, Some(station)) => station.clone(),
        (None, None) => unreachable!("clap requires --device or --station"),
    };
    let query = ReadingQuery {
        stations: vec![station.clone()],
        quantity: args.quantity.clone(),
        since_ms: args.since.as_deref().map(parse_time).transpose()?,
        until_ms: args.until.as_deref().map(parse_time).transpose()?,
        limit: None,
    };
    let readings = store.readings(query).await?;
    let mut out = std::io::stdout().lock();
    if args.format == crate::cli::DataFormat::Csv {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(["station", "quantity", "time", "value", "unit"])?;
        for r in &readings {
            writer.write_record([
                r.station.as_str(),
                &r.quantity,
                &format_rfc3339(r.time_ms),
                &r.value.to_string(),
                &r.unit,
            ])?;
        }
        writer.flush()?;
    } else {
        let sources = match (readings.first(), readings.last()) {
            (Some(first), Some(last)) => {
                store
                    .state()
                    .time_sources(station, first.time_ms, last.time_ms + 1)
                    .await?
            }
            _ => Default::default(),
        };
        for r in &readings {
            let line = serde_json::json!({
                "station": r.station,
                "quantity": r.quantity,
                "value": r.value,
                "unit": r.unit,
                "time": format_rfc3339(r.time_ms),
                "time_source": sources.get(&r.time_ms).map(|s| s.name()),
            });
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

pub async fn dead_letters(
    store: &SqliteStore,
    limit: usize,
    format: crate::cli::TableOrJson,
) -> Result<()> {
    let letters = store.dead_letters(limit).await?;
    let mut out = std::io::stdout().lock();
    match format {
        crate::cli::TableOrJson::Json => {
            for d in letters {
                let line = serde_json::json!({
                    "time": format_rfc3339(d.time_ms),
                    "topic": d.topic,
                    "reason": d.reason,
                    "detail": d.detail,
                    "size": d.size,
                    "payload_base64": base64::engine::general_purpose::STANDARD.encode(&d.payload),
                });
                writeln!(out, "{line}")?;
            }
        }
        crate::cli::TableOrJson::Table => {
            for c in store.dead_letter_counts().await? {
                writeln!(out, "{:>8}  {}", c.count, c.reason)?;
            }
            writeln!(out)?;
            for d in letters {
                let preview: String = String::from_utf8_lossy(&d.payload)
                    .chars()
                    .take(60)
                    .collect();
                writeln!(
                    out,
                    "{}  {:<16}  {}  ({} bytes)\n    {}\n    {preview:?}",
                    format_rfc3339(d.time_ms),
                    d.reason,
                    printable(&d.topic),
                    d.size,
                    printable(&d.detail)
                )?;
            }
        }
    }
    Ok(())
}

/// Text from senders (topics, names, details) as a terminal may show it: control characters
/// (escape sequences, carriage returns, ...) escaped, so a message cannot rewrite the screen.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_from_senders_are_escaped() {
        assert_eq!(
            super::printable("a\u{1b}[2Jb\r\nc ä"),
            "a\\u{1b}[2Jb\\r\\nc ä"
        );
    }
}
