//! Payload codecs: application payload bytes of one device type -> measurements in the
//! quantity vocabulary.
//!
//! A device's `device_type` in the registry names its codec: a built-in one (`cayenne-lpp`,
//! ...), a JavaScript file (`js:PATH`), or a codec of The Things Network's device repository
//! (`ttn:VENDOR/CODEC`, see [`ttn`]). Built-in codecs speak the vocabulary; what JavaScript
//! codecs and network servers give goes through the field mapping of [`output`]. Codecs return
//! typed errors; the gateway dead-letters the message with reason `codec_error`.

mod fields;
pub mod js;
mod lpp;
mod normalized;
pub mod output;
pub mod runner;
pub mod ttn;
mod vendors;

pub use output::{Mapped, Output, Unmapped, Why};
pub use runner::{CodecRunner, RunError};

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
    #[error("JavaScript codec {path}: {detail}")]
    Js { path: String, detail: String },
    #[error("JavaScript codec {path}: ran longer than {limit_ms} ms")]
    Timeout { path: String, limit_ms: u64 },
    #[error("{device_type}: {detail}")]
    Ttn { device_type: String, detail: String },
    #[error("{device_type}: {detail}")]
    Payload {
        device_type: &'static str,
        detail: String,
    },
}

/// A network server's decoded payload (`object` in ChirpStack, `decoded_payload` in The
/// Things Stack), and its normalized payload where it sends one, as a codec output.
pub fn from_decoded(decoded: &serde_json::Value, normalized: Option<&serde_json::Value>) -> Output {
    Output::Json {
        data: decoded.clone(),
        normalized: normalized.cloned(),
    }
}

/// Decodes `payload` of a device of a built-in type (JavaScript codecs run in [`runner`]).
pub fn decode_builtin(
    device_type: &DeviceType,
    f_port: Option<u8>,
    payload: &[u8],
) -> Result<Vec<Measurement>, CodecError> {
    let name = match device_type {
        DeviceType::CayenneLpp => return lpp::decode(payload),
        DeviceType::BuiltIn(b) => b.name(),
        other => return Err(CodecError::UnknownDeviceType(other.to_string())),
    };
    match name {
        "dragino-lht65" | "dragino-lht65n" => vendors::dragino_lht65(f_port, payload),
        "dragino-ldds75" => vendors::dragino_ldds75(f_port, payload),
        "milesight-em300-th" => vendors::milesight("milesight-em300-th", payload),
        "milesight-am103" => vendors::milesight("milesight-am103", payload),
        "milesight-am107" => vendors::milesight("milesight-am107", payload),
        "elsys-ers" => vendors::elsys("elsys-ers", payload),
        "elsys-ers-co2" => vendors::elsys("elsys-ers-co2", payload),
        "decentlab-dl-pm" => vendors::decentlab_dl_pm(payload),
        "browan-tbhh100" => vendors::browan_tbhh100(f_port, payload),
        other => Err(CodecError::UnknownDeviceType(other.to_owned())),
    }
}

use sensorhub_store::DeviceType;
