//! The published example uplinks of codecs from The Things Network's device repository
//! (`tests/fixtures/ttn/`, MIT, copied with their codec files), each through a real Mosquitto
//! and the gateway as a ChirpStack event, with the devices registered as `ttn:VENDOR/CODEC`
//! (which first runs each codec against its own examples).
//!
//! Checked for every uplink: no dead letter; every value of a published normalized output
//! stored under its quantity in the vocabulary's unit, within 1 % (from the schema's units, in
//! `SCHEMA` below); the readings stored and the fields left unmapped are exactly those in
//! `EXPECTED` (written from the vendors' documentation of each field); and no value the codec
//! gives with a unit that needs converting is stored unconverted.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use common::{fixture, http_get, publish_all, wait_for, Mosquitto, Sensorhub, ADMIN_TOKEN};
use sensorhub_gateway::codec::ttn;
use serde_json::Value;

/// Per example (`VENDOR/CODEC#INDEX`): the readings stored (series, value in the vocabulary's
/// unit) and the fields left unmapped.
#[allow(clippy::type_complexity)]
const EXPECTED: &[(&str, &[(&str, f64)], &[&str])] = &[
    ("bosch/tps110-0292#0", &[("parking_occupancy", 1.0)], &[]),
    (
        "bosch/tps110-0292#1",
        &[("parking_occupancy", 1.0)],
        &["temperature"],
    ),
    (
        "bosch/tps110-0292#2",
        &[("parking_occupancy", 1.0)],
        &["debugCodes.0", "debugCodes.1"],
    ),
    (
        "browan/tbhh100#0",
        &[
            ("battery_voltage", 3.6),
            ("relative_humidity", 34.0),
            ("air_temperature", 21.0),
        ],
        &["status"],
    ),
    (
        "browan/tbhv110#0",
        &[
            ("battery_voltage", 3.6),
            ("relative_humidity", 30.0),
            ("air_temperature", 22.0),
        ],
        &[
            "eco2",
            "iaq",
            "iaqChanged",
            "status",
            "tempHumidChanged",
            "temperatureBoard",
            "voc",
        ],
    ),
    (
        "browan/tbms100#0",
        &[
            ("battery_voltage", 3.6),
            ("air_temperature", 20.0),
            ("motion_detected", 1.0),
            ("motion_count", 96476.0),
        ],
        &["time"],
    ),
    (
        "decentlab/dl-5tm#0",
        &[
            ("battery_voltage", 3.168),
            ("soil_temperature", 22.5),
            ("soil_moisture", -2.1539776699999997),
        ],
        &["device_id", "dielectric_permittivity", "protocol_version"],
    ),
    (
        "decentlab/dl-5tm#1",
        &[("battery_voltage", 3.168)],
        &["device_id", "protocol_version"],
    ),
    (
        "decentlab/dl-lp8p#0",
        &[
            ("relative_humidity", 41.63221740722656),
            ("air_temperature", 24.35660461425781),
            ("air_pressure", 968.0),
            ("battery_voltage", 3.109),
            ("co2", 473.0),
        ],
        &[
            "barometer_temperature",
            "capacitor_voltage_1",
            "capacitor_voltage_2",
            "co2_concentration_lpf",
            "co2_sensor_status",
            "co2_sensor_temperature",
            "device_id",
            "protocol_version",
            "raw_ir_reading",
            "raw_ir_reading_lpf",
        ],
    ),
    (
        "decentlab/dl-lp8p#1",
        &[
            ("relative_humidity", 41.63221740722656),
            ("air_temperature", 24.35660461425781),
            ("air_pressure", 968.0),
            ("battery_voltage", 3.109),
        ],
        &["barometer_temperature", "device_id", "protocol_version"],
    ),
    (
        "decentlab/dl-lp8p#2",
        &[("battery_voltage", 3.109)],
        &["device_id", "protocol_version"],
    ),
    (
        "decentlab/dl-pm#0",
        &[
            ("relative_humidity", 41.63221740722656),
            ("air_temperature", 24.35660461425781),
            ("air_pressure", 968.0),
            ("battery_voltage", 3.109),
            ("pm10", 3.9),
            ("pm1_0", 3.7),
            ("pm2_5", 3.9),
            ("pm4", 3.9),
            ("particle_size", 501.0),
        ],
        &[
            "device_id",
            "pm0_5_number_concentration",
            "pm10_number_concentration",
            "pm1_0_number_concentration",
            "pm2_5_number_concentration",
            "pm4_number_concentration",
            "protocol_version",
        ],
    ),
    (
        "decentlab/dl-pm#1",
        &[
            ("relative_humidity", 41.63221740722656),
            ("air_temperature", 24.35660461425781),
            ("air_pressure", 968.0),
            ("battery_voltage", 3.109),
        ],
        &["device_id", "protocol_version"],
    ),
    (
        "decentlab/dl-pm#2",
        &[("battery_voltage", 3.109)],
        &["device_id", "protocol_version"],
    ),
    (
        "dingtek/df702#0",
        &[("distance", 2.0), ("air_temperature", 25.0)],
        &["angle"],
    ),
    (
        "dingtek/df702#1",
        &[
            ("latitude", 40.038999),
            ("distance", 2.0),
            ("longitude", 116.50743),
            ("air_temperature", 25.0),
        ],
        &["angle"],
    ),
    (
        "dingtek/df702#2",
        &[],
        &[
            "fire_alarm_threshold",
            "full_alarm_threshold",
            "tilt_alarm_threshold",
            "ultrasonic_range",
        ],
    ),
    (
        "dragino/lht65#0",
        &[
            ("air_temperature", 28.29),
            ("relative_humidity", 88.6),
            ("battery_voltage", 3.062),
            ("external_temperature", 27.81),
        ],
        &["Bat_status"],
    ),
    (
        "dragino/lse01#0",
        &[
            ("battery_voltage", 3.625),
            ("external_temperature", 24.1),
            ("soil_ec", 28.2),
            ("soil_temperature", 24.59),
            ("soil_moisture", 19.57),
        ],
        &[],
    ),
    ("ellenex/pls2-l#0", &[("battery_voltage", 3.4)], &["level"]),
    ("ellenex/pls2-l#1", &[("battery_voltage", 3.4)], &["level"]),
    (
        "elsys/ers-co2#0",
        &[
            ("co2", 776.0),
            ("relative_humidity", 41.0),
            ("illuminance", 39.0),
            ("motion_count", 6.0),
            ("air_temperature", 22.6),
        ],
        &[],
    ),
    (
        "mclimate/co2-sensor#0",
        &[
            ("co2", 625.0),
            ("battery_voltage", 3.5),
            ("relative_humidity", 51.56),
            ("air_temperature", 22.7),
        ],
        &[],
    ),
    (
        "mclimate/ht-sensor#0",
        &[
            ("battery_voltage", 3.5),
            ("relative_humidity", 44.92),
            ("air_temperature", 22.8),
        ],
        &["extThermistorTemperature"],
    ),
    (
        "milesight-iot/em300-th#0",
        &[
            ("air_temperature", 20.0),
            ("relative_humidity", 30.0),
            ("battery_level", 50.0),
        ],
        &["normalized:1:battVolt"],
    ),
    (
        "milesight-iot/vs121#0",
        &[
            ("occupancy", 3.0),
            ("count", 1.0),
            ("count_2", 1.0),
            ("count_3", 0.0),
        ],
        &[
            "region_count",
            "regions.0.index",
            "regions.1.index",
            "regions.2.index",
        ],
    ),
    ("nwave/ncc405#0", &[("count", 1706.0)], &[]),
    (
        "nwave/ncc405#1",
        &[("battery_voltage", 2.908)],
        &["battery_voltage_mean_24h", "hw_health_status"],
    ),
    ("nwave/ncc405#2", &[], &[]),
    (
        "nwave/nps405#0",
        &[("parking_occupancy", 1.0)],
        &["previous_state_duration", "previous_state_duration_error"],
    ),
    (
        "nwave/nps405#1",
        &[("parking_occupancy", 1.0)],
        &["previous_state_duration", "previous_state_duration_error"],
    ),
    (
        "nwave/nps405#2",
        &[("battery_voltage", 3.344), ("parking_occupancy", 0.0)],
        &["hw_health_status", "temperature"],
    ),
    ("nwave/nps405#3", &[("parking_occupancy", 0.0)], &[]),
    (
        "parametric/pcr2#0",
        &[("visitor_count", 1.0), ("visitor_count_2", 2.0)],
        &["TEMP"],
    ),
    (
        "parametric/pcr2#1",
        &[("visitor_count", 0.0), ("visitor_count_2", 1.0)],
        &["TEMP"],
    ),
    (
        "parametric/pcr2#2",
        &[("visitor_count", 1.0), ("visitor_count_2", 2.0)],
        &["DIFF", "LTR_SUM", "RTL_SUM", "SBX_BATT", "SBX_PV", "TEMP"],
    ),
    (
        "parametric/pcr2#3",
        &[("visitor_count", 1.0), ("visitor_count_2", 2.0)],
        &["DIFF", "LTR_SUM", "RTL_SUM", "SBX_BATT", "SBX_PV", "TEMP"],
    ),
    (
        "parametric/pcr2#4",
        &[],
        &[
            "DeviceType",
            "HoldoffTime",
            "LinkCheckInterval",
            "OperatingMode",
            "PayloadType",
            "RadarSensitivity",
            "UplinkInterval",
            "UplinkType",
        ],
    ),
    (
        "parametric/pcr2#5",
        &[],
        &[
            "CapacityLimit",
            "DeviceClass",
            "DeviceType",
            "HoldoffTime",
            "LinkCheckInterval",
            "OperatingMode",
            "PayloadType",
            "RadarSensitivity",
            "UplinkInterval",
            "UplinkType",
        ],
    ),
    (
        "parametric/pcr2#6",
        &[],
        &[
            "CapacityLimit",
            "DetectionAngle",
            "DeviceClass",
            "DeviceType",
            "HoldoffTime",
            "InactivityTimeout",
            "LinkCheckInterval",
            "MaxDist",
            "MaxSpeed",
            "MinDist",
            "MinSpeed",
            "MountingDirection",
            "MountingTilt",
            "OperatingMode",
            "PayloadType",
            "RadarSensitivity",
            "UplinkInterval",
            "UplinkType",
        ],
    ),
    (
        "parametric/pcr2#7",
        &[],
        &[
            "BeamAngle",
            "CapacityLimit",
            "DeviceClass",
            "DeviceType",
            "HoldoffTime",
            "InactivityTimeout",
            "LinkCheckInterval",
            "MaxDist",
            "MaxSpeed",
            "MinDist",
            "MinSpeed",
            "OperationMode",
            "PayloadType",
            "RadarAutotune",
            "RadarEnabled",
            "RadarSensitivity",
            "UplinkInterval",
            "UplinkType",
        ],
    ),
    (
        "parametric/pcr2#8",
        &[],
        &[
            "DeviceType",
            "HoldoffTime",
            "LinkCheckInterval",
            "OperatingMode",
            "PayloadType",
            "RadarSensitivity",
            "UplinkInterval",
            "UplinkType",
        ],
    ),
    (
        "seeed/loradevelopkit-e5#0",
        &[("battery_level", 100.0)],
        &[
            "err",
            "messages.0.hardwareVersion",
            "messages.0.softwareVersion",
            "messages.2.interval",
            "messages.3.channel",
        ],
    ),
    (
        "seeed/loradevelopkit-e5#1",
        &[("air_temperature", 21.4), ("relative_humidity", 31.4)],
        &["err"],
    ),
    (
        "seeed/loradevelopkit-e5#2",
        &[],
        &["err", "messages.0.channel"],
    ),
    (
        "talkpool/oy1210#0",
        &[
            ("co2", 539.0),
            ("relative_humidity", 85.1),
            ("air_temperature", 19.3),
        ],
        &[],
    ),
    (
        "tinovi/pm-io-5-sm#0",
        &[("water_leak", 0.0), ("soil_temperature", 0.0)],
        &["bat", "e25", "ec", "valv", "vwc"],
    ),
    (
        "tinovi/pm-io-5-sm#1",
        &[("water_leak", 0.0), ("soil_temperature", 0.0)],
        &["bat", "e25", "ec", "valv", "vwc"],
    ),
];

