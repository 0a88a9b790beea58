//! `sensorhub devices ...`: the registry from the command line, with CSV and JSON import and
//! export. Session keys are printed or exported only when asked for with `--include-keys`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sensorhub_store::{Device, DeviceHealth, SqliteStore};

use crate::cli::{ImportFormat, ListFormat, TableOrJson};

pub use sensorhub_store::device_file::CSV_COLUMNS;

/// Checks a device and brings its identifiers into canonical form (lowercase hex).
pub fn validate(device: Device) -> Result<Device> {
    Ok(device.validate()?)
}

/// Devices of a device repository codec (`ttn:VENDOR/CODEC`) are registered only if that codec
/// reproduces its own published examples; each codec is checked once.
pub fn verify_codecs(devices: &[Device], codecs: &sensorhub_gateway::CodecsConfig) -> Result<()> {
    let mut checked: Vec<&sensorhub_store::TtnCodec> = Vec::new();
    for d in devices {
        if let sensorhub_store::DeviceType::Ttn(t) = &d.device_type {
            if checked.contains(&t) {
                continue;
            }
            let definition =
                sensorhub_gateway::codec::ttn::verify(codecs, t).map_err(anyhow::Error::msg)?;
            if definition.examples.is_empty() {
                eprintln!(
                    "warning: {} publishes no examples, so `{}` could not be checked; try it with `sensorhub codecs test`",
                    definition.yaml.display(),
                    t.as_str()
                );
            }
            checked.push(t);
        }
    }
    Ok(())
}

/// Writes a device's unmapped fields as a table (with a suggested rule each) or JSON lines.
pub fn write_fields(
    fields: &[sensorhub_store::UnmappedField],
    format: TableOrJson,
    out: &mut impl std::io::Write,
) -> Result<()> {
    match format {
        TableOrJson::Json => {
            for f in fields {
                let rule = f.suggested_rule();
                let mut line = serde_json::to_value(f)?;
                line["suggested_rule"] = rule.into();
                writeln!(out, "{line}")?;
            }
        }
        TableOrJson::Table => {
            if fields.is_empty() {
                writeln!(
                    out,
                    "no unmapped fields: every numeric field became a reading"
                )?;
            }
            for f in fields {
                writeln!(
                    out,
                    "{:<32} {}  seen {} times, last {}  ({})",
                    crate::readings::printable(&f.field),
                    crate::readings::printable(&f.shown_value()),
                    f.seen,
                    sensorhub_store::time::format_rfc3339(f.last_seen_ms),
                    f.why
                )?;
                for line in f.suggested_rule().lines() {
                    writeln!(out, "    {}", crate::readings::printable(line))?;
                }
            }
        }
    }
    Ok(())
}

/// Reads devices from CSV (header row required) or JSON (an array), by the file's extension
/// unless `format` says otherwise. Every problem is reported with its line or index; nothing is
/// imported unless everything is valid.
pub fn read_file(path: &Path, format: Option<ImportFormat>) -> Result<Vec<Device>> {
    use sensorhub_store::device_file::{Codecs, DeviceFile, FileFormat};
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = match format {
        Some(ImportFormat::Csv) => FileFormat::Csv,
        Some(ImportFormat::Json) => FileFormat::Json,
        None => FileFormat::of_name(&path.to_string_lossy()).with_context(|| {
            format!(
                "cannot tell the format of {}: use --format csv or json",
                path.display()
            )
        })?,
    };
    Ok(DeviceFile::read(&text, format, Codecs::Any)?.devices()?)
}

/// Writes devices as CSV or JSON; keys only with `include_keys`.
pub fn write(
    devices: &[Device],
    format: ListFormat,
    include_keys: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let devices: Vec<Device> = devices
        .iter()
        .map(|d| {
            if include_keys {
                d.clone()
            } else {
                d.without_keys()
            }
        })
        .collect();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &devices)?;
            writeln!(out)?;
        }
        ListFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(CSV_COLUMNS)?;
            for d in &devices {
                let key = |k: Option<sensorhub_core::AesKey>| {
                    k.map(|k| k.secret_hex().to_string()).unwrap_or_default()
                };
                let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
                writer.write_record([
                    d.dev_eui.to_string(),
                    d.name.clone(),
                    d.station.clone(),
                    d.device_type.to_string(),
                    num(d.lat),
                    num(d.lon),
                    d.public.to_string(),
                    d.dev_addr.map(|a| a.to_string()).unwrap_or_default(),
                    key(d.nwk_s_key),
                    key(d.app_s_key),
                ])?;
            }
            writer.flush()?;
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<16}  {:<20}  {:<14}  {:<6}  name",
                "dev_eui", "station", "device_type", "public"
            )?;
            for d in &devices {
                writeln!(
                    out,
                    "{:<16}  {:<20}  {:<14}  {:<6}  {}",
                    d.dev_eui,
                    d.station,
                    crate::readings::printable(d.device_type.as_str()),
                    d.public,
                    crate::readings::printable(&d.name)
                )?;
            }
        }
    }
    Ok(())
}

