//! Built-in decoders for common municipal sensors, written from the vendors' documented payload
//! formats. Each maps the vendor's fields onto the quantity vocabulary; tests check each
//! against the vendor's own published example payloads (as listed in The Things Network's
//! device repository).

use sensorhub_core::Quantity;

use super::{CodecError, Measurement};

/// A measurement of a vocabulary quantity, with the vocabulary's unit.
fn m(quantity: &'static str, value: f64) -> Measurement {
    Measurement {
        quantity: quantity.to_owned(),
        unit: Quantity::by_name(quantity)
            .map_or("", |q| q.unit)
            .to_owned(),
        value,
    }
}

/// Reads fixed-width fields, failing with the offset when the payload is too short.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    device: &'static str,
}

impl<'a> Reader<'a> {
    fn new(device: &'static str, bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            device,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or(CodecError::Payload {
                device_type: self.device,
                detail: format!(
                    "needs {n} more bytes at offset {}, has {}",
                    self.pos,
                    self.bytes.len().saturating_sub(self.pos)
                ),
            })?;
        self.pos += n;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u16_be(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn i16_be(&mut self) -> Result<i16, CodecError> {
        Ok(self.u16_be()? as i16)
    }
    fn u16_le(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn i16_le(&mut self) -> Result<i16, CodecError> {
        Ok(self.u16_le()? as i16)
    }
    fn u32_be(&mut self) -> Result<u32, CodecError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

fn bad(device: &'static str, detail: impl Into<String>) -> CodecError {
    CodecError::Payload {
        device_type: device,
        detail: detail.into(),
    }
}

fn want_port(device: &'static str, f_port: Option<u8>, ports: &[u8]) -> Result<(), CodecError> {
    match f_port {
        Some(p) if ports.contains(&p) => Ok(()),
        other => Err(bad(
            device,
            format!("unexpected fPort {other:?} (expected {ports:?})"),
        )),
    }
}

/// Dragino LHT65 (fPort 2): battery (2 bits status, 14 bits mV), SHT20 temperature (int16,
/// 0.01 °C), humidity (uint16, 0.1 %), external sensor type (1 byte), external value (a
/// DS18B20 probe: int16, 0.01 °C; 0x7FFF when absent).
pub fn dragino_lht65(f_port: Option<u8>, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    const D: &str = "dragino-lht65";
    want_port(D, f_port, &[2])?;
    let mut r = Reader::new(D, payload);
    let battery = r.u16_be()? & 0x3fff;
    let temperature = r.i16_be()?;
    let humidity = r.u16_be()?;
    let mut out = vec![
        m("battery_voltage", f64::from(battery) / 1000.0),
        m("air_temperature", f64::from(temperature) / 100.0),
        m("relative_humidity", f64::from(humidity) / 10.0),
    ];
    if payload.len() >= 9 && payload[6] == 0x01 {
        let mut ext = Reader::new(D, &payload[7..9]);
        let raw = ext.i16_be()?;
        if raw != 0x7fff {
            out.push(m("external_temperature", f64::from(raw) / 100.0));
        }
    }
    Ok(out)
}

/// Dragino LDDS75 ultrasonic distance (fPort 2): battery mV (uint16, top 2 bits status),
/// distance mm (uint16), interrupt flag, then on newer firmware a DS18B20 temperature
/// (int16, 0.1 °C) and a sensor flag. Frames without the distance field mean no sensor is
/// attached; distances under 20 mm are invalid readings. Neither gives a distance reading.
pub fn dragino_ldds75(f_port: Option<u8>, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    const D: &str = "dragino-ldds75";
    want_port(D, f_port, &[2])?;
    let mut r = Reader::new(D, payload);
    let battery = r.u16_be()? & 0x3fff;
    let mut out = vec![m("battery_voltage", f64::from(battery) / 1000.0)];
    if payload.len() < 5 {
        return Ok(out); // "No Sensor"
    }
    let distance = r.u16_be()?;
    if distance >= 20 {
        out.push(m("distance", f64::from(distance) / 1000.0));
    }
    r.u8()?; // interrupt flag
    if payload.len() >= 8 {
        let temperature = r.i16_be()?;
        let probe = r.u8()?;
        if probe == 0x01 {
            out.push(m("external_temperature", f64::from(temperature) / 10.0));
        }
    }
    Ok(out)
}

/// Milesight EM300-TH and AM100 series: channel-type records, little-endian.
pub fn milesight(device: &'static str, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    let mut r = Reader::new(device, payload);
    let mut out = Vec::new();
    while !r.done() {
        let (channel, kind) = (r.u8()?, r.u8()?);
        match (channel, kind) {
            (0x01, 0x75) => out.push(m("battery_level", f64::from(r.u8()?))),
            (0x03, 0x67) => out.push(m("air_temperature", f64::from(r.i16_le()?) / 10.0)),
            (0x04, 0x68) => out.push(m("relative_humidity", f64::from(r.u8()?) / 2.0)),
            (0x05, 0x6a) => out.push(m("motion", f64::from(r.u16_le()?))),
            (0x06, 0x65) => {
                out.push(m("illuminance", f64::from(r.u16_le()?)));
                out.push(m("infrared_and_visible", f64::from(r.u16_le()?)));
                out.push(m("infrared", f64::from(r.u16_le()?)));
            }
            (0x07, 0x7d) => out.push(m("co2", f64::from(r.u16_le()?))),
            (0x08, 0x7d) => out.push(m("tvoc", f64::from(r.u16_le()?))),
            (0x09, 0x73) => out.push(m("air_pressure", f64::from(r.u16_le()?) / 10.0)),
            (0xff, _) => break, // device information records, sent after joining
            _ => {
                return Err(bad(
                    device,
                    format!(
                        "unknown channel 0x{channel:02x} type 0x{kind:02x} at offset {}",
                        r.pos - 2
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Elsys ERS family: type-value records, big-endian.
pub fn elsys(device: &'static str, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    let mut r = Reader::new(device, payload);
    let mut out = Vec::new();
    while !r.done() {
        match r.u8()? {
            0x01 => out.push(m("air_temperature", f64::from(r.i16_be()?) / 10.0)),
            0x02 => out.push(m("relative_humidity", f64::from(r.u8()?))),
            0x03 => {
                r.take(3)?; // acceleration x, y, z
            }
            0x04 => out.push(m("illuminance", f64::from(r.u16_be()?))),
            0x05 => out.push(m("motion", f64::from(r.u8()?))),
            0x06 => out.push(m("co2", f64::from(r.u16_be()?))),
            0x07 => out.push(m("battery_voltage", f64::from(r.u16_be()?) / 1000.0)),
            0x08 => out.push(m("analog_input", f64::from(r.u16_be()?))),
            0x0a => out.push(m("count", f64::from(r.u16_be()?))),
            0x0b => out.push(m("count", f64::from(r.u32_be()?))),
            0x0c => out.push(m("external_temperature", f64::from(r.i16_be()?) / 10.0)),
            0x0d => out.push(m("digital_input", f64::from(r.u8()?))),
            0x0e => out.push(m("distance", f64::from(r.u16_be()?) / 1000.0)),
            0x0f => out.push(m("motion", f64::from(r.u8()?))),
            0x11 => out.push(m("occupancy", f64::from(r.u8()?))),
            0x12 => out.push(m("water_leak", f64::from(r.u8()?))),
            0x14 => out.push(m("air_pressure", f64::from(r.u32_be()?) / 1000.0)),
            other => {
                return Err(bad(
                    device,
                    format!("unknown data type 0x{other:02x} at offset {}", r.pos - 1),
                ))
            }
        }
    }
    Ok(out)
}

/// Decentlab DL-PM, protocol version 2: version, device id, a flag word saying which sensor
/// groups follow, then each present group as big-endian 16-bit words.
pub fn decentlab_dl_pm(payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    const D: &str = "decentlab-dl-pm";
    let mut r = Reader::new(D, payload);
    let version = r.u8()?;
    if version != 2 {
        return Err(bad(D, format!("protocol version {version}, expected 2")));
    }
    let _device_id = r.u16_be()?;
    let flags = r.u16_be()?;
    let mut out = Vec::new();
    if flags & 0b0001 != 0 {
        out.push(m("battery_voltage", f64::from(r.u16_be()?) / 1000.0));
    }
    if flags & 0b0010 != 0 {
        let mut x = [0f64; 10];
        for v in &mut x {
            *v = f64::from(r.u16_be()?);
        }
        out.extend([
            m("pm1_0", x[0] / 10.0),
            m("pm2_5", x[1] / 10.0),
            m("pm4", x[2] / 10.0),
            m("pm10", x[3] / 10.0),
            m("particle_size", x[4]),
            m("pm0_5_number", x[5] / 10.0),
            m("pm1_0_number", x[6] / 10.0),
            m("pm2_5_number", x[7] / 10.0),
            m("pm4_number", x[8] / 10.0),
            m("pm10_number", x[9] / 10.0),
        ]);
    }
    if flags & 0b0100 != 0 {
        let (t, h) = (f64::from(r.u16_be()?), f64::from(r.u16_be()?));
        out.push(m("air_temperature", 175.72 * t / 65536.0 - 46.85));
        out.push(m("relative_humidity", 125.0 * h / 65536.0 - 6.0));
    }
    if flags & 0b1000 != 0 {
        // Pa on air; the vocabulary speaks hPa.
        out.push(m("air_pressure", f64::from(r.u16_be()?) * 2.0 / 100.0));
    }
    Ok(out)
}

/// Browan TBHH100 (fPort 103): status, battery ((25 + low nibble) / 10 V), temperature
/// (7 bits, offset -32 °C), humidity (7 bits, %).
pub fn browan_tbhh100(f_port: Option<u8>, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    const D: &str = "browan-tbhh100";
    want_port(D, f_port, &[103])?;
    let mut r = Reader::new(D, payload);
    let _status = r.u8()?;
    let battery = r.u8()? & 0x0f;
    let temperature = r.u8()? & 0x7f;
    let humidity = r.u8()? & 0x7f;
    Ok(vec![
        m("battery_voltage", f64::from(25 + battery) / 10.0),
        m("air_temperature", f64::from(temperature) - 32.0),
        m("relative_humidity", f64::from(humidity)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(out: &[Measurement], quantity: &str) -> f64 {
        out.iter()
            .find(|m| m.quantity == quantity)
            .unwrap_or_else(|| panic!("no {quantity} in {out:?}"))
            .value
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn every_vendor_quantity_is_in_the_vocabulary() {
        let outputs = [
            dragino_lht65(
                Some(2),
                &[
                    0xCB, 0xF6, 0x0B, 0x0D, 0x03, 0x76, 0x01, 0x0A, 0xDD, 0x7F, 0xFF,
                ],
            )
            .unwrap(),
            milesight(
                "milesight-am107",
                &[
                    0x01, 0x75, 0x5C, 0x03, 0x67, 0x34, 0x01, 0x04, 0x68, 0x65, 0x05, 0x6A, 0x49,
                    0x00, 0x06, 0x65, 0x1C, 0x00, 0x79, 0x00, 0x14, 0x00, 0x07, 0x7D, 0xE7, 0x04,
                    0x08, 0x7D, 0x07, 0x00, 0x09, 0x73, 0x3F, 0x27,
                ],
            )
            .unwrap(),
        ];
        for m in outputs.iter().flatten() {
            assert!(
                Quantity::by_name(&m.quantity).is_some(),
                "{} is not in the vocabulary",
                m.quantity
            );
        }
    }

    /// Dragino's example: CBF6 0B0D 0376 01 0ADD 7FFF -> BatV 3.062, TempC_SHT 28.29,
    /// Hum_SHT 88.6, TempC_DS 27.81.
    #[test]
    fn dragino_lht65_vendor_example() {
        let out = dragino_lht65(
            Some(2),
            &[
                0xCB, 0xF6, 0x0B, 0x0D, 0x03, 0x76, 0x01, 0x0A, 0xDD, 0x7F, 0xFF,
            ],
        )
        .unwrap();
        close(value(&out, "battery_voltage"), 3.062);
        close(value(&out, "air_temperature"), 28.29);
        close(value(&out, "relative_humidity"), 88.6);
        close(value(&out, "external_temperature"), 27.81);
        assert!(
            dragino_lht65(Some(42), &[0xCB, 0xF6]).is_err(),
            "unknown fPort"
        );
    }

    /// Dragino's example: 0E1C 0B05 (4 bytes) is a frame without a distance sensor.
    #[test]
    fn dragino_ldds75_vendor_example_and_full_frame() {
        let out = dragino_ldds75(Some(2), &[0x0E, 0x1C, 0x0B, 0x05]).unwrap();
        assert!(out.iter().all(|m| m.quantity != "distance"));
        // 0B45: 2.885 V; 0B05: 2821 mm; 00: no interrupt; 00FA: 25.0 °C; 01: probe present.
        let out =
            dragino_ldds75(Some(2), &[0x0B, 0x45, 0x0B, 0x05, 0x00, 0x00, 0xFA, 0x01]).unwrap();
        close(value(&out, "battery_voltage"), 2.885);
        close(value(&out, "distance"), 2.821);
        close(value(&out, "external_temperature"), 25.0);
        assert!(dragino_ldds75(Some(42), &[0x0E, 0x1C, 0x0B, 0x05]).is_err());
    }

    /// Milesight's EM300-TH example: battery 50, temperature 20.0, humidity 30.0.
    #[test]
    fn milesight_em300_th_vendor_example() {
        let out = milesight(
            "milesight-em300-th",
            &[0x01, 0x75, 0x32, 0x03, 0x67, 0xC8, 0x00, 0x04, 0x68, 0x3C],
        )
        .unwrap();
        close(value(&out, "battery_level"), 50.0);
        close(value(&out, "air_temperature"), 20.0);
        close(value(&out, "relative_humidity"), 30.0);
    }

    /// Milesight's three AM107 examples.
    #[test]
    fn milesight_am107_vendor_examples() {
        let out = milesight(
            "milesight-am107",
            &[
                0x01, 0x75, 0x5C, 0x03, 0x67, 0x34, 0x01, 0x04, 0x68, 0x65, 0x05, 0x6A, 0x49, 0x00,
            ],
        )
        .unwrap();
        close(value(&out, "battery_level"), 92.0);
        close(value(&out, "air_temperature"), 30.8);
        close(value(&out, "relative_humidity"), 50.5);
        close(value(&out, "motion"), 73.0);
        let out = milesight(
            "milesight-am107",
            &[0x06, 0x65, 0x1C, 0x00, 0x79, 0x00, 0x14, 0x00],
        )
        .unwrap();
        close(value(&out, "illuminance"), 28.0);
        close(value(&out, "infrared_and_visible"), 121.0);
        close(value(&out, "infrared"), 20.0);
        let out = milesight(
            "milesight-am107",
            &[
                0x07, 0x7D, 0xE7, 0x04, 0x08, 0x7D, 0x07, 0x00, 0x09, 0x73, 0x3F, 0x27,
            ],
        )
        .unwrap();
        close(value(&out, "co2"), 1255.0);
        close(value(&out, "tvoc"), 7.0);
        close(value(&out, "air_pressure"), 1004.7);
        assert!(
            milesight("milesight-am107", &[0x03, 0x67, 0x34]).is_err(),
            "truncated"
        );
        assert!(
            milesight("milesight-am107", &[0x42, 0x42, 0x00]).is_err(),
            "unknown record"
        );
    }

    /// Elsys' ERS CO2 example: temperature 22.6, humidity 41, light 39, motion 6, co2 776.
    #[test]
    fn elsys_ers_co2_vendor_example() {
        let out = elsys(
            "elsys-ers-co2",
            &[
                0x01, 0x00, 0xE2, 0x02, 0x29, 0x04, 0x00, 0x27, 0x05, 0x06, 0x06, 0x03, 0x08,
            ],
        )
        .unwrap();
        close(value(&out, "air_temperature"), 22.6);
        close(value(&out, "relative_humidity"), 41.0);
        close(value(&out, "illuminance"), 39.0);
        close(value(&out, "motion"), 6.0);
        close(value(&out, "co2"), 776.0);
        assert!(elsys("elsys-ers", &[0x01, 0x00]).is_err());
    }

    /// Decentlab's three DL-PM examples.
    #[test]
    fn decentlab_dl_pm_vendor_examples() {
        let full = [
            0x02, 0x1b, 0x50, 0x00, 0x0f, 0x0c, 0x25, 0x00, 0x25, 0x00, 0x27, 0x00, 0x27, 0x00,
            0x27, 0x01, 0xf5, 0x01, 0x07, 0x01, 0x2c, 0x01, 0x2d, 0x01, 0x2d, 0x01, 0x2d, 0x67,
            0xbd, 0x61, 0x8d, 0xbd, 0x10,
        ];
        let out = decentlab_dl_pm(&full).unwrap();
        close(value(&out, "battery_voltage"), 3.109);
        close(value(&out, "pm1_0"), 3.7);
        close(value(&out, "pm2_5"), 3.9);
        close(value(&out, "pm4"), 3.9);
        close(value(&out, "pm10"), 3.9);
        close(value(&out, "particle_size"), 501.0);
        close(value(&out, "pm0_5_number"), 26.3);
        close(value(&out, "pm1_0_number"), 30.0);
        close(value(&out, "pm10_number"), 30.1);
        assert!((value(&out, "air_temperature") - 24.35660461425781).abs() < 1e-9);
        assert!((value(&out, "relative_humidity") - 41.63221740722656).abs() < 1e-9);
        close(value(&out, "air_pressure"), 968.0); // 96800 Pa
        let out = decentlab_dl_pm(&[
            0x02, 0x1b, 0x50, 0x00, 0x0d, 0x0c, 0x25, 0x67, 0xbd, 0x61, 0x8d, 0xbd, 0x10,
        ])
        .unwrap();
        assert_eq!(out.len(), 4);
        let out = decentlab_dl_pm(&[0x02, 0x1b, 0x50, 0x00, 0x01, 0x0c, 0x25]).unwrap();
        assert_eq!(out.len(), 1);
        close(value(&out, "battery_voltage"), 3.109);
        assert!(
            decentlab_dl_pm(&[0x03, 0x1b, 0x50, 0x00, 0x01, 0x0c, 0x25]).is_err(),
            "version"
        );
    }

    /// Browan's TBHH100 example: temperature 21, humidity 34, battery 3.6.
    #[test]
    fn browan_tbhh100_vendor_example() {
        let out =
            browan_tbhh100(Some(103), &[0x08, 0xAB, 0x35, 0x22, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
        close(value(&out, "air_temperature"), 21.0);
        close(value(&out, "relative_humidity"), 34.0);
        close(value(&out, "battery_voltage"), 3.6);
        assert!(browan_tbhh100(Some(42), &[0x01]).is_err());
    }
}