/// The normalized payload schema's terms (`lib/payload.json`) with the quantity each becomes
/// and the factor from the schema's unit into the vocabulary's.
const SCHEMA: &[(&str, &str, f64)] = &[
    ("battery", "battery_voltage", 1.0),
    ("air.temperature", "air_temperature", 1.0),
    ("air.relativeHumidity", "relative_humidity", 1.0),
    ("air.pressure", "air_pressure", 1.0),
    ("air.co2", "co2", 1.0),
    ("air.lightIntensity", "illuminance", 1.0),
    ("soil.depth", "soil_depth", 0.01),
    ("soil.moisture", "soil_moisture", 1.0),
    ("soil.temperature", "soil_temperature", 1.0),
    ("soil.ec", "soil_ec", 1.0),
    ("wind.speed", "wind_speed", 1.0),
    ("wind.direction", "wind_direction", 1.0),
    ("metering.water.total", "water_volume", 0.001),
    ("action.motion.count", "motion_count", 1.0),
    ("action.motion.detected", "motion_detected", 1.0),
];

/// Units codecs give that the vocabulary's units differ from, with the factor.
const CONVERTED: &[(&str, f64)] = &[("Pa", 0.01), ("mm", 0.001), ("m³⋅m⁻³", 100.0), ("cm", 0.01)];

