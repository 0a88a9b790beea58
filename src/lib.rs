//! The parts of the `sensorhub` command that other programs need too: the configuration file
//! (so that the fuzz targets in `fuzz/` read it exactly as the command does) and the alerts it
//! configures, and the SensorThings MQTT extension it runs. The command itself is `src/main.rs`.

pub mod alerts;
pub mod config;
pub mod sta_mqtt;
