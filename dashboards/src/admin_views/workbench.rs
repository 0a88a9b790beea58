//! The technicians' workbench page: silent devices, low batteries, device health, publication, unmapped fields, the device form, dead letters.

use super::*;

fn when(lang: Lang, ms: Option<i64>) -> String {
    ms.map(|ms| sensorhub_store::time::format_rfc3339(ms)[..16].replace('T', " ") + " UTC")
        .unwrap_or_else(|| lang.t("nie", "never").into())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// Numeric codec fields that became no reading, per device, with a rule to paste.
fn unmapped_section(body: &mut String, lang: Lang, fields: &[sensorhub_store::UnmappedField]) {
    let _ = write!(
        body,
        "<section aria-labelledby=\"unmapped\"><h2 id=\"unmapped\">{}</h2><p>{}</p>",
        lang.t("Nicht zugeordnete Felder", "Unmapped fields"),
        lang.t(
            "Zahlen aus der Ausgabe eines Decoders, die kein Messwert wurden: Name oder Einheit \
             sind unbekannt. Die vorgeschlagene Regel gehört nach Prüfung am Datenblatt in die \
             Konfiguration. Diese Felder sind nie öffentlich.",
            "Numbers in a codec's output that became no reading: their name or unit is unknown. \
             Check the suggested rule against the datasheet, then add it to the config. These \
             fields are never public."
        )
    );
    if fields.is_empty() {
        body.push_str(lang.t("<p>Keine.</p>", "<p>None.</p>"));
        body.push_str("</section>");
        return;
    }
    body.push_str("<div class=\"scroll\"><table id=\"unmapped-fields\"><thead><tr>");
    for (de, en) in [
        ("DevEUI", "DevEUI"),
        ("Feld", "Field"),
        ("Letzter Wert", "Last value"),
        ("Gesehen", "Seen"),
        ("Zuletzt", "Last seen"),
        ("Grund", "Why"),
        ("Vorgeschlagene Regel", "Suggested rule"),
    ] {
        let _ = write!(body, "<th scope=\"col\">{}</th>", lang.t(de, en));
    }
    body.push_str("</tr></thead><tbody>");
    for f in fields {
        let rule = f.suggested_rule();
        let _ = write!(
            body,
            "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><pre><code>{}</code></pre></td></tr>",
            escape(&f.dev_eui),
            escape(&f.field),
            escape(&f.shown_value()),
            f.seen,
            when(lang, Some(f.last_seen_ms)),
            escape(&f.why),
            escape(&rule),
        );
    }
    body.push_str("</tbody></table></div></section>");
}

pub(super) async fn workbench(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let id = cookie(&headers, SESSION_COOKIE).unwrap_or("");
    let Some((user, csrf)) = Sessions::get(&state, id).await else {
        return no_store(
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login")]).into_response(),
        );
    };
    let now = sensorhub_store::time::now_ms();
    let store = state.store.state();
    let read = async {
        Ok::<_, sensorhub_store::StoreError>((
            store.device_health(now - 7 * 86_400_000).await?,
            store.unknown_devices().await?,
            store.dead_letters(50).await?,
            store.devices().await?,
            store.unmapped_fields(None).await?,
        ))
    };
    let (health, unknown, letters, devices, unmapped) = match read.await {
        Ok(all) => all,
        Err(e) => return store_unavailable(e),
    };
    // Open low-battery alerts (from `run`'s alert checks; silent devices are listed below).
    let low_battery: Vec<(String, i64)> = store
        .open_alerts()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, kind, _)| *kind == sensorhub_store::AlertKind::LowBattery)
        .map(|(eui, _, since)| (eui, since))
        .collect();
    let silent_ms = state.http.silent_after.as_ms_i64();
    let title = lang.t("Geräte", "Devices");
    let mut body = format!(
        "<h1>{title}</h1><form method=\"post\" action=\"/admin/logout\" class=\"logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <span>{logged_in}: {}</span> <button type=\"submit\">{logout}</button></form>",
        escape(&user),
        logged_in = lang.t("Angemeldet", "Logged in"),
        logout = lang.t("Abmelden", "Log out"),
    );
    let silent: Vec<_> = health
        .iter()
        .filter(|d| d.last_seen_ms.is_none_or(|t| now - t > silent_ms))
        .collect();
    let _ = write!(
        body,
        "<section aria-labelledby=\"alerts\"><h2 id=\"alerts\">{} {})</h2>",
        lang.t("Stille Geräte (nichts seit", "Silent devices (nothing for"),
        state.http.silent_after
    );
    if silent.is_empty() {
        body.push_str(lang.t("<p>Keine.</p>", "<p>None.</p>"));
    } else {
        body.push_str("<ul class=\"alerts\" id=\"silent\">");
        for d in silent {
            let _ = write!(
                body,
                "<li><strong>{}</strong> ({}, {} {}): {} {}</li>",
                escape(&d.name),
                escape(&d.dev_eui),
                lang.t("Station", "station"),
                escape(&d.station),
                lang.t("zuletzt", "last heard"),
                when(lang, d.last_seen_ms)
            );
        }
        body.push_str("</ul>");
    }
    if !low_battery.is_empty() {
        let _ = write!(
            body,
            "<h3>{}</h3><ul class=\"alerts\" id=\"low-battery\">",
            lang.t("Batterie schwach", "Battery low")
        );
        for (eui, since) in &low_battery {
            let device = health.iter().find(|d| &d.dev_eui == eui);
            let battery = device
                .and_then(|d| {
                    d.battery_level
                        .map(|l| format!("{l:.0} %"))
                        .or(d.battery_voltage.map(|v| format!("{v:.2} V")))
                })
                .unwrap_or_else(|| "–".into());
            let _ = write!(
                body,
                "<li><strong>{}</strong> ({}, {} {}): {battery}, {} {}</li>",
                escape(device.map_or(eui.as_str(), |d| d.name.as_str())),
                escape(eui),
                lang.t("Station", "station"),
                escape(device.map_or("–", |d| d.station.as_str())),
                lang.t("gemeldet", "reported"),
                when(lang, Some(*since))
            );
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        "</section><section aria-labelledby=\"health\"><h2 id=\"health\">{}</h2>\
         <div class=\"scroll\"><table id=\"device-health\"><thead><tr>",
        lang.t("Zustand (7 Tage)", "Health (7 days)")
    );
    for (de, en) in [
        ("Gerät", "Device"),
        ("DevEUI", "DevEUI"),
        ("Station", "Station"),
        ("Zuletzt", "Last seen"),
        ("Uplinks", "Uplinks"),
        ("Verlust", "Loss"),
        ("RSSI", "RSSI"),
        ("SNR", "SNR"),
        ("Gateways", "Gateways"),
        ("Batterie", "Battery"),
        ("Decoderfehler", "Decode errors"),
    ] {
        let _ = write!(body, "<th scope=\"col\">{}</th>", lang.t(de, en));
    }
    body.push_str("</tr></thead><tbody>");
    for d in &health {
        let battery = match (d.battery_level, d.battery_voltage) {
            (Some(l), _) => format!("{l:.0} %"),
            (None, Some(v)) => format!("{v:.2} V"),
            _ => "–".into(),
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{battery}</td><td>{}</td></tr>",
            escape(&d.name),
            escape(&d.dev_eui),
            escape(&d.station),
            when(lang, d.last_seen_ms),
            d.uplinks,
            d.packet_loss
                .map(|l| format!("{:.1} %", l * 100.0))
                .unwrap_or_else(|| "–".into()),
            opt(d.rssi, 0),
            opt(d.snr, 1),
            d.gateway_count.map_or("–".into(), |g| g.to_string()),
            d.decode_errors,
        );
    }
    body.push_str("</tbody></table></div></section>");
    unmapped_section(&mut body, lang, &unmapped);
    let _ = write!(
        body,
        "<section aria-labelledby=\"registry\">\
         <h2 id=\"registry\">{}</h2><p>{}</p><div class=\"scroll\"><table id=\"publication\">\
         <thead><tr><th scope=\"col\">{}</th><th scope=\"col\">DevEUI</th><th scope=\"col\">Station</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.t("Veröffentlichung", "Publication"),
        lang.t(
            "Eine Station erscheint auf den öffentlichen Seiten, in der API und in den offenen \
             Daten nur, solange alle ihre Geräte öffentlich sind.",
            "A station appears on the public pages, in the API and in the open data only while \
             all of its devices are public."
        ),
        lang.t("Gerät", "Device"),
        lang.t("Öffentlich", "Public"),
        lang.t("Ändern", "Change"),
    );
    for d in &devices {
        let (state_text, action, next) = if d.public {
            (
                lang.t("ja", "yes"),
                lang.t("Zurückziehen", "Withdraw"),
                "false",
            )
        } else {
            (
                lang.t("nein", "no"),
                lang.t("Veröffentlichen", "Publish"),
                "true",
            )
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{name}</th><td>{eui}</td><td>{station}</td><td>{state_text}</td>\
             <td><form method=\"post\" action=\"/admin/devices/public\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"dev_eui\" value=\"{eui}\">\
             <input type=\"hidden\" name=\"public\" value=\"{next}\">\
             <button type=\"submit\" aria-label=\"{action}: {name}\">{action}</button></form> \
             <a href=\"/admin?edit={eui}#devices-form\" aria-label=\"{edit}: {name}\">{edit}</a></td></tr>",
            edit = lang.t("Bearbeiten", "Edit"),
            name = escape(&d.name),
            eui = escape(&d.dev_eui),
            station = escape(&d.station),
        );
    }
    // Editing: the form starts with the device's details.
    let editing = query.edit.as_deref().and_then(|eui| {
        devices
            .iter()
            .find(|d| d.dev_eui == eui.trim().to_ascii_lowercase())
    });
    let field = |f: fn(&sensorhub_store::Device) -> String| {
        editing.map(|d| escape(&f(d))).unwrap_or_default()
    };
    let (v_eui, v_name, v_station) = (
        field(|d| d.dev_eui.clone()),
        field(|d| d.name.clone()),
        field(|d| d.station.clone()),
    );
    let (v_lat, v_lon) = (
        field(|d| d.lat.map(|v| v.to_string()).unwrap_or_default()),
        field(|d| d.lon.map(|v| v.to_string()).unwrap_or_default()),
    );
    let v_public = if editing.is_some_and(|d| d.public) {
        " checked"
    } else {
        ""
    };
    let chosen_type = editing.map_or("cayenne-lpp", |d| d.device_type.as_str());
    let _ = write!(
        body,
        "</tbody></table></div><h3 id=\"devices-form\">{title}</h3><p>{hint}</p>",
        title = lang.t("Gerät anlegen oder ändern", "Add or change a device"),
        hint = lang.t(
            "Mit der DevEUI eines vorhandenen Geräts werden dessen Angaben ersetzt; \
             ABP-Schlüssel bleiben erhalten (sie werden nur auf der Kommandozeile gesetzt).",
            "With the DevEUI of an existing device its details are replaced; ABP keys stay \
             (they are set on the command line only)."
        ),
    );
    if chosen_type.starts_with("js:") {
        let _ = write!(
            body,
            "<p class=\"error\" role=\"alert\">{}</p>",
            lang.t(
                "Dieses Gerät nutzt einen JavaScript-Decoder: Änderungen bitte mit \
                 `sensorhub devices add`, sonst wird der Decoder ersetzt.",
                "This device uses a JavaScript decoder: change it with `sensorhub devices add`, \
                 or the decoder is replaced."
            )
        );
    }
    let _ = write!(
        body,
        "\
         <form method=\"post\" action=\"/admin/devices\" class=\"device-form\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <p><label for=\"f-eui\">DevEUI ({eui_hint})</label><br><input id=\"f-eui\" name=\"dev_eui\" value=\"{v_eui}\" required \
         pattern=\"[0-9A-Fa-f]{{16}}\" title=\"{eui_hint}\" autocomplete=\"off\" spellcheck=\"false\"></p>\
         <p><label for=\"f-name\">{name}</label><br><input id=\"f-name\" name=\"name\" value=\"{v_name}\" autocomplete=\"off\"></p>\
         <p><label for=\"f-station\">Station</label><br><input id=\"f-station\" name=\"station\" value=\"{v_station}\" required autocomplete=\"off\"></p>\
         <p><label for=\"f-type\">{device_type}</label><br><select id=\"f-type\" name=\"device_type\">",
        name = lang.t("Name (leer: wie die Station)", "Name (empty: as the station)"),
        eui_hint = lang.t("16 Hex-Ziffern", "16 hex digits"),
        device_type = lang.t("Gerätetyp (Decoder)", "Device type (decoder)"),
    );
    for t in sensorhub_core::device_type::BUILT_IN {
        let selected = if *t == chosen_type { " selected" } else { "" };
        let _ = write!(body, "<option{selected}>{}</option>", escape(t));
    }
    let _ = write!(
        body,
        "</select></p>\
         <p><label for=\"f-lat\">{lat}</label><br><input id=\"f-lat\" name=\"lat\" value=\"{v_lat}\" inputmode=\"decimal\" autocomplete=\"off\"></p>\
         <p><label for=\"f-lon\">{lon}</label><br><input id=\"f-lon\" name=\"lon\" value=\"{v_lon}\" inputmode=\"decimal\" autocomplete=\"off\"></p>\
         <p><input type=\"checkbox\" id=\"f-public\" name=\"public\"{v_public}> <label for=\"f-public\">{public}</label></p>\
         <p><button type=\"submit\">{save}</button></p></form>",
        lat = lang.t("Breite (WGS 84, z. B. 54.6921)", "Latitude (WGS 84, e.g. 54.6921)"),
        lon = lang.t("Länge (WGS 84, z. B. 8.5702)", "Longitude (WGS 84, e.g. 8.5702)"),
        public = lang.t(
            "öffentlich (Werte erscheinen auf den Seiten und in den offenen Daten)",
            "public (values appear on the pages and in the open data)"
        ),
        save = lang.t("Speichern", "Save"),
    );
    // Removing the device being edited: its readings stay with the station.
    if let Some(d) = editing {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/admin/devices/remove\" class=\"device-remove\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"dev_eui\" value=\"{eui}\">\
             <p><input type=\"checkbox\" id=\"f-confirm\" name=\"confirm\" required> \
             <label for=\"f-confirm\">{confirm}</label></p>\
             <p><button type=\"submit\">{remove}</button></p></form>",
            eui = escape(&d.dev_eui),
            confirm = lang.t(
                "Ja, dieses Gerät aus der Registrierung entfernen (seine Messwerte bleiben bei der Station)",
                "Yes, remove this device from the registry (its readings stay with the station)"
            ),
            remove = lang.t("Gerät entfernen", "Remove device"),
        );
    }
    let _ = write!(
        body,
        "</section><section aria-labelledby=\"unknown\">\
         <h2 id=\"unknown\">{}</h2><div class=\"scroll\"><table id=\"unknown-devices\">\
         <thead><tr><th scope=\"col\">DevEUI / DevAddr</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th></tr></thead><tbody>",
        lang.t("Unbekannte Geräte", "Unknown devices"),
        lang.t("Nachrichten", "Messages"),
        lang.t("Zuletzt", "Last seen"),
    );
    for u in &unknown {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&u.dev_eui),
            u.uplinks,
            when(lang, Some(u.last_seen_ms))
        );
    }
    let _ = write!(
        body,
        "</tbody></table></div></section><section aria-labelledby=\"letters\">\
         <h2 id=\"letters\">{}</h2><div class=\"scroll\">\
         <table id=\"dead-letters\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">Topic</th><th scope=\"col\">Detail</th></tr></thead><tbody>",
        lang.t(
            "Abgewiesene Nachrichten (neueste 50)",
            "Rejected messages (newest 50)"
        ),
        lang.t("Zeit", "Time"),
        lang.t("Grund", "Reason"),
    );
    for l in &letters {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(lang, Some(l.time_ms)),
            l.reason,
            escape(&l.topic),
            escape(&l.detail)
        );
    }
    body.push_str("</tbody></table></div></section>");
    let mut response = no_store(Html(admin_page(lang, title, &body)).into_response());
    remember_lang(&query, &mut response);
    response
}
