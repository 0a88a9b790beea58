//! JavaScript codecs in the interface of The Things Network's device repository and ChirpStack:
//! `decodeUplink({bytes, fPort, recvTime})` returning `{data, warnings, errors}`, and
//! optionally `normalizeUplink({data})` returning TTN's normalized payload.
//!
//! A technician drops a vendor's codec file on disk and registers devices as `js:PATH`. Each
//! decode runs in a fresh QuickJS runtime with a memory limit, a stack limit and a time limit,
//! so a broken or hostile codec costs one dead letter, never the gateway.

use std::time::{Duration, Instant};

use rquickjs::{Context, Function, Runtime, Value};
use sensorhub_core::Quantity;
use serde_json::Value as Json;

use super::{CodecError, Measurement};

/// What one codec call may use.
const MEMORY_LIMIT: usize = 16 << 20;
const STACK_LIMIT: usize = 512 << 10;
const TIME_LIMIT: Duration = Duration::from_millis(200);

/// Vendor field names that mean a vocabulary quantity in its unit.
const ALIASES: &[(&str, &str)] = &[
    ("temperature", "air_temperature"),
    ("humidity", "relative_humidity"),
    ("pressure", "air_pressure"),
    ("light", "illuminance"),
    ("illumination", "illuminance"),
];

/// TTN normalized payload terms (object path) that map onto the vocabulary.
const NORMALIZED: &[(&str, &str, &str)] = &[
    ("air", "temperature", "air_temperature"),
    ("air", "relativeHumidity", "relative_humidity"),
    ("air", "pressure", "air_pressure"),
    ("air", "co2", "co2"),
    ("air", "lightIntensity", "illuminance"),
    ("soil", "moisture", "soil_moisture"),
    ("water", "level", "water_level"),
];

const LOADING: &str = "loading the codec";

/// A codec's message cut to one short line for logs, dead letters and `/admin`.
fn shorten(message: &str) -> String {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    line
}

fn js_error(path: &str, detail: impl std::fmt::Display) -> CodecError {
    CodecError::Js {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

/// Runs the codec at `path` on one uplink and maps its output onto the vocabulary.
pub fn decode(
    path: &str,
    f_port: Option<u8>,
    payload: &[u8],
    recv_time: &str,
) -> Result<Vec<Measurement>, CodecError> {
    let source =
        std::fs::read_to_string(path).map_err(|e| js_error(path, format!("cannot read: {e}")))?;
    let input =
        serde_json::json!({"bytes": payload, "fPort": f_port.unwrap_or(0), "recvTime": recv_time});
    let (decoded, normalized) = run(path, &source, &input)?;
    if let Some(errors) = decoded
        .get("errors")
        .and_then(Json::as_array)
        .filter(|e| !e.is_empty())
    {
        let text: Vec<String> = errors
            .iter()
            .map(|e| e.as_str().map_or(e.to_string(), str::to_owned))
            .collect();
        return Err(js_error(
            path,
            format!("decodeUplink reported: {}", text.join("; ")),
        ));
    }
    let data = decoded
        .get("data")
        .ok_or_else(|| js_error(path, "decodeUplink returned no `data`"))?;
    Ok(match normalized {
        Some(normalized) => from_normalized(&normalized),
        None => from_data(data),
    })
}

/// Evaluates the codec and calls its functions; returns decodeUplink's and, where the codec
/// has one, normalizeUplink's result as JSON.
fn run(path: &str, source: &str, input: &Json) -> Result<(Json, Option<Json>), CodecError> {
    let runtime = Runtime::new().map_err(|e| js_error(path, e))?;
    runtime.set_memory_limit(MEMORY_LIMIT);
    runtime.set_max_stack_size(STACK_LIMIT);
    let deadline = Instant::now() + TIME_LIMIT;
    runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() > deadline)));
    let context = Context::full(&runtime).map_err(|e| js_error(path, e))?;
    context.with(|ctx| {
        let fail = |what: &str, e: rquickjs::Error| {
            if Instant::now() > deadline {
                return CodecError::Timeout {
                    path: path.to_owned(),
                    limit_ms: TIME_LIMIT.as_millis() as u64,
                };
            }
            let detail = match e {
                rquickjs::Error::Exception => {
                    let exception = ctx.catch();
                    let object = exception.as_object();
                    let name: Option<String> = object.and_then(|o| o.get("name").ok());
                    // An error while loading the file (a syntax error, a name that is not
                    // defined) quotes the file itself: say only what kind of error it was, so
                    // a path to a file that is no codec never shows that file's content.
                    if what == LOADING {
                        let kind = name.unwrap_or_else(|| "an exception".to_owned());
                        format!("{what}: {kind} (is it a JavaScript codec?)")
                    } else {
                        let message = exception
                            .as_exception()
                            .and_then(|x| x.message())
                            .or_else(|| exception.as_string().and_then(|s| s.to_string().ok()))
                            .unwrap_or_else(|| "exception".to_owned());
                        format!("{what}: {}", shorten(&message))
                    }
                }
                other => format!("{what}: {other}"),
            };
            js_error(path, detail)
        };
        // Sloppy mode, as The Things Stack and Node.js run these files: published vendor codecs
        // assign variables they never declare.
        let mut options = rquickjs::context::EvalOptions::default();
        options.strict = false;
        ctx.eval_with_options::<(), _>(source, options)
            .map_err(|e| fail(LOADING, e))?;
        let decode: Function = ctx
            .globals()
            .get("decodeUplink")
            .map_err(|_| js_error(path, "the file defines no function decodeUplink"))?;
        let arg = ctx
            .json_parse(input.to_string())
            .map_err(|e| fail("building the input", e))?;
        // `recvTime` is a Date, as in The Things Stack.
        let with_date: Function = ctx
            .eval("(function (i) { i.recvTime = new Date(i.recvTime); return i; })")
            .map_err(|e| fail("building the input", e))?;
        let arg: Value = with_date
            .call((arg,))
            .map_err(|e| fail("building the input", e))?;
        let result: Value = decode.call((arg,)).map_err(|e| fail("decodeUplink", e))?;
        let timed = |e: String| {
            if Instant::now() > deadline {
                CodecError::Timeout {
                    path: path.to_owned(),
                    limit_ms: TIME_LIMIT.as_millis() as u64,
                }
            } else {
                js_error(path, e)
            }
        };
        let decoded = to_json(&ctx, result).map_err(timed)?;
        let normalize: Option<Function> = ctx.globals().get("normalizeUplink").ok();
        let normalized = match normalize {
            Some(f) => {
                let arg = ctx
                    .json_parse(serde_json::json!({"data": decoded.get("data")}).to_string())
                    .map_err(|e| fail("building the input", e))?;
                let result: Value = f.call((arg,)).map_err(|e| fail("normalizeUplink", e))?;
                to_json(&ctx, result).map_err(timed)?.get("data").cloned()
            }
            None => None,
        };
        Ok((decoded, normalized))
    })
}

