//! Sensor drivers over embedded-hal 1.0, each following its datasheet's command sequence and
//! conversion formulas, with faults reported as typed errors.
//!
//! - `sht4x`: Sensirion SHT4x temperature and humidity (I2C, CRC-8 on every word).
//! - `bme280`: Bosch BME280 temperature, humidity and pressure (I2C, factory calibration
//!   compensation in integer arithmetic).
//! - `a02yyuw`: DFRobot A02YYUW ultrasonic distance (UART frames with a checksum).
//! - `battery`: battery voltage through a resistor divider on an ADC channel.
//! - `scd4x`: Sensirion SCD4x CO2, temperature and humidity (I2C, CRC-8 on every word).
//! - `soil`: a capacitive soil-moisture probe on an ADC channel, calibrated in air and water.
//! - `counter`: pulse inputs (light barriers, induction loops) and a car park's occupancy.

pub mod a02yyuw;
pub mod battery;
pub mod bme280;
pub mod counter;
pub mod scd4x;
pub mod sht4x;
pub mod soil;
