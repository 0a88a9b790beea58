//! The last check before anything leaves: every file is read back and held against its
//! dataset's policy. A violation stops that upload with an error that says what and where.

use std::collections::HashSet;

use serde_json::Value;

use crate::export::{columns, OutFile};
use sensorhub_policy::Coordinates;

/// What a file must satisfy.
#[derive(Debug, Clone)]
pub struct Rules {
    pub columns: Vec<&'static str>,
    pub stations: HashSet<String>,
    pub coordinates: Coordinates,
    pub k: u32,
    /// No interval may start at or after this instant.
    pub cutoff_ms: i64,
    /// Device identifiers (DevEUIs, DevAddrs), lowercase: none may appear anywhere.
    pub identifiers: Vec<String>,
    /// Whether a station's name may appear (only beside its plain id: a name would tell which
    /// place a pseudonym stands for).
    pub names: bool,
}

impl Rules {
    pub fn new(
        dataset: &crate::DatasetConfig,
        collected: &crate::export::Collected,
        identifiers: Vec<String>,
    ) -> Rules {
        Rules {
            columns: columns(dataset),
            stations: collected.station_ids.iter().cloned().collect(),
            coordinates: collected.coordinates,
            k: dataset.privacy.k,
            cutoff_ms: collected.cutoff_ms,
            names: dataset.privacy.station_ids == sensorhub_policy::StationIds::Public,
            identifiers: identifiers
                .into_iter()
                .map(|i| i.to_ascii_lowercase())
                .filter(|i| i.len() >= 8)
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("privacy check refused {file}: {problem}")]
pub struct Violation {
    pub file: String,
    pub problem: String,
}

/// Checks one file against the rules.
pub fn check(file: &OutFile, rules: &Rules) -> Result<(), Violation> {
    let bytes = file.content.bytes().map_err(|e| Violation {
        file: file.name.clone(),
        problem: format!("unreadable: {e}"),
    })?;
    check_text(&file.name, file.format, &bytes, rules)
}

/// Checks a CSV file on disk as [`check`] would, streaming its records (memory holds one
/// record and a read buffer): the identifiers are looked for in every field.
pub fn check_csv_file(name: &str, path: &std::path::Path, rules: &Rules) -> Result<(), Violation> {
    let fail = |problem: String| Violation {
        file: name.to_owned(),
        problem,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(format!("unreadable: {e}")))?;
    let identifiers = Identifiers::new(&rules.identifiers);
    check_csv(
        std::io::BufReader::with_capacity(1 << 20, file),
        rules,
        Some(&identifiers),
    )
    .map_err(fail)
}

/// Checks the whole text of a file.
fn check_text(name: &str, format: &str, bytes: &[u8], rules: &Rules) -> Result<(), Violation> {
    let fail = |problem: String| Violation {
        file: name.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| fail("not UTF-8".into()))?;
    if let Some(id) = Identifiers::new(&rules.identifiers).find(text.as_bytes()) {
        return Err(fail(format!("contains the device identifier {id}")));
    }
    match format {
        "CSV" => check_csv(text.as_bytes(), rules, None).map_err(fail),
        "GeoJSON" => check_geojson(text, rules).map_err(fail),
        _ => Ok(()),
    }
}

/// The device identifiers (lowercase hex) no file may hold, ready to look for.
struct Identifiers<'a> {
    set: HashSet<&'a [u8]>,
    /// Their lengths, shortest first.
    lengths: Vec<usize>,
}

impl<'a> Identifiers<'a> {
    fn new(identifiers: &'a [String]) -> Identifiers<'a> {
        let mut lengths: Vec<usize> = identifiers.iter().map(String::len).collect();
        lengths.sort_unstable();
        lengths.dedup();
        Identifiers {
            set: identifiers.iter().map(|i| i.as_bytes()).collect(),
            lengths,
        }
    }

    /// The first identifier that occurs anywhere in `text`, in any case. One pass over the
    /// text: only runs of hex digits at least as long as an identifier can hold one, and every
    /// window of an identifier's length in such a run is looked up.
    fn find(&self, text: &[u8]) -> Option<String> {
        let shortest = *self.lengths.first()?;
        // Allocated only for a hex run long enough: most cells have none.
        let mut window = Vec::new();
        let mut start = 0;
        for i in 0..=text.len() {
            if i < text.len() && text[i].is_ascii_hexdigit() {
                continue;
            }
            if i - start >= shortest {
                for &len in &self.lengths {
                    for from in start..(i + 1).saturating_sub(len) {
                        window.clear();
                        window.extend(text[from..from + len].iter().map(u8::to_ascii_lowercase));
                        if self.set.contains(&window[..]) {
                            return Some(String::from_utf8_lossy(&window).into_owned());
                        }
                    }
                }
            }
            start = i + 1;
        }
        None
    }
}

/// Checks a CSV's header and rows; with `identifiers`, also looks for them in every cell
/// (hex runs do not cross a cell's bounds, so this finds what a scan of the text finds).
fn check_csv(
    input: impl std::io::Read,
    rules: &Rules,
    identifiers: Option<&Identifiers<'_>>,
) -> Result<(), String> {
    let mut reader = csv::Reader::from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("unreadable header: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let identifier_in = |cells: &csv::StringRecord| {
        identifiers.and_then(|ids| cells.iter().find_map(|cell| ids.find(cell.as_bytes())))
    };
    if let Some(id) = identifier_in(reader.headers().map_err(|e| e.to_string())?) {
        return Err(format!("contains the device identifier {id}"));
    }
    for column in &header {
        if !rules.columns.contains(&column.as_str()) {
            return Err(format!("column `{column}` is not allowed by the policy"));
        }
    }
    let position = |name: &str| header.iter().position(|h| h == name);
    let (time, station, quantity) = (position("time"), position("station"), position("quantity"));
    let values: Vec<usize> = ["mean", "min", "max", "sum"]
        .iter()
        .filter_map(|c| position(c))
        .collect();
    let cutoff = sensorhub_store::time::format_rfc3339(rules.cutoff_ms);
    // Rows that share a time follow each other: each time is read once.
    let mut last_time: (String, Option<i64>) = (String::new(), None);
    let mut record = csv::StringRecord::new();
    let mut line = 0;
    while reader
        .read_record(&mut record)
        .map_err(|e| format!("line {}: {e}", line + 2))?
    {
        if let Some(id) = identifier_in(&record) {
            return Err(format!(
                "line {}: contains the device identifier {id}",
                line + 2
            ));
        }
        let at = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let id = at(station);
        if !rules.stations.contains(id) {
            return Err(format!(
                "line {}: station `{id}` is not published",
                line + 2
            ));
        }
        let t = at(time);
        if t != last_time.0 {
            last_time = (t.to_owned(), sensorhub_store::time::parse_rfc3339(t));
        }
        if let Some(ms) = last_time.1 {
            if ms >= rules.cutoff_ms {
                return Err(format!(
                    "line {}: {t} is inside the publication delay (cut-off {cutoff})",
                    line + 2
                ));
            }
        } else {
            return Err(format!("line {}: `{t}` is not an ISO 8601 time", line + 2));
        }
        if sensorhub_policy::is_people_count(at(quantity)) {
            for &i in &values {
                let cell = record.get(i).unwrap_or("");
                if let Ok(v) = cell.parse::<f64>() {
                    if v > 0.0 && v < f64::from(rules.k) {
                        return Err(format!(
                            "line {}: a count of {v} is below k = {}",
                            line + 2,
                            rules.k
                        ));
                    }
                }
            }
        }
        line += 1;
    }
    Ok(())
}

fn check_geojson(text: &str, rules: &Rules) -> Result<(), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let features = value["features"].as_array().cloned().unwrap_or_default();
    for feature in features {
        let properties = feature["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for key in properties.keys() {
            let allowed = key == "station" || key == "name" && rules.names;
            if !allowed {
                return Err(format!("property `{key}` is not allowed by the policy"));
            }
        }
        let id = properties
            .get("station")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !rules.stations.contains(id) {
            return Err(format!("station `{id}` is not published"));
        }
        let c = &feature["geometry"]["coordinates"];
        let (Some(lon), Some(lat)) = (c[0].as_f64(), c[1].as_f64()) else {
            return Err(format!("station `{id}` has no point"));
        };
        if !rules.coordinates.allows(lat, lon) {
            return Err(format!(
                "station `{id}` at {lat}, {lon} is finer than the policy allows ({:?})",
                rules.coordinates
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            columns: vec!["time", "station", "quantity", "unit", "mean", "count"],
            stations: ["park-01".to_owned()].into_iter().collect(),
            coordinates: Coordinates::Decimals(3),
            k: 5,
            cutoff_ms: sensorhub_store::time::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
            identifiers: vec!["70b3d57ed0000001".into()],
            names: true,
        }
    }

    fn csv(text: &str) -> OutFile {
        OutFile {
            name: "x.csv".into(),
            format: "CSV",
            mimetype: "text/csv",
            description: String::new(),
            content: crate::export::Content::Memory(text.as_bytes().to_vec()),
            month: None,
        }
    }

    #[test]
    fn a_clean_file_passes() {
        let file = csv("time,station,quantity,unit,mean,count\n\
                        2026-11-22T09:00:00Z,park-01,visitor_count,,12,4\n\
                        2026-11-22T08:00:00Z,park-01,visitor_count,,0,4\n\
                        2026-11-22T07:00:00Z,park-01,visitor_count,,,4\n");
        assert_eq!(check(&file, &rules()), Ok(()));
    }

    /// The check of a file on disk (the publisher's spooled months) refuses what the check
    /// of the same text refuses, wherever the file's read buffer ends.
    #[test]
    fn a_file_on_disk_is_checked_like_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let on_disk = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            check_csv_file(name, &path, &rules())
        };
        let header = "time,station,quantity,unit,mean,count\n";
        let row = "2026-11-22T09:00:00Z,park-01,visitor_count,,12,4\n";
        // Two megabytes of clean rows pass, and a leak after them is found.
        let clean = format!("{header}{}", row.repeat(50_000));
        assert_eq!(on_disk("clean.csv", &clean), Ok(()));
        let leak =
            format!("{clean}2026-11-22T09:00:00Z,park-01,visitor_count,70B3D57ED0000001,1,1\n");
        let refused = on_disk("leak.csv", &leak).unwrap_err();
        assert!(
            refused.problem.contains("70b3d57ed0000001") && refused.problem.contains("line 50002"),
            "{refused}"
        );
        // A quoted cell over two lines cannot hide the row after it.
        let quoted = format!(
            "{header}{}2026-11-22T09:00:00Z,\"park-01\nstill\",visitor_count,,12,4\n{row}",
            row.repeat(20_000)
        );
        assert!(on_disk("quoted.csv", &quoted)
            .unwrap_err()
            .problem
            .contains("is not published"));
        // Not UTF-8.
        let mut bytes = clean.into_bytes();
        bytes.extend(b"2026-11-22T09:00:00Z,park-\xff,x,,1,1\n");
        let path = dir.path().join("latin.csv");
        std::fs::write(&path, bytes).unwrap();
        assert!(check_csv_file("latin.csv", &path, &rules()).is_err());
    }

