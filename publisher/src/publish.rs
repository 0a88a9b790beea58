//! Publishing datasets: collect under the policy, build the files, check every file against the
//! policy, then deliver to the local folder or to CKAN, uploading only what changed.
//!
//! Every step against CKAN is idempotent or re-reads the portal before it is tried again, so a
//! run that stops half-way (CKAN down, process killed) is completed by the next run without
//! duplicates: datasets are found by their deterministic name, resources by their name and a
//! SHA-256 hash of their content, DataStore months by hashes kept on the DataStore resource.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use sensorhub_store::time::format_rfc3339;
use sensorhub_store::Store;

use crate::ckan::{Ckan, CkanConfig, CkanError};
use crate::dataset::{DatasetConfig, Target};
use crate::export::{self, Collected, OutFile};
use crate::guard::{self, Rules};
use crate::{PrivacyConfig, PublishError};

/// A dataset ready to leave: its rows, files, metadata and the rules its files must keep.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub collected: Collected,
    pub files: Vec<OutFile>,
    pub rules: Rules,
}

/// What one dataset's publication did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub dataset: String,
    pub created: bool,
    pub metadata_updated: bool,
    pub uploaded: Vec<String>,
    pub unchanged: Vec<String>,
    pub datastore_rows: usize,
    /// The folder written, for the folder target.
    pub folder: Option<PathBuf>,
}

/// Extras sensorhub owns on a CKAN dataset; others (set by the portal team) are kept.
const OWN_EXTRAS: [&str; 10] = [
    "issued",
    "modified",
    "temporal_start",
    "temporal_end",
    "spatial_uri",
    "frequency",
    "licenseAttributionByText",
    "theme",
    "title_en",
    "notes_en",
];

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Collects a dataset and builds its files at `now_ms`.
pub async fn prepare(
    store: &Store,
    dataset: &DatasetConfig,
    privacy: &PrivacyConfig,
    now_ms: i64,
) -> Result<Prepared, PublishError> {
    let mut collected = export::collect(store, dataset, privacy, now_ms).await?;
    let files = export::files(dataset, &mut collected);
    let identifiers = store
        .state()
        .devices()
        .await?
        .into_iter()
        .flat_map(|d| [Some(d.dev_eui), d.dev_addr])
        .flatten()
        .collect();
    let rules = Rules::new(dataset, &collected, identifiers);
    Ok(Prepared {
        collected,
        files,
        rules,
    })
}

/// The CKAN package fields sensorhub sets (DCAT-AP.de as the Schleswig-Holstein portal reads
/// it), without `name`-independent portal fields such as `owner_org`.
pub fn metadata(dataset: &DatasetConfig, collected: &Collected, issued: &str) -> Value {
    let step = dataset.resolution().and_then(|r| r.step_ms()).unwrap_or(0);
    let (licence_uri, _, _) = dataset.licence_entry().unwrap_or_default();
    let mut notes = dataset.description.trim().to_owned();
    notes.push_str(&format!(
        "\n\n## Inhalt\n\nMesswerte je Station und Messgröße, aggregiert über {} ({}), in \
         Monatsdateien (UTF-8, CSV, Zeitangaben ISO 8601 in UTC) und einer laufend \
         aktualisierten Datei der letzten {} Tage. Lage der Stationen als GeoJSON. \
         Personenbezogene Daten und Funk-Metadaten sind nicht enthalten.\n\n## Spalten\n\n{}",
        dataset.resolution().map(export::interval_de).unwrap_or("?"),
        dataset.function_columns().join(", "),
        dataset.latest_days,
        export::columns_markdown(dataset)
    ));
    if !dataset.attribution.is_empty() {
        notes.push_str(&format!("\nNamensnennung: {}\n", dataset.attribution));
    }
    let mut extras = vec![("issued", issued.to_owned())];
    if let (Some(first), Some(last)) = (collected.first_ms, collected.last_ms) {
        extras.push(("modified", format_rfc3339(last + step)));
        extras.push(("temporal_start", format_rfc3339(first)));
        extras.push(("temporal_end", format_rfc3339(last + step)));
    }
    if let Some(key) = &dataset.spatial {
        extras.push((
            "spatial_uri",
            format!("http://dcat-ap.de/def/politicalGeocoding/regionalKey/{key}"),
        ));
    }
    extras.push((
        "frequency",
        format!(
            "http://publications.europa.eu/resource/authority/frequency/{}",
            dataset.frequency
        ),
    ));
    if !dataset.attribution.is_empty() {
        extras.push(("licenseAttributionByText", dataset.attribution.clone()));
    }
    let themes: Vec<String> = dataset
        .themes
        .iter()
        .map(|t| format!("http://publications.europa.eu/resource/authority/data-theme/{t}"))
        .collect();
    extras.push(("theme", serde_json::to_string(&themes).unwrap_or_default()));
    if let Some(t) = &dataset.title_en {
        extras.push(("title_en", t.clone()));
    }
    if let Some(d) = &dataset.description_en {
        extras.push(("notes_en", d.clone()));
    }
    let mut tags: Vec<Value> = dataset
        .keywords
        .iter()
        .map(|k| json!({"name": k}))
        .collect();
    tags.sort_by_key(|t| t["name"].as_str().unwrap_or("").to_owned());
    json!({
        "name": dataset.name,
        "title": dataset.title,
        "notes": notes,
        "license_id": licence_uri,
        "author": dataset.publisher,
        "maintainer": dataset.contact_name,
        "maintainer_email": dataset.contact_email,
        "tags": tags,
        "extras": extras.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    })
}

