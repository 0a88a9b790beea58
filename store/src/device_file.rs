//! The devices file that `sensorhub devices import` and the workbench's import read: CSV with a
//! header row (the columns of [`CSV_COLUMNS`], the first four required) or a JSON array of
//! devices. Each row is checked on its own, so that every problem can be shown with its line;
//! an import applies only when every row is good ([`DeviceFile::devices`]). [`change`] says
//! what a row would do to the registry, for a preview.

use serde::Deserialize;

use crate::{Device, DeviceType};

/// The CSV columns of import and export, in this order.
pub const CSV_COLUMNS: [&str; 10] = [
    "dev_eui",
    "name",
    "station",
    "device_type",
    "lat",
    "lon",
    "public",
    "dev_addr",
    "nwk_s_key",
    "app_s_key",
];

/// How a devices file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Json,
}

impl FileFormat {
    /// The format a file name's extension names, if it names one.
    pub fn of_name(name: &str) -> Option<FileFormat> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(FileFormat::Csv),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
        }
    }
}

/// Where a row is in its file: `line 3` of a CSV, `device #2` of a JSON array.
pub type RowPlace = String;

/// A devices file read row by row.
#[derive(Debug)]
pub struct DeviceFile {
    pub rows: Vec<(RowPlace, Result<Device, String>)>,
}

/// Why a file is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file cannot be read as the format at all (no header row, not a JSON array).
    #[error("{0}")]
    Unreadable(String),
    /// Some rows have problems; nothing is imported.
    #[error("nothing imported; fix these:\n  - {}", .0.join("\n  - "))]
    Rows(Vec<String>),
}

/// Which device types a file may name. A JavaScript codec names a file on the server, so the
/// web refuses it and leaves it to the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codecs {
    Any,
    NotJavaScript,
}

/// One CSV row, text fields so that every problem can be reported with its line.
#[derive(Debug, Deserialize)]
struct CsvRow {
    dev_eui: String,
    name: String,
    station: String,
    device_type: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    public: String,
    #[serde(default)]
    dev_addr: String,
    #[serde(default)]
    nwk_s_key: String,
    #[serde(default)]
    app_s_key: String,
}

/// An identifier cell: empty for none, else its text parsed, the column named in a mistake.
/// A session key's text is never repeated in the mistake (a mistyped key is nearly the key).
fn identifier<T: std::str::FromStr<Err = sensorhub_core::IdError>>(
    column: &str,
    text: &str,
) -> Result<Option<T>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|e| {
        if column.ends_with("_key") {
            format!("{column}: {e} (the value is not shown: it holds a secret)")
        } else {
            format!("{column} `{text}`: {e}")
        }
    })
}

fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "ja" => Ok(true),
        "false" | "0" | "no" | "nein" | "" => Ok(false),
        other => Err(format!("public: `{other}` is not true or false")),
    }
}

/// A coordinate cell: empty for none, else a number (its range is `Device::validate`'s).
fn coordinate(text: &str, name: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| format!("{name}: `{t}` is not a number"))
}

/// The last check of every row, however it was written: codecs allowed here, then
/// [`Device::validate`] (which looks for a JavaScript codec's file, so it comes second).
fn checked(device: Device, codecs: Codecs) -> Result<Device, String> {
    if codecs == Codecs::NotJavaScript && matches!(device.device_type, DeviceType::Js(_)) {
        return Err(format!(
            "device_type `{}`: JavaScript codecs name a file on the server and are set with \
             `sensorhub devices import` on the command line",
            device.device_type
        ));
    }
    device.validate().map_err(|e| e.to_string())
}

