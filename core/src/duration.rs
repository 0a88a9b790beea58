//! Durations as people write them in configs and on the command line: `500ms`, `30s`, `15m`
//! (or `15min`), `2h`, `7d`. A config's duration is parsed once, into [`HumanDuration`], when
//! the config is read; nothing after that parses text or falls back to a default.

use core::fmt;
use core::str::FromStr;

/// `500ms`, `30s`, `15m` (or `15min`), `2h`, `7d` in milliseconds; `None` for anything else
/// (a bare number, an unknown unit, an overflow).
pub fn parse_ms(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A duration written as people write it, parsed once. It shows itself in the largest unit
/// that states it exactly (`90m` shows as `90m`, `120m` as `2h`), so a config written back
/// reads as a person would have written it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration {
    ms: u64,
}

/// Text that is not a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotADuration;

impl fmt::Display for NotADuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a duration such as 500ms, 30s, 15m, 2h or 7d")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for NotADuration {}

impl HumanDuration {
    pub const ZERO: HumanDuration = HumanDuration { ms: 0 };

    pub const fn from_ms(ms: u64) -> HumanDuration {
        HumanDuration { ms }
    }

    pub const fn from_secs(s: u64) -> HumanDuration {
        HumanDuration { ms: s * 1_000 }
    }

    pub const fn from_mins(m: u64) -> HumanDuration {
        HumanDuration { ms: m * 60_000 }
    }

    pub const fn from_hours(h: u64) -> HumanDuration {
        HumanDuration { ms: h * 3_600_000 }
    }

    pub const fn as_ms(self) -> u64 {
        self.ms
    }

    /// Milliseconds as the store counts time (`i64`), saturating.
    pub const fn as_ms_i64(self) -> i64 {
        if self.ms > i64::MAX as u64 {
            i64::MAX
        } else {
            self.ms as i64
        }
    }

    pub const fn as_std(self) -> core::time::Duration {
        core::time::Duration::from_millis(self.ms)
    }
}

impl FromStr for HumanDuration {
    type Err = NotADuration;

    fn from_str(text: &str) -> Result<Self, NotADuration> {
        parse_ms(text)
            .map(HumanDuration::from_ms)
            .ok_or(NotADuration)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ];
        if self.ms == 0 {
            return f.write_str("0s");
        }
        for (size, unit) in UNITS {
            if self.ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.ms / size);
            }
        }
        write!(f, "{}ms", self.ms)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 500ms, 30s, 15m, 2h or 7d")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                text.parse().map_err(|_| {
                    E::custom(format_args!(
                        "`{text}` is not a duration such as 500ms, 30s, 15m, 2h or 7d"
                    ))
                })
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_mistakes() {
        assert_eq!(parse_ms("500ms"), Some(500));
        assert_eq!(parse_ms("10s"), Some(10_000));
        assert_eq!(parse_ms("15min"), Some(900_000));
        assert_eq!(parse_ms("2h"), Some(7_200_000));
        assert_eq!(parse_ms("7d"), Some(604_800_000));
        assert_eq!(parse_ms("10"), None);
        assert_eq!(parse_ms("h"), None);
        assert_eq!(parse_ms("3 weeks"), None);
        assert_eq!(parse_ms("99999999999999999d"), None);
    }

    #[test]
    fn shown_in_the_largest_exact_unit_and_read_back() {
        for (text, shown) in [
            ("0s", "0s"),
            ("0ms", "0s"),
            ("1500ms", "1500ms"),
            ("90s", "90s"),
            ("120s", "2m"),
            ("90m", "90m"),
            ("15min", "15m"),
            ("48h", "2d"),
        ] {
            let d: HumanDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<HumanDuration>(), Ok(d));
        }
        assert_eq!("10".parse::<HumanDuration>(), Err(NotADuration));
        assert_eq!(HumanDuration::from_ms(u64::MAX).as_ms_i64(), i64::MAX);
    }
}