    #[test]
    fn each_kind_of_leak_is_refused() {
        let cases = [
            (
                "time,station,quantity,dev_eui,mean\n2026-11-22T09:00:00Z,park-01,x,y,1\n",
                "column `dev_eui`",
            ),
            (
                "time,station,quantity,mean\n2026-11-22T09:00:00Z,park-01,rssi,70B3D57ED0000001\n",
                "device identifier",
            ),
            (
                "time,station,quantity,mean\n2026-11-22T09:00:00Z,secret-02,water_level,1\n",
                "secret-02",
            ),
            (
                "time,station,quantity,mean\n2026-11-22T10:00:00Z,park-01,water_level,1\n",
                "publication delay",
            ),
            (
                "time,station,quantity,mean\n2026-11-22T09:00:00Z,park-01,visitor_count,2\n",
                "below k = 5",
            ),
        ];
        for (text, expected) in cases {
            let err = check(&csv(text), &rules()).unwrap_err();
            assert!(err.problem.contains(expected), "{err} (wanted {expected})");
        }
        let geo = |lat: f64, property: &str| {
            let mut properties = serde_json::json!({"station": "park-01"});
            if property != "station" {
                properties[property] = 1.into();
            }
            geo_file(lat, properties)
        };
        fn geo_file(lat: f64, properties: serde_json::Value) -> OutFile {
            OutFile {
                name: "s.geojson".into(),
                format: "GeoJSON",
                mimetype: "application/geo+json",
                description: String::new(),
                content: crate::export::Content::Memory(
                    serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection",
                    "features": [{"type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [8.57, lat]},
                        "properties": properties}]}))
                    .unwrap(),
                ),
                month: None,
            }
        }
        assert!(check(&geo(54.691, "station"), &rules()).is_ok());
        assert!(check(&geo(54.69123, "station"), &rules())
            .unwrap_err()
            .problem
            .contains("finer"));
        assert!(check(&geo(54.691, "rssi"), &rules())
            .unwrap_err()
            .problem
            .contains("`rssi`"));
        // A name beside a plain id, never beside a pseudonym.
        assert!(check(&geo(54.691, "name"), &rules()).is_ok());
        let pseudonyms = Rules {
            names: false,
            ..rules()
        };
        assert!(check(&geo(54.691, "name"), &pseudonyms)
            .unwrap_err()
            .problem
            .contains("`name`"));
    }
}