struct Case {
    key: String,
    device_type: String,
    dev_eui: String,
    station: String,
    f_port: u8,
    bytes: Vec<u8>,
    output: Value,
    normalized: Option<Value>,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ttn")
}

/// Every example of every codec definition that expects no errors.
fn cases() -> Vec<Case> {
    let mut yamls: Vec<PathBuf> = std::fs::read_dir(repository().join("vendor"))
        .unwrap()
        .flat_map(|vendor| std::fs::read_dir(vendor.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    yamls.sort();
    let mut cases = Vec::new();
    for yaml in yamls {
        let vendor = yaml
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let stem = yaml.file_stem().unwrap().to_str().unwrap();
        let codec = stem.strip_suffix("-codec").unwrap_or(stem).to_owned();
        let definition = ttn::load_definition(&yaml).unwrap();
        for (index, example) in definition.examples.into_iter().enumerate() {
            let errors = example.output.get("errors").and_then(Value::as_array);
            if errors.is_some_and(|e| !e.is_empty()) {
                continue;
            }
            let n = cases.len();
            cases.push(Case {
                key: format!("{vendor}/{codec}#{index}"),
                device_type: format!("ttn:{vendor}/{codec}"),
                dev_eui: format!("a0b1c2d3e4f5{n:04x}"),
                station: format!("ttn-{n:02}"),
                f_port: example.f_port.unwrap(),
                bytes: example.bytes,
                output: example.output,
                normalized: example.normalized,
            });
        }
    }
    cases
}

fn uplink(case: &Case, time_ms: i64) -> (String, Vec<u8>) {
    let mut event: Value = serde_json::from_str(&fixture("chirpstack-v4-up.json")).unwrap();
    event["deduplicationId"] = format!("7d1e2a4c-0000-4000-8000-{}", &case.dev_eui[4..]).into();
    event["deviceInfo"]["devEui"] = case.dev_eui.clone().into();
    event["fPort"] = case.f_port.into();
    event["data"] = base64::engine::general_purpose::STANDARD
        .encode(&case.bytes)
        .into();
    event["time"] = sensorhub_store::time::format_rfc3339(time_ms).into();
    let topic = format!(
        "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/{}/event/up",
        case.dev_eui
    );
    (topic, serde_json::to_vec(&event).unwrap())
}

fn metric(body: &str, line_start: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9_f64.max(0.01 * b.abs())
}

/// `(path, value, unit)` of every `{value, unit}` pair in decoded data.
fn unit_pairs(value: &Value, path: &str, out: &mut Vec<(String, f64, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(v), Some(unit)) = (
                map.get("value").and_then(Value::as_f64),
                map.get("unit").and_then(Value::as_str),
            ) {
                out.push((path.to_owned(), v, unit.to_owned()));
                return;
            }
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                unit_pairs(v, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unit_pairs(v, &format!("{path}.{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn vendor_codecs_store_every_value_in_the_vocabularys_units() {
    let cases = cases();
    let vendors: std::collections::BTreeSet<&str> = cases
        .iter()
        .map(|c| c.key.split('/').next().unwrap())
        .collect();
    assert!(
        cases.len() >= 30 && vendors.len() >= 12,
        "{} uplinks, {} vendors",
        cases.len(),
        vendors.len()
    );
    assert_eq!(
        cases.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        EXPECTED.iter().map(|e| e.0).collect::<Vec<_>>(),
        "every fixture uplink has its expectation"
    );

    let broker = Mosquitto::start();
    let mut hub = Sensorhub::new(&broker.url(), "e2e-ttn");
    let mut config = std::fs::read_to_string(&hub.config).unwrap();
    config.push_str(&format!(
        "\n[codecs]\nttn_repository = \"{}\"\n",
        repository().display()
    ));
    std::fs::write(&hub.config, config).unwrap();
    let csv_path = hub.dir.path().join("devices.csv");
    let mut csv = String::from("dev_eui,name,station,device_type,lat,lon,public\n");
    for c in &cases {
        csv.push_str(&format!(
            "{},{},{},{},54.69,8.57,true\n",
            c.dev_eui, c.key, c.station, c.device_type
        ));
    }
    std::fs::write(&csv_path, csv).unwrap();
    hub.ok(&["devices", "import", csv_path.to_str().unwrap()]);
    hub.start();

    let now = sensorhub_store::time::now_ms();
    let messages: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| uplink(c, now - 3_600_000 + i as i64 * 1_000))
        .collect();
    publish_all(&broker.url(), &messages);
    let port = hub.http_port;
    let metrics = wait_for(
        "every uplink handled",
        std::time::Duration::from_secs(60),
        || {
            let body = http_get(port, "/metrics", "")?.body;
            let handled = metric(&body, "sensorhub_messages_stored_total")
                + body
                    .lines()
                    .filter_map(|l| l.strip_prefix("sensorhub_dead_letters_total{"))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum::<f64>();
            (handled as usize >= cases.len()).then_some(body)
        },
    );
    let letters = hub.ok(&["dead-letters", "--format", "json"]);
    assert!(letters.trim().is_empty(), "dead letters:\n{letters}");
    assert_eq!(
        metric(&metrics, "sensorhub_messages_stored_total") as usize,
        cases.len()
    );

    let mut failures = Vec::new();
    let mut normalized_checked = 0;
    for case in &cases {
        let (_, expected, expected_unmapped) = EXPECTED.iter().find(|e| e.0 == case.key).unwrap();
        let stored: BTreeMap<String, f64> = hub
            .readings(&case.dev_eui)
            .iter()
            .map(|r| {
                (
                    r["quantity"].as_str().unwrap().to_owned(),
                    r["value"].as_f64().unwrap(),
                )
            })
            .collect();
        let expected_map: BTreeMap<String, f64> =
            expected.iter().map(|(q, v)| (q.to_string(), *v)).collect();
        let same = stored.len() == expected_map.len()
            && expected_map
                .iter()
                .all(|(q, v)| stored.get(q).is_some_and(|s| close(*s, *v)));
        if !same {
            failures.push(format!(
                "{}: stored {stored:?}, expected {expected_map:?}",
                case.key
            ));
        }
        // The published normalized output, term by term.
        if let Some(normalized) = &case.normalized {
            normalized_checked += 1;
            let items: Vec<&Value> = match normalized {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
            for item in items {
                for (path, quantity, factor) in SCHEMA {
                    let Some(v) = path.split('.').try_fold(item, |v, k| v.get(k)) else {
                        continue;
                    };
                    let v = v
                        .as_f64()
                        .or(v.as_bool().map(|b| f64::from(u8::from(b))))
                        .unwrap();
                    let n = seen.entry(quantity).or_default();
                    *n += 1;
                    let series = if *n == 1 {
                        quantity.to_string()
                    } else {
                        format!("{quantity}_{n}")
                    };
                    if !stored.get(&series).is_some_and(|s| close(*s, v * factor)) {
                        failures.push(format!(
                            "{}: normalized {path} = {v} not stored as {series}",
                            case.key
                        ));
                    }
                }
            }
        }
        // A value with a unit that needs converting is never stored as it came.
        let mut pairs = Vec::new();
        unit_pairs(&case.output["data"], "", &mut pairs);
        for (path, v, unit) in pairs {
            if let Some((_, factor)) = CONVERTED.iter().find(|(u, _)| *u == unit) {
                if stored
                    .values()
                    .any(|s| (*s - v).abs() < 1e-9 && (factor - 1.0f64).abs() > 1e-9)
                {
                    failures.push(format!(
                        "{}: {path} = {v} {unit} stored unconverted",
                        case.key
                    ));
                }
                let converted = stored.values().any(|s| close(*s, v * factor));
                if !converted && !expected_unmapped.contains(&path.as_str()) {
                    failures.push(format!(
                        "{}: {path} = {v} {unit} neither stored nor unmapped",
                        case.key
                    ));
                }
            }
        }
        // The fields left unmapped, as technicians see them.
        let fields: Vec<String> = hub
            .ok(&["devices", "fields", &case.dev_eui, "--format", "json"])
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["field"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let mut fields_sorted = fields.clone();
        fields_sorted.sort();
        let mut wanted: Vec<String> = expected_unmapped.iter().map(|s| s.to_string()).collect();
        wanted.sort();
        if fields_sorted != wanted {
            failures.push(format!(
                "{}: unmapped {fields_sorted:?}, expected {wanted:?}",
                case.key
            ));
        }
    }
    assert!(
        normalized_checked >= 2,
        "normalized outputs checked: {normalized_checked}"
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Counted on /metrics by device type; served to technicians with the token; never public.
    assert!(
        metric(
            &http_get(port, "/metrics", "").unwrap().body,
            "sensorhub_unmapped_fields_total{device_type=\"ttn:parametric/pcr2\"}"
        ) > 0.0
    );
    let pcr2 = cases.iter().find(|c| c.key == "parametric/pcr2#2").unwrap();
    let api = http_get(
        port,
        &format!(
            "/admin/api/v1/devices/unmapped-fields?dev_eui={}",
            pcr2.dev_eui
        ),
        &format!("Authorization: Bearer {ADMIN_TOKEN}\r\n"),
    )
    .unwrap();
    assert_eq!(api.status, 200);
    assert!(api.body.contains("\"SBX_PV\""), "{}", api.body);
    let refused = http_get(port, "/admin/api/v1/devices/unmapped-fields", "").unwrap();
    assert_eq!(refused.status, 401);
    for path in [
        "/api/v1/latest",
        "/api/v1/stations",
        "/api/v1/stations.geojson",
    ] {
        let body = http_get(port, path, "").unwrap().body;
        for secret in ["SBX_PV", "latitude\"", "battery_voltage", "a0b1c2d3"] {
            assert!(!body.contains(secret), "{path} shows {secret}");
        }
    }
}

/// `codecs check` on every fixture definition: all examples reproduced; one edited to give a
/// wrong value is reported, and registering a device with it is refused with the difference.
#[test]
fn codecs_check_and_ttn_registration_refuse_a_codec_that_misses_its_examples() {
    let broker = Mosquitto::start();
    let hub = Sensorhub::new(&broker.url(), "ttn-check");
    for vendor in std::fs::read_dir(repository().join("vendor")).unwrap() {
        for file in std::fs::read_dir(vendor.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let out = hub
                    .command(&["codecs", "check", path.to_str().unwrap()])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "{}:\n{text}", path.display());
                assert!(!text.contains("FAIL"), "{text}");
            }
        }
    }
    // A copy of the repository with the LHT65 codec off by one degree.
    let copy = hub.dir.path().join("lorawan-devices");
    let dragino = copy.join("vendor/dragino");
    std::fs::create_dir_all(&dragino).unwrap();
    let source = repository().join("vendor/dragino");
    std::fs::copy(
        source.join("lht65-codec.yaml"),
        dragino.join("lht65-codec.yaml"),
    )
    .unwrap();
    // As in the repository, `lht65.yaml` is the device's own definition, not its codec's.
    std::fs::write(
        dragino.join("lht65.yaml"),
        "name: LHT65 Temperature & Humidity Sensor\nfirmwareVersions:\n  - version: '1.8'\n",
    )
    .unwrap();
    let js = std::fs::read_to_string(source.join("lht65.js")).unwrap();
    assert!(js.contains("TempC_SHT"));
    let broken = js.replacen("function decodeUplink(input) {", "function decodeUplink(input) { var r = realDecode(input); if (r.data && r.data.TempC_SHT !== undefined) { r.data.TempC_SHT += 1; } return r; }\nfunction realDecode(input) {", 1);
    assert_ne!(broken, js, "the codec's decodeUplink was found");
    std::fs::write(dragino.join("lht65.js"), broken).unwrap();

    let yaml = dragino.join("lht65-codec.yaml");
    let out = hub
        .command(&["codecs", "check", yaml.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("expected 28.29, got 29.29"), "{text}");

    let mut config = std::fs::read_to_string(&hub.config).unwrap();
    config.push_str(&format!(
        "\n[codecs]\nttn_repository = \"{}\"\n",
        copy.display()
    ));
    std::fs::write(&hub.config, config).unwrap();
    let add = |device_type: &str| {
        hub.cli(&[
            "devices",
            "add",
            "--dev-eui",
            "a84041000181c061",
            "--name",
            "lht65",
            "--station",
            "lht65",
            "--device-type",
            device_type,
        ])
    };
    let refused = add("ttn:dragino/lht65");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        err.contains("does not reproduce its published examples") && err.contains("TempC_SHT"),
        "{err}"
    );
    let list = hub.ok(&["devices", "list", "--format", "json"]);
    assert!(!list.contains("a84041000181c061"), "{list}");

    // The original codec registers, and `codecs test` shows what it would store.
    std::fs::copy(source.join("lht65.js"), dragino.join("lht65.js")).unwrap();
    assert!(add("ttn:dragino/lht65").status.success());
    let shown = hub.ok(&[
        "codecs",
        "test",
        "ttn:dragino/lht65",
        "--fport",
        "2",
        "--hex",
        "CBF60B0D0376010ADD7FFF",
    ]);
    for line in [
        "air_temperature              28.29 °C",
        "relative_humidity            88.6 %",
        "battery_voltage              3.062 V",
    ] {
        assert!(shown.contains(line), "{line} in\n{shown}");
    }
    assert!(
        shown.contains("Bat_status") && shown.contains("[[normalisation]]"),
        "{shown}"
    );
    // A plain file path works too, and a bad payload is a clear error.
    let file = hub
        .command(&[
            "codecs",
            "test",
            source.join("lht65.js").to_str().unwrap(),
            "--fport",
            "2",
            "--hex",
            "cb f6 0b 0d 03 76 01 0a dd 7f ff",
        ])
        .output()
        .unwrap();
    assert!(file.status.success() && String::from_utf8_lossy(&file.stdout).contains("28.29"));
    let bad = hub
        .command(&[
            "codecs",
            "test",
            source.join("lht65.js").to_str().unwrap(),
            "--fport",
            "2",
            "--hex",
            "xyz",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("hex"));
}
