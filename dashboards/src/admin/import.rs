//! The devices import on the web: upload the CSV or JSON of `sensorhub devices import`, see
//! every row's problem or what it would change, then apply all or nothing.
//!
//! The preview carries the file back in a hidden field with a fingerprint of its plan; the
//! apply reads the file again, against the registry as it is then, and applies only when the
//! plan is still the one shown. The rules are the command line's ([`DeviceFile`]), with two
//! of the web's: a JavaScript codec (a file on the server) is refused, and a row without an
//! ABP session keeps the session a registered device has (keys are never shown).

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Form, Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use sensorhub_store::device_file::{change, Change, Codecs, DeviceFile, FileError, FileFormat};
use sensorhub_store::{Device, DeviceType};

use super::auth::AdminSession;
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

/// The largest file the upload takes; a registry of a few thousand devices fits.
const MAX_FILE: usize = 1024 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/devices/import", get(upload_form).post(preview))
        .route("/admin/devices/import/apply", post(apply))
        // Room for the file and the form around it; beyond it the answer is 413.
        .layer(DefaultBodyLimit::max(MAX_FILE * 3 + 16 * 1024))
}

/// A row of the plan: where it is, and its device and change, or its problem.
struct Row {
    at: String,
    outcome: Result<(Device, Change), String>,
}

/// What the file would do to the registry as it is now.
struct Plan {
    rows: Vec<Row>,
    /// Registered devices the file does not name: they stay as they are.
    untouched: usize,
    /// A digest of the rows and the registered devices they meet, so that the apply applies
    /// only what the preview showed.
    fingerprint: String,
}

impl Plan {
    fn problems(&self) -> usize {
        self.rows.iter().filter(|r| r.outcome.is_err()).count()
    }

    /// The devices to write: new and changed ones.
    fn writes(&self) -> Vec<Device> {
        self.rows
            .iter()
            .filter_map(|r| match &r.outcome {
                Ok((d, Change::New | Change::Changed(_))) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    fn count(&self, f: fn(&Change) -> bool) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(&r.outcome, Ok((_, c)) if f(c)))
            .count()
    }
}

/// Reads the file and sets it against the registry; a whole-file problem is the error.
async fn plan(state: &AppState, text: &str, format: FileFormat) -> Result<Plan, PlanError> {
    let file = DeviceFile::read(text, format, Codecs::NotJavaScript).map_err(PlanError::File)?;
    let store = state.store.state();
    let registered: HashMap<String, Device> = store
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.dev_eui.to_string(), d))
        .collect();
    let mut checked_codecs: HashMap<String, Result<(), String>> = HashMap::new();
    let mut rows = Vec::new();
    let mut digest = Sha256::new();
    for (at, row) in file.rows {
        let outcome = match row {
            Err(problem) => Err(problem),
            Ok(mut device) => {
                let old = registered.get(&device.dev_eui.to_string());
                digest.update(serde_json::to_vec(&old).unwrap_or_default());
                if let Some(old) = old.filter(|_| device.dev_addr.is_none()) {
                    device.dev_addr = old.dev_addr;
                    device.nwk_s_key = old.nwk_s_key;
                    device.app_s_key = old.app_s_key;
                }
                match codec_problem(state, &device, &mut checked_codecs).await {
                    Some(problem) => Err(problem),
                    None => {
                        let change = change(old, &device);
                        Ok((device, change))
                    }
                }
            }
        };
        digest.update(at.as_bytes());
        match &outcome {
            Ok((d, c)) => {
                digest.update(serde_json::to_vec(d).unwrap_or_default());
                digest.update(format!("{c:?}").as_bytes());
            }
            Err(problem) => digest.update(problem.as_bytes()),
        }
        digest.update([0]);
        rows.push(Row { at, outcome });
    }
    let named: std::collections::HashSet<String> = rows
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .map(|(d, _)| d.dev_eui.to_string())
        .collect();
    let untouched = registered.keys().filter(|k| !named.contains(*k)).count();
    digest.update(untouched.to_le_bytes());
    let fingerprint = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Plan {
        rows,
        untouched,
        fingerprint,
    })
}

/// A device repository codec is taken only if it reproduces its own published examples, as
/// on the command line; each codec is checked once per file.
async fn codec_problem(
    state: &AppState,
    device: &Device,
    checked: &mut HashMap<String, Result<(), String>>,
) -> Option<String> {
    let DeviceType::Ttn(codec) = &device.device_type else {
        return None;
    };
    if !checked.contains_key(codec.as_str()) {
        let verdict = match state.codecs.clone() {
            None => Err("device repository codecs are checked by `sensorhub run`; import this row with `sensorhub devices import`".to_owned()),
            Some(checker) => {
                let codec = codec.clone();
                tokio::task::spawn_blocking(move || checker.check(&codec))
                    .await
                    .unwrap_or_else(|_| Err("the codec check failed".to_owned()))
            }
        };
        checked.insert(codec.as_str().to_owned(), verdict);
    }
    checked[codec.as_str()]
        .as_ref()
        .err()
        .map(|e| format!("device_type `{}`: {e}", codec.as_str()))
}

