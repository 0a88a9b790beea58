//! The workbench's forms: publish or withdraw a device, add or change one, remove one.

use super::*;

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

/// `POST /admin/devices/public`: a technician publishes or withdraws a device's values. A
/// station is public only while every device reporting under it is.
pub(super) async fn set_public(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PublicForm>,
) -> Response {
    let user = match form_session(&state, &headers, &form.csrf).await {
        Ok((user, _)) => user,
        Err(refusal) => return refusal,
    };
    let public = match form.public.as_str() {
        "true" => true,
        "false" => false,
        _ => return (StatusCode::BAD_REQUEST, "public must be true or false\n").into_response(),
    };
    let store = state.store.state();
    let device = match store.device(&form.dev_eui).await {
        Ok(Some(d)) => d,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such device\n").into_response(),
        Err(e) => return store_unavailable(e),
    };
    if device.public != public {
        let station = device.station.clone();
        let changed = sensorhub_store::Device { public, ..device };
        if let Err(e) = store.put_devices(vec![changed]).await {
            return store_unavailable(e);
        }
        tracing::info!(user = %user, dev_eui = %form.dev_eui, station = %station, public, "publication changed");
    }
    no_store(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin#registry")],
        )
            .into_response(),
    )
}

/// `POST /admin/devices`: registers a device or changes one, as `sensorhub devices add` does.
/// An existing device keeps its ABP session keys (they are set on the command line only).
pub(super) async fn save_device(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<DeviceForm>,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let user = match form_session(&state, &headers, &form.csrf).await {
        Ok((user, _)) => user,
        Err(refusal) => return refusal,
    };
    let store = state.store.state();
    let checked = (|| {
        // A JavaScript codec names a file on the server: that stays with the command line.
        let device_type = match form.device_type.trim().parse() {
            Ok(t @ sensorhub_store::DeviceType::BuiltIn(_))
            | Ok(t @ sensorhub_store::DeviceType::CayenneLpp)
            | Ok(t @ sensorhub_store::DeviceType::NetworkServer) => t,
            _ => {
                return Err(format!(
                    "device_type `{}`: choose one of the listed decoders (JavaScript codecs are \
                     set with `sensorhub devices add`)",
                    form.device_type
                ))
            }
        };
        let lat = coordinate(&form.lat, "lat", 90.0)?;
        let lon = coordinate(&form.lon, "lon", 180.0)?;
        (sensorhub_store::Device {
            dev_eui: form.dev_eui.clone(),
            name: form.name.trim().to_owned(),
            station: form.station.trim().to_owned(),
            device_type,
            lat,
            lon,
            public: form.public.is_some(),
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        })
        .validate()
        .map_err(|e| e.to_string())
    })();
    let mut device = match checked {
        Ok(d) => d,
        Err(problem) => {
            let body = format!(
                "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/admin#devices-form\">{}</a></p>",
                lang.t("Gerät nicht gespeichert", "Device not saved"),
                escape(&problem),
                lang.t("Zurück zum Formular", "Back to the form"),
            );
            let page = admin_page(lang, lang.t("Fehler", "Error"), &body);
            return no_store((StatusCode::BAD_REQUEST, Html(page)).into_response());
        }
    };
    if device.name.is_empty() {
        device.name = device.station.clone();
    }
    let existing = match store.device(&device.dev_eui).await {
        Ok(d) => d,
        Err(e) => return store_unavailable(e),
    };
    if let Some(old) = &existing {
        device.dev_addr = old.dev_addr.clone();
        device.nwk_s_key = old.nwk_s_key.clone();
        device.app_s_key = old.app_s_key.clone();
    }
    let (eui, station, public) = (
        device.dev_eui.clone(),
        device.station.clone(),
        device.public,
    );
    if let Err(e) = store.put_devices(vec![device]).await {
        return store_unavailable(e);
    }
    tracing::info!(user = %user, dev_eui = %eui, station = %station, public, new = existing.is_none(), "device saved");
    no_store(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin#registry")],
        )
            .into_response(),
    )
}

/// `POST /admin/devices/remove`: takes a device out of the registry, as
/// `sensorhub devices remove` does; its readings stay with the station.
pub(super) async fn remove_device(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Response {
    let user = match form_session(&state, &headers, &form.csrf).await {
        Ok((user, _)) => user,
        Err(refusal) => return refusal,
    };
    if form.confirm.is_none() {
        return (StatusCode::BAD_REQUEST, "not confirmed; nothing removed\n").into_response();
    }
    match state.store.state().remove_device(&form.dev_eui).await {
        Ok(()) => {
            tracing::info!(user = %user, dev_eui = %form.dev_eui, "device removed");
            no_store(
                (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, "/admin#registry")],
                )
                    .into_response(),
            )
        }
        Err(sensorhub_store::StoreError::UnknownDevice(_)) => {
            (StatusCode::NOT_FOUND, "no such device\n").into_response()
        }
        Err(e) => store_unavailable(e),
    }
}
