//! The dataset's CKAN package: DCAT-AP.de metadata as extras, and the fingerprint that tells whether it changed.

use super::*;

/// The CKAN package fields sensorhub sets (DCAT-AP.de as the Schleswig-Holstein portal reads
/// it), without `name`-independent portal fields such as `owner_org`.
pub fn metadata(dataset: &DatasetConfig, collected: &Collected, issued: &str) -> Value {
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
        "author": text("author"), "maintainer": text("maintainer"),
        "maintainer_email": text("maintainer_email"), "tags": tags, "extras": extras,
        "groups": names("groups"),
    })
}