fn to_json<'js>(ctx: &rquickjs::Ctx<'js>, value: Value<'js>) -> Result<Json, String> {
    let text = ctx
        .json_stringify(value)
        .map_err(|e| format!("result is not JSON: {e}"))?
        .ok_or("the function returned nothing")?
        .to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn measurement(quantity: &str, value: f64) -> Option<Measurement> {
    let q = Quantity::by_name(quantity)?;
    value.is_finite().then(|| Measurement {
        quantity: quantity.to_owned(),
        unit: q.unit.to_owned(),
        value,
    })
}

/// Top-level numeric fields, common aliases renamed to vocabulary quantities. Other names pass
/// through for the config's normalisation rules; what stays outside the vocabulary is dropped.
pub(super) fn from_data(data: &Json) -> Vec<Measurement> {
    let Some(fields) = data.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|(name, value)| {
            let quantity = ALIASES
                .iter()
                .find(|(alias, _)| alias == name)
                .map_or(name.as_str(), |(_, q)| q);
            let value = value.as_f64().filter(|v| v.is_finite())?;
            Some(Measurement {
                quantity: quantity.to_owned(),
                unit: Quantity::by_name(quantity)
                    .map_or("", |q| q.unit)
                    .to_owned(),
                value,
            })
        })
        .collect()
}

/// TTN normalized payload (one object or a list of them) mapped onto the vocabulary.
fn from_normalized(normalized: &Json) -> Vec<Measurement> {
    let items: Vec<&Json> = match normalized {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        for (group, field, quantity) in NORMALIZED {
            if let Some(v) = item
                .get(group)
                .and_then(|g| g.get(field))
                .and_then(Json::as_f64)
            {
                out.extend(measurement(quantity, v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec_file(source: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codec.js");
        std::fs::write(&path, source).unwrap();
        (dir, path.display().to_string())
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
        assert_eq!(out.len(), 2, "{out:?}"); // the string field `firmware` is not a value
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
    fn codec_errors_are_reported() {
        let (_dir, path) = codec_file(CODEC);
        let err = decode(&path, Some(9), &[0x01], "").unwrap_err().to_string();
        assert!(err.contains("unknown FPort 9"), "{err}");
    }

    #[test]
    fn normalize_uplink_is_preferred_when_present() {
        let (_dir, path) = codec_file(&format!(
            "{CODEC}\nfunction normalizeUplink(input) {{ return {{ data: {{ air: {{ temperature: input.data.temperature, relativeHumidity: input.data.humidity, co2: 415 }} }} }}; }}"
        ));
        let out = decode(&path, Some(2), &[0x0a, 0x0b, 0x7b], "").unwrap();
        let names: Vec<_> = out.iter().map(|m| m.quantity.as_str()).collect();
        assert_eq!(names, ["air_temperature", "relative_humidity", "co2"]);
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
}
