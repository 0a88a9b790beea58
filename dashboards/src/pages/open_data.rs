//! The published open data as the dashboard serves it: the DCAT-AP.de catalog
//! (`/catalog.ttl`, `/catalog.rdf`, `/catalog.jsonld`) a portal can harvest, and the files of
//! the datasets (`/opendata/{dataset}/{file}`, only a dataset's own files), through the
//! [`crate::OpenData`] handle the binary hands in.

use super::*;

/// The catalog in one of its three formats.
async fn catalog(state: &AppState, ext: &str) -> Response {
    let Some(open) = &state.open_data else {
        return (
            StatusCode::NOT_FOUND,
            "no catalog: nothing is published here\n",
        )
            .into_response();
    };
    match open.catalog(ext) {
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

pub(super) async fn catalog_ttl(State(state): State<AppState>) -> Response {
    catalog(&state, "ttl").await
}

pub(super) async fn catalog_rdf(State(state): State<AppState>) -> Response {
    catalog(&state, "rdf").await
}

pub(super) async fn catalog_jsonld(State(state): State<AppState>) -> Response {
    catalog(&state, "jsonld").await
}

/// A published file, for downloads and harvesters.
pub(super) async fn file(
    State(state): State<AppState>,
    Path((dataset, file)): Path<(String, String)>,
) -> Response {
    let found = state
        .open_data
        .as_ref()
        .and_then(|open| open.file(&dataset, &file));
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
