//! Codecs of The Things Network's device repository (github.com/TheThingsNetwork/lorawan-devices)
//! used as they are published.
//!
//! A device type `ttn:VENDOR/CODEC` names the codec definition `vendor/VENDOR/CODEC-codec.yaml`
//! (the repository's name for codec definitions; `CODEC.yaml` is tried second, as that name is
//! the device's own definition there) in a local checkout given by
//! `[codecs] ttn_repository`. The definition names the JavaScript file (`uplinkDecoder.fileName`)
//! and lists published examples: input bytes and port, the expected `decodeUplink` output and,
//! for codecs with `normalizeUplink`, the expected normalized output. [`check`] runs the codec
//! on every example and compares; registering a device with a codec that does not reproduce its
//! own examples is refused.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::js::Codec;
use super::CodecError;
use sensorhub_store::TtnCodec;

/// The `[codecs]` config section.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CodecsConfig {
    /// A local checkout (or partial copy) of the device repository, for `ttn:` device types.
    pub ttn_repository: Option<PathBuf>,
}

/// One published example of a codec definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub description: String,
    pub f_port: Option<u8>,
    pub bytes: Vec<u8>,
    pub recv_time: Option<String>,
    /// The expected `decodeUplink` result: `data`, and `errors`/`warnings` where published.
    pub output: Json,
    /// The expected `normalizeUplink` result's `data`, where published.
    pub normalized: Option<Json>,
}

/// A codec definition: its JavaScript file and examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub yaml: PathBuf,
    pub js: PathBuf,
    pub examples: Vec<Example>,
}

fn ttn_error(device_type: &str, detail: impl std::fmt::Display) -> CodecError {
    CodecError::Ttn {
        device_type: device_type.to_owned(),
        detail: detail.to_string(),
    }
}

/// The YAML file `ttn:VENDOR/CODEC` names in `repository`.
pub fn definition_path(repository: &Path, id: &str) -> Result<PathBuf, String> {
    let (vendor, codec) = id
        .split_once('/')
        .ok_or("a device repository codec is named VENDOR/CODEC, for example dragino/lht65")?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && !s.starts_with('.')
    };
    if !plain(vendor) || !plain(codec) {
        return Err(format!(
            "`{id}`: VENDOR and CODEC are names of the repository's files"
        ));
    }
    let dir = repository.join("vendor").join(vendor);
    // `vendor/dragino/lht65.yaml` is the device's definition, `lht65-codec.yaml` its codec's.
    let candidates = [
        dir.join(format!("{codec}-codec.yaml")),
        dir.join(format!("{codec}.yaml")),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no codec definition {} (or {}) in the device repository",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// YAML -> JSON, for comparing with what codecs return.
fn to_json(yaml: &yaml_rust2::Yaml) -> Json {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Yaml::Integer(i) => Json::from(*i),
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Boolean(b) => Json::Bool(*b),
        Yaml::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Json::Null,
    }
}

/// Reads a codec definition (`*-codec.yaml` of the device repository).
pub fn load_definition(yaml: &Path) -> Result<Definition, String> {
    let text = std::fs::read_to_string(yaml)
        .map_err(|e| format!("cannot read {}: {e}", yaml.display()))?;
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .map_err(|e| format!("{} is not YAML: {e}", yaml.display()))?;
    let doc = docs.first().map(to_json).unwrap_or(Json::Null);
    let decoder = doc
        .get("uplinkDecoder")
        .ok_or_else(|| format!("{} has no uplinkDecoder", yaml.display()))?;
    let file = decoder
        .get("fileName")
        .and_then(Json::as_str)
        .filter(|f| !f.contains("..") && !f.starts_with('/'))
        .ok_or_else(|| format!("{}: uplinkDecoder.fileName missing", yaml.display()))?;
    let js = yaml.parent().unwrap_or(Path::new(".")).join(file);
    let mut examples = Vec::new();
    for (i, e) in decoder
        .get("examples")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let input = e.get("input").unwrap_or(&Json::Null);
        let bytes = input
            .get("bytes")
            .and_then(Json::as_array)
            .and_then(|b| {
                b.iter()
                    .map(|x| x.as_u64().and_then(|v| u8::try_from(v).ok()))
                    .collect::<Option<Vec<u8>>>()
            })
            .ok_or_else(|| {
                format!(
                    "{} example {i}: input.bytes is no byte list",
                    yaml.display()
                )
            })?;
        examples.push(Example {
            description: e
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned(),
            f_port: input
                .get("fPort")
                .and_then(Json::as_u64)
                .and_then(|p| u8::try_from(p).ok()),
            bytes,
            recv_time: input
                .get("recvTime")
                .and_then(Json::as_str)
                .map(str::to_owned),
            output: e.get("output").cloned().unwrap_or(Json::Null),
            normalized: e
                .get("normalizedOutput")
                .and_then(|n| n.get("data"))
                .cloned(),
        });
    }
    Ok(Definition {
        yaml: yaml.to_owned(),
        js,
        examples,
    })
}

/// Resolves `ttn:VENDOR/CODEC` to its definition.
pub fn resolve(config: &CodecsConfig, codec: &TtnCodec) -> Result<Definition, CodecError> {
    let (device_type, id) = (codec.as_str(), codec.id());
    let repository = config.ttn_repository.as_deref().ok_or_else(|| {
        ttn_error(
            device_type,
            "set [codecs] ttn_repository to a checkout of github.com/TheThingsNetwork/lorawan-devices",
        )
    })?;
    let yaml = definition_path(repository, id).map_err(|e| ttn_error(device_type, e))?;
    load_definition(&yaml).map_err(|e| ttn_error(device_type, e))
}

