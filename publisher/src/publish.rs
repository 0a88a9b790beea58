//! Publishing datasets: collect under the policy, build the files, check every file against the
//! policy, then deliver to the local folder or to CKAN, uploading only what changed.
//!
//! Every step against CKAN is idempotent or re-reads the portal before it is tried again, so a
//! run that stops half-way (CKAN down, process killed) is completed by the next run without
//! duplicates: datasets are found by their deterministic name, resources by their name and a
//! SHA-256 hash of their content, DataStore months by hashes kept on the DataStore resource.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use sensorhub_store::time::format_rfc3339;
use sensorhub_store::Store;

use crate::ckan::{Ckan, CkanConfig, CkanError};
use crate::dataset::{DatasetConfig, Target};
use crate::export::{self, Collected, OutFile, Spool};
use crate::guard::{self, Rules};
use crate::{PrivacyConfig, PublishError};

mod datastore;
use datastore::{datastore, find_resource};

mod metadata;
use metadata::{extras_map, fingerprint};
pub use metadata::{metadata, Portal};

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
const OWN_EXTRAS: [&str; 14] = [
    "issued",
    "politicalGeocodingURI",
    "politicalGeocodingLevelURI",
    "contributorID",
    "identifier",
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
    let mut collector = export::Collector::begin(store, dataset, privacy, now_ms).await?;
    let identifiers = store
        .state()
        .devices()
        .await?
        .into_iter()
        .flat_map(|d| {
            [
                Some(d.dev_eui.to_string()),
                d.dev_addr.map(|a| a.to_string()),
            ]
        })
        .flatten()
        .collect();
    let rules = Arc::new(Rules::new(dataset, collector.collected(), identifiers));
    // Month by month: each month's CSV is written to the spool as it is made, and checked
    // from there while the next month is read and written; memory never holds a month's text.
    let spool = Spool::new(store.state().path())?;
    let mut months = Vec::new();
    let mut checking: Option<tokio::task::JoinHandle<Result<OutFile, PublishError>>> = None;
    while let Some((month, written)) = collector.next_month(store, &spool).await? {
        if let Some(done) = checking.take() {
            months.push(checked(done).await?);
        }
        let file = export::month_file(dataset, &month);
        let (spool, rules) = (spool.clone(), Arc::clone(&rules));
        checking = Some(tokio::task::spawn_blocking(move || {
            spool.keep_written(file, written, &rules)
        }));
    }
    let collected = collector.finish();
    // The latest file is checked beside the last month.
    let latest = export::latest_file(dataset, &collected);
    let latest = {
        let (spool, rules) = (spool.clone(), Arc::clone(&rules));
        tokio::task::spawn_blocking(move || spool.keep(latest, &rules))
    };
    if let Some(done) = checking {
        months.push(checked(done).await?);
    }
    let latest = checked(latest).await?;
    let rules = Arc::unwrap_or_clone(rules);
    let files = export::files(dataset, &collected, months, latest);
    Ok(Prepared {
        collected,
        files,
        rules,
    })
}

async fn checked(
    task: tokio::task::JoinHandle<Result<OutFile, PublishError>>,
) -> Result<OutFile, PublishError> {
    task.await
        .map_err(|e| PublishError::Config(format!("the privacy check stopped: {e}")))?
}

/// Checks every file against its rules: nothing leaves if one file breaks the policy. The
/// monthly CSVs were checked before they went to the spool; the rest is checked here.
pub fn check_files(prepared: &Prepared) -> Result<(), PublishError> {
    for file in prepared.files.iter().filter(|f| !f.content.is_checked()) {
        guard::check(file, &prepared.rules)?;
    }
    Ok(())
}

