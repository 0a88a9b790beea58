//! The node's uplink payload.
//!
//! A report carries whatever the node's sensors measured this cycle, each on a fixed LPP
//! channel so the meaning of a channel never changes between uplinks of one node.

use sensorhub_core::lpp::{LppError, LppType, LppWriter};

/// Channels of the report, fixed for every node of this firmware.
pub mod channel {
    pub const AIR_TEMPERATURE: u8 = 1;
    pub const RELATIVE_HUMIDITY: u8 = 2;
    pub const AIR_PRESSURE: u8 = 3;
    pub const DISTANCE: u8 = 4;
    pub const BATTERY: u8 = 5;
}

/// Largest report: every field present. Fits LoRaWAN's smallest EU868 payload (51 bytes).
pub const MAX_REPORT_LEN: usize = 4 + 3 + 4 + 6 + 4;

/// One measurement cycle; absent fields are sensors the node does not have or that failed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Report {
    /// °C, 0.1 resolution on air.
    pub air_temperature: Option<f32>,
    /// %, 0.5 resolution on air.
    pub relative_humidity: Option<f32>,
    /// hPa, 0.1 resolution on air.
    pub air_pressure: Option<f32>,
    /// Metres from an ultrasonic sensor to the water surface, 1 mm resolution on air.
    pub distance: Option<f32>,
    /// Battery voltage in volts, 0.01 V resolution on air.
    pub battery: Option<f32>,
}

impl Report {
    /// The value sent on `channel`.
    pub fn by_channel(&self, channel: u8) -> Option<f32> {
        match channel {
            channel::AIR_TEMPERATURE => self.air_temperature,
            channel::RELATIVE_HUMIDITY => self.relative_humidity,
            channel::AIR_PRESSURE => self.air_pressure,
            channel::DISTANCE => self.distance,
            channel::BATTERY => self.battery,
            _ => None,
        }
    }

    /// Encodes the report into `buffer` and returns the payload length.
    pub fn encode(&self, buffer: &mut [u8]) -> Result<usize, LppError> {
        let mut writer = LppWriter::new(buffer);
        let fields = [
            (
                channel::AIR_TEMPERATURE,
                LppType::Temperature,
                self.air_temperature,
            ),
            (
                channel::RELATIVE_HUMIDITY,
                LppType::Humidity,
                self.relative_humidity,
            ),
            (channel::AIR_PRESSURE, LppType::Barometer, self.air_pressure),
            (channel::DISTANCE, LppType::Distance, self.distance),
            (channel::BATTERY, LppType::Voltage, self.battery),
        ];
        for (channel, kind, value) in fields {
            if let Some(v) = value {
                writer.push(channel, kind, &[f64::from(v)])?;
            }
        }
        Ok(writer.payload().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_report_fits_and_is_byte_exact() {
        let report = Report {
            air_temperature: Some(-3.4),
            relative_humidity: Some(81.5),
            air_pressure: Some(1012.8),
            distance: Some(2.345),
            battery: Some(3.61),
        };
        let mut buffer = [0u8; MAX_REPORT_LEN];
        let len = report.encode(&mut buffer).unwrap();
        assert_eq!(len, MAX_REPORT_LEN);
        assert_eq!(
            &buffer[..len],
            &[
                0x01, 0x67, 0xff, 0xde, // ch1 temperature -34 * 0.1 = -3.4 °C
                0x02, 0x68, 0xa3, // ch2 humidity 163 * 0.5 = 81.5 %
                0x03, 0x73, 0x27, 0x90, // ch3 barometer 10128 * 0.1 = 1012.8 hPa
                0x04, 0x82, 0x00, 0x00, 0x09, 0x29, // ch4 distance 2345 mm
                0x05, 0x74, 0x01, 0x69, // ch5 voltage 361 * 0.01 = 3.61 V
            ]
        );
    }

    #[test]
    fn absent_sensors_are_left_out() {
        let report = Report {
            distance: Some(1.0),
            ..Report::default()
        };
        let mut buffer = [0u8; MAX_REPORT_LEN];
        assert_eq!(report.encode(&mut buffer).unwrap(), 6);
    }
}
