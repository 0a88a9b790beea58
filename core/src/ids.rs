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
        // Written once, not digit pair by digit pair: every uplink names its device.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 16];
        for (i, byte) in self.0.iter().enumerate() {
            text[2 * i] = HEX[usize::from(byte >> 4)];
            text[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
        }
        f.pad(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DevEui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevEui({self})")
    }
}

/// A DevEUI equals its text in any case: `eui == "70b3d57ed0000002"`.
impl PartialEq<&str> for DevEui {
    fn eq(&self, text: &&str) -> bool {
        text.parse::<DevEui>().is_ok_and(|t| t == *self)
    }
}

/// The 32-bit device address of an ABP session, shown (as consoles show it) most significant
/// byte first; on the air it travels least significant byte first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevAddr([u8; 4]);

impl DevAddr {
    /// From the four bytes as they travel in a frame (least significant first).
    pub const fn from_wire(wire: [u8; 4]) -> Self {
        DevAddr([wire[3], wire[2], wire[1], wire[0]])
    }

    /// Most significant byte first.
    pub const fn bytes(&self) -> [u8; 4] {
        self.0
    }
}

impl FromStr for DevAddr {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        parse_hex::<4>(text).map(DevAddr)
    }
}

impl fmt::Display for DevAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl PartialEq<&str> for DevAddr {
    fn eq(&self, text: &&str) -> bool {
        text.parse::<DevAddr>().is_ok_and(|t| t == *self)
    }
}

impl fmt::Debug for DevAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevAddr({self})")
    }
}

/// A 128-bit AES session key. It never shows its bytes: not through `{:?}`, and it has no
/// `Display`; [`AesKey::secret_hex`] is the one way to write it out, for an export that asked
/// for the keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AesKey([u8; 16]);

impl AesKey {
    pub const fn new(bytes: [u8; 16]) -> Self {
        AesKey(bytes)
    }

    pub const fn bytes(&self) -> [u8; 16] {
        self.0
    }

    /// The key as 32 lowercase hex digits. Only for exports that asked for the keys.
    pub fn secret_hex(&self) -> HexKey {
        HexKey(self.0)
    }
}

/// An AES key being written out as hex (see [`AesKey::secret_hex`]).
pub struct HexKey([u8; 16]);

impl fmt::Display for HexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for AesKey {
    type Err = IdError;

    fn from_str(text: &str) -> Result<Self, IdError> {
        parse_hex::<16>(text).map(AesKey)
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<secret>)")
    }
}

#[cfg(feature = "serde")]
mod serde_impls {
    use super::*;
    use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

    fn read<'de, D: Deserializer<'de>, T: FromStr<Err = IdError>>(
        deserializer: D,
        what: &str,
    ) -> Result<T, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.trim()
            .parse()
            .map_err(|e| de::Error::custom(format_args!("{what}: {e}")))
    }

    impl Serialize for DevEui {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for DevEui {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read(d, "a DevEUI is 16 hex digits")
        }
    }

    impl Serialize for DevAddr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for DevAddr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read(d, "a DevAddr is 8 hex digits")
        }
    }

    /// Written as hex: a device with its keys is serialised only for an export that asked
    /// for them (the registry's listings drop the keys first).
    impl Serialize for AesKey {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&self.secret_hex())
        }
    }

    impl<'de> Deserialize<'de> for AesKey {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read(d, "a session key is 32 hex digits")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_never_show_their_bytes() {
        extern crate std;
        use std::format;
        let key: AesKey = "2B7E151628AED2A6ABF7158809CF4F3C".parse().unwrap();
        assert_eq!(format!("{key:?}"), "AesKey(<secret>)");
        assert_eq!(
            format!("{}", key.secret_hex()),
            "2b7e151628aed2a6abf7158809cf4f3c"
        );
        assert!("2b7e".parse::<AesKey>().is_err());
    }

    #[test]
    fn dev_addrs_show_most_significant_first_and_read_wire_order() {
        extern crate std;
        use std::string::ToString;
        let addr = DevAddr::from_wire([0xf1, 0x7d, 0xbe, 0x49]);
        assert_eq!(addr.to_string(), "49be7df1");
        assert_eq!("49BE7DF1".parse::<DevAddr>(), Ok(addr));
        assert!(addr == "49be7df1");
        let eui: DevEui = "70b3d57ed0000002".parse().unwrap();
        assert!(eui == "70B3D57ED0000002" && eui != "70b3d57ed0000003");
    }

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
        let all: DevEui = "FFEEDDCCBBAA9980".parse().unwrap();
        assert_eq!(format!("{all:>18}"), "  ffeeddccbbaa9980");
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