/// Writes the dataset into `folder/<name>/`: the files and `dataset.json` with the metadata.
/// Files whose content did not change are left alone.
pub fn write_folder(
    publisher: &crate::FolderConfig,
    dataset: &DatasetConfig,
    prepared: &Prepared,
) -> Result<Outcome, PublishError> {
    let folder = Path::new(&publisher.folder);
    check_files(prepared)?;
    let dir = folder.join(&dataset.name);
    let issued = std::fs::read(dir.join("dataset.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| extras_map(&v).get("issued").cloned())
        .unwrap_or_else(today);
    let portal = Portal::folder(publisher);
    let mut meta = metadata(dataset, &prepared.collected, &issued, portal);
    let mut outcome = Outcome {
        dataset: dataset.name.clone(),
        folder: Some(dir.clone()),
        ..Outcome::default()
    };
    let mut resources = Vec::new();
    for file in &prepared.files {
        let path = dir.join(&file.name);
        let bytes = file.content.bytes()?;
        if std::fs::read(&path).ok().as_deref() == Some(&bytes[..]) {
            outcome.unchanged.push(file.name.clone());
        } else {
            crate::folder::write_atomically(&dir, &file.name, &bytes)?;
            outcome.uploaded.push(file.name.clone());
        }
        let mut resource = serde_json::Map::new();
        for (k, v) in portal.resource_fields(dataset, file, &sha256_hex(&bytes)) {
            resource.insert(k.to_owned(), json!(v));
        }
        resource.insert("size".into(), json!(bytes.len()));
        resources.push(Value::Object(resource));
    }
    meta["resources"] = json!(resources);
    // For our own catalog: the dataset as a series of years.
    if dataset.series {
        meta["series"] = json!(true);
    }
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

/// Where a CKAN publication goes: the portal, its config, the dashboard's public address, and
/// the store that remembers the ids the portal gave the datasets.
#[derive(Clone, Copy)]
pub struct CkanTarget<'a> {
    pub ckan: &'a Ckan,
    pub config: &'a CkanConfig,
    pub public_url: Option<&'a str>,
    pub store: &'a Store,
}

/// The dataset on the portal: by the id the portal gave it (remembered in the store), else by
/// its `identifier` extra, else by its name. A portal that renamed the dataset after its title
/// still has the same one. Only a live dataset of our own organization counts: one somebody
/// else made with our identifier or name is never taken over.
async fn find_package(
    target: CkanTarget<'_>,
    dataset: &DatasetConfig,
    identifier: &str,
) -> Result<Option<Value>, PublishError> {
    let ckan = target.ckan;
    let organization = target.config.organization.as_str();
    let ours = |p: &Value| {
        p["state"] != "deleted"
            && p["organization"]["name"].as_str() == Some(organization)
            && extras_map(p)
                .get("identifier")
                .is_none_or(|i| i == identifier)
    };
    let state = target.store.state();
    if let Some(id) = state
        .portal_dataset_id(&target.config.url, &dataset.name)
        .await?
    {
        if let Some(p) = ckan.read("package_show", &[("id", id.as_str())]).await? {
            if ours(&p) {
                return Ok(Some(p));
            }
        }
    }
    // A Solr phrase: backslashes and quotes escaped.
    let phrase = identifier.replace('\\', "\\\\").replace('"', "\\\"");
    let query = format!("organization:{organization} AND extras_identifier:\"{phrase}\"");
    if let Some(found) = ckan
        .read(
            "package_search",
            &[
                ("fq", query.as_str()),
                ("include_private", "true"),
                ("rows", "50"),
            ],
        )
        .await?
    {
        let hit = found["results"].as_array().and_then(|a| {
            a.iter().find(|p| {
                ours(p) && extras_map(p).get("identifier").map(String::as_str) == Some(identifier)
            })
        });
        if let Some(p) = hit {
            return Ok(Some(p.clone()));
        }
    }
    Ok(ckan
        .read("package_show", &[("id", dataset.name.as_str())])
        .await?
        .filter(|p| ours(p)))
}

/// The theme groups the dataset joins. GovData and the Länder portals name their theme
/// groups after the EU codes, in lower case; a portal that demands a group (Schleswig-Holstein)
/// gets it created when the token may, or is told which one to ask for.
async fn groups(
    target: CkanTarget<'_>,
    dataset: &DatasetConfig,
) -> Result<Vec<Value>, PublishError> {
    let ckan = target.ckan;
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
    if groups.is_empty() && target.config.profile == crate::dcat::Profile::SchleswigHolstein {
        let Some(theme) = dataset.themes.first() else {
            return Err(PublishError::Config(format!(
                "{}: the portal needs at least one group; name a theme",
                dataset.name
            )));
        };
        let name = theme.to_lowercase();
        match ckan
            .create("group_create", json!({"name": name, "title": theme}))
            .await
        {
            Ok(_) => groups.push(json!({"name": name})),
            Err(CkanError::Rejected { status: 403, .. }) => {
                return Err(PublishError::Config(format!(
                    "{}: the portal needs at least one group and has none of the themes' ({}); \
                     ask the portal team for the group `{name}`, or for the right to create it",
                    dataset.name,
                    dataset.themes.join(", ")
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(groups)
}

/// Publishes a prepared dataset to CKAN. `progress` hears one line per step.
pub async fn publish_ckan(
    target: CkanTarget<'_>,
    dataset: &DatasetConfig,
    prepared: &Prepared,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Outcome, PublishError> {
    let (ckan, config) = (target.ckan, target.config);
    check_files(prepared)?;
    let mut outcome = Outcome {
        dataset: dataset.name.clone(),
        ..Outcome::default()
    };
    ensure_organization(ckan, config).await?;

    let portal = Portal::of(config, target.public_url);
    let identifier = portal.identifier(&dataset.name);
    let existing = find_package(target, dataset, &identifier).await?;
    let issued = existing
        .as_ref()
        .and_then(|p| extras_map(p).get("issued").cloned())
        .unwrap_or_else(today);
    let mut ours = metadata(dataset, &prepared.collected, &issued, portal);
    ours["groups"] = json!(groups(target, dataset).await?);
    let mut package = match existing {
        None => {
            progress(&format!("{}: creating the dataset", dataset.name));
            ours["owner_org"] = json!(config.organization);
            match ckan.create("package_create", ours.clone()).await {
                Ok(p) => {
                    outcome.created = true;
                    p
                }
                Err(e) => match find_package(target, dataset, &identifier).await? {
                    Some(p) if !ckan.dry_run() => p,
                    _ => return Err(e.into()),
                },
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
                // The portal may have renamed it: the name stays the portal's.
                ours["name"] = package["name"].clone();
                ckan.write("package_patch", ours.clone()).await?;
                outcome.metadata_updated = true;
            }
            package
        }
    };
    if let Some(id) = package["id"].as_str().filter(|_| !ckan.dry_run()) {
        target
            .store
            .state()
            .put_portal_dataset_id(&config.url, &dataset.name, id)
            .await?;
    }
    let package_id = package["id"].as_str().unwrap_or("").to_owned();

    // The files, uploaded when their hash differs from the resource's.
    let total = prepared.files.len();
    for (i, file) in prepared.files.iter().enumerate() {
        let bytes = file.content.bytes()?;
        let hash = sha256_hex(&bytes);
        let mut attempt = 0;
        let fields = portal.resource_fields(dataset, file, &hash);
        loop {
            let current = find_resource(&package, &file.name);
            if let Some(r) = current
                .as_ref()
                .filter(|r| r["hash"].as_str() == Some(hash.as_str()))
            {
                // The same file: its description may still be out of date (an older run
                // sent other formats or no licence); then the fields alone are patched.
                let stale = fields
                    .iter()
                    .any(|(k, v)| r[*k].as_str().unwrap_or("") != v.as_str());
                if stale {
                    let mut patch = serde_json::Map::new();
                    patch.insert("id".into(), r["id"].clone());
                    for (k, v) in &fields {
                        patch.insert((*k).to_owned(), json!(v));
                    }
                    ckan.write("resource_patch", Value::Object(patch)).await?;
                }
                outcome.unchanged.push(file.name.clone());
                break;
            }
            progress(&format!(
                "{}: [{}/{total}] uploading {} ({} bytes)",
                dataset.name,
                i + 1,
                file.name,
                bytes.len()
            ));
            let mut fields = fields.clone();
            let (action, id) = match &current {
                Some(r) => (
                    "resource_patch",
                    ("id", r["id"].as_str().unwrap_or("").to_owned()),
                ),
                None => ("resource_create", ("package_id", package_id.clone())),
            };
            fields.push(id);
            match ckan
                .upload(action, fields, &file.name, file.mimetype, bytes.to_vec())
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
                        .read("package_show", &[("id", package_id.as_str())])
                        .await?
                    {
                        package = p;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    outcome.datastore_rows =
        datastore(ckan, portal, dataset, prepared, &mut package, progress).await?;
    Ok(outcome)
}

/// After a failed create, the object may exist anyway (the answer was lost, or an earlier run
/// got that far): read the package (by id or name) again; if it is not there, the error stands.
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
            Target::Folder => write_folder(publisher, dataset, &prepared)?,
            Target::Ckan => {
                let config = ckan_config.ok_or_else(|| {
                    PublishError::Config(format!("{}: no [publisher.ckan]", dataset.name))
                })?;
                let ckan = Ckan::new(config, dry_run)?;
                let target = CkanTarget {
                    ckan: &ckan,
                    config,
                    public_url: publisher.public_url.as_deref(),
                    store,
                };
                publish_ckan(target, dataset, &prepared, progress).await?
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
