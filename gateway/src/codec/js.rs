//! JavaScript codecs in the interface of The Things Network's device repository and ChirpStack:
//! `decodeUplink({bytes, fPort, recvTime})` returning `{data, warnings, errors}`, and
//! optionally `normalizeUplink({data})` returning TTN's normalized payload.
//!
//! A technician drops a vendor's codec file on disk and registers devices as `js:PATH` (or
//! `ttn:VENDOR/CODEC`). A [`Codec`] is one file compiled into its own QuickJS runtime, kept warm
//! between uplinks, with a memory limit, a stack limit and a time limit per call, so a broken or
//! hostile codec costs one dead letter, never the gateway. It runs as The Things Stack runs
//! codecs: sloppy mode, `recvTime` a `Date`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rquickjs::{Context, Function, Runtime, Value};
use serde_json::Value as Json;

use super::CodecError;

/// What one codec may use.
const MEMORY_LIMIT: usize = 16 << 20;
const STACK_LIMIT: usize = 512 << 10;
const TIME_LIMIT: Duration = Duration::from_millis(200);

const LOADING: &str = "loading the codec";

/// The global that builds `decodeUplink`'s input, `recvTime` a `Date` as in The Things Stack.
const INPUT_FUNCTION: &str = "__sensorhubInput";
const INPUT_HELPER: &str = "globalThis.__sensorhubInput = function (bytes, fPort, recvTime) { \
     return { bytes: bytes, fPort: fPort, recvTime: new Date(recvTime) }; };";

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

/// What identifies one content of a codec file without reading it: a changed file is reloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileVersion {
    pub fn of(path: &str) -> Option<FileVersion> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileVersion {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }
}

/// What a codec returned for one uplink: `decodeUplink`'s result (with `data`) and, where the
/// codec has one, `normalizeUplink`'s `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub result: Json,
    pub normalized: Option<Json>,
}

impl Decoded {
    /// `data`, or the error the codec reported.
    pub fn data(&self, path: &str) -> Result<&Json, CodecError> {
        if let Some(errors) = self
            .result
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
                format!("decodeUplink reported: {}", shorten(&text.join("; "))),
            ));
        }
        self.result
            .get("data")
            .ok_or_else(|| js_error(path, "decodeUplink returned no `data`"))
    }
}

/// One codec file, compiled and warm.
pub struct Codec {
    path: String,
    version: Option<FileVersion>,
    // Field order: the context must go before its runtime, which is held only to outlive it.
    context: Context,
    _runtime: Runtime,
    /// When the running call must stop, in ns after `epoch`; read by the interrupt handler.
    deadline: Arc<AtomicU64>,
    epoch: Instant,
}

impl Codec {
    /// Reads and evaluates the file; fails if it does not define `decodeUplink`.
    pub fn load(path: &str) -> Result<Codec, CodecError> {
        let version = FileVersion::of(path);
        let source = std::fs::read_to_string(path)
            .map_err(|e| js_error(path, format!("cannot read: {e}")))?;
        let runtime = Runtime::new().map_err(|e| js_error(path, e))?;
        runtime.set_memory_limit(MEMORY_LIMIT);
        runtime.set_max_stack_size(STACK_LIMIT);
        let epoch = Instant::now();
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let watched = Arc::clone(&deadline);
        runtime.set_interrupt_handler(Some(Box::new(move || {
            epoch.elapsed().as_nanos() as u64 > watched.load(Ordering::Relaxed)
        })));
        let context = Context::full(&runtime).map_err(|e| js_error(path, e))?;
        let codec = Codec {
            path: path.to_owned(),
            version,
            context,
            _runtime: runtime,
            deadline,
            epoch,
        };
        codec.start_clock();
        let loaded = codec.context.with(|ctx| {
            // Sloppy mode, as The Things Stack and Node.js run these files: published vendor
            // codecs assign variables they never declare.
            let mut options = rquickjs::context::EvalOptions::default();
            options.strict = false;
            ctx.eval_with_options::<(), _>(source, options)
                .map_err(|e| codec.failure(&ctx, LOADING, e))?;
            ctx.globals()
                .get::<_, Function>("decodeUplink")
                .map(drop)
                .map_err(|_| js_error(path, "the file defines no function decodeUplink"))?;
            // Builds each uplink's input inside the runtime, compiled once.
            ctx.eval::<(), _>(INPUT_HELPER)
                .map_err(|e| codec.failure(&ctx, "preparing the codec", e))
        });
        codec.stop_clock();
        loaded.map(|()| codec)
    }

