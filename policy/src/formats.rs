//! The two formats public data leaves in besides JSON, written one way everywhere: CSV (the
//! published files, the folder's `latest.csv`, the pages' downloads) and GeoJSON (the API's,
//! the folder's and the datasets' station files).

use std::fmt::{Display, Write as _};

use serde_json::{json, Map, Value};

/// A text cell of every CSV sensorhub writes: quoted when it holds a comma, quote or line break
/// (RFC 4180), and a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) neutralised with a leading `'`, as OWASP recommends
/// against CSV injection. Numbers are written as numbers, not through here.
pub fn csv_text(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A CSV file being written: UTF-8, a header line, `\n` line ends, text cells through
/// [`csv_text`], numbers as they are.
pub struct Csv {
    out: String,
    /// Whether the next cell starts its row.
    row_start: bool,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        Csv::with_capacity(header, 0)
    }

    /// A CSV with room for about `bytes` bytes.
    pub fn with_capacity(header: &[&str], bytes: usize) -> Csv {
        let mut out = String::with_capacity(bytes);
        out.push_str(&header.join(","));
        out.push('\n');
        Csv {
            out,
            row_start: true,
        }
    }

    fn separate(&mut self) {
        if !self.row_start {
            self.out.push(',');
        }
        self.row_start = false;
    }

    /// A text cell.
    pub fn text(&mut self, text: &str) -> &mut Csv {
        self.separate();
        self.out.push_str(&csv_text(text));
        self
    }

    /// A number (or a time already formatted), written as it shows itself.
    pub fn value(&mut self, value: impl Display) -> &mut Csv {
        self.separate();
        let _ = write!(self.out, "{value}");
        self
    }

    /// A number, or an empty cell for none (a suppressed value).
    pub fn optional(&mut self, value: Option<impl Display>) -> &mut Csv {
        self.separate();
        if let Some(v) = value {
            let _ = write!(self.out, "{v}");
        }
        self
    }

    /// Ends the row.
    pub fn end_row(&mut self) {
        self.out.push('\n');
        self.row_start = true;
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// A station as a GeoJSON Point feature.
pub struct GeoPoint {
    /// The feature's `id`, where it has one.
    pub id: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub properties: Map<String, Value>,
}

/// Points as a GeoJSON FeatureCollection (RFC 7946: longitude first).
pub fn feature_collection(points: impl IntoIterator<Item = GeoPoint>) -> Value {
    let features: Vec<Value> = points
        .into_iter()
        .map(|p| {
            let mut feature = json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": p.properties,
            });
            if let Some(id) = p.id {
                feature["id"] = Value::String(id);
            }
            feature
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        let mut csv = Csv::new(&["station", "value", "note"]);
        csv.text("pegel, wyk").value(1.25).optional(None::<f64>);
        csv.end_row();
        csv.text("=HYPERLINK(\"x\")").value(-3).text("a\nb");
        csv.end_row();
        assert_eq!(
            csv.into_string(),
            "station,value,note\n\"pegel, wyk\",1.25,\n\"'=HYPERLINK(\"\"x\"\")\",-3,\"a\nb\"\n"
        );
    }

    #[test]
    fn points_are_longitude_first() {
        let mut properties = Map::new();
        properties.insert("station".into(), json!("pegel-wyk"));
        let collection = feature_collection([GeoPoint {
            id: Some("pegel-wyk".into()),
            lat: 54.69,
            lon: 8.57,
            properties,
        }]);
        assert_eq!(
            collection["features"][0]["geometry"]["coordinates"],
            json!([8.57, 54.69])
        );
        assert_eq!(collection["features"][0]["id"], "pegel-wyk");
        assert_eq!(collection["type"], "FeatureCollection");
    }
}
