//! Unit tests of `js`.

use super::*;
use crate::codec::output::{map, Output};
use crate::codec::Measurement;

fn codec_file(source: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codec.js");
    std::fs::write(&path, source).unwrap();
    (dir, path.display().to_string())
}

fn decode(
    path: &str,
    f_port: Option<u8>,
    payload: &[u8],
    recv_time: &str,
) -> Result<Vec<Measurement>, CodecError> {
    let decoded = decode_once(path, f_port, payload, recv_time)?;
    let output = Output::Json {
        data: decoded.data(path)?.clone(),
        normalized: decoded.normalized,
    };
    Ok(map(output, &[], &"js:test.js".parse().unwrap()).measurements)
}

/// A codec in the TTN interface, written here for the test: temperature in 0.01 °C and
/// humidity in 0.5 % steps, and an error for any fPort but 2.
const CODEC: &str = r#"
    function decodeUplink(input) {
      if (input.fPort !== 2) { return { errors: ["unknown FPort " + input.fPort] }; }
      var b = input.bytes;
      var t = (b[0] << 8 | b[1]); if (t > 0x7fff) { t -= 0x10000; }
      return { data: { temperature: t / 100, humidity: b[2] / 2, firmware: "1.2" }, warnings: [] };
    }
"#;

#[test]
fn decodes_a_codec_file_from_disk() {
    let (_dir, path) = codec_file(CODEC);
    // 0x0A0B = 2571 -> 25.71 °C; 0x7B = 123 -> 61.5 %
    let out = decode(&path, Some(2), &[0x0a, 0x0b, 0x7b], "2024-05-01T00:00:00Z").unwrap();
    assert_eq!(out.len(), 2, "{out:?}"); // `firmware` is a version, not a value
    let get = |q: &str| out.iter().find(|m| m.quantity == q).unwrap();
    assert_eq!(
        (
            get("air_temperature").value,
            get("air_temperature").unit.as_str()
        ),
        (25.71, "°C")
    );
    assert_eq!(get("relative_humidity").value, 61.5);
    let negative = decode(&path, Some(2), &[0xff, 0x38, 0x00], "").unwrap();
    assert!(negative
        .iter()
        .any(|m| m.quantity == "air_temperature" && m.value == -2.0));
}

/// Written as published vendor codecs are (Tektelic, comtac): an undeclared variable, which
/// strict mode refuses, and `recvTime` used as a Date.
#[test]
fn codecs_run_in_sloppy_mode_with_recv_time_as_a_date() {
    let (_dir, path) = codec_file(
        "function decodeUplink(input) {\n\
           header = input.bytes[0];\n\
           var year = input.recvTime.getUTCFullYear();\n\
           return { data: { temperature: header / 10, year_seen: year } };\n\
         }\n",
    );
    let out = decode(&path, Some(1), &[215], "2024-05-01T00:00:00Z").unwrap();
    assert_eq!(out[0].quantity, "air_temperature");
    assert_eq!(out[0].value, 21.5);
}

#[test]
fn a_warm_codec_keeps_its_state_between_uplinks() {
    let (_dir, path) = codec_file(
        "var calls = 0; function decodeUplink(i) { calls++; return { data: { count: calls } }; }",
    );
    let codec = Codec::load(&path).unwrap();
    for expected in 1..=3 {
        let d = codec.run(Some(1), &[1], "2024-05-01T00:00:00Z").unwrap();
        assert_eq!(d.result["data"]["count"], expected);
    }
}

/// The result is read as `JSON.stringify` would print it.
#[test]
fn results_read_as_json_stringify_shows_them() {
    let (_dir, path) = codec_file(
        "function decodeUplink(i) { var loop = {}; loop.self = loop;\n\
           if (i.fPort === 2) { return { data: loop }; }\n\
           return { data: { when: new Date(0), gone: undefined, f: function () {}, nan: NaN,\n\
             list: [1, undefined, 2.5], text: 'x', flag: true, nothing: null } }; }",
    );
    let d = decode_once(&path, Some(1), &[], "2024-05-01T00:00:00Z").unwrap();
    assert_eq!(
        d.result["data"],
        serde_json::json!({"when": "1970-01-01T00:00:00.000Z", "nan": null,
            "list": [1, null, 2.5], "text": "x", "flag": true, "nothing": null})
    );
    let err = decode_once(&path, Some(2), &[], "")
        .unwrap_err()
        .to_string();
    assert!(err.contains("circular"), "{err}");
}

/// Results built to make reading them explode are refused quickly, never a hang or a panic.
#[test]
fn results_that_explode_when_read_are_refused() {
    for body in [
        // 2^60 paths through 60 shared objects
        "var o = {}; for (var i = 0; i < 60; i++) { o = {a: o, b: o}; } return {data: o};",
        // an array whose length does not fit an i32
        "var a = []; a.length = 2147483648; return {data: {a: a}};",
        "var a = []; a.length = 4294967295; return {data: a};",
        // one large string shared half a million times
        "var s = 'x'.repeat(1 << 20); var a = []; for (var i = 0; i < 500000; i++) { a.push(s); } return {data: a};",
    ] {
        let (_dir, path) = codec_file(&format!("function decodeUplink(i) {{ {body} }}"));
        let started = Instant::now();
        let err = decode_once(&path, Some(1), &[], "").unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        assert!(err.contains("result") || err.contains("ran longer"), "{body}: {err}");
    }
}

#[test]
fn codec_errors_are_reported() {
    let (_dir, path) = codec_file(CODEC);
    let err = decode(&path, Some(9), &[0x01], "").unwrap_err().to_string();
    assert!(err.contains("unknown FPort 9"), "{err}");
}

#[test]
fn normalize_uplink_comes_first_and_decoded_fields_it_leaves_out_still_count() {
    let (_dir, path) = codec_file(&format!(
        "{CODEC}\nfunction normalizeUplink(input) {{ return {{ data: {{ air: {{ temperature: input.data.temperature, co2: 415 }} }} }}; }}"
    ));
    let out = decode(&path, Some(2), &[0x0a, 0x0b, 0x7b], "").unwrap();
    let names: Vec<_> = out.iter().map(|m| m.quantity.as_str()).collect();
    assert_eq!(names, ["air_temperature", "co2", "relative_humidity"]);
}

#[test]
fn endless_loops_and_memory_hogs_are_stopped() {
    let (_dir, path) = codec_file("function decodeUplink(i) { while (true) {} }");
    let started = Instant::now();
    let err = decode(&path, Some(2), &[], "").unwrap_err().to_string();
    assert!(err.contains("ran longer than"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (_dir2, path) = codec_file("function decodeUplink(i) { var a = []; while (true) { a.push(new Array(100000).fill(1)); } }");
    assert!(decode(&path, Some(2), &[], "").is_err());
    // A loop at load time is stopped too.
    let (_dir3, path) = codec_file("for (;;) {} function decodeUplink(i) {}");
    assert!(matches!(
        Codec::load(&path),
        Err(CodecError::Timeout { .. })
    ));
}

#[test]
fn broken_files_are_errors() {
    let (_dir, path) = codec_file("function decodeUplink(");
    assert!(decode(&path, Some(2), &[], "")
        .unwrap_err()
        .to_string()
        .contains("loading the codec"));
    let (_dir, path) = codec_file("var x = 1;");
    assert!(decode(&path, Some(2), &[], "")
        .unwrap_err()
        .to_string()
        .contains("no function decodeUplink"));
    assert!(decode("/nonexistent/codec.js", Some(2), &[], "").is_err());
}