    /// The file's version when it was loaded.
    pub fn version(&self) -> Option<FileVersion> {
        self.version
    }

    fn start_clock(&self) {
        let limit = (self.epoch.elapsed() + TIME_LIMIT).as_nanos() as u64;
        self.deadline.store(limit, Ordering::Relaxed);
    }

    /// Stops the clock. Garbage is freed by QuickJS's reference counting as it goes, and its
    /// cycle collector runs on its own allocation threshold; the memory limit bounds the rest.
    fn stop_clock(&self) {
        self.deadline.store(u64::MAX, Ordering::Relaxed);
    }

    fn timed_out(&self) -> bool {
        self.epoch.elapsed().as_nanos() as u64 > self.deadline.load(Ordering::Relaxed)
    }

    fn timeout(&self) -> CodecError {
        CodecError::Timeout {
            path: self.path.clone(),
            limit_ms: TIME_LIMIT.as_millis() as u64,
        }
    }

    fn failure(&self, ctx: &rquickjs::Ctx<'_>, what: &str, e: rquickjs::Error) -> CodecError {
        if self.timed_out() {
            return self.timeout();
        }
        let detail = match e {
            rquickjs::Error::Exception => {
                let exception = ctx.catch();
                let object = exception.as_object();
                let name: Option<String> = object.and_then(|o| o.get("name").ok());
                // An error while loading the file (a syntax error, a name that is not defined)
                // quotes the file itself: say only what kind of error it was, so a path to a
                // file that is no codec never shows that file's content.
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
        js_error(&self.path, detail)
    }

    /// Runs `decodeUplink` (and `normalizeUplink`, if the file has it) on one uplink.
    /// `recv_time` is RFC 3339; the codec sees it as a `Date`.
    pub fn run(
        &self,
        f_port: Option<u8>,
        payload: &[u8],
        recv_time: &str,
    ) -> Result<Decoded, CodecError> {
        self.start_clock();
        let out = self.context.with(|ctx| {
            let fail = |what: &str, e| self.failure(&ctx, what, e);
            let globals = ctx.globals();
            let decode: Function = globals
                .get("decodeUplink")
                .map_err(|_| js_error(&self.path, "the file defines no function decodeUplink"))?;
            let input: Function = globals
                .get(INPUT_FUNCTION)
                .map_err(|e| fail("building the input", e))?;
            let arg: Value = input
                .call((payload.to_vec(), f_port.unwrap_or(0), recv_time))
                .map_err(|e| fail("building the input", e))?;
            let result: Value = decode.call((arg,)).map_err(|e| fail("decodeUplink", e))?;
            let timed_out = || self.timed_out();
            let to_json = |v| {
                to_json(v, &timed_out).map_err(|e| {
                    if self.timed_out() {
                        self.timeout()
                    } else {
                        js_error(&self.path, e)
                    }
                })
            };
            let data: Option<Value> = result.as_object().and_then(|o| o.get("data").ok());
            let result = to_json(result)?;
            let normalize: Option<Function> = globals.get("normalizeUplink").ok();
            let normalized = match (normalize, data) {
                // What `decodeUplink` returned, as it stands now (its JSON is taken already).
                (Some(f), Some(data)) if result.get("data").is_some() => {
                    let arg = rquickjs::Object::new(ctx.clone())
                        .map_err(|e| fail("building the input", e))?;
                    arg.set("data", data)
                        .map_err(|e| fail("building the input", e))?;
                    let out: Value = f.call((arg,)).map_err(|e| fail("normalizeUplink", e))?;
                    to_json(out)?.get("data").cloned()
                }
                _ => None,
            };
            Ok(Decoded { result, normalized })
        });
        self.stop_clock();
        out
    }
}

/// How deep a codec's result may nest, how many values and how many bytes of text it may hold:
/// reading it costs bounded work and memory, whatever the codec built (a structure that
/// shares one object a million times, an array whose length says 2^31).
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 100_000;
const MAX_TEXT_BYTES: usize = 4 << 20;

/// What reading one result may still use.
struct Walk<'a> {
    nodes: usize,
    bytes: usize,
    timed_out: &'a dyn Fn() -> bool,
}

impl Walk<'_> {
    fn visit(&mut self) -> Result<(), String> {
        self.nodes = self
            .nodes
            .checked_sub(1)
            .ok_or_else(|| format!("result holds more than {MAX_NODES} values"))?;
        if self.nodes.is_multiple_of(1024) && (self.timed_out)() {
            return Err("result took too long to read".into());
        }
        Ok(())
    }