enum PlanError {
    File(FileError),
    Store(sensorhub_store::StoreError),
}

impl From<sensorhub_store::StoreError> for PlanError {
    fn from(e: sensorhub_store::StoreError) -> Self {
        PlanError::Store(e)
    }
}

/// `GET /admin/devices/import`: the upload form.
async fn upload_form(
    session: AdminSession,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    page(lang, StatusCode::OK, upload(lang, session.csrf(), None))
}

fn upload(lang: Lang, csrf: &str, problem: Option<&str>) -> Markup {
    html! {
        p { a href="/admin#registry" { (lang.t("← Werkbank", "← Workbench")) } }
        h1 { (lang.t("Geräte importieren", "Import devices")) }
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        p {
            (lang.t(
                "Eine CSV-Datei mit Kopfzeile (dev_eui, name, station, device_type, dazu lat, lon, \
                 public, dev_addr, nwk_s_key, app_s_key) oder ein JSON-Array, wie `sensorhub devices \
                 export` sie schreibt. Zuerst kommt eine Vorschau; geändert wird erst, wenn Sie sie \
                 bestätigen, und dann alles oder nichts.",
                "A CSV file with a header row (dev_eui, name, station, device_type, and lat, lon, \
                 public, dev_addr, nwk_s_key, app_s_key) or a JSON array, as `sensorhub devices \
                 export` writes them. A preview comes first; nothing changes until you confirm it, \
                 and then all or nothing."
            ))
        }
        form method="post" action="/admin/devices/import" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="i-file" { (lang.t("Datei (.csv oder .json, höchstens 1 MiB)", "File (.csv or .json, at most 1 MiB)")) }
                br;
                input id="i-file" type="file" name="file" accept=".csv,.json,text/csv,application/json" required;
            }
            p { button type="submit" { (lang.t("Vorschau", "Preview")) } }
        }
    }
}

/// `POST /admin/devices/import` (multipart: `csrf`, `file`): the preview.
async fn preview(
    session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest("not a multipart form\n"))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = field
                    .text()
                    .await
                    .map_err(|_| AppError::BadRequest("not a multipart form\n"))?
            }
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    session.check(&csrf)?;
    let Some((name, bytes)) = file else {
        return Err(AppError::BadRequest("the form has no file\n"));
    };
    let problem = |text: &str| {
        Ok(page(
            lang,
            StatusCode::BAD_REQUEST,
            upload(lang, session.csrf(), Some(text)),
        ))
    };
    if bytes.len() > MAX_FILE {
        return problem(lang.t(
            "Die Datei ist größer als 1 MiB.",
            "The file is larger than 1 MiB.",
        ));
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return problem(lang.t(
            "Die Datei ist nicht in UTF-8 geschrieben.",
            "The file is not UTF-8.",
        ));
    };
    let text = normalised(&text);
    let format = FileFormat::of_name(&name)
        .or_else(|| {
            text.trim_start()
                .starts_with('[')
                .then_some(FileFormat::Json)
        })
        .unwrap_or(FileFormat::Csv);
    show_plan(&state, &session, lang, &text, format, None).await
}

/// The file as the apply will see it again: browsers send a textarea's line breaks as CRLF and
/// drop its first line break, so both sides read LF lines without a leading break or a BOM.
fn normalised(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n")
        .trim_start_matches('\n')
        .to_owned()
}

#[derive(Deserialize)]
struct ApplyForm {
    csrf: String,
    text: String,
    format: String,
    fingerprint: String,
}

/// `POST /admin/devices/import/apply`: applies the file of a preview, all or nothing, when the
/// plan is still the one shown.
async fn apply(
    session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<ApplyForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    let lang = choose_lang(&query, &headers);
    let format = match form.format.as_str() {
        "json" => FileFormat::Json,
        "csv" => FileFormat::Csv,
        _ => return Err(AppError::BadRequest("format must be csv or json\n")),
    };
    if form.text.len() > MAX_FILE * 2 {
        return Err(AppError::TooLarge);
    }
    let text = normalised(&form.text);
    let plan = match plan(&state, &text, format).await {
        Ok(plan) => plan,
        Err(PlanError::Store(e)) => return Err(e.into()),
        Err(PlanError::File(e)) => {
            let text = e.to_string();
            return Ok(page(
                lang,
                StatusCode::BAD_REQUEST,
                upload(lang, session.csrf(), Some(&text)),
            ));
        }
    };
    if plan.problems() > 0 || plan.fingerprint != form.fingerprint {
        let note = lang.t(
            "Das Register hat sich seit der Vorschau geändert; hier ist die neue Vorschau. Nichts wurde geändert.",
            "The registry changed since the preview; here is the new preview. Nothing was changed.",
        );
        return show_plan(&state, &session, lang, &text, format, Some(note)).await;
    }
    let writes = plan.writes();
    let (new, changed) = (
        plan.count(|c| *c == Change::New),
        plan.count(|c| matches!(c, Change::Changed(_))),
    );
    state.store.state().put_devices(writes).await?;
    tracing::info!(user = %session.user, new, changed, "devices imported on the workbench");
    let main = html! {
        h1 { (lang.t("Geräte importiert", "Devices imported")) }
        p role="status" {
            (new) " " (lang.t("neu", "new")) ", " (changed) " " (lang.t("geändert", "changed")) ", "
            (plan.count(|c| *c == Change::Unchanged)) " " (lang.t("unverändert", "unchanged")) "."
        }
        p { a href="/admin#registry" { (lang.t("Zur Werkbank", "To the workbench")) } }
    };
    Ok(page(lang, StatusCode::OK, main))
}

