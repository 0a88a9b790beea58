//! Unit tests of `sta`: resource paths and query options as the OGC SensorThings API 1.1
//! specification (OGC 18-088) writes them; `req_N` names its Req N (19 resource path, 22 the
//! order options apply in, 23 expand, 24 select, 25 orderby, 26 top, 27 skip, 28 count, 29 to 31
//! filter, its operators and functions, 32 pagination), with its examples where it gives any.

use super::paths::Step;
use super::*;

#[test]
fn req_19_resource_path_addresses_sets_entities_and_navigation() {
    assert_eq!(
        parse_path("Things('pegel-wyk')/Datastreams").unwrap(),
        vec![
            Step {
                name: "Things".into(),
                id: Some("pegel-wyk".into())
            },
            Step {
                name: "Datastreams".into(),
                id: None
            },
        ]
    );
    // A quote inside a quoted id is doubled; a bare id is taken as written.
    assert_eq!(
        parse_path("Things('o''hara')").unwrap()[0].id.as_deref(),
        Some("o'hara")
    );
    assert_eq!(parse_path("Things(7)").unwrap()[0].id.as_deref(), Some("7"));
    assert!(parse_path("Things('x'").is_err());
    assert!(parse_path("Things('x')//Datastreams").is_err());
}

fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[test]
fn req_25_26_27_28_top_skip_count_orderby_are_read_and_bad_ones_refused_with_400() {
    let o = options(&query(&[
        ("$top", "5000"),
        ("$skip", "2"),
        ("$count", "true"),
        ("$orderby", "phenomenonTime desc, id"),
        ("$select", "result,phenomenonTime"),
    ]))
    .unwrap();
    assert_eq!((o.top, o.skip, o.count), (MAX_TOP, 2, true));
    assert_eq!(
        o.orderby,
        vec![("phenomenonTime".into(), true), ("id".into(), false)]
    );
    for bad in [
        ("$top", "-1"),
        ("$count", "yes"),
        ("$orderby", "name sideways"),
        ("$filter", "result gt"),
        ("$expand", "Datastreams("),
        ("$expand", "Datastreams($top=x)"),
        ("$frobnicate", "1"),
    ] {
        assert!(options(&query(&[bad])).is_err(), "{bad:?}");
    }
}

#[test]
fn req_28_32_pages_carry_the_next_link_and_the_count() {
    let entities: Vec<Value> = (0..5)
        .map(|i| json!({"@iot.id": format!("o{i}"), "result": 10 - i}))
        .collect();
    let o = options(&query(&[
        ("$top", "2"),
        ("$count", "true"),
        ("$orderby", "result asc"),
    ]))
    .unwrap();
    let page = collection(
        entities,
        &o,
        "Datastreams('a')/Observations",
        "http://h/sta/v1.1",
    );
    assert_eq!(page["@iot.count"], 5);
    assert_eq!(page["value"][0]["result"], 6);
    assert_eq!(page["value"][1]["result"], 7);
    let next = page["@iot.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with("http://h/sta/v1.1/Datastreams('a')/Observations?$top=2&$skip=2"),
        "{next}"
    );
    // The last page has no next link.
    let o = options(&query(&[("$top", "2"), ("$skip", "4")])).unwrap();
    let entities: Vec<Value> = (0..5).map(|i| json!({"@iot.id": i})).collect();
    let last = collection(entities, &o, "Things", "http://h/sta/v1.1");
    assert!(last.get("@iot.nextLink").is_none());
    assert_eq!(last["value"].as_array().unwrap().len(), 1);
}