    fn text(&mut self, len: usize) -> Result<(), String> {
        self.bytes = self
            .bytes
            .checked_sub(len)
            .ok_or_else(|| format!("result holds more than {MAX_TEXT_BYTES} bytes of text"))?;
        Ok(())
    }
}

/// A codec's result as JSON, read from the runtime directly as `JSON.stringify` would see it
/// (`toJSON` honoured, functions and `undefined` left out, non-finite numbers `null`),
/// without printing every number as text and parsing it back.
fn to_json(value: Value<'_>, timed_out: &dyn Fn() -> bool) -> Result<Json, String> {
    let mut walk = Walk {
        nodes: MAX_NODES,
        bytes: MAX_TEXT_BYTES,
        timed_out,
    };
    convert(value, 0, &mut walk)?.ok_or_else(|| "the function returned nothing".to_owned())
}

fn number(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
}

fn convert(value: Value<'_>, depth: usize, walk: &mut Walk<'_>) -> Result<Option<Json>, String> {
    use rquickjs::Type;
    if depth > MAX_DEPTH {
        return Err(format!(
            "result nested deeper than {MAX_DEPTH} levels (or circular)"
        ));
    }
    walk.visit()?;
    let fail = |e: rquickjs::Error| format!("result is not JSON: {e}");
    Ok(Some(match value.type_of() {
        Type::Uninitialized
        | Type::Undefined
        | Type::Symbol
        | Type::Function
        | Type::Constructor => return Ok(None),
        Type::Null => Json::Null,
        Type::Bool => Json::Bool(value.as_bool().unwrap_or(false)),
        Type::Int => Json::from(value.as_int().unwrap_or(0)),
        Type::Float => number(value.as_float().unwrap_or(f64::NAN)),
        Type::String => {
            let text = value
                .as_string()
                .map(|s| s.to_string())
                .transpose()
                .map_err(fail)?
                .unwrap_or_default();
            walk.text(text.len())?;
            Json::String(text)
        }
        Type::Array => {
            // The length is read as a number, not through rquickjs's `Array::len`, which
            // asserts it fits an i32: a codec may set any length.
            let array = value.as_object().expect("an array is an object");
            let len: f64 = array.get("length").map_err(fail)?;
            if !(0.0..=MAX_NODES as f64).contains(&len) {
                return Err(format!("result holds an array of length {len}"));
            }
            let mut items = Vec::with_capacity(len as usize);
            for i in 0..len as u32 {
                let item: Value = array.get(i).map_err(fail)?;
                items.push(convert(item, depth + 1, walk)?.unwrap_or(Json::Null));
            }
            Json::Array(items)
        }
        Type::Object | Type::Exception | Type::Promise | Type::Proxy => {
            let object = value.as_object().expect("an object");
            if let Ok(to_json) = object.get::<_, Function>("toJSON") {
                let shown: Value = to_json
                    .call((rquickjs::function::This(object.clone()),))
                    .map_err(fail)?;
                return convert(shown, depth + 1, walk);
            }
            let mut map = serde_json::Map::new();
            for prop in object.props::<String, Value>() {
                let (key, v) = prop.map_err(fail)?;
                walk.text(key.len())?;
                if let Some(v) = convert(v, depth + 1, walk)? {
                    map.insert(key, v);
                }
            }
            Json::Object(map)
        }
        Type::BigInt | Type::Module | Type::Unknown => {
            return Err("result is not JSON: it holds a value JSON cannot represent".to_owned())
        }
    }))
}

/// Loads the codec at `path` and runs it once (for tools and tests; the gateway keeps codecs
/// warm in [`super::runner`]).
pub fn decode_once(
    path: &str,
    f_port: Option<u8>,
    payload: &[u8],
    recv_time: &str,
) -> Result<Decoded, CodecError> {
    Codec::load(path)?.run(f_port, payload, recv_time)
}

#[cfg(test)]
mod tests {
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
        Ok(map(output, &[], "js:test").measurements)
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
}
