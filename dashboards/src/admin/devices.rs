//! The workbench's forms: publish or withdraw a device, add or change one, remove one.

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use sensorhub_store::{Device, DeviceType, StoreError};

use super::auth::AdminSession;
use super::{no_store, DeviceForm, PublicForm, RemoveForm};
use crate::error::AppError;
use crate::html::i18n::{choose_lang, PageQuery};
use crate::html::layout;
use crate::AppState;

fn coordinate(text: &str, name: &str, limit: f64) -> Result<Option<f64>, String> {
    let t = text.trim().replace(',', ".");
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if (-limit..=limit).contains(&v) => Ok(Some(v)),
        _ => Err(format!("{name}: `{text}` is not a number within ±{limit}")),
    }
}

/// Back to the publication table.
fn to_registry() -> Response {
    no_store(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin#registry")],
        )
            .into_response(),
    )
}

/// `POST /admin/devices/public`: a technician publishes or withdraws a device's values. A
/// station is public only while every device reporting under it is.
pub(super) async fn set_public(
    session: AdminSession,
    State(state): State<AppState>,
    Form(form): Form<PublicForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    let public = match form.public.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("public must be true or false\n")),
    };
    let store = state.store.state();
    let device = store
        .device(&form.dev_eui)
        .await?
        .ok_or(AppError::NotFound("no such device\n"))?;
    if device.public != public {
        let station = device.station.clone();
        store.put_devices(vec![Device { public, ..device }]).await?;
        tracing::info!(user = %session.user, dev_eui = %form.dev_eui, station = %station, public, "publication changed");
    }
    Ok(to_registry())
}

/// The device the form describes, checked as `sensorhub devices add` checks it; or what is
/// wrong with it.
fn device_of(form: &DeviceForm) -> Result<Device, String> {
    // A JavaScript codec names a file on the server: that stays with the command line.
    let device_type = match form.device_type.trim().parse() {
        Ok(t @ (DeviceType::BuiltIn(_) | DeviceType::CayenneLpp | DeviceType::NetworkServer)) => t,
        _ => {
            return Err(format!(
                "device_type `{}`: choose one of the listed decoders (JavaScript codecs are \
                 set with `sensorhub devices add`)",
                form.device_type
            ))
        }
    };
    let dev_eui = form
        .dev_eui
        .trim()
        .parse()
        .map_err(|e| format!("dev_eui `{}`: {e}", form.dev_eui))?;
    let lat = coordinate(&form.lat, "lat", 90.0)?;
    let lon = coordinate(&form.lon, "lon", 180.0)?;
    Device {
        dev_eui,
        name: form.name.trim().to_owned(),
        station: form.station.trim().to_owned(),
        device_type,
        lat,
        lon,
        public: form.public.is_some(),
        dev_addr: None,
        nwk_s_key: None,
        app_s_key: None,
    }
    .validate()
    .map_err(|e| e.to_string())
}

/// `POST /admin/devices`: registers a device or changes one, as `sensorhub devices add` does.
/// An existing device keeps its ABP session keys (they are set on the command line only).
pub(super) async fn save_device(
    session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<DeviceForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    let lang = choose_lang(&query, &headers);
    let mut device = match device_of(&form) {
        Ok(d) => d,
        Err(problem) => {
            let main = html! {
                h1 { (lang.t("Gerät nicht gespeichert", "Device not saved")) }
                p.error role="alert" { (problem) }
                p { a href="/admin#devices-form" { (lang.t("Zurück zum Formular", "Back to the form")) } }
            };
            let page = layout::admin(lang, lang.t("Fehler", "Error"), main).into_string();
            return Ok(no_store(
                (StatusCode::BAD_REQUEST, Html(page)).into_response(),
            ));
        }
    };
    if device.name.is_empty() {
        device.name = device.station.clone();
    }
    let store = state.store.state();
    let existing = store.device(&device.dev_eui.to_string()).await?;
    if let Some(old) = &existing {
        device.dev_addr = old.dev_addr;
        device.nwk_s_key = old.nwk_s_key;
        device.app_s_key = old.app_s_key;
    }
    let (eui, station, public) = (device.dev_eui, device.station.clone(), device.public);
    store.put_devices(vec![device]).await?;
    tracing::info!(user = %session.user, dev_eui = %eui, station = %station, public, new = existing.is_none(), "device saved");
    Ok(to_registry())
}

/// `POST /admin/devices/remove`: takes a device out of the registry, as
/// `sensorhub devices remove` does; its readings stay with the station.
pub(super) async fn remove_device(
    session: AdminSession,
    State(state): State<AppState>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    if form.confirm.is_none() {
        return Err(AppError::BadRequest("not confirmed; nothing removed\n"));
    }
    match state.store.state().remove_device(&form.dev_eui).await {
        Ok(()) => {
            tracing::info!(user = %session.user, dev_eui = %form.dev_eui, "device removed");
            Ok(to_registry())
        }
        Err(StoreError::UnknownDevice(_)) => Err(AppError::NotFound("no such device\n")),
        Err(e) => Err(e.into()),
    }
}
