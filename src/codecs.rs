//! `sensorhub codecs`: try a codec before trusting it.
//!
//! `codecs test` runs a codec on one payload and shows each step of what the gateway would do
//! with it: the decoded data, the normalized data, the readings that would be stored and the
//! fields that would stay unmapped (with a rule to paste). `codecs check` runs a device
//! repository codec definition against its own published examples.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use sensorhub_gateway::codec::ttn::{self, Comparison};
use sensorhub_gateway::codec::{js, output, Output};
use sensorhub_gateway::{CodecsConfig, NormalisationRule};

use sensorhub_store::DeviceType;

use crate::readings::printable;

/// The JavaScript file and the device type (for rules) of `codec`: a `.js` file, a codec
/// definition `.yaml`, or `ttn:VENDOR/CODEC`.
fn script(codec: &str, codecs: &CodecsConfig) -> Result<(String, DeviceType)> {
    if codec.starts_with("ttn:") {
        let device_type: DeviceType = codec.parse()?;
        let DeviceType::Ttn(id) = &device_type else {
            unreachable!("a ttn: device type")
        };
        let definition = ttn::resolve(codecs, id)?;
        return Ok((definition.js.display().to_string(), device_type));
    }
    if codec.ends_with(".yaml") || codec.ends_with(".yml") {
        let definition = ttn::load_definition(Path::new(codec)).map_err(anyhow::Error::msg)?;
        let js = definition.js.display().to_string();
        return Ok((js.clone(), format!("js:{js}").parse()?));
    }
    let path = codec.strip_prefix("js:").unwrap_or(codec);
    Ok((path.to_owned(), format!("js:{path}").parse()?))
}

/// Hex digits, with or without spaces (and an optional `0x`).
pub fn parse_payload(text: &str) -> Result<Vec<u8>> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits.strip_prefix("0x").unwrap_or(&digits);
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--hex: `{text}` is not an even number of hex digits");
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).context("--hex"))
        .collect()
}

/// What `codecs test` prints.
pub fn test(
    codec: &str,
    f_port: u8,
    payload: &[u8],
    rules: &[NormalisationRule],
    codecs: &CodecsConfig,
) -> Result<String> {
    let (path, device_type) = script(codec, codecs)?;
    let recv_time = sensorhub_store::time::format_rfc3339(sensorhub_store::time::now_ms());
    let decoded = js::decode_once(&path, Some(f_port), payload, &recv_time)?;
    let mut out = String::new();
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    writeln!(
        out,
        "codec: {path}  (rules for device type `{device_type}` and `*` apply)"
    )?;
    writeln!(
        out,
        "\ndecoded (decodeUplink):\n{}",
        pretty(&decoded.result)
    )?;
    let data = decoded.data(&path)?.clone();
    match &decoded.normalized {
        Some(n) => writeln!(out, "\nnormalized (normalizeUplink):\n{}", pretty(n))?,
        None => writeln!(out, "\nnormalized: none (the codec has no normalizeUplink)")?,
    }
    let mapped = output::map(
        Output::Json {
            data,
            normalized: decoded.normalized.clone(),
        },
        rules,
        &device_type,
    );
    writeln!(out, "\nreadings that would be stored:")?;
    if mapped.measurements.is_empty() {
        writeln!(out, "  none")?;
    }
    for m in &mapped.measurements {
        let plausible =
            sensorhub_core::Quantity::by_name(&m.quantity).is_some_and(|q| q.is_plausible(m.value));
        let note = if plausible {
            ""
        } else {
            "   <- outside the physical range: dead-lettered implausible_value"
        };
        let quantity = printable(&m.quantity);
        writeln!(out, "  {quantity:<28} {} {}{note}", m.value, m.unit)?;
    }
    writeln!(out, "\nunmapped fields (kept per device, never public):")?;
    if mapped.unmapped.is_empty() {
        writeln!(out, "  none")?;
    }
    for u in &mapped.unmapped {
        let value = sensorhub_store::shown_value(u.value, u.unit.as_deref());
        let field = printable(&u.field);
        writeln!(
            out,
            "  {field:<28} {}  ({})",
            printable(&value),
            u.why.as_str()
        )?;
        for line in u.suggested_rule(device_type.as_str()).lines() {
            writeln!(out, "      {}", printable(line))?;
        }
    }
    Ok(out)
}

/// What `codecs check` prints, and whether every example passed.
pub fn check(yaml: &Path) -> Result<(String, bool)> {
    let definition = ttn::load_definition(yaml).map_err(anyhow::Error::msg)?;
    let reports = ttn::check(&definition)?;
    let mut out = String::new();
    writeln!(
        out,
        "{}: {} ({} examples)",
        yaml.display(),
        definition.js.display(),
        reports.len()
    )?;
    let mut all_ok = true;
    let show = |c: &Comparison| match c {
        Comparison::Equal => "equal".to_owned(),
        Comparison::NotPublished => "not published".to_owned(),
        Comparison::Differs(d) => format!("DIFFERS: {}", d.join("; ")),
        Comparison::Failed(e) => format!("FAILED: {e}"),
    };
    for r in &reports {
        let ok = r.decoded.is_ok() && r.normalized.is_ok();
        all_ok &= ok;
        writeln!(
            out,
            "{} example {} ({}): decoded {}, normalized {}",
            if ok { "ok  " } else { "FAIL" },
            r.index,
            r.description,
            show(&r.decoded),
            show(&r.normalized)
        )?;
    }
    let passed = reports
        .iter()
        .filter(|r| r.decoded.is_ok() && r.normalized.is_ok())
        .count();
    writeln!(out, "{passed} of {} examples reproduced", reports.len())?;
    Ok((out, all_ok))
}
