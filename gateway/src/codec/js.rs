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
mod tests;