fn from_row(row: CsvRow, codecs: Codecs) -> Result<Device, String> {
    let device_type: DeviceType = row
        .device_type
        .trim()
        .parse()
        .map_err(|e: crate::DeviceTypeError| e.to_string())?;
    let device = Device {
        dev_eui: identifier("dev_eui", &row.dev_eui)?.ok_or("dev_eui: empty")?,
        name: row.name.trim().to_owned(),
        station: row.station.trim().to_owned(),
        device_type,
        lat: coordinate(&row.lat, "lat")?,
        lon: coordinate(&row.lon, "lon")?,
        public: boolean(&row.public)?,
        dev_addr: identifier("dev_addr", &row.dev_addr)?,
        nwk_s_key: identifier("nwk_s_key", &row.nwk_s_key)?,
        app_s_key: identifier("app_s_key", &row.app_s_key)?,
    };
    checked(device, codecs)
}

impl DeviceFile {
    /// Reads `text` row by row; a row appearing twice (the same DevEUI) is a problem of the
    /// later one.
    pub fn read(text: &str, format: FileFormat, codecs: Codecs) -> Result<DeviceFile, FileError> {
        let mut rows = Vec::new();
        match format {
            FileFormat::Json => {
                let entries: Vec<serde_json::Value> = serde_json::from_str(text)
                    .map_err(|e| FileError::Unreadable(format!("not a JSON array: {e}")))?;
                for (i, entry) in entries.into_iter().enumerate() {
                    let device = serde_json::from_value::<Device>(entry)
                        .map_err(|e| e.to_string())
                        .and_then(|d| checked(d, codecs));
                    rows.push((format!("device #{}", i + 1), device));
                }
            }
            FileFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .trim(csv::Trim::Headers)
                    .from_reader(text.as_bytes());
                let headers = reader
                    .headers()
                    .map_err(|e| FileError::Unreadable(format!("no header row: {e}")))?
                    .clone();
                let missing: Vec<_> = CSV_COLUMNS[..4]
                    .iter()
                    .filter(|c| !headers.iter().any(|h| h == **c))
                    .collect();
                if !missing.is_empty() {
                    return Err(FileError::Unreadable(format!(
                        "CSV header lacks required column(s): {missing:?}"
                    )));
                }
                for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
                    let device = row
                        .map_err(|e| e.to_string())
                        .and_then(|r| from_row(r, codecs));
                    rows.push((format!("line {}", i + 2), device));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (_, row) in &mut rows {
            if let Ok(d) = row {
                if !seen.insert(d.dev_eui) {
                    *row = Err(format!("dev_eui {} appears more than once", d.dev_eui));
                }
            }
        }
        Ok(DeviceFile { rows })
    }

    /// Every problem, with its place.
    pub fn problems(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter_map(|(at, row)| row.as_ref().err().map(|e| format!("{at}: {e}")))
            .collect()
    }

    /// The devices, only when every row is good.
    pub fn devices(self) -> Result<Vec<Device>, FileError> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(FileError::Rows(problems));
        }
        Ok(self.rows.into_iter().filter_map(|(_, r)| r.ok()).collect())
    }
}

/// What a row would do to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    New,
    /// The fields that change, by their CSV column names (keys named, never shown).
    Changed(Vec<&'static str>),
    Unchanged,
}

