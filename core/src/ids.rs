//! Identifiers of devices on a LoRaWAN network.
//!
//! A DevEUI is the 64-bit IEEE EUI of an end device. Consoles show it as 16 hex digits, most
//! significant byte first; that is the only textual form we accept and print (lowercase).

use core::fmt;
use core::str::FromStr;

/// The IEEE EUI-64 of an end device, most significant byte first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevEui([u8; 8]);

/// Why a textual identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// The text does not have the number of hex digits the identifier needs.
    Length { expected: usize, found: usize },
    /// A character is not a hex digit.
    NotHex,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length { expected, found } => {
                write!(f, "expected {expected} hex digits, found {found}")
            }
            IdError::NotHex => f.write_str("not a hex digit"),
        }
    }
}

#[cfg(any(test, feature = "std"))]
impl std::error::Error for IdError {}

impl DevEui {
    pub const fn new(bytes: [u8; 8]) -> Self {
        DevEui(bytes)
    }

    pub const fn bytes(&self) -> [u8; 8] {
        self.0
    }
}

/// The longest public station id.
pub const STATION_ID_MAX: usize = 64;

/// Whether `text` is a public station id: `[a-z0-9][a-z0-9._-]{0,63}`. Station ids appear in
/// URLs, file names, CSV cells and HTML, so they are plain words that need no escaping
/// anywhere; a station's name for people is free text kept apart from its id.
pub fn is_station_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    let word = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match bytes.split_first() {
        Some((first, rest)) => {
            bytes.len() <= STATION_ID_MAX
                && word(first)
                && rest
                    .iter()
                    .all(|b| word(b) || matches!(b, b'.' | b'_' | b'-'))
        }
        None => false,
    }
}

/// Parses exactly `N` bytes written as `2N` hex digits, most significant first.
pub fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], IdError> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return Err(IdError::Length {
            expected: 2 * N,
            found: digits.len(),
        });
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Ok(out)
}

fn hex_value(digit: u8) -> Result<u8, IdError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(IdError::NotHex),
    }
}

impl FromStr for DevEui {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        parse_hex::<8>(text).map(DevEui)
    }
}

impl fmt::Display for DevEui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DevEui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevEui({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn station_ids_are_plain_words() {
        for ok in ["pegel-03", "wetter.wyk_1", "0", &"a".repeat(64)] {
            assert!(is_station_id(ok), "{ok}");
        }
        for bad in [
            "",
            "<img src=x onerror=alert(1)>",
            "Pegel-03",
            "-pegel",
            ".hidden",
            "a/b",
            "a b",
            "ä",
            &"a".repeat(65),
        ] {
            assert!(!is_station_id(bad), "{bad}");
        }
    }

    #[test]
    fn dev_eui_round_trips_in_lowercase() {
        let eui: DevEui = "0004A30B001C0530".parse().unwrap();
        assert_eq!(
            eui.bytes(),
            [0x00, 0x04, 0xa3, 0x0b, 0x00, 0x1c, 0x05, 0x30]
        );
        assert_eq!(eui.to_string(), "0004a30b001c0530");
    }

    #[test]
    fn dev_eui_rejects_wrong_length_and_non_hex() {
        assert_eq!(
            "0101".parse::<DevEui>(),
            Err(IdError::Length {
                expected: 16,
                found: 4
            })
        );
        assert_eq!("010101010101010g".parse::<DevEui>(), Err(IdError::NotHex));
    }
}
