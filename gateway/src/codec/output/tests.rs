//! Unit tests of `output`.

use super::candidates::numeric_string;
use super::*;
use serde_json::json;

fn json(data: Json, normalized: Option<Json>) -> Mapped {
    map(
        Output::Json { data, normalized },
        &[],
        &"js:test.js".parse().unwrap(),
    )
}

fn reading<'a>(m: &'a Mapped, q: &str) -> Option<&'a Measurement> {
    m.measurements.iter().find(|x| x.quantity == q)
}

#[test]
fn value_unit_pairs_at_any_depth_are_converted() {
    // Decentlab's shape: {value, unit} under vocabulary-like names.
    let m = json(
        json!({"barometric_pressure": {"displayName": "Barometric pressure", "unit": "Pa", "value": 102115},
               "distance": {"unit": "mm", "value": 2000},
               "sensor": {"inner": {"TempC_SHT": 21.25}}}),
        None,
    );
    assert_eq!(reading(&m, "air_pressure").unwrap().value, 1021.15);
    assert_eq!(reading(&m, "distance").unwrap().value, 2.0);
    assert_eq!(reading(&m, "air_temperature").unwrap().value, 21.25);
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
}

#[test]
fn a_known_name_without_a_unit_is_never_stored() {
    let m = json(
        json!({"distance": 2000, "pressure": 102115, "AirPressure": 1013}),
        None,
    );
    assert!(m.measurements.is_empty(), "{:?}", m.measurements);
    assert_eq!(m.unmapped.len(), 3);
    assert!(m.unmapped.iter().all(|u| u.why == Why::UnknownUnit));
    let distance = m.unmapped.iter().find(|u| u.field == "distance").unwrap();
    let rule = distance.suggested_rule("js:test.js");
    assert!(rule.contains("quantity = \"distance\""), "{rule}");
}

#[test]
fn hex_strings_are_no_numbers_with_units() {
    let m = json(
        json!({"temperature": "5F", "current": "1A", "t2": "-4.1°C"}),
        None,
    );
    assert!(m.measurements.is_empty(), "{:?}", m.measurements);
    assert_eq!(m.unmapped.len(), 1, "{:?}", m.unmapped); // t2: a number, unknown name
    assert_eq!(numeric_string("20 F"), Some((20.0, Some("F".into()))));
}

#[test]
fn built_in_series_keep_their_names_unless_a_rule_renames_them() {
    let m = map(
        Output::Vocabulary(vec![Measurement {
            quantity: "motion".into(),
            unit: String::new(),
            value: 3.0,
        }]),
        &[],
        &"elsys-ers".parse().unwrap(),
    );
    assert_eq!(m.measurements[0].quantity, "motion");
}

#[test]
fn compound_vocabulary_names_speak_the_vocabularys_unit() {
    let m = json(
        json!({"water_level": 1.234, "air_temperature_3": 8.5, "voltage": 3300}),
        None,
    );
    assert_eq!(reading(&m, "water_level").unwrap().value, 1.234);
    assert_eq!(reading(&m, "air_temperature_3").unwrap().value, 8.5);
    // A single word is a vendor's word too, in the vendor's unit (here mV): not stored.
    assert_eq!(m.unmapped.len(), 1);
    assert_eq!(m.unmapped[0].why, Why::UnknownUnit);
}

#[test]
fn vendor_names_numeric_strings_and_unit_suffixes() {
    let m = json(
        json!({"Temp": "23.50", "Humi": 41, "CO2_ppm": 612, "PM2_5": 7, "pm1_0": 3, "BatV": 3.05,
               "Distance": "1234 mm", "battery": {"value": 87, "unit": "%"}, "Bat_mV": 3600,
               "firmware": "1.2.3", "status": "ok"}),
        None,
    );
    let got = |q: &str| reading(&m, q).map(|x| x.value);
    assert_eq!(got("air_temperature"), Some(23.5));
    assert_eq!(got("relative_humidity"), Some(41.0));
    assert_eq!(got("co2"), Some(612.0));
    assert_eq!(got("pm2_5"), Some(7.0));
    assert_eq!(got("pm1_0"), Some(3.0));
    assert_eq!(got("battery_voltage"), Some(3.05));
    assert_eq!(got("battery_voltage_2"), Some(3.6));
    assert_eq!(got("battery_level"), Some(87.0));
    assert_eq!(got("distance"), Some(1.234));
    assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
}

