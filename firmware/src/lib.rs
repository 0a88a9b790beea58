//! Firmware of the sensor nodes, `no_std` and allocation-free.
//!
//! - `drivers`: SHT4x, BME280, A02YYUW and battery drivers over embedded-hal 1.0.
//! - `airtime`: LoRa time on air from Semtech's formula.
//! - `duty_cycle`: the EU868 duty-cycle budget per sub-band.
//! - `link`: LoRaWAN through `lorawan-device` (ABP, OTAA, counters kept across resets).
//! - `node`: the node application (schedule, report on change or heartbeat, duty cycle).
//! - `report`: what a node measured, encoded as the uplink payload (Cayenne LPP through
//!   `sensorhub-core`, so the gateway decodes exactly what the node encodes).
//! - `sim` (feature `sim`, host only): the simulator that runs the node logic against
//!   simulated sensors and publishes the frames over MQTT.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod airtime;
pub mod drivers;
pub mod duty_cycle;
pub mod link;
pub mod node;
pub mod report;

#[cfg(feature = "sim")]
pub mod sim;