fn extras_map(package: &Value) -> BTreeMap<String, String> {
    package["extras"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        e["key"].as_str()?.to_owned(),
                        e["value"].as_str().unwrap_or("").to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The parts of a package sensorhub sets, in a form that compares equal when nothing changed.
fn fingerprint(package: &Value) -> Value {
    let extras: BTreeMap<String, String> = extras_map(package)
        .into_iter()
        .filter(|(k, _)| OWN_EXTRAS.contains(&k.as_str()))
        .collect();
    let mut tags: Vec<String> = package["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let text = |k: &str| package[k].as_str().unwrap_or("").to_owned();
    let names = |k: &str| -> Vec<String> {
        let mut names: Vec<String> = package[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    json!({
        "title": text("title"), "notes": text("notes"), "license_id": text("license_id"),
        "author": text("author"), "maintainer": text("maintainer"),
        "maintainer_email": text("maintainer_email"), "tags": tags, "extras": extras,
        "groups": names("groups"),
    })
}

/// Checks every file against its rules: nothing leaves if one file breaks the policy.
pub fn check_files(prepared: &Prepared) -> Result<(), PublishError> {
    for file in &prepared.files {
        guard::check(file, &prepared.rules)?;
    }
    Ok(())
}

/// Writes the dataset into `folder/<name>/`: the files and `dataset.json` with the metadata.
/// Files whose content did not change are left alone.
pub fn write_folder(
    folder: &Path,
    dataset: &DatasetConfig,
    prepared: &Prepared,
) -> Result<Outcome, PublishError> {
    check_files(prepared)?;
    let dir = folder.join(&dataset.name);
    let issued = std::fs::read(dir.join("dataset.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| extras_map(&v).get("issued").cloned())
        .unwrap_or_else(today);
    let mut meta = metadata(dataset, &prepared.collected, &issued);
    let mut outcome = Outcome {
        dataset: dataset.name.clone(),
        folder: Some(dir.clone()),
        ..Outcome::default()
    };
    let mut resources = Vec::new();
    for file in &prepared.files {
        let path = dir.join(&file.name);
        if std::fs::read(&path).ok().as_deref() == Some(&file.bytes[..]) {
            outcome.unchanged.push(file.name.clone());
        } else {
            crate::folder::write_atomically(&dir, &file.name, &file.bytes)?;
            outcome.uploaded.push(file.name.clone());
        }
        resources.push(json!({
            "name": file.name, "format": file.format, "mimetype": file.mimetype,
            "description": file.description, "hash": sha256_hex(&file.bytes),
            "size": file.bytes.len(),
        }));
    }
    meta["resources"] = json!(resources);
    let text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    let path = dir.join("dataset.json");
    if std::fs::read(&path).ok() != Some(text.clone()) {
        crate::folder::write_atomically(&dir, "dataset.json", &text)?;
        outcome.metadata_updated = true;
    }
    Ok(outcome)
}

fn today() -> String {
    format_rfc3339(sensorhub_store::time::now_ms())[..10].to_owned()
}

/// Publishes a prepared dataset to CKAN. `progress` hears one line per step.
pub async fn publish_ckan(
    ckan: &Ckan,
    config: &CkanConfig,
    dataset: &DatasetConfig,
    prepared: &Prepared,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Outcome, PublishError> {
    check_files(prepared)?;
    let mut outcome = Outcome {
        dataset: dataset.name.clone(),
        ..Outcome::default()
    };
    ensure_organization(ckan, config).await?;

    // The dataset, by its deterministic name.
    let existing = ckan
        .read("package_show", &[("id", dataset.name.as_str())])
        .await?;
    let issued = existing
        .as_ref()
        .and_then(|p| extras_map(p).get("issued").cloned())
        .unwrap_or_else(today);
    let mut ours = metadata(dataset, &prepared.collected, &issued);
    // Themes also as CKAN groups where the portal has a group of that code (GovData and the
    // Länder portals name their theme groups after the EU codes, in lower case).
    let mut groups = Vec::new();
    for theme in &dataset.themes {
        let name = theme.to_lowercase();
        if ckan
            .read("group_show", &[("id", name.as_str())])
            .await?
            .is_some()
        {
            groups.push(json!({"name": name}));
        }
    }
    ours["groups"] = json!(groups);
    let mut package = match existing {
        None => {
            progress(&format!("{}: creating the dataset", dataset.name));
            ours["owner_org"] = json!(config.organization);
            match ckan.create("package_create", ours.clone()).await {
                Ok(p) => {
                    outcome.created = true;
                    p
                }
                Err(e) => refetch_after(ckan, &dataset.name, e).await?,
            }
        }
        Some(package) => {
            if fingerprint(&package) != fingerprint(&ours) {
                progress(&format!("{}: updating the metadata", dataset.name));
                let own: Vec<Value> = ours["extras"].as_array().cloned().unwrap_or_default();
                let mut extras: Vec<Value> = package["extras"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| !OWN_EXTRAS.contains(&e["key"].as_str().unwrap_or("")))
                    .collect();
                extras.extend(own);
                ours["extras"] = json!(extras);
                ours["id"] = package["id"].clone();
                ckan.write("package_patch", ours.clone()).await?;
                outcome.metadata_updated = true;
            }
            package
        }
    };

    // The files, uploaded when their hash differs from the resource's.
    let total = prepared.files.len();
    for (i, file) in prepared.files.iter().enumerate() {
        let hash = sha256_hex(&file.bytes);
        let mut attempt = 0;
        loop {
            let current = find_resource(&package, &file.name);
            if current.as_ref().and_then(|r| r["hash"].as_str()) == Some(hash.as_str()) {
                outcome.unchanged.push(file.name.clone());
                break;
            }
            progress(&format!(
                "{}: [{}/{total}] uploading {} ({} bytes)",
                dataset.name,
                i + 1,
                file.name,
                file.bytes.len()
            ));
            let mut fields = vec![
                ("name", file.name.clone()),
                ("format", file.format.to_owned()),
                ("mimetype", file.mimetype.to_owned()),
                ("description", file.description.clone()),
                ("hash", hash.clone()),
            ];
            let (action, id) = match &current {
                Some(r) => (
                    "resource_patch",
                    ("id", r["id"].as_str().unwrap_or("").to_owned()),
                ),
                None => (
                    "resource_create",
                    (
                        "package_id",
                        package["id"].as_str().unwrap_or("").to_owned(),
                    ),
                ),
            };
            fields.push(id);
            match ckan
                .upload(
                    action,
                    fields,
                    &file.name,
                    file.mimetype,
                    file.bytes.clone(),
                )
                .await
            {
                Ok(_) => {
                    outcome.uploaded.push(file.name.clone());
                    break;
                }
                Err(e) if e.is_transient() && attempt < config.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
                    // The upload may have landed before the answer was lost: look again.
                    if let Some(p) = ckan
                        .read("package_show", &[("id", dataset.name.as_str())])
                        .await?
                    {
                        package = p;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    outcome.datastore_rows = datastore(ckan, dataset, prepared, &mut package, progress).await?;
    Ok(outcome)
}

/// The DataStore table of the dataset, with explicit types and a primary key, kept current by
/// upserting the months whose content changed.
async fn datastore(
    ckan: &Ckan,
    dataset: &DatasetConfig,
    prepared: &Prepared,
    package: &mut Value,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<usize, PublishError> {
    let name = format!("{}-datastore", dataset.name);
    let columns = export::columns(dataset);
    let resource = match find_resource(package, &name) {
        Some(r) => r,
        None => {
            progress(&format!("{}: creating the DataStore table", dataset.name));
            let fields: Vec<Value> = columns
                .iter()
                .map(|c| {
                    let kind = match *c {
                        "time" => "timestamp",
                        "count" => "int",
                        "mean" | "min" | "max" => "numeric",
                        _ => "text",
                    };
                    json!({"id": c, "type": kind})
                })
                .collect();
            let body = json!({
                "resource": {"package_id": package["id"], "name": name,
                             "description": "Alle Messwerte als DataStore-Tabelle (API, Abfragen). / All readings, queryable.",
                             "format": "CSV"},
                "fields": fields,
                "primary_key": ["time", "station", "quantity"],
            });
            match ckan.create("datastore_create", body).await {
                Ok(created) => json!({"id": created["resource_id"], "name": name}),
                Err(e) => {
                    *package = refetch_after(ckan, &dataset.name, e).await?;
                    find_resource(package, &name).ok_or_else(|| {
                        PublishError::Config(format!("{name}: DataStore table missing"))
                    })?
                }
            }
        }
    };
    let resource_id = resource["id"].as_str().unwrap_or("").to_owned();
    let mut done: BTreeMap<String, String> = resource["sensorhub_months"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let mut rows_sent = 0;
    // Each month's DataStore rows come from its published CSV, read back one month at a time.
    for file in &prepared.files {
        let Some(month) = &file.month else { continue };
        let hash = sha256_hex(&file.bytes);
        if done.get(month) == Some(&hash) {
            continue;
        }
        let rows = export::read_rows(&file.bytes)
            .map_err(|e| PublishError::Config(format!("{}: {e}", file.name)))?;
        progress(&format!(
            "{}: DataStore {month}: upserting {} rows",
            dataset.name,
            rows.len()
        ));
        for chunk in rows.chunks(5_000) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    let mut record = serde_json::Map::new();
                    for c in &columns {
                        let v = match *c {
                            "time" => json!(export::format_rfc3339_seconds(r.time_ms)),
                            "station" => json!(&*r.station),
                            "quantity" => json!(&*r.quantity),
                            "unit" => json!(&*r.unit),
                            "mean" => json!(r.mean),
                            "min" => json!(r.min),
                            "max" => json!(r.max),
                            _ => json!(r.count),
                        };
                        record.insert((*c).to_owned(), v);
                    }
                    Value::Object(record)
                })
                .collect();
            ckan.write(
                "datastore_upsert",
                json!({"resource_id": resource_id, "records": records, "method": "upsert",
                       "force": true}),
            )
            .await?;
            rows_sent += chunk.len();
        }
        done.insert(month.clone(), hash);
        ckan.write(
            "resource_patch",
            json!({"id": resource_id,
                   "sensorhub_months": serde_json::to_string(&done).unwrap_or_default()}),
        )
        .await?;
    }
    Ok(rows_sent)
}

fn find_resource(package: &Value, name: &str) -> Option<Value> {
    package["resources"]
        .as_array()?
        .iter()
        .find(|r| r["name"].as_str() == Some(name))
        .cloned()
}

/// After a failed create, the object may exist anyway (the answer was lost, or an earlier run
/// got that far): read the package again; if it is not there, the error stands.
async fn refetch_after(ckan: &Ckan, name: &str, error: CkanError) -> Result<Value, PublishError> {
    if ckan.dry_run() {
        return Err(error.into());
    }
    for attempt in 0..5u32 {
        match ckan.read("package_show", &[("id", name)]).await {
            Ok(Some(p)) => return Ok(p),
            Ok(None) => return Err(error.into()),
            Err(e) if e.is_transient() && attempt < 4 => {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(error.into())
}

async fn ensure_organization(ckan: &Ckan, config: &CkanConfig) -> Result<(), PublishError> {
    if ckan
        .read("organization_show", &[("id", config.organization.as_str())])
        .await?
        .is_some()
    {
        return Ok(());
    }
    let title = config
        .organization_title
        .clone()
        .unwrap_or_else(|| config.organization.clone());
    match ckan
        .create(
            "organization_create",
            json!({"name": config.organization, "title": title}),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e @ CkanError::Rejected { status: 403, .. }) => Err(PublishError::Config(format!(
            "the organization `{}` does not exist on the portal (or this token may not see it) \
             and this token may not create it; check the token or ask the portal team to create \
             the organization ({e})",
            config.organization
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Which datasets a run publishes, and whether it only says what it would do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions<'a> {
    /// Only the dataset with this name.
    pub only: Option<&'a str>,
    /// Print the API calls and file writes instead of making them.
    pub dry_run: bool,
}

/// Publishes every dataset (or the one named in `options`) to its target.
pub async fn publish_all(
    store: &Store,
    privacy: &PrivacyConfig,
    publisher: &crate::PublisherConfig,
    datasets: &[DatasetConfig],
    options: RunOptions<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Outcome>, PublishError> {
    let (folder, ckan_config) = (Path::new(&publisher.folder), publisher.ckan.as_ref());
    let RunOptions { only, dry_run } = options;
    let now = sensorhub_store::time::now_ms();
    let mut outcomes = Vec::new();
    for dataset in datasets.iter().filter(|d| only.is_none_or(|o| o == d.name)) {
        let prepared = prepare(store, dataset, privacy, now).await?;
        let outcome = match dataset.target {
            Target::Folder if dry_run => {
                check_files(&prepared)?;
                for f in &prepared.files {
                    println!("write {}/{}/{}", folder.display(), dataset.name, f.name);
                }
                Outcome {
                    dataset: dataset.name.clone(),
                    ..Outcome::default()
                }
            }
            Target::Folder => write_folder(folder, dataset, &prepared)?,
            Target::Ckan => {
                let config = ckan_config.ok_or_else(|| {
                    PublishError::Config(format!("{}: no [publisher.ckan]", dataset.name))
                })?;
                let ckan = Ckan::new(config, dry_run)?;
                publish_ckan(&ckan, config, dataset, &prepared, progress).await?
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