/// Writes device health as a table or JSON lines.
pub fn write_health(
    health: &[DeviceHealth],
    batteries: &sensorhub_store::Batteries,
    format: TableOrJson,
    out: &mut dyn Write,
) -> Result<()> {
    let time =
        |ms: Option<i64>| ms.map_or("never".to_owned(), sensorhub_store::time::format_rfc3339);
    match format {
        TableOrJson::Json => {
            for h in health {
                let mut value = serde_json::to_value(h)?;
                if let Some((percent, source)) = h.battery_percent(batteries) {
                    value["battery_percent"] = ((percent * 10.0).round() / 10.0).into();
                    value["battery_percent_source"] = serde_json::to_value(source)?;
                }
                value["last_seen"] = h
                    .last_seen_ms
                    .map(sensorhub_store::time::format_rfc3339)
                    .into();
                writeln!(out, "{value}")?;
            }
        }
        TableOrJson::Table => {
            writeln!(
                out,
                "{:<16}  {:<16}  {:<24}  {:>7}  {:>6}  {:>6}  {:>5}  {:>3}  {:>7}  {:>6}",
                "dev_eui",
                "station",
                "last seen",
                "uplinks",
                "loss%",
                "rssi",
                "snr",
                "gws",
                "battery",
                "errors"
            )?;
            for h in health {
                let opt = |v: Option<f64>, digits: usize| {
                    v.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
                };
                let battery = h
                    .battery_percent(batteries)
                    .map_or("-".into(), |(p, _)| format!("{p:.0} %"));
                writeln!(
                    out,
                    "{:<16}  {:<16}  {:<24}  {:>7}  {:>6}  {:>6}  {:>5}  {:>3}  {:>7}  {:>6}",
                    h.dev_eui,
                    h.station,
                    time(h.last_seen_ms),
                    h.uplinks,
                    opt(h.packet_loss.map(|l| l * 100.0), 1),
                    opt(h.rssi, 0),
                    opt(h.snr, 1),
                    h.gateway_count.map_or("-".into(), |g| g.to_string()),
                    battery,
                    h.decode_errors
                )?;
            }
        }
    }
    Ok(())
}

/// Imports a file into the registry.
pub async fn import(
    store: &SqliteStore,
    path: &Path,
    format: Option<ImportFormat>,
    codecs: &sensorhub_gateway::CodecsConfig,
) -> Result<usize> {
    let devices = read_file(path, format)?;
    verify_codecs(&devices, codecs)?;
    let n = devices.len();
    store.put_devices(devices).await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_temp(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn csv_import_reads_the_documented_columns() {
        let (_d, path) = write_temp(
            "devices.csv",
            "dev_eui,name,station,device_type,lat,lon,public,dev_addr,nwk_s_key,app_s_key\n\
             0101010101010101,Pegel Wyk,pegel-wyk,cayenne-lpp,54.6921,8.5702,true,,,\n\
             70B3D57ED0000002,Garten,garten-2,cayenne-lpp,,,false,49BE7DF1,44024241ed4ce9a68c6a8bc055233fd3,ec925802ae430ca77fd3dd73cb2cc588\n",
        );
        let devices = read_file(&path, None).unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].lat, Some(54.6921));
        assert!(devices[0].public && devices[0].nwk_s_key.is_none());
        assert_eq!(devices[1].dev_eui, "70b3d57ed0000002");
        assert_eq!(devices[1].dev_addr.unwrap(), "49be7df1");
    }

    #[test]
    fn csv_import_reports_every_bad_line_and_imports_nothing() {
        let (_d, path) = write_temp(
            "devices.csv",
            "dev_eui,name,station,device_type,lat,lon,public\n\
             0101,a,s1,cayenne-lpp,,,true\n\
             0101010101010102,b,s2,acme-unknown,,,true\n\
             0101010101010103,c,s3,cayenne-lpp,91,0,true\n\
             0101010101010104,d,s4,cayenne-lpp,,,maybe\n",
        );
        let err = format!("{:#}", read_file(&path, None).unwrap_err());
        for line in ["line 2", "line 3", "line 4", "line 5"] {
            assert!(err.contains(line), "{line} missing from: {err}");
        }
    }

    #[test]
    fn half_an_abp_session_is_refused() {
        let (_d, path) = write_temp(
            "d.csv",
            "dev_eui,name,station,device_type,dev_addr\n0101010101010101,a,s,cayenne-lpp,49be7df1\n",
        );
        assert!(format!("{:#}", read_file(&path, None).unwrap_err()).contains("all three"));
    }

    #[test]
    fn export_hides_keys_unless_asked_and_round_trips() {
        let (_d, path) = write_temp(
            "d.csv",
            "dev_eui,name,station,device_type,lat,lon,public,dev_addr,nwk_s_key,app_s_key\n\
             0101010101010101,\"Pegel, Wyk\",pegel-wyk,cayenne-lpp,54.5,8.5,true,49be7df1,44024241ed4ce9a68c6a8bc055233fd3,ec925802ae430ca77fd3dd73cb2cc588\n",
        );
        let devices = read_file(&path, None).unwrap();
        let mut hidden = Vec::new();
        write(&devices, ListFormat::Csv, false, &mut hidden).unwrap();
        let hidden = String::from_utf8(hidden).unwrap();
        assert!(!hidden.contains("44024241"));
        let mut full = Vec::new();
        write(&devices, ListFormat::Json, true, &mut full).unwrap();
        let (_d2, json_path) = write_temp("d.json", std::str::from_utf8(&full).unwrap());
        assert_eq!(read_file(&json_path, None).unwrap(), devices);
    }
}
