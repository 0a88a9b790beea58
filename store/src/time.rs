//! Timestamps: milliseconds since the Unix epoch inside, RFC 3339 UTC outside.

use ::time::format_description::well_known::Rfc3339;
use ::time::{OffsetDateTime, UtcOffset};

/// Formats milliseconds since the epoch as RFC 3339 in UTC with millisecond precision,
/// for example `2022-07-18T09:34:15.775Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (date, time) = (at.date(), at.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        date.year(),
        u8::from(date.month()),
        date.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

/// Parses an RFC 3339 timestamp with any offset into milliseconds since the epoch
/// (sub-millisecond digits are dropped, not rounded).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let ns = at.to_offset(UtcOffset::UTC).unix_timestamp_nanos();
    i64::try_from(ns.div_euclid(1_000_000)).ok()
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    let ns = OffsetDateTime::now_utc().unix_timestamp_nanos();
    (ns / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chirpstack_nanosecond_time_with_offset() {
        let ms = parse_rfc3339("2022-07-18T09:34:15.775023242+00:00").unwrap();
        assert_eq!(ms, 1_658_136_855_775);
        assert_eq!(format_rfc3339(ms), "2022-07-18T09:34:15.775Z");
    }

    #[test]
    fn converts_other_offsets_to_utc() {
        let ms = parse_rfc3339("2024-03-01T12:00:00+01:00").unwrap();
        assert_eq!(format_rfc3339(ms), "2024-03-01T11:00:00.000Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(parse_rfc3339("yesterday").is_none());
        assert!(parse_rfc3339("2024-03-01 12:00").is_none());
    }
}
