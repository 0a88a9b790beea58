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
    if !needs_quoting(text) {
        return text.to_owned();
    }
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

/// Whether [`csv_text`] changes `text`.
fn needs_quoting(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
        || text
            .bytes()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
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
        if needs_quoting(text) {
            self.out.push_str(&csv_text(text));
        } else {
            self.out.push_str(text);
        }
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

    /// A float, or an empty cell for none: the text `Display` gives (the shortest digits that
    /// read back as the same number, never an exponent), faster for numbers of up to 15 digits.
    pub fn number(&mut self, value: Option<f64>) -> &mut Csv {
        self.separate();
        if let Some(v) = value {
            push_f64(&mut self.out, v);
        }
        self
    }

    /// Ends the row.
    pub fn end_row(&mut self) {
        self.out.push('\n');
        self.row_start = true;
    }

    /// Hands the text written so far to `sink` and forgets it (the next cells go on from
    /// there), to write a large file out in pieces. Call it at the end of a row.
    pub fn flush<E>(&mut self, sink: impl FnOnce(&[u8]) -> Result<(), E>) -> Result<(), E> {
        sink(self.out.as_bytes())?;
        self.out.clear();
        Ok(())
    }

    /// Bytes of text held.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// Appends `v` as `format!("{v}")` would: Ryu finds the shortest digits that read back as `v`,
/// laid out here without an exponent; numbers that need 16 or 17 digits go the standard way.
pub fn push_f64(out: &mut String, v: f64) {
    // Values of a few decimals (what sensors send, and rounded means) take the fast way; the
    // rest would need 16 or 17 digits and go the standard way at once.
    let scaled = v * 10_000.0;
    if !v.is_finite() || v.abs() >= 1e11 || scaled != scaled.round() {
        let _ = write!(out, "{v}");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The significant digits, and where the decimal point goes among them.
    let mut digits = [0u8; 32];
    let mut n = 0;
    for b in whole.bytes().chain(fraction.bytes()).take(digits.len()) {
        digits[n] = b;
        n += 1;
    }
    let mut point = whole.len() as i32 + exponent;
    let mut first = 0;
    while first < n && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    while n > first && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[first..n];
    // Up to 15 significant digits only one decimal of that length reads back as `v` (DBL_DIG),
    // so Ryu's and the standard library's choice agree; at 16 or 17 they may pick different
    // neighbours, and the standard library's is the one to keep.
    if digits.len() > 15 {
        let _ = write!(out, "{v}");
        return;
    }
    if negative {
        out.push('-');
    }
    if digits.is_empty() {
        out.push('0');
        return;
    }
    fn ascii(d: &[u8]) -> &str {
        std::str::from_utf8(d).unwrap_or("")
    }
    let len = digits.len() as i32;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(ascii(digits));
    } else if point >= len {
        out.push_str(ascii(digits));
        out.extend(std::iter::repeat_n('0', (point - len) as usize));
    } else {
        out.push_str(ascii(&digits[..point as usize]));
        out.push('.');
        out.push_str(ascii(&digits[point as usize..]));
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

    /// `push_f64` writes every float as `Display` does: special values, zeros, the edges of
    /// the exponent range, numbers as sensors give them, and a million random bit patterns.
    #[test]
    fn floats_are_written_as_display_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.3,
            4.0555,
            1e-7,
            1.5e-7,
            123456789.0,
            1e15,
            1e16,
            1e21,
            1e22,
            1.7976931348623157e308,
            5e-324,
            2.2250738585072014e-308,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Short numbers at every decimal position, where Ryu switches to an exponent.
        for e in -40..40 {
            for m in [1.0, 12.0, 1234.5, 123_456_789_012_345.0, -7.25] {
                values.push(m * 10f64.powi(e));
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..1_000_000u64 {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            values.push(f64::from_bits(bits));
            values.push((i as f64 * 0.0137).sin() * 10f64.powi((i % 9) as i32 - 4));
            values.push(((i % 200_000) as f64 - 100_000.0) / 10_000.0);
        }
        for v in values {
            let mut out = String::new();
            push_f64(&mut out, v);
            assert_eq!(out, format!("{v}"), "{:#x}", v.to_bits());
        }
    }
}
