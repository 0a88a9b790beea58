//! Which decoder a registered device's uplinks go through, parsed once where a device type
//! enters (the registry, an import, the workbench, a normalisation rule): after that it is one
//! of the forms below and nothing matches it as text.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use sensorhub_core::device_type::BUILT_IN;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A device type, shown and stored as its text: `network-server`, `cayenne-lpp`, a vendor
/// decoder such as `dragino-lht65`, `js:PATH` or `ttn:VENDOR/CODEC`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceType {
    /// The network server decodes (ChirpStack codec, TTS payload formatter); its output is used.
    NetworkServer,
    /// Cayenne LPP, decoded here.
    CayenneLpp,
    /// A vendor decoder built into this version.
    BuiltIn(BuiltIn),
    /// A JavaScript codec file.
    Js(JsCodec),
    /// A codec definition of The Things Network's device repository.
    Ttn(TtnCodec),
}

/// The name of a built-in vendor decoder (`dragino-lht65`): always one of [`BUILT_IN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuiltIn(&'static str);

impl BuiltIn {
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// `js:PATH`: a JavaScript codec file whose name ends in `.js`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsCodec(String);

impl JsCodec {
    pub fn path(&self) -> &Path {
        Path::new(&self.0[3..])
    }
}

/// `ttn:VENDOR/CODEC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TtnCodec(String);

impl TtnCodec {
    /// `ttn:VENDOR/CODEC`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `VENDOR/CODEC`.
    pub fn id(&self) -> &str {
        &self.0[4..]
    }
}

/// Text that is no device type, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceTypeError {
    #[error("device_type `{0}`: a JavaScript codec file's name ends in .js")]
    JsNotJs(String),
    #[error(
        "device_type `{0}`: a device repository codec is ttn:VENDOR/CODEC, for example ttn:dragino/lht65"
    )]
    TtnShape(String),
    #[error("device_type `{0}`: no such decoder in this version (known: {known})", known = BUILT_IN.join(", "))]
    Unknown(String),
}

impl DeviceType {
    /// The text form, as stored, shown and matched by normalisation rules.
    pub fn as_str(&self) -> &str {
        match self {
            DeviceType::NetworkServer => "network-server",
            DeviceType::CayenneLpp => "cayenne-lpp",
            DeviceType::BuiltIn(b) => b.0,
            DeviceType::Js(j) => &j.0,
            DeviceType::Ttn(t) => &t.0,
        }
    }

    /// Whether it is decoded by a codec file (`js:` or `ttn:`), on the codec thread.
    pub fn is_script(&self) -> bool {
        matches!(self, DeviceType::Js(_) | DeviceType::Ttn(_))
    }
}

impl FromStr for DeviceType {
    type Err = DeviceTypeError;

    fn from_str(text: &str) -> Result<Self, DeviceTypeError> {
        if let Some(path) = text.strip_prefix("js:") {
            if !path.ends_with(".js") {
                return Err(DeviceTypeError::JsNotJs(text.to_owned()));
            }
            return Ok(DeviceType::Js(JsCodec(text.to_owned())));
        }
        if let Some(id) = text.strip_prefix("ttn:") {
            if id.split('/').count() != 2 || id.split('/').any(str::is_empty) {
                return Err(DeviceTypeError::TtnShape(text.to_owned()));
            }
            return Ok(DeviceType::Ttn(TtnCodec(text.to_owned())));
        }
        match text {
            "network-server" => Ok(DeviceType::NetworkServer),
            "cayenne-lpp" => Ok(DeviceType::CayenneLpp),
            _ => BUILT_IN
                .iter()
                .find(|name| **name == text)
                .map(|name| DeviceType::BuiltIn(BuiltIn(name)))
                .ok_or_else(|| DeviceTypeError::Unknown(text.to_owned())),
        }
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceType({})", self.as_str())
    }
}

impl Serialize for DeviceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DeviceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl rusqlite::ToSql for DeviceType {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for DeviceType {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: DeviceTypeError| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_back_as_its_text() {
        for text in [
            "network-server",
            "cayenne-lpp",
            "dragino-lht65",
            "js:/etc/sensorhub/level.js",
            "ttn:dragino/lht65",
        ] {
            let t: DeviceType = text.parse().unwrap();
            assert_eq!(t.as_str(), text);
        }
        for name in BUILT_IN {
            assert!(name.parse::<DeviceType>().is_ok(), "{name}");
        }
        let js: DeviceType = "js:codecs/a.js".parse().unwrap();
        assert!(matches!(&js, DeviceType::Js(j) if j.path() == Path::new("codecs/a.js")));
        let ttn: DeviceType = "ttn:elsys/ers".parse().unwrap();
        assert!(matches!(&ttn, DeviceType::Ttn(t) if t.id() == "elsys/ers"));
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let err = |t: &str| t.parse::<DeviceType>().unwrap_err().to_string();
        assert!(err("js:codec.txt").contains("ends in .js"));
        assert!(err("ttn:dragino").contains("ttn:VENDOR/CODEC"));
        assert!(err("ttn:/lht65").contains("ttn:VENDOR/CODEC"));
        assert!(err("Dragino-LHT65").contains("no such decoder"));
        assert!(err("").contains("no such decoder"));
    }
}
