//! Durations as people write them in configs and on the command line.

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
}