/// What importing `incoming` does where the registry holds `existing` under its DevEUI.
pub fn change(existing: Option<&Device>, incoming: &Device) -> Change {
    let Some(old) = existing else {
        return Change::New;
    };
    let mut fields = Vec::new();
    let mut differs = |name: &'static str, different: bool| {
        if different {
            fields.push(name);
        }
    };
    differs("name", old.name != incoming.name);
    differs("station", old.station != incoming.station);
    differs("device_type", old.device_type != incoming.device_type);
    differs("lat", old.lat != incoming.lat);
    differs("lon", old.lon != incoming.lon);
    differs("public", old.public != incoming.public);
    differs("dev_addr", old.dev_addr != incoming.dev_addr);
    differs("nwk_s_key", old.nwk_s_key != incoming.nwk_s_key);
    differs("app_s_key", old.app_s_key != incoming.app_s_key);
    if fields.is_empty() {
        Change::Unchanged
    } else {
        Change::Changed(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "dev_eui,name,station,device_type,lat,lon,public,dev_addr,nwk_s_key,app_s_key\n";

    #[test]
    fn every_row_is_judged_on_its_own() {
        let text = format!(
            "{HEADER}0101010101010101,Pegel Wyk,pegel-wyk,cayenne-lpp,54.69,8.57,true,,,\n\
             0101,a,s1,cayenne-lpp,,,true,,,\n\
             0101010101010103,c,s3,cayenne-lpp,91,0,true,,,\n\
             0101010101010101,again,pegel-wyk,cayenne-lpp,,,true,,,\n"
        );
        let file = DeviceFile::read(&text, FileFormat::Csv, Codecs::Any).unwrap();
        assert!(file.rows[0].1.is_ok());
        let problems = file.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 3: dev_eui `0101`"));
        assert!(problems[1].starts_with("line 4: lat: 91"));
        assert!(problems[2].contains("appears more than once"));
        assert!(matches!(file.devices(), Err(FileError::Rows(p)) if p.len() == 3));
    }

    #[test]
    fn a_javascript_codec_is_refused_where_the_caller_says_so() {
        let text = format!("{HEADER}0101010101010101,a,s,js:/nowhere/codec.js,,,,,,\n");
        let file = DeviceFile::read(&text, FileFormat::Csv, Codecs::NotJavaScript).unwrap();
        let problem = file.rows[0].1.as_ref().unwrap_err();
        assert!(problem.contains("command line"), "{problem}");
        // Where JavaScript is allowed, the file is looked for.
        let file = DeviceFile::read(&text, FileFormat::Csv, Codecs::Any).unwrap();
        assert!(file.rows[0]
            .1
            .as_ref()
            .unwrap_err()
            .contains("no codec file"));
    }

    #[test]
    fn json_entries_are_judged_one_by_one() {
        let text = r#"[{"dev_eui":"0101010101010101","name":"a","station":"s","device_type":"cayenne-lpp","lat":null,"lon":null,"public":true},
                      {"dev_eui":"zz","name":"b","station":"s","device_type":"cayenne-lpp","lat":null,"lon":null,"public":true}]"#;
        let file = DeviceFile::read(text, FileFormat::Json, Codecs::Any).unwrap();
        assert!(file.rows[0].1.is_ok());
        assert_eq!(file.problems().len(), 1);
        assert!(file.problems()[0].starts_with("device #2"));
        assert!(matches!(
            DeviceFile::read("{}", FileFormat::Json, Codecs::Any),
            Err(FileError::Unreadable(_))
        ));
    }

    #[test]
    fn a_mistyped_key_is_not_repeated() {
        let key = "44024241ed4ce9a68c6a8bc055233fd"; // one digit short
        let text = format!("{HEADER}0101010101010101,a,s,cayenne-lpp,,,,49be7df1,{key},ec925802ae430ca77fd3dd73cb2cc588\n");
        let file = DeviceFile::read(&text, FileFormat::Csv, Codecs::Any).unwrap();
        let problem = file.problems().join("");
        assert!(
            problem.contains("nwk_s_key") && !problem.contains("44024241"),
            "{problem}"
        );
    }

    #[test]
    fn json_coordinates_are_checked_as_csv_ones_are() {
        let text = r#"[{"dev_eui":"0101010101010101","name":"a","station":"s","device_type":"cayenne-lpp","lat":500,"lon":8,"public":true}]"#;
        let file = DeviceFile::read(text, FileFormat::Json, Codecs::Any).unwrap();
        assert!(file.problems()[0].contains("lat"), "{:?}", file.problems());
    }

    #[test]
    fn a_change_names_its_fields() {
        let text = format!("{HEADER}0101010101010101,a,s,cayenne-lpp,,,true,,,\n");
        let file = DeviceFile::read(&text, FileFormat::Csv, Codecs::Any).unwrap();
        let old = file.devices().unwrap().remove(0);
        assert_eq!(change(None, &old), Change::New);
        assert_eq!(change(Some(&old), &old), Change::Unchanged);
        let new = Device {
            name: "b".into(),
            public: false,
            ..old.clone()
        };
        assert_eq!(
            change(Some(&old), &new),
            Change::Changed(vec!["name", "public"])
        );
    }
}
