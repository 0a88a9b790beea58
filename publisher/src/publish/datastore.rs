//! CKAN's DataStore: the typed table of a dataset's rows, upserted after each upload.

use super::*;

/// The DataStore table of the dataset, with explicit types and a primary key, kept current by
/// upserting the months whose content changed.
pub(super) async fn datastore(
    ckan: &Ckan,
    portal: Portal<'_>,
    dataset: &DatasetConfig,
    prepared: &Prepared,
    package: &mut Value,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<usize, PublishError> {
    let name = format!("{}-datastore", dataset.name);
    let columns = export::columns(dataset);
    // The table is a distribution too: its format and licence as the portal wants them.
    let mut described = serde_json::Map::new();
    described.insert("format".into(), json!(portal.profile.format("CSV")));
    described.insert("license".into(), json!(dataset.licence.uri()));
    if dataset.licence.attribution && !dataset.attribution.is_empty() {
        described.insert(
            "licenseAttributionByText".into(),
            json!(dataset.attribution),
        );
    }
    let resource = match find_resource(package, &name) {
        Some(r) => {
            if described.iter().any(|(k, v)| &r[k] != v) {
                let mut patch = described.clone();
                patch.insert("id".into(), r["id"].clone());
                ckan.write("resource_patch", Value::Object(patch)).await?;
            }
            r
        }
        None => {
            progress(&format!("{}: creating the DataStore table", dataset.name));
            let fields: Vec<Value> = columns
                .iter()
                .map(|c| {
                    let kind = match *c {
                        "time" => "timestamp",
                        "count" => "int",
                        "mean" | "min" | "max" | "sum" => "numeric",
                        _ => "text",
                    };
                    json!({"id": c, "type": kind})
                })
                .collect();
            let mut resource = described.clone();
            resource.insert("package_id".into(), package["id"].clone());
            resource.insert("name".into(), json!(name));
            resource.insert(
                "description".into(),
                json!("Alle Messwerte als DataStore-Tabelle (API, Abfragen). / All readings, queryable."),
            );
            let body = json!({
                "resource": resource,
                "fields": fields,
                "primary_key": ["time", "station", "quantity"],
            });
            match ckan.create("datastore_create", body).await {
                Ok(created) => json!({"id": created["resource_id"], "name": name}),
                Err(e) => {
                    let id = package["id"].as_str().unwrap_or("").to_owned();
                    *package = refetch_after(ckan, &id, e).await?;
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
        let bytes = file.content.bytes()?;
        let hash = sha256_hex(&bytes);
        if done.get(month) == Some(&hash) {
            continue;
        }
        let rows = export::read_rows(&bytes)
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
                            "sum" => json!(r.sum),
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

pub(super) fn find_resource(package: &Value, name: &str) -> Option<Value> {
    package["resources"]
        .as_array()?
        .iter()
        .find(|r| r["name"].as_str() == Some(name))
        .cloned()
}