#[test]
fn req_22_26_27_top_and_skip_cut_after_the_order_as_the_specification_examples() {
    let times: Vec<Value> = (0..8)
        .map(|i| {
            let t = format!("2026-12-01T0{i}:00:00Z");
            json!({"@iot.id": format!("o{i}"), "phenomenonTime": t, "resultTime": t, "result": i})
        })
        .collect();
    let ids = |pairs: &[(&str, &str)]| -> Vec<String> {
        let o = options(&query(pairs)).unwrap();
        collection(times.clone(), &o, "Observations", "http://h")["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["@iot.id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Req 26: `Observations?$top=5&$orderby=phenomenonTime desc`, the five newest.
    assert_eq!(
        ids(&[("$top", "5"), ("$orderby", "phenomenonTime desc")]),
        ["o7", "o6", "o5", "o4", "o3"]
    );
    // Req 27: `Observations?$skip=2&$top=2&$orderby=resultTime`, the third and fourth.
    assert_eq!(
        ids(&[("$skip", "2"), ("$top", "2"), ("$orderby", "resultTime")]),
        ["o2", "o3"]
    );
    // Req 22: the filter before the order, the order before skip and top.
    assert_eq!(
        ids(&[
            ("$filter", "result lt 6"),
            ("$orderby", "result desc"),
            ("$skip", "1"),
            ("$top", "2")
        ]),
        ["o4", "o3"]
    );
}

#[test]
fn req_24_select_keeps_only_what_is_asked() {
    // Req 24: `Observations?$select=result,resultTime`.
    let o = options(&query(&[("$select", "result,resultTime")])).unwrap();
    let page = collection(
        vec![json!({"@iot.id": "a", "result": 1, "resultTime": "t", "phenomenonTime": "t"})],
        &o,
        "Observations",
        "http://h",
    );
    assert_eq!(page["value"][0], json!({"result": 1, "resultTime": "t"}));
    let o = options(&query(&[("$select", "id,result")])).unwrap();
    let page = collection(
        vec![json!({"@iot.id": "a", "result": 1, "phenomenonTime": "t"})],
        &o,
        "Observations",
        "http://h",
    );
    assert_eq!(page["value"][0], json!({"@iot.id": "a", "result": 1}));
}

fn filtered(text: &str, entities: &[Value]) -> Vec<String> {
    let o = options(&query(&[("$filter", text)])).unwrap();
    collection(entities.to_vec(), &o, "Observations", "http://h")["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["@iot.id"].as_str().unwrap().to_owned())
        .collect()
}

fn observations_sample() -> Vec<Value> {
    [
        ("a", "2026-11-30T23:00:00Z", 9.5),
        ("b", "2026-12-01T10:00:00Z", 10.0),
        ("c", "2026-12-01T11:00:00Z", 12.5),
    ]
    .iter()
    .map(|(id, t, r)| json!({"@iot.id": id, "phenomenonTime": t, "resultTime": t, "result": r}))
    .collect()
}

#[test]
fn req_29_30_31_filter_compares_and_combines_as_the_specification_examples() {
    let o = observations_sample();
    // 9.3.3.5.1 (built-in operators): `result lt 10.00`, arithmetic, logic, not.
    assert_eq!(filtered("result lt 10.00", &o), ["a"]);
    assert_eq!(filtered("result add 5 eq 15", &o), ["b"]);
    assert_eq!(filtered("result mul 2 gt 20 and result le 12.5", &o), ["c"]);
    assert_eq!(filtered("result eq 9.5 or result eq 12.5", &o), ["a", "c"]);
    assert_eq!(filtered("not (result gt 10)", &o), ["a", "b"]);
    assert_eq!(filtered("result mod 2 eq 0", &o), ["b"]);
    assert_eq!(filtered("-result lt -10", &o), ["c"]);
    // Temporal comparison on phenomenonTime with bare ISO 8601 times.
    assert_eq!(
        filtered(
            "phenomenonTime ge 2026-12-01T00:00:00Z and phenomenonTime lt 2026-12-01T10:30:00.000Z",
            &o
        ),
        ["b"]
    );
    // 9.3.3.5.2 (built-in query functions): date parts, strings, maths.
    assert_eq!(
        filtered(
            "year(phenomenonTime) eq 2026 and month(phenomenonTime) eq 11",
            &o
        ),
        ["a"]
    );
    assert_eq!(filtered("hour(resultTime) eq 11", &o), ["c"]);
    assert_eq!(filtered("round(result) eq 13", &o), ["c"]);
    assert_eq!(
        filtered("floor(result) eq 9 or ceiling(result) eq 10", &o),
        ["a", "b"]
    );
    assert_eq!(filtered("phenomenonTime lt now()", &o).len(), 3);
    let things = vec![
        json!({"@iot.id": "pegel-wyk", "name": "Pegel Wyk", "description": "Tide gauge at the harbour"}),
        json!({"@iot.id": "wetter-01", "name": "Wetter Nieblum", "description": "Weather"}),
    ];
    assert_eq!(
        filtered("substringof('harbour', description)", &things),
        ["pegel-wyk"]
    );
    assert_eq!(
        filtered("startswith(name, 'Wetter')", &things),
        ["wetter-01"]
    );
    assert_eq!(filtered("endswith(id, 'wyk')", &things), ["pegel-wyk"]);
    assert_eq!(
        filtered("length(description) le 20", &things),
        ["wetter-01"]
    );
    assert_eq!(
        filtered("tolower(name) eq 'pegel wyk'", &things),
        ["pegel-wyk"]
    );
    assert_eq!(
        filtered("indexof(name, 'Wyk') eq 6", &things),
        ["pegel-wyk"]
    );
    assert_eq!(
        filtered("substring(name, 6, 3) eq 'Wyk'", &things),
        ["pegel-wyk"]
    );
    assert_eq!(
        filtered(
            "concat(concat(name, ', '), id) eq 'Wetter Nieblum, wetter-01'",
            &things
        ),
        ["wetter-01"]
    );
}

#[test]
fn req_29_malformed_filters_are_refused_with_their_position() {
    for (text, at) in [
        ("result lt", 9),
        ("result lt 10 and", 16),
        ("(result lt 10", 13),
        ("result lt 'ten", 10),
        ("frobnicate(result) eq 1", 0),
        ("length(name, id) eq 1", 0),
        ("result lt 10 10", 13),
        ("result ! 10", 7),
        ("eq 3", 0),
    ] {
        let error = filter::parse(text).unwrap_err();
        assert_eq!(error.at, at, "{text}: {error}");
        let refused = options(&query(&[("$filter", text)])).unwrap_err();
        assert!(
            refused.starts_with(&format!("$filter at {at}:")),
            "{refused}"
        );
    }
}

#[test]
fn req_23_expand_reads_nested_options_and_paths() {
    let items = parse_expand("Locations,Datastreams($select=name;$expand=Observations($top=1;$orderby=phenomenonTime desc))", 0)
    .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].property, "Locations");
    assert_eq!(
        items[0].options.top, DEFAULT_TOP,
        "an expansion brings a page by default"
    );
    let ds = &items[1];
    assert_eq!(ds.property, "Datastreams");
    assert_eq!(ds.options.select.as_deref(), Some(&["name".to_owned()][..]));
    let obs = &ds.options.expand[0];
    assert_eq!(
        (obs.property.as_str(), obs.options.top),
        ("Observations", 1)
    );
    assert_eq!(obs.options.orderby, vec![("phenomenonTime".into(), true)]);
    // The path form: Datastreams/Observations is Datastreams with Observations expanded.
    let path = parse_expand("Datastreams/Observations($top=2)", 0).unwrap();
    assert_eq!(path[0].property, "Datastreams");
    assert_eq!(path[0].options.expand[0].property, "Observations");
    assert_eq!(path[0].options.expand[0].options.top, 2);
    // Req 23: `Datastreams(1)?$expand=Observations($filter=result eq 1)`.
    let filtered = parse_expand("Observations($filter=result eq 1)", 0).unwrap();
    let f = filtered[0].options.filter.as_ref().unwrap();
    assert!(filter::matches(f, &json!({"result": 1}), 0));
    assert!(!filter::matches(f, &json!({"result": 2}), 0));
    assert!(parse_expand("Data streams", 0).is_err());
    assert!(parse_expand("Datastreams($top)", 0).is_err());
}

#[test]
fn hostile_queries_are_refused_not_followed() {
    // Nesting that would exhaust the stack: refused with a reason, at once.
    for filter in [
        format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}true", "not ".repeat(2000)),
        format!("{}1 eq 1", "-".repeat(3000)),
        format!(
            "length({}'a'{}) eq 1",
            "tolower(".repeat(100),
            ")".repeat(100)
        ),
        vec!["1"; 2000].join(" add ") + " eq 1",
    ] {
        assert!(
            options(&query(&[("$filter", &filter)])).is_err(),
            "{}",
            &filter[..40]
        );
    }
    for expand in [
        "Datastreams/Observations/Datastream/Thing/Locations".to_owned(),
        "Datastreams($expand=Thing($expand=Datastreams($expand=Observations)))".to_owned(),
        "Observations,Observations".to_owned(),
        vec!["Locations"; 20].join(","),
        "Frobnicate".to_owned(),
    ] {
        assert!(
            options(&query(&[("$expand", &expand)])).is_err(),
            "{expand}"
        );
    }
    let many = vec!["name"; 20].join(",");
    assert!(options(&query(&[("$orderby", &many)])).is_err());
    // Three levels are fine.
    assert!(options(&query(&[(
        "$expand",
        "Datastreams($expand=Thing($expand=Locations))"
    )]))
    .is_ok());
}

