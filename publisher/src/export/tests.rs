//! Unit tests of `export`.

use super::*;

#[test]
fn months_step_across_years() {
    let nov = crate::dataset::parse_day("2026-11-22").unwrap() + 3_600_000;
    let start = crate::dataset::parse_day("2026-11-01").unwrap();
    assert_eq!(month_start(nov, 0), start);
    assert_eq!(
        month_start(nov, 2),
        crate::dataset::parse_day("2027-01-01").unwrap()
    );
    assert_eq!(
        month_start(nov, -12),
        crate::dataset::parse_day("2025-11-01").unwrap()
    );
    assert_eq!(month_label(nov), "2026-11");
}

#[test]
fn csv_text_cells_are_quoted_and_never_formulas() {
    assert_eq!(csv_text("pegel-01"), "pegel-01");
    assert_eq!(csv_text("a,b"), "\"a,b\"");
    assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    for formula in ["+1", "-1+2", "@SUM(A1)", "\tx"] {
        assert!(
            csv_text(formula).trim_start_matches('"').starts_with('\''),
            "{formula}"
        );
    }
}

#[test]
fn csv_has_a_header_iso_times_and_empty_suppressed_values() {
    let rows = [Row {
        time_ms: crate::dataset::parse_day("2026-11-22").unwrap(),
        station: "park, nord".into(),
        quantity: "visitor_count".into(),
        unit: "".into(),
        mean: None,
        min: Some(0.0),
        max: Some(12.5),
        count: 4,
        sum: None,
    }];
    let text = String::from_utf8(csv_bytes(
        &rows,
        &[
            "time", "station", "quantity", "unit", "mean", "min", "max", "count",
        ],
    ))
    .unwrap();
    assert_eq!(
        text,
        "time,station,quantity,unit,mean,min,max,count\n\
         2026-11-22T00:00:00Z,\"park, nord\",visitor_count,,,0,12.5,4\n"
    );
}
