//! Unit tests of `sta`: resource paths and query options as the OGC SensorThings API 1.1
//! specification writes them (its requirement classes named in the test names).

use super::*;

#[test]
fn req_resource_path_addresses_sets_entities_and_navigation() {
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
fn req_request_data_top_skip_count_orderby_select_are_read_and_bad_ones_refused() {
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
        ("$filter", "result gt 2"),
        ("$expand", "Datastreams"),
        ("$frobnicate", "1"),
    ] {
        assert!(options(&query(&[bad])).is_err(), "{bad:?}");
    }
}

#[test]
fn req_request_data_pages_carry_the_next_link_and_the_count() {
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
fn req_request_data_select_keeps_only_what_is_asked() {
    let o = options(&query(&[("$select", "id,result")])).unwrap();
    let page = collection(
        vec![json!({"@iot.id": "a", "result": 1, "phenomenonTime": "t"})],
        &o,
        "Observations",
        "http://h",
    );
    assert_eq!(page["value"][0], json!({"@iot.id": "a", "result": 1}));
}
