//! Unit tests of `pages`.

use super::station::{gap_ms, gaps, summary, trend, Trend};
use super::*;

fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, value.parse().unwrap());
    h
}

#[test]
fn language_follows_query_then_cookie_then_accept_language_then_german() {
    let none = PageQuery::default();
    let accept = |v| headers(header::ACCEPT_LANGUAGE, v);
    assert_eq!(
        choose_lang(&none, &accept("en-GB,en;q=0.9,de;q=0.8")),
        Lang::En
    );
    assert_eq!(
        choose_lang(&none, &accept("fr-FR,de;q=0.5,en;q=0.3")),
        Lang::De
    );
    assert_eq!(choose_lang(&none, &accept("fr")), Lang::De);
    assert_eq!(
        choose_lang(&none, &headers(header::COOKIE, "a=b; lang=en")),
        Lang::En
    );
    let en = PageQuery {
        lang: Some("en".into()),
        ..PageQuery::default()
    };
    assert_eq!(choose_lang(&en, &accept("de")), Lang::En);
}

fn history(times_h: &[i64]) -> History {
    let t0 = 1_700_000_000_000;
    History {
        station: "pegel-wyk".into(),
        quantity: "water_level".into(),
        label_de: "Wasserstand".into(),
        label_en: "Water level".into(),
        unit: "m".into(),
        resolution: sensorhub_store::Resolution::QuarterHour,
        since: String::new(),
        until: String::new(),
        points: times_h
            .iter()
            .map(|h| crate::public::Point {
                time: sensorhub_store::time::format_rfc3339(t0 + h * 3_600_000),
                mean: 2.0,
                min: 1.5,
                max: 2.5,
                count: 1,
                sum: 2.0,
            })
            .collect(),
    }
}

#[test]
fn summaries_name_the_gaps_the_chart_breaks_at() {
    let gap = gap_ms(Range::Day, 3 * 3_600_000);
    assert_eq!(
        gap,
        3 * 3_600_000,
        "stale_after outweighs four quarter hours"
    );
    // 30 days are drawn hour by hour: four empty hours break the line.
    assert_eq!(gap_ms(Range::Month, 3 * 3_600_000), 4 * 3_600_000);
    // Hourly values: no gap.
    let steady = history(&[0, 1, 2, 3, 4, 5]);
    assert!(!summary(Lang::De, &steady, Range::Day, gap).contains("Keine Werte"));
    // Silent from hour 1 to hour 9, and (shorter) from 10 to 14.
    let broken = history(&[0, 1, 9, 10, 14]);
    assert_eq!(gaps(&broken, gap).len(), 2);
    let de = summary(Lang::De, &broken, Range::Day, gap);
    assert!(
        de.ends_with(" 2 Lücken ohne Werte, die längste zwischen 15.11.2023, 00:13 MEZ und 15.11.2023, 08:13 MEZ."),
        "{de}"
    );
    let one = history(&[0, 1, 9]);
    let en = summary(Lang::En, &one, Range::Day, gap);
    assert!(en.contains(" No values between "), "{en}");
}

#[test]
fn numbers_times_and_text_are_localised_and_escaped() {
    assert_eq!(number(Lang::De, 27.2), "27,2");
    assert_eq!(number(Lang::En, 27.2), "27.2");
    // Europe/Berlin, summer and winter; the changes of 2026 were on 29 March and 25 October
    // at 01:00 UTC.
    assert_eq!(
        time_text(Lang::De, "2022-07-18T09:34:15.775Z"),
        "18.07.2022, 11:34 MESZ"
    );
    assert_eq!(
        time_text(Lang::En, "2026-12-01T23:30:00Z"),
        "02/12/2026, 00:30 CET"
    );
    for (utc, local) in [
        ("2026-03-29T00:59:00Z", "29.03.2026, 01:59 MEZ"),
        ("2026-03-29T01:00:00Z", "29.03.2026, 03:00 MESZ"),
        ("2026-10-25T00:59:00Z", "25.10.2026, 02:59 MESZ"),
        ("2026-10-25T01:00:00Z", "25.10.2026, 02:00 MEZ"),
        ("2024-02-29T12:00:00Z", "29.02.2024, 13:00 MEZ"),
        ("2000-12-31T23:00:00Z", "01.01.2001, 00:00 MEZ"),
    ] {
        assert_eq!(time_text(Lang::De, utc), local, "{utc}");
    }
    let text = "<b>\"x\"</b>";
    assert_eq!(
        html! { (text) }.into_string(),
        "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"
    );
    assert_eq!(url_part("a b/ä"), "a%20b%2F%C3%A4");
}

#[test]
fn the_trend_compares_the_newest_value_with_three_hours_before() {
    let with = |means: &[f64]| {
        let mut h = history(&(0..means.len() as i64).collect::<Vec<_>>());
        for (p, m) in h.points.iter_mut().zip(means) {
            p.mean = *m;
        }
        h
    };
    // Hourly values: the last against three hours before.
    assert_eq!(
        trend(&with(&[1.0, 1.0, 1.2, 1.5, 1.9])),
        Some(Trend::Rising)
    );
    assert_eq!(
        trend(&with(&[3.0, 2.5, 2.0, 1.6, 1.2])),
        Some(Trend::Falling)
    );
    // Within a twentieth of the spread of the window: steady.
    assert_eq!(
        trend(&with(&[0.0, 2.0, 4.0, 2.0, 2.1])),
        Some(Trend::Steady)
    );
    // One value, or less than an hour of them: no trend to tell.
    assert_eq!(trend(&with(&[1.0])), None);
}

#[test]
fn totals_are_summed_not_averaged() {
    // Visitors counted per hour: 3 intervals of 12, 30 and 6 visitors.
    let mut h = history(&[0, 1, 2]);
    h.quantity = "visitor_count".into();
    h.label_de = "Besucherzahl".into();
    h.unit = String::new();
    for (p, sum) in h.points.iter_mut().zip([12.0, 30.0, 6.0]) {
        (p.mean, p.min, p.max, p.count, p.sum) = (sum / 4.0, 0.0, sum, 4, sum);
    }
    let text = summary(Lang::De, &h, Range::Day, 3_600_000);
    assert!(
        text.contains("zusammen 48;") && text.contains("am meisten in einem Intervall: 30"),
        "{text}"
    );
    // A level is still a mean.
    let mut level = history(&[0, 1]);
    for p in &mut level.points {
        p.sum = 99.0;
    }
    assert!(!summary(Lang::De, &level, Range::Day, 3_600_000).contains("99"));
}
