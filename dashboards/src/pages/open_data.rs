//! The published open data as the dashboard serves it: the DCAT-AP.de catalog
//! (`/catalog.ttl`, `/catalog.rdf`, `/catalog.jsonld`) a portal can harvest, and the files of
//! the datasets (`/opendata/{dataset}/{file}`, only a dataset's own files), through the
//! [`crate::OpenData`] handle the binary hands in.

use super::*;

/// `?dcatap=3.0` asks for DCAT-AP.de 3.0 where it differs from 2.0 (GovData's current one).
#[derive(serde::Deserialize, Default)]
pub(super) struct CatalogQuery {
    #[serde(default)]
    dcatap: Option<String>,
}

/// The catalog in one of its three formats.
async fn catalog(state: &AppState, ext: &str, query: &CatalogQuery) -> Response {
    let Some(open) = &state.open_data else {
        return (
            StatusCode::NOT_FOUND,
            "no catalog: nothing is published here\n",
        )
            .into_response();
    };
    let version_3 = match query.dcatap.as_deref() {
        None | Some("2.0") => false,
        Some("3.0") => true,
        Some(_) => return (StatusCode::BAD_REQUEST, "dcatap: 2.0 or 3.0\n").into_response(),
    };
    // Reading the folder and writing the graph block: off the async workers.
    let (open, ext) = (open.clone(), ext.to_owned());
    let made = tokio::task::spawn_blocking(move || open.catalog(&ext, version_3))
        .await
        .unwrap_or_else(|_| Some(Err("the catalog task failed".into())));
    match made {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Ok((bytes, media_type))) => (
            [
                (header::CONTENT_TYPE, media_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            bytes,
        )
            .into_response(),
        Some(Err(e)) => {
            tracing::error!(error = %e, "the catalog cannot be written");
            (StatusCode::SERVICE_UNAVAILABLE, "catalog unavailable\n").into_response()
        }
    }
}

pub(super) async fn catalog_ttl(
    State(state): State<AppState>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    catalog(&state, "ttl", &query).await
}

pub(super) async fn catalog_rdf(
    State(state): State<AppState>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    catalog(&state, "rdf", &query).await
}

pub(super) async fn catalog_jsonld(
    State(state): State<AppState>,
    Query(query): Query<CatalogQuery>,
) -> Response {
    catalog(&state, "jsonld", &query).await
}

/// A published file, for downloads and harvesters.
pub(super) async fn file(
    State(state): State<AppState>,
    Path((dataset, file)): Path<(String, String)>,
) -> Response {
    let Some(open) = state.open_data.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let name = file.clone();
    let found = tokio::task::spawn_blocking(move || open.file(&dataset, &name))
        .await
        .ok()
        .flatten();
    match found {
        None => StatusCode::NOT_FOUND.into_response(),
        Some((bytes, media_type)) => {
            let disposition = format!("attachment; filename=\"{}\"", file.replace('"', ""));
            (
                [
                    (header::CONTENT_TYPE, media_type.to_owned()),
                    (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
    }
}

/// Bytes as people read them: `12,3 kB`.
pub(super) fn size_text(lang: Lang, bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b >= 1_000_000 => (b as f64 / 1_000_000.0, "MB"),
        b if b >= 1_000 => (b as f64 / 1_000.0, "kB"),
        b => (b as f64, "B"),
    };
    format!("{} {unit}", number(lang, (value * 10.0).round() / 10.0))
}

/// The frequency code in words.
pub(super) fn frequency_text(lang: Lang, code: &str) -> String {
    let (de, en) = match code {
        "CONT" | "UPDATE_CONT" => ("laufend", "continuously"),
        "HOURLY" => ("stündlich", "hourly"),
        "BIHOURLY" => ("alle zwei Stunden", "every two hours"),
        "DAILY" => ("täglich", "daily"),
        "WEEKLY" => ("wöchentlich", "weekly"),
        "BIWEEKLY" => ("alle zwei Wochen", "every two weeks"),
        "MONTHLY" => ("monatlich", "monthly"),
        "QUARTERLY" => ("vierteljährlich", "quarterly"),
        "ANNUAL" => ("jährlich", "yearly"),
        _ => ("unregelmäßig", "irregularly"),
    };
    lang.t(de, en).to_owned()
}
