//! What a dataset's files are described with: the Table Schema, the data package, the column list for the description.

use super::*;

/// The Table Schema of the dataset's CSV files.
pub fn table_schema(dataset: &DatasetConfig) -> Value {
    let columns = columns(dataset);
    let fields: Vec<Value> = COLUMNS
        .iter()
        .filter(|c| columns.contains(&c.0))
        .map(|(name, kind, de, en)| {
            let mut field =
                json!({"name": name, "type": kind, "description": format!("{de} / {en}")});
            match *name {
                "time" | "station" | "quantity" => {
                    field["constraints"] = json!({"required": true});
                }
                "count" => field["constraints"] = json!({"required": true, "minimum": 0}),
                _ => {}
            }
            if *name == "quantity" {
                field["constraints"]["enum"] = json!(dataset.quantities);
            }
            field
        })
        .collect();
    json!({
        "fields": fields,
        "primaryKey": ["time", "station", "quantity"],
        "missingValues": [""],
    })
}

pub(super) fn datapackage(dataset: &DatasetConfig, files: &[OutFile]) -> Value {
    let schema = table_schema(dataset);
    let licence = dataset.licence;
    let resources: Vec<Value> = files
        .iter()
        .filter(|f| f.format == "CSV")
        .map(|f| {
            json!({
                "name": f.name.trim_end_matches(".csv").replace('_', "-"),
                "path": f.name,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": true},
                "schema": schema,
            })
        })
        .collect();
    json!({
        "name": dataset.name,
        "title": dataset.title,
        "description": dataset.description,
        "licenses": [{"name": licence.id, "path": licence.url, "title": licence.title,
                      "uri": licence.uri()}],
        "resources": resources,
    })
}

/// The column descriptions as a Markdown table, for the dataset description on the portal.
pub fn columns_markdown(dataset: &DatasetConfig) -> String {
    let columns = columns(dataset);
    let mut out = String::from("| Spalte | Typ | Beschreibung |\n|---|---|---|\n");
    for (name, kind, de, en) in COLUMNS.iter().filter(|c| columns.contains(&c.0)) {
        let _ = writeln!(out, "| `{name}` | {kind} | {de} ({en}) |");
    }
    out
}

/// The resolution's name as a German interval for descriptions.
pub fn interval_de(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Raw => "Einzelmessung",
        Resolution::Minute => "1 Minute",
        Resolution::QuarterHour => "15 Minuten",
        Resolution::Hour => "1 Stunde",
        Resolution::Day => "1 Tag",
    }
}
