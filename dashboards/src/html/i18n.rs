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

/// `2022-07-18T09:34:15.775Z` as people read it: `18.07.2022 09:34 UTC` in German,
/// `2022-07-18 09:34 UTC` in English. The scripts show local time instead.
pub(crate) fn time_text(lang: Lang, rfc3339: &str) -> String {
    let (Some(date), Some(clock)) = (rfc3339.get(..10), rfc3339.get(11..16)) else {
        return rfc3339.to_owned();
    };
    match lang {
        Lang::De => {
            let mut parts = date.split('-');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y} {clock} UTC"),
                _ => rfc3339.to_owned(),
            }
        }
        Lang::En => format!("{date} {clock} UTC"),
    }
}
