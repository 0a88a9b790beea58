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
    pub const CO2: u8 = 6;
    pub const SOIL_MOISTURE: u8 = 7;
    pub const PARKING_OCCUPANCY: u8 = 8;
    pub const VISITOR_COUNT: u8 = 9;
}

/// Largest report: every field present. Fits LoRaWAN's smallest EU868 payload (51 bytes).
pub const MAX_REPORT_LEN: usize = 4 + 3 + 4 + 6 + 4 + 4 + 3 + 4 + 6;

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
    /// CO2 in ppm (LPP concentration), 1 ppm resolution on air.
    pub co2: Option<f32>,
    /// Soil moisture in percent (LPP percentage), 1 % resolution on air.
    pub soil_moisture: Option<f32>,
    /// Occupied spaces of a car park (LPP analog input), whole spaces.
    pub parking_occupancy: Option<f32>,
    /// People counted since the last report (LPP generic sensor), whole people.
    pub visitor_count: Option<f32>,
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
            channel::CO2 => self.co2,
            channel::SOIL_MOISTURE => self.soil_moisture,
            channel::PARKING_OCCUPANCY => self.parking_occupancy,
            channel::VISITOR_COUNT => self.visitor_count,
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
            (channel::CO2, LppType::Concentration, self.co2),
            (
                channel::SOIL_MOISTURE,
                LppType::Percentage,
                self.soil_moisture,
            ),
            (
                channel::PARKING_OCCUPANCY,
                LppType::AnalogInput,
                self.parking_occupancy,
            ),
            (
                channel::VISITOR_COUNT,
                LppType::GenericSensor,
                self.visitor_count,
            ),
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
            co2: Some(812.0),
            soil_moisture: Some(31.0),
            parking_occupancy: Some(87.0),
            visitor_count: Some(1234.0),
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
                0x06, 0x7d, 0x03, 0x2c, // ch6 concentration 812 ppm
                0x07, 0x78, 0x1f, // ch7 percentage 31 %
                0x08, 0x02, 0x21, 0xfc, // ch8 analog input 8700 * 0.01 = 87
                0x09, 0x64, 0x00, 0x00, 0x04, 0xd2, // ch9 generic sensor 1234
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