fn device(eui: &str, name: &str, station: &str, device_type: &str) -> sensorhub_store::Device {
    serde_json::from_value(json!({
        "dev_eui": eui, "name": name, "station": station, "device_type": device_type,
        "lat": null, "lon": null, "public": true,
    }))
    .unwrap()
}

#[test]
fn req_datamodel_sensors_are_device_models_never_devices() {
    let devices = [
        device(
            "70b3d57ed0000001",
            "Pegel Wyk Sonde",
            "pegel-wyk",
            "dragino-ldds75",
        ),
        device(
            "70b3d57ed0000002",
            "Pegel Wyk Ersatz",
            "pegel-wyk",
            "dragino-ldds75",
        ),
        device(
            "70b3d57ed0000003",
            "Wetter Nebel",
            "wetter-nebel",
            "elsys-ers",
        ),
        device(
            "70b3d57ed0000004",
            "Wetter Nebel 2",
            "wetter-nebel",
            "ttn:milesight-iot/em300-th-codec",
        ),
    ];
    let by_station = sensors::by_station(&devices);
    let gauge = &by_station["pegel-wyk"];
    assert_eq!(gauge.id, "dragino-ldds75");
    assert_eq!(gauge.name, "Dragino LDDS75 (distance)");
    assert!(gauge.metadata.starts_with("http://www.dragino.com/"));
    // Two models at one station: both named, in one Sensor.
    let weather = &by_station["wetter-nebel"];
    assert_eq!(weather.id, "elsys-ers+ttn-milesight-iot-em300-th-codec");
    assert!(weather.name.contains("Elsys ERS") && weather.name.contains("em300-th-codec"));
    let links = Links {
        base: "http://x/sta/v1.1",
    };
    let text = format!("{}{}", links.sensor(gauge), links.sensor(weather)).to_lowercase();
    for hidden in ["70b3d57ed", "sonde", "ersatz", "wetter nebel"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    // An id a resource path can carry.
    assert!(parse_path(&format!("Sensors('{}')/Datastreams", weather.id)).is_ok());
}