#[test]
fn wrong_units_and_sentinels_are_no_readings() {
    let m = json(
        json!({"temperature": {"value": 20, "unit": "mm"}, "TempC_DS": 327.67, "x": 5}),
        None,
    );
    assert!(m.measurements.is_empty(), "{:?}", m.measurements);
    let why: Vec<_> = m
        .unmapped
        .iter()
        .map(|u| (u.field.as_str(), u.why))
        .collect();
    assert_eq!(
        why,
        [
            ("TempC_DS", Why::NoSensor),
            ("temperature", Why::WrongUnit),
            ("x", Why::UnknownName)
        ]
    );
}

#[test]
fn normalized_first_then_what_it_leaves_out_and_duplicates_apart() {
    let normalized = json!([
        {"air": {"temperature": 21.3, "location": "indoor"}},
        {"air": {"temperature": 4.5, "location": "outdoor"}}
    ]);
    let data = json!({"temperature": 21.3, "temperature_out": 4.5, "co2": 800, "raw": 17});
    let m = json(data, Some(normalized));
    let names: Vec<_> = m
        .measurements
        .iter()
        .map(|m| (m.quantity.as_str(), m.value))
        .collect();
    assert_eq!(
        names,
        [
            ("air_temperature", 21.3),
            ("air_temperature_2", 4.5),
            ("co2", 800.0)
        ]
    );
    assert_eq!(m.unmapped.len(), 1);
    assert_eq!(m.unmapped[0].field, "raw");
}

#[test]
fn rules_name_fields_by_path_and_convert_units() {
    let rules = vec![NormalisationRule {
        device_type: "js:test.js".parse().unwrap(),
        field: "sensor.level".into(),
        quantity: "water_level".into(),
        scale: 1.0,
        offset: 0.0,
        unit: Some("cm".into()),
    }];
    let m = map(
        Output::Json {
            data: json!({"sensor": {"level": 250}}),
            normalized: None,
        },
        &rules,
        &"js:test.js".parse().unwrap(),
    );
    assert_eq!(reading(&m, "water_level").unwrap().value, 2.5);
}

#[test]
fn a_rule_names_the_second_of_two_normalized_terms() {
    let rules = vec![NormalisationRule {
        device_type: "js:test.js".parse().unwrap(),
        field: "1:air.temperature".into(),
        quantity: "water_temperature".into(),
        scale: 1.0,
        offset: 0.0,
        unit: None,
    }];
    let normalized = json!([{"air": {"temperature": 21.3}}, {"air": {"temperature": 8.5}}]);
    let m = map(
        Output::Json {
            data: json!({}),
            normalized: Some(normalized),
        },
        &rules,
        &"js:test.js".parse().unwrap(),
    );
    assert_eq!(reading(&m, "air_temperature").unwrap().value, 21.3);
    assert_eq!(reading(&m, "water_temperature").unwrap().value, 8.5);
    assert!(reading(&m, "air_temperature_2").is_none());
}

#[test]
fn hostile_output_costs_bounded_work() {
    let wide: serde_json::Map<String, Json> =
        (0..10_000).map(|i| (format!("f{i}"), json!(i))).collect();
    let m = json(Json::Object(wide), None);
    assert_eq!(m.unmapped.len(), MAX_CANDIDATES);
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    assert!(json(deep, None).unmapped.is_empty());
    // A network server passes a sender's normalized payload through: 10,000 repeats of one
    // term give a bounded number of series, at once.
    let many: Vec<Json> = (0..10_000)
        .map(|i| json!({"air": {"temperature": i % 50}, "x": i}))
        .collect();
    let started = std::time::Instant::now();
    let m = json(json!({}), Some(Json::Array(many)));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(m.measurements.len(), MAX_SERIES_PER_NAME);
    assert!(m.unmapped.len() <= MAX_CANDIDATES);
    // Long keys and wide lists are cut, not copied into every path.
    let long = "k".repeat(1 << 20);
    let wide = json!({ long: (0..100_000).collect::<Vec<_>>() });
    let m = json(wide, None);
    assert!(m.unmapped.len() <= MAX_CANDIDATES);
    assert!(m.unmapped.iter().all(|u| u.field.len() <= MAX_PATH + 16));
}
