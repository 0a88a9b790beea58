//! Unit tests of `quantity`.

use super::*;

#[test]
fn names_are_unique_snake_case() {
    for (i, a) in VOCABULARY.iter().enumerate() {
        assert!(a
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        assert!(
            VOCABULARY[i + 1..].iter().all(|b| b.name != a.name),
            "{}",
            a.name
        );
    }
}

#[test]
fn ranges_are_ordered_and_refuse_what_no_sensor_reports() {
    for q in VOCABULARY {
        assert!(q.min < q.max, "{}", q.name);
    }
    let t = Quantity::by_name("air_temperature").unwrap();
    assert!(t.is_plausible(-89.2) && t.is_plausible(56.7));
    for v in [1.7e308, -1.7e308, f64::NAN, f64::INFINITY, 327.67, -90.5] {
        assert!(!t.is_plausible(v), "{v}");
    }
    let rh = Quantity::by_name("relative_humidity_2").unwrap();
    assert!(rh.is_plausible(100.0) && !rh.is_plausible(100.5) && !rh.is_plausible(-1.0));
}

#[test]
fn every_unit_is_a_known_unit() {
    for q in VOCABULARY {
        assert_eq!(q.unit().symbol, q.unit, "{}", q.name);
    }
}

#[test]
fn channel_suffix_resolves_to_base_quantity() {
    assert_eq!(
        Quantity::by_name("water_temperature_max").unwrap().name,
        "water_temperature"
    );
    assert_eq!(Quantity::by_name("air_temperature_3").unwrap().unit, "°C");
    assert_eq!(Quantity::by_name("pm2_5").unwrap().name, "pm2_5");
    assert_eq!(Quantity::by_name("acceleration_z").unwrap().unit, "g");
    assert_eq!(Quantity::by_name("acceleration_x_2").unwrap().unit, "g");
    assert!(Quantity::by_name("air_temperature_q").is_none());
    assert!(Quantity::by_name("nonsense").is_none());
}
