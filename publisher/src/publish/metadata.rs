//! The dataset's CKAN package: DCAT-AP.de metadata as extras, and the fingerprint that tells whether it changed.

use super::*;
use crate::dcat::Profile;

/// Where a package goes, as far as its metadata depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Portal<'a> {
    pub profile: Profile,
    /// `dcatde:contributorID`, for portals that supply GovData.
    pub contributor: Option<&'a str>,
    /// The dashboard's public address: landing pages and identifiers.
    pub public_url: Option<&'a str>,
    /// The organization, for identifiers when there is no public address.
    pub organization: &'a str,
}

impl<'a> Portal<'a> {
    pub fn of(config: &'a CkanConfig, public_url: Option<&'a str>) -> Portal<'a> {
        Portal {
            profile: config.profile,
            contributor: config.contributor(),
            public_url,
            organization: &config.organization,
        }
    }

    /// The folder target: DCAT-AP.de's vocabularies, no portal.
    pub fn folder(publisher: &'a crate::FolderConfig) -> Portal<'a> {
        Portal {
            profile: Profile::Govdata,
            contributor: publisher.contributor(),
            public_url: publisher.public_url.as_deref(),
            organization: "",
        }
    }

    /// The dataset's stable URI (`dct:identifier`): on the dashboard when it has a public
    /// address, else a URN of the organization and the dataset's name.
    pub fn identifier(&self, name: &str) -> String {
        match self.public_url {
            Some(url) => format!("{url}/datasets/{name}"),
            None if self.organization.is_empty() => format!("urn:sensorhub:dataset:{name}"),
            None => format!("urn:sensorhub:dataset:{}:{name}", self.organization),
        }
    }

    /// A resource's fields beside its file: format and media type as the portal wants them,
    /// the checksum with its algorithm, and the dataset's licence.
    pub fn resource_fields(
        &self,
        dataset: &DatasetConfig,
        file: &OutFile,
        hash: &str,
    ) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("name", file.name.clone()),
            ("format", self.profile.format(file.format)),
            ("mimetype", self.profile.media_type(file.mimetype)),
            ("description", file.description.clone()),
            ("hash", hash.to_owned()),
            ("hash_algorithm", crate::dcat::SHA_256.to_owned()),
            ("license", dataset.licence.uri()),
        ];
        if dataset.licence.attribution && !dataset.attribution.is_empty() {
            fields.push(("licenseAttributionByText", dataset.attribution.clone()));
        }
        fields
    }
}

/// The CKAN package fields sensorhub sets (DCAT-AP.de, in the form `portal` wants), without
/// portal fields such as `owner_org`.
pub fn metadata(
    dataset: &DatasetConfig,
    collected: &Collected,
    issued: &str,
    portal: Portal<'_>,
) -> Value {
    let date = |text: &str| portal.profile.date(text);
    let step = dataset.interval.step_ms().unwrap_or(0);
    let licence_uri = dataset.licence.uri();
    let mut notes = dataset.description.trim().to_owned();
    notes.push_str(&format!(
        "\n\n## Inhalt\n\nMesswerte je Station und Messgröße, aggregiert über {} ({}), in \
         Monatsdateien (UTF-8, CSV, Zeitangaben ISO 8601 in UTC) und einer laufend \
         aktualisierten Datei der letzten {} Tage. Lage der Stationen als GeoJSON. \
         Personenbezogene Daten und Funk-Metadaten sind nicht enthalten.\n\n## Spalten\n\n{}",
        export::interval_de(dataset.interval),
        dataset.function_columns().join(", "),
        dataset.latest_days,
        export::columns_markdown(dataset)
    ));
    if !dataset.attribution.is_empty() {
        notes.push_str(&format!("\nNamensnennung: {}\n", dataset.attribution));
    }
    let mut extras = vec![("issued", date(issued))];
    if let (Some(first), Some(last)) = (collected.first_ms, collected.last_ms) {
        extras.push(("modified", date(&format_rfc3339(last + step))));
        extras.push(("temporal_start", date(&format_rfc3339(first))));
        extras.push(("temporal_end", date(&format_rfc3339(last + step))));
    } else {
        // No data yet: the period starts where publication starts.
        let start = dataset.since.clone().unwrap_or_else(|| issued.to_owned());
        extras.push(("temporal_start", date(&start)));
    }
    if let Some(spatial) = dataset
        .spatial
        .as_deref()
        .and_then(|k| crate::dcat::Spatial::parse(k).ok())
    {
        extras.push(("spatial_uri", spatial.uri()));
        extras.push((
            "politicalGeocodingURI",
            serde_json::to_string(&[spatial.uri()]).unwrap_or_default(),
        ));
        extras.push(("politicalGeocodingLevelURI", spatial.level_uri()));
    }
    if let Some(contributor) = portal.contributor {
        extras.push((
            "contributorID",
            serde_json::to_string(&[contributor]).unwrap_or_default(),
        ));
    }
    extras.push(("identifier", portal.identifier(&dataset.name)));
    extras.push((
        "frequency",
        format!(
            "http://publications.europa.eu/resource/authority/frequency/{}",
            dataset.frequency
        ),
    ));
    // Only a licence that asks for it takes an attribution (the portals refuse it otherwise).
    if dataset.licence.attribution && !dataset.attribution.is_empty() {
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
    let landing_page = portal
        .public_url
        .map(|u| format!("{u}/daten#{}", dataset.name))
        .unwrap_or_default();
    json!({
        "name": dataset.name,
        "url": landing_page,
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

pub(super) fn extras_map(package: &Value) -> BTreeMap<String, String> {
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
pub(super) fn fingerprint(package: &Value) -> Value {
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
        "url": text("url"),
        "author": text("author"), "maintainer": text("maintainer"),
        "maintainer_email": text("maintainer_email"), "tags": tags, "extras": extras,
        "groups": names("groups"),
    })
}