/// How one part of an example compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Equal,
    /// Where the codec's output differs: `path: expected X, got Y`.
    Differs(Vec<String>),
    /// The example publishes no such output (or the codec has no `normalizeUplink`).
    NotPublished,
    Failed(String),
}

impl Comparison {
    pub fn is_ok(&self) -> bool {
        matches!(self, Comparison::Equal | Comparison::NotPublished)
    }
}

/// One example's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleReport {
    pub index: usize,
    pub description: String,
    pub decoded: Comparison,
    pub normalized: Comparison,
}

fn differences(expected: &Json, got: &Json, path: &str, out: &mut Vec<String>) {
    const MAX: usize = 10;
    if out.len() >= MAX {
        return;
    }
    let here = if path.is_empty() { "." } else { path };
    match (expected, got) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(vb) => differences(va, vb, &p, out),
                    None => out.push(format!("{p}: expected {va}, missing")),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(format!("{path}.{k}: not expected, got {vb}"));
                }
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                differences(va, vb, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Number(a), Json::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{here}: expected {a}, got {b}")),
    }
}

fn compare(expected: &Json, got: &Json) -> Comparison {
    let mut out = Vec::new();
    differences(expected, got, "", &mut out);
    if out.is_empty() {
        Comparison::Equal
    } else {
        Comparison::Differs(out)
    }
}

/// `decodeUplink`'s result compared as published: `data` always, `errors` and `warnings`
/// where the example lists them (an empty list and a missing one are the same).
fn decoded_part(result: &Json, expected: &Json) -> (Json, Json) {
    let pick = |v: &Json, with: &Json| {
        let mut m = serde_json::Map::new();
        m.insert("data".into(), v.get("data").cloned().unwrap_or(Json::Null));
        for key in ["errors", "warnings"] {
            if with.get(key).is_some() {
                let list = v.get(key).cloned().unwrap_or(Json::Array(Vec::new()));
                m.insert(key.into(), list);
            }
        }
        Json::Object(m)
    };
    (pick(expected, expected), pick(result, expected))
}

fn as_list(normalized: &Json) -> Json {
    match normalized {
        Json::Array(_) => normalized.clone(),
        other => Json::Array(vec![other.clone()]),
    }
}

/// Runs the definition's codec on every example.
pub fn check(definition: &Definition) -> Result<Vec<ExampleReport>, CodecError> {
    let js = definition.js.display().to_string();
    let codec = Codec::load(&js)?;
    Ok(definition
        .examples
        .iter()
        .enumerate()
        .map(|(index, example)| {
            let recv_time = example
                .recv_time
                .clone()
                .unwrap_or_else(|| "2024-01-01T00:00:00Z".to_owned());
            let (decoded, normalized) = match codec.run(example.f_port, &example.bytes, &recv_time)
            {
                Ok(got) => {
                    let (expected, result) = decoded_part(&got.result, &example.output);
                    let normalized = match (&example.normalized, &got.normalized) {
                        (None, _) => Comparison::NotPublished,
                        // One measurement object stands for a list of one, as The Things
                        // Stack reads `normalizeUplink`'s data.
                        (Some(expected), Some(got)) => compare(&as_list(expected), &as_list(got)),
                        (Some(_), None) => Comparison::Failed(
                            "the example publishes a normalized output, the codec gives none"
                                .into(),
                        ),
                    };
                    (compare(&expected, &result), normalized)
                }
                Err(e) => (
                    Comparison::Failed(e.to_string()),
                    Comparison::Failed("not run".into()),
                ),
            };
            ExampleReport {
                index,
                description: example.description.clone(),
                decoded,
                normalized,
            }
        })
        .collect())
}

/// Checks that `device_type`'s codec reproduces its published examples; the problems, one
/// line each, otherwise.
pub fn verify(config: &CodecsConfig, codec: &TtnCodec) -> Result<Definition, String> {
    let device_type = codec.as_str();
    let definition = resolve(config, codec).map_err(|e| e.to_string())?;
    let reports = check(&definition).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    for r in &reports {
        for (part, c) in [("decoded", &r.decoded), ("normalized", &r.normalized)] {
            match c {
                Comparison::Differs(d) => problems.push(format!(
                    "example {} ({}), {part}: {}",
                    r.index,
                    r.description,
                    d.join("; ")
                )),
                Comparison::Failed(e) => problems.push(format!(
                    "example {} ({}), {part}: {e}",
                    r.index, r.description
                )),
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(format!(
            "device_type `{device_type}`: {} does not reproduce its published examples: {}",
            definition.js.display(),
            problems.join(" | ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_the_repository_are_refused() {
        let root = Path::new("/nonexistent");
        for id in [
            "../etc/passwd",
            "dragino",
            "dragino/../../x",
            "/abs/x",
            "a/.hidden",
        ] {
            assert!(definition_path(root, id).is_err(), "{id}");
        }
    }

    #[test]
    fn differences_name_the_path() {
        let a = serde_json::json!({"data": {"t": 21.5, "n": [1, 2]}});
        let b = serde_json::json!({"data": {"t": 21.0, "n": [1, 2], "x": 1}});
        let Comparison::Differs(d) = compare(&a, &b) else {
            panic!()
        };
        assert_eq!(
            d,
            [
                ".data.t: expected 21.5, got 21.0",
                ".data.x: not expected, got 1"
            ]
        );
        assert_eq!(
            compare(&serde_json::json!(1), &serde_json::json!(1.0)),
            Comparison::Equal
        );
    }
}
