//! Candidates in decoded data: numbers at any depth, {value, unit} pairs, numeric strings, flags, SenseCAP measurement ids; with bounds on depth, count and key length.

use super::*;

/// A number, optionally followed by a unit: `"23.50"`, `"2000 mm"`, `"-4.1°C"`. Anything else
/// (versions `"1.2.3"`, dates, hex) is no number.
pub(super) fn numeric_string(s: &str) -> Option<(f64, Option<String>)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let value: f64 = s[..end].parse().ok()?;
    let rest = s[end..].trim();
    if rest.is_empty() {
        return Some((value, None));
    }
    // `"5F"` and `"1A"` are hex, not 5 °F and 1 A: a unit right after the digits must hold a
    // letter no hex digit is.
    let spaced = s[end..].starts_with(' ');
    if !spaced && rest.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Unit::parse(rest)?;
    Some((value, Some(rest.to_owned())))
}

pub(super) fn candidates(
    value: &Json,
    path: &str,
    name: &str,
    depth: usize,
    out: &mut Vec<Candidate>,
) {
    if out.len() >= MAX_CANDIDATES || depth > MAX_DEPTH {
        return;
    }
    let mut push = |name: &str, value: f64, unit: Option<String>, boolean: bool| {
        if value.is_finite() {
            out.push(Candidate {
                path: path.to_owned(),
                name: name.to_owned(),
                value,
                unit,
                boolean,
            });
        }
    };
    match value {
        Json::Number(n) => push(name, n.as_f64().unwrap_or(f64::NAN), None, false),
        Json::String(s) => {
            if let Some((v, unit)) = numeric_string(s) {
                push(name, v, unit, false);
            }
        }
        Json::Bool(b) => push(name, f64::from(u8::from(*b)), None, true),
        Json::Object(map) => {
            // `{value, unit}` (Decentlab, Tektelic and others), or `{value}` alone: one
            // candidate under the object's name, with the unit where there is one.
            let pair_value = map.get("value").and_then(|v| match v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => numeric_string(s)
                    .filter(|(_, u)| u.is_none())
                    .map(|(v, _)| v),
                _ => None,
            });
            if let Some(v) = pair_value {
                let unit = map.get("unit").and_then(Json::as_str).map(str::to_owned);
                push(name, v, unit, false);
                return;
            }
            // SenseCAP's `{measurementId, measurementValue}`: the id names the quantity.
            let id = map.get("measurementId").and_then(Json::as_u64);
            let v = map.get("measurementValue").and_then(Json::as_f64);
            if let (Some(id), Some(v)) = (id, v) {
                push(&format!("sensecap:{id}"), v, None, false);
                return;
            }
            for (key, child) in map {
                if out.len() >= MAX_CANDIDATES || path.len() > MAX_PATH {
                    return;
                }
                let key = truncated(key);
                let child_path = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                candidates(child, &child_path, key, depth + 1, out);
            }
        }
        Json::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if out.len() >= MAX_CANDIDATES || path.len() > MAX_PATH {
                    return;
                }
                candidates(child, &format!("{path}.{i}"), name, depth + 1, out);
            }
        }
        Json::Null => {}
    }
}

/// `key`, cut to [`MAX_KEY`] bytes at a character boundary.
fn truncated(key: &str) -> &str {
    let mut end = key.len().min(MAX_KEY);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}
