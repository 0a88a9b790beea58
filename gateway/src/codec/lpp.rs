//! Cayenne LPP -> measurements.
//!
//! LPP names a data type, not what was measured, so a temperature on channel 3 could be air or
//! water. Each type maps to its default vocabulary quantity (temperature -> `air_temperature`).
//! When one payload carries the same quantity on several channels, each gets the channel as a
//! suffix (`air_temperature_3`, `air_temperature_5`) so that no value overwrites another.

use sensorhub_core::{lpp, Quantity};

use super::{CodecError, Measurement};

pub fn decode(payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    let items = lpp::decode(payload).collect::<Result<Vec<_>, _>>()?;
    let mut named: Vec<(&'static str, u8, f64)> = Vec::new();
    for item in &items {
        for (quantity, value) in item.quantities() {
            named.push((quantity, item.channel, value));
        }
    }
    let measurements = named
        .iter()
        .map(|&(quantity, channel, value)| {
            let repeated = named.iter().filter(|(q, ..)| *q == quantity).count() > 1;
            let name = if repeated {
                format!("{quantity}_{channel}")
            } else {
                quantity.to_owned()
            };
            let unit = Quantity::by_name(quantity).map_or("", |q| q.unit);
            Measurement {
                quantity: name,
                unit: unit.to_owned(),
                value,
            }
        })
        .collect();
    Ok(measurements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(quantity: &str, unit: &str, value: f64) -> Measurement {
        Measurement {
            quantity: quantity.into(),
            unit: unit.into(),
            value,
        }
    }

    fn approx(got: Vec<Measurement>, want: Vec<Measurement>) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((&g.quantity, &g.unit), (&w.quantity, &w.unit));
            assert!((g.value - w.value).abs() < 1e-9, "{g:?} vs {w:?}");
        }
    }

    /// The documented example: two temperatures on channels 3 and 5.
    #[test]
    fn repeated_quantities_get_channel_suffixes() {
        let got = decode(&[0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff]).unwrap();
        approx(
            got,
            vec![
                m("air_temperature_3", "°C", 27.2),
                m("air_temperature_5", "°C", 25.5),
            ],
        );
    }

    #[test]
    fn single_quantities_keep_plain_names_and_units() {
        // ch1 temperature 21.5 °C, ch2 humidity 60 %, ch3 barometer 1013.2 hPa
        let got = decode(&[
            0x01, 0x67, 0x00, 0xd7, 0x02, 0x68, 0x78, 0x03, 0x73, 0x27, 0x94,
        ])
        .unwrap();
        approx(
            got,
            vec![
                m("air_temperature", "°C", 21.5),
                m("relative_humidity", "%", 60.0),
                m("air_pressure", "hPa", 1013.2),
            ],
        );
    }

    #[test]
    fn a_broken_payload_is_an_error_not_a_partial_result() {
        assert!(decode(&[0x01, 0x67, 0x00, 0xd7, 0x02, 0x68]).is_err());
    }
}
