//! Domain types shared by the node firmware and the gateway.
//!
//! This crate is `no_std` and allocation-free so that the same payload codec runs on a sensor
//! node and in the gateway: what a node encodes is, byte for byte, what the gateway decodes.
//! The `std` feature only adds `std::error::Error` implementations.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod device_type;
pub mod duration;
pub mod ids;
pub mod lpp;
pub mod quantity;
pub mod units;

pub use ids::{AesKey, DevAddr, DevEui, IdError};
pub use quantity::Quantity;
