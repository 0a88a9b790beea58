//! German first, English too: which language a request gets, and numbers and times as each
//! language writes them.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Deserialize;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lang {
    De,
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The other language, which the language switch offers.
    pub(crate) fn other(self) -> Lang {
        match self {
            Lang::De => Lang::En,
            Lang::En => Lang::De,
        }
    }

    /// The German or English text.
    pub(crate) fn t<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }
}

/// The query every page takes.
#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    pub(crate) lang: Option<String>,
    pub(crate) range: Option<String>,
    pub(crate) quantity: Option<String>,
    /// Admin workbench: the DevEUI whose details fill the device form.
    pub(crate) edit: Option<String>,
    /// Admin workbench: the station whose entry fills the station form.
    pub(crate) station: Option<String>,
    /// Device page: what a replay did (`replayed-still_failing`).
    pub(crate) replayed: Option<String>,
}

/// The language: `?lang=` first, then the `lang` cookie, then Accept-Language; German else.
pub(crate) fn choose_lang(query: &PageQuery, headers: &HeaderMap) -> Lang {
    match query.lang.as_deref() {
        Some("en") => return Lang::En,
        Some("de") => return Lang::De,
        _ => {}
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="));
    match cookie {
        Some("en") => return Lang::En,
        Some("de") => return Lang::De,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first of de/en the browser lists wins; German when it lists neither.
    for tag in accept.split(',') {
        let primary = tag.split(';').next().unwrap_or("").trim();
        let primary = primary.split('-').next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "de" => return Lang::De,
            "en" => return Lang::En,
            _ => {}
        }
    }
    Lang::De
}

/// Keeps a `?lang=` choice in a cookie for the next pages (the admin pages use it too).
pub(crate) fn remember_lang(query: &PageQuery, response: &mut Response) {
    if let Some(lang @ ("de" | "en")) = query.lang.as_deref() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn url_part(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Formats a value the way the language writes numbers (decimal comma in German).
pub(crate) fn number(lang: Lang, value: f64) -> String {
    let text = format!("{}", (value * 1000.0).round() / 1000.0);
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// `2022-07-18T09:34:15.775Z` as people on the coast read it, in Europe/Berlin time:
/// `18.07.2022, 11:34 MESZ` in German, `18/07/2022, 11:34 CEST` in English (as the browser's
/// `Intl.DateTimeFormat` writes them, so the live script's updates look the same).
pub(crate) fn time_text(lang: Lang, rfc3339: &str) -> String {
    let Some(ms) = sensorhub_store::time::parse_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let summer = berlin_summer_time(ms);
    let local_s = ms.div_euclid(1000) + if summer { 7200 } else { 3600 };
    let (y, m, d) = civil(local_s.div_euclid(86_400));
    let minute = local_s.rem_euclid(86_400) / 60;
    let (hh, mm) = (minute / 60, minute % 60);
    match lang {
        Lang::De => {
            let zone = if summer { "MESZ" } else { "MEZ" };
            format!("{d:02}.{m:02}.{y}, {hh:02}:{mm:02} {zone}")
        }
        Lang::En => {
            let zone = if summer { "CEST" } else { "CET" };
            format!("{d:02}/{m:02}/{y}, {hh:02}:{mm:02} {zone}")
        }
    }
}

/// Whether Europe/Berlin keeps summer time at `ms`: from the last Sunday of March to the last
/// Sunday of October, 01:00 UTC each (Directive 2000/84/EC).
fn berlin_summer_time(ms: i64) -> bool {
    let s = ms.div_euclid(1000);
    let (year, _, _) = civil(s.div_euclid(86_400));
    let last_sunday = |month: u32| {
        let last = days_from_civil(year, month + 1, 1) - 1;
        // 1970-01-01, day 0, was a Thursday.
        last - (last + 4).rem_euclid(7)
    };
    let start = last_sunday(3) * 86_400 + 3600;
    let end = last_sunday(10) * 86_400 + 3600;
    (start..end).contains(&s)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a date; month 13 is January of the next year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (year, month) = if month > 12 {
        (year + 1, month - 12)
    } else {
        (year, month)
    };
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