/// The preview page: every row with its problem or change, and the apply button when nothing
/// is wrong.
async fn show_plan(
    state: &AppState,
    session: &AdminSession,
    lang: Lang,
    text: &str,
    format: FileFormat,
    note: Option<&str>,
) -> Result<Response, AppError> {
    let plan = match plan(state, text, format).await {
        Ok(plan) => plan,
        Err(PlanError::Store(e)) => return Err(e.into()),
        Err(PlanError::File(e)) => {
            let text = e.to_string();
            return Ok(page(
                lang,
                StatusCode::BAD_REQUEST,
                upload(lang, session.csrf(), Some(&text)),
            ));
        }
    };
    let problems = plan.problems();
    let writes = plan.writes().len();
    let main = html! {
        p { a href="/admin/devices/import" { (lang.t("← Andere Datei", "← Another file")) } }
        h1 { (lang.t("Vorschau des Imports", "Import preview")) }
        @if let Some(note) = note {
            p.error role="alert" { (note) }
        }
        @if problems > 0 {
            p.error role="alert" id="import-problems" {
                (problems) " "
                (lang.t(
                    "Zeile(n) mit Fehlern: Es wird nichts geändert. Bitte die Datei berichtigen und erneut hochladen.",
                    "row(s) with problems: nothing will change. Please fix the file and upload it again."
                ))
            }
        } @else {
            p role="status" id="import-summary" {
                (plan.count(|c| *c == Change::New)) " " (lang.t("neu", "new")) ", "
                (plan.count(|c| matches!(c, Change::Changed(_)))) " " (lang.t("geändert", "changed")) ", "
                (plan.count(|c| *c == Change::Unchanged)) " " (lang.t("unverändert", "unchanged")) "; "
                (plan.untouched) " "
                (lang.t("registrierte Geräte stehen nicht in der Datei und bleiben, wie sie sind.",
                        "registered devices are not in the file and stay as they are."))
            }
        }
        table id="import-rows" {
            caption { (lang.t("Zeilen der Datei", "Rows of the file")) }
            thead { tr {
                th scope="col" { (lang.t("Stelle", "Place")) }
                th scope="col" { "DevEUI" }
                th scope="col" { (lang.t("Station", "Station")) }
                th scope="col" { (lang.t("Ergebnis", "Outcome")) }
            } }
            tbody {
                @for row in &plan.rows {
                    tr class=(if row.outcome.is_err() { "problem" } else { "" }) {
                        th scope="row" { (row.at) }
                        @match &row.outcome {
                            Ok((d, c)) => {
                                td { code { (d.dev_eui) } }
                                td { (d.station) }
                                td { (describe(lang, c)) }
                            }
                            Err(problem) => {
                                td {} td {}
                                td { strong { (lang.t("Fehler: ", "Problem: ")) } (problem) }
                            }
                        }
                    }
                }
            }
        }
        @if problems == 0 && writes > 0 {
            form method="post" action="/admin/devices/import/apply" {
                input type="hidden" name="csrf" value=(session.csrf());
                input type="hidden" name="format" value=(format.as_str());
                input type="hidden" name="fingerprint" value=(plan.fingerprint);
                textarea name="text" hidden aria-hidden="true" { (text) }
                p { button type="submit" { (lang.t("Alle übernehmen", "Apply all")) } }
            }
        } @else if problems == 0 {
            p { (lang.t("Die Datei ändert nichts.", "The file changes nothing.")) }
        }
    };
    let status = if problems > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page(lang, status, main))
}

fn describe(lang: Lang, change: &Change) -> String {
    match change {
        Change::New => lang.t("neu", "new").to_owned(),
        Change::Unchanged => lang.t("unverändert", "unchanged").to_owned(),
        Change::Changed(fields) => {
            let shown: Vec<&str> = fields
                .iter()
                .map(|f| match *f {
                    "dev_addr" | "nwk_s_key" | "app_s_key" => lang.t("ABP-Sitzung", "ABP session"),
                    other => other,
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            format!("{}: {}", lang.t("geändert", "changed"), shown.join(", "))
        }
    }
}

fn page(lang: Lang, status: StatusCode, main: Markup) -> Response {
    let title = lang.t("Geräte importieren", "Import devices");
    let body = layout::admin(lang, title, main).into_string();
    no_store(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Html(body),
        )
            .into_response(),
    )
}
