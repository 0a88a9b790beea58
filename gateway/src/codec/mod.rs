//! Payload codecs: application payload bytes of one device type -> measurements in the
//! quantity vocabulary.
//!
//! A device's `device_type` in the registry names its codec (`cayenne-lpp`, ...). Codecs
//! return typed errors; the gateway dead-letters the message with reason `codec_error`.

mod lpp;

/// One decoded value, already in the vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub quantity: String,
    pub unit: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    #[error("device type `{0}` has no decoder in this version")]
    UnknownDeviceType(String),
    #[error("Cayenne LPP: {0}")]
    Lpp(#[from] sensorhub_core::lpp::LppError),
}

/// Decodes `payload` of a device of type `device_type`.
pub fn decode(device_type: &str, payload: &[u8]) -> Result<Vec<Measurement>, CodecError> {
    match device_type {
        "cayenne-lpp" => lpp::decode(payload),
        other => Err(CodecError::UnknownDeviceType(other.to_owned())),
    }
}

/// Whether this build has a decoder for `device_type` (used to check registry entries).
pub fn is_known(device_type: &str) -> bool {
    matches!(device_type, "cayenne-lpp")
}
