//! Readings as InfluxDB line protocol.
//!
//! `reading,quantity=air_temperature,station=pegel-wyk,unit=°C value=27.2 1658136855775`
//! Tag keys are sorted (as InfluxDB recommends); commas, spaces and equals signs in tag values
//! are escaped with a backslash. A float field needs no suffix: `value=27` is the float 27.

use std::fmt::Write;

use crate::{Reading, StoreError};

fn escape_tag(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, ',' | ' ' | '=' | '\\') {
            out.push('\\');
        }
        if c == '\n' || c == '\r' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
}

pub fn encode(readings: &[Reading]) -> Result<String, StoreError> {
    let mut out = String::with_capacity(readings.len() * 80);
    for r in readings {
        if !r.value.is_finite() {
            return Err(StoreError::InfluxRefused {
                operation: "write",
                detail: format!(
                    "{} {} at {}: {} is not a finite number",
                    r.station, r.quantity, r.time_ms, r.value
                ),
            });
        }
        out.push_str("reading,quantity=");
        escape_tag(&mut out, &r.quantity);
        out.push_str(",station=");
        escape_tag(&mut out, &r.station);
        if !r.unit.is_empty() {
            out.push_str(",unit=");
            escape_tag(&mut out, &r.unit);
        }
        let _ = writeln!(out, " value={:?} {}", r.value, r.time_ms);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_floats_escapes_tags_and_skips_empty_units() {
        let readings = [
            Reading {
                station: "pegel wyk,1".into(),
                quantity: "air_temperature".into(),
                unit: "°C".into(),
                time_ms: 1_658_136_855_775,
                value: 27.0,
            },
            Reading {
                station: "a=b".into(),
                quantity: "count".into(),
                unit: String::new(),
                time_ms: 1,
                value: -0.5,
            },
        ];
        assert_eq!(
            encode(&readings).unwrap(),
            "reading,quantity=air_temperature,station=pegel\\ wyk\\,1,unit=°C value=27.0 1658136855775\n\
             reading,quantity=count,station=a\\=b value=-0.5 1\n"
        );
    }

    #[test]
    fn refuses_non_finite_values() {
        let r = Reading {
            station: "s".into(),
            quantity: "q".into(),
            unit: String::new(),
            time_ms: 0,
            value: f64::NAN,
        };
        assert!(encode(&[r]).is_err());
    }
}
