//! The technicians' side under `/admin`: pages behind a login (`auth`), the workbench with
//! silent-device and battery alerts, device health, publication switches, unmapped fields,
//! unknown devices and dead letters (`workbench`), a page per device (`device`), the gateways (`gateways`), the technicians' map (`map`), the device
//! form's actions (`devices`), and
//! the JSON API behind a bearer token (`api`). German by default, English by choice. Nothing
//! here is public: a page without a session redirects to the login.

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::AppState;

mod api;
mod auth;
mod battery;
mod device;
mod devices;
mod gateways;
mod import;
mod map;
mod stations;
mod workbench;

pub use auth::{hash_password, random_password};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(workbench::workbench))
        .route("/admin/login", get(auth::login_form).post(auth::login))
        .route("/admin/logout", post(auth::logout))
        .route("/admin/devices/public", post(devices::set_public))
        .route("/admin/devices", post(devices::save_device))
        .route("/admin/devices/remove", post(devices::remove_device))
        .route("/admin/devices/{dev_eui}", get(device::device_page))
        .route("/admin/devices/{dev_eui}/replay", post(device::replay))
        .route("/admin/map", get(map::map_page))
        .route("/admin/api/v1/map", get(map::map_json))
        .route("/admin/gateways", get(gateways::gateways_page))
        .route("/admin/gateways/{id}", get(gateways::gateway_page))
        .route("/admin/api/v1/gateways", get(gateways::gateways_json))
        .route("/admin/api/v1/gateways/{id}", get(gateways::gateway_json))
        .route("/admin/api/v1/devices/{dev_eui}", get(device::device_json))
        .route("/admin/stations", post(stations::save_station))
        .merge(api::routes())
        .merge(import::routes())
}

/// Technicians' answers hold DevEUIs and radio data: never kept by a cache.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct PublicForm {
    csrf: String,
    dev_eui: String,
    /// `true` to publish the device's station, `false` to withdraw it.
    public: String,
}

#[derive(Deserialize)]
struct DeviceForm {
    csrf: String,
    dev_eui: String,
    name: String,
    station: String,
    device_type: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    /// A checkbox: present (`on`) when ticked.
    #[serde(default)]
    public: Option<String>,
}

#[derive(Deserialize)]
struct RemoveForm {
    csrf: String,
    dev_eui: String,
    /// The confirmation checkbox: without it nothing is removed.
    #[serde(default)]
    confirm: Option<String>,
}

#[cfg(test)]
mod tests;
