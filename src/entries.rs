//! Registry entries from a file, as `stations import` and `gateways import` read them: CSV
//! with a header row (each row through the caller's conversion) or a JSON array (each entry
//! through the caller's check); every problem is reported with its line or index, and nothing
//! is imported unless everything is valid.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;

use crate::cli::ImportFormat;

/// What one kind of entry needs: its name (`station`), the CSV column holding its key, and
/// how a row or a JSON entry becomes a checked entry.
pub struct Kind<'a, T, Row> {
    pub name: &'a str,
    pub key_column: &'a str,
    pub from_row: fn(Row) -> Result<T>,
    pub check: fn(T) -> Result<T>,
    pub key: fn(&T) -> &str,
}

pub fn read_file<T: DeserializeOwned, Row: DeserializeOwned>(
    path: &Path,
    format: Option<ImportFormat>,
    kind: &Kind<'_, T, Row>,
) -> Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json = match format {
        Some(f) => f == ImportFormat::Json,
        None => path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json")),
    };
    let name = kind.name;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    if json {
        let rows: Vec<T> =
            serde_json::from_str(&text).with_context(|| format!("not a JSON array of {name}s"))?;
        for (i, row) in rows.into_iter().enumerate() {
            match (kind.check)(row) {
                Ok(e) => entries.push(e),
                Err(e) => problems.push(format!("{name} #{}: {e:#}", i + 1)),
            }
        }
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::Headers)
            .from_reader(text.as_bytes());
        let headers = reader.headers().context("no header row")?.clone();
        if !headers.iter().any(|h| h == kind.key_column) {
            bail!("CSV header lacks the column `{}`", kind.key_column);
        }
        for (i, row) in reader.deserialize::<Row>().enumerate() {
            match row.map_err(anyhow::Error::from).and_then(kind.from_row) {
                Ok(e) => entries.push(e),
                Err(e) => problems.push(format!("line {}: {e:#}", i + 2)),
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if !seen.insert((kind.key)(e)) {
            problems.push(format!("{name} {} appears more than once", (kind.key)(e)));
        }
    }
    if !problems.is_empty() {
        bail!(
            "nothing imported; fix these:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(entries)
}
