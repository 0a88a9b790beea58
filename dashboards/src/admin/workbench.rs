//! The technicians' workbench page: silent devices, low batteries, device health, publication, unmapped fields, the device form, dead letters.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use sensorhub_store::{DeadLetter, Device, DeviceHealth, DeviceType, UnknownDevice, UnmappedField};

use super::auth::AdminSession;
use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, remember_lang, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

fn when(lang: Lang, ms: Option<i64>) -> String {
    ms.map(|ms| sensorhub_store::time::format_rfc3339(ms)[..16].replace('T', " ") + " UTC")
        .unwrap_or_else(|| lang.t("nie", "never").into())
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// A battery in percent (as reported, else from the voltage on its device type's curve), with
/// the voltage where there is one.
fn battery(d: &DeviceHealth, batteries: &sensorhub_store::Batteries) -> String {
    let percent = d
        .battery_percent(batteries)
        .map(|(p, _)| format!("{p:.0} %"));
    let volts = d.battery_voltage.map(|v| format!("{v:.2} V"));
    match (percent, volts) {
        (Some(p), Some(v)) => format!("{p} ({v})"),
        (Some(p), None) => p,
        _ => "–".into(),
    }
}

/// A table head of (German, English) column names.
fn head(lang: Lang, columns: &[(&str, &str)]) -> Markup {
    html! {
        thead { tr { @for (de, en) in columns { th scope="col" { (lang.t(de, en)) } } } }
    }
}

fn none(lang: Lang) -> Markup {
    html! { p { (lang.t("Keine.", "None.")) } }
}

/// Everything the page shows, read from the store at once.
struct Seen {
    health: Vec<DeviceHealth>,
    unknown: Vec<UnknownDevice>,
    letters: Vec<DeadLetter>,
    devices: Vec<Device>,
    stations: Vec<sensorhub_store::Station>,
    unmapped: Vec<UnmappedField>,
    /// Open low-battery alerts (from `run`'s alert checks): DevEUI and since when.
    low_battery: Vec<(String, i64)>,
}

pub(super) async fn workbench(
    session: AdminSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let lang = choose_lang(&query, &headers);
    let now = sensorhub_store::time::now_ms();
    let store = state.store.state();
    let seen = Seen {
        health: store.device_health(now - 7 * 86_400_000).await?,
        unknown: store.unknown_devices().await?,
        letters: store.dead_letters(50).await?,
        devices: store.devices().await?,
        stations: store.stations().await?,
        unmapped: store.unmapped_fields(None).await?,
        low_battery: store
            .open_alerts()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, kind, _)| *kind == sensorhub_store::AlertKind::LowBattery)
            .map(|(eui, _, since)| (eui, since))
            .collect(),
    };
    let title = lang.t("Geräte", "Devices");
    let editing = query.edit.as_deref().and_then(|eui| {
        let eui: sensorhub_core::DevEui = eui.trim().parse().ok()?;
        seen.devices.iter().find(|d| d.dev_eui == eui)
    });
    let main = html! {
        h1 { (title) }
        form method="post" action="/admin/logout" class="logout" {
            input type="hidden" name="csrf" value=(session.csrf());
            span { (lang.t("Angemeldet", "Logged in")) ": " (session.user) }
            " "
            button type="submit" { (lang.t("Abmelden", "Log out")) }
        }
        nav aria-label=(lang.t("Technik", "Technicians")) {
            ul.ranges {
                li { a href="/admin/gateways" { (lang.t("Gateways", "Gateways")) } }
                li { a href="/admin/map" { (lang.t("Karte", "Map")) } }
            }
        }
        (ingest_status(&state, lang))
        (alerts(&state, lang, &seen, now))
        (health(lang, &seen.health, &state.batteries))
        (unmapped(lang, &seen.unmapped))
        section aria-labelledby="registry" {
            (publication(lang, &seen.devices, session.csrf()))
            (device_form(lang, editing, session.csrf()))
        }
        (super::stations::section(lang, &seen.stations, query.station.as_deref(), session.csrf()))
        (unknown(lang, &seen.unknown))
        (dead_letters(lang, &seen.letters))
    };
    let page = layout::admin(lang, title, main).into_string();
    let mut response = no_store(Html(page).into_response());
    remember_lang(&query, &mut response);
    Ok(response)
}

/// Why nothing is coming in, when the gateway running here is not ready: first on the page,
/// since every other section would only show its consequences (silent devices).
fn ingest_status(state: &AppState, lang: Lang) -> Markup {
    let Some(reason) = state.metrics.as_ref().and_then(|m| m.not_ready()) else {
        return html! {};
    };
    html! {
        section.alerts aria-labelledby="ingest-status" {
            h2 id="ingest-status" { (lang.t("Datenempfang unterbrochen", "Ingestion interrupted")) }
            p role="alert" { (lang.t(reason.german(), reason.english())) }
        }
    }
}

/// Silent devices and open low-battery alerts.
fn alerts(state: &AppState, lang: Lang, seen: &Seen, now: i64) -> Markup {
    let silent_ms = state.http.silent_after.as_ms_i64();
    let silent: Vec<_> = seen
        .health
        .iter()
        .filter(|d| d.last_seen_ms.is_none_or(|t| now - t > silent_ms))
        .collect();
    html! {
        section aria-labelledby="alerts" {
            h2 id="alerts" {
                (lang.t("Stille Geräte (nichts seit", "Silent devices (nothing for")) " "
                (state.http.silent_after) ")"
            }
            @if silent.is_empty() {
                (none(lang))
            } @else {
                ul.alerts id="silent" {
                    @for d in silent {
                        li {
                            strong { (d.name) } " (" (d.dev_eui) ", " (lang.t("Station", "station")) " "
                            (d.station) "): " (lang.t("zuletzt", "last heard")) " " (when(lang, d.last_seen_ms))
                        }
                    }
                }
            }
            @if !seen.low_battery.is_empty() {
                h3 { (lang.t("Batterie schwach", "Battery low")) }
                ul.alerts id="low-battery" {
                    @for (eui, since) in &seen.low_battery {
                        @let device = seen.health.iter().find(|d| &d.dev_eui == eui);
                        li {
                            strong { (device.map_or(eui.as_str(), |d| d.name.as_str())) }
                            " (" (eui) ", " (lang.t("Station", "station")) " "
                            (device.map_or("–", |d| d.station.as_str())) "): "
                            (device.map_or_else(|| "–".to_owned(), |d| battery(d, &state.batteries))) ", "
                            (lang.t("gemeldet", "reported")) " " (when(lang, Some(*since)))
                        }
                    }
                }
            }
        }
    }
}

fn health(lang: Lang, health: &[DeviceHealth], batteries: &sensorhub_store::Batteries) -> Markup {
    let columns = [
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
    ];
    html! {
        section aria-labelledby="health" {
            h2 id="health" { (lang.t("Zustand (7 Tage)", "Health (7 days)")) }
            div.scroll {
                table id="device-health" {
                    (head(lang, &columns))
                    tbody {
                        @for d in health {
                            tr {
                                th scope="row" { (d.name) }
                                td { a href={ "/admin/devices/" (crate::html::i18n::url_part(&d.dev_eui)) } { (d.dev_eui) } }
                                td { (d.station) }
                                td { (when(lang, d.last_seen_ms)) }
                                td { (d.uplinks) }
                                td { (d.packet_loss.map_or_else(|| "–".into(), |l| format!("{:.1} %", l * 100.0))) }
                                td { (opt(d.rssi, 0)) }
                                td { (opt(d.snr, 1)) }
                                td { (d.gateway_count.map_or("–".into(), |g| g.to_string())) }
                                td { (battery(d, batteries)) }
                                td { (d.decode_errors) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Numeric codec fields that became no reading, per device, with a rule to paste.
fn unmapped(lang: Lang, fields: &[UnmappedField]) -> Markup {
    let columns = [
        ("DevEUI", "DevEUI"),
        ("Feld", "Field"),
        ("Letzter Wert", "Last value"),
        ("Gesehen", "Seen"),
        ("Zuletzt", "Last seen"),
        ("Grund", "Why"),
        ("Vorgeschlagene Regel", "Suggested rule"),
    ];
    html! {
        section aria-labelledby="unmapped" {
            h2 id="unmapped" { (lang.t("Nicht zugeordnete Felder", "Unmapped fields")) }
            p {
                (lang.t(
                    "Zahlen aus der Ausgabe eines Decoders, die kein Messwert wurden: Name oder Einheit \
                     sind unbekannt. Die vorgeschlagene Regel gehört nach Prüfung am Datenblatt in die \
                     Konfiguration. Diese Felder sind nie öffentlich.",
                    "Numbers in a codec's output that became no reading: their name or unit is unknown. \
                     Check the suggested rule against the datasheet, then add it to the config. These \
                     fields are never public."
                ))
            }
            @if fields.is_empty() {
                (none(lang))
            } @else {
                div.scroll {
                    table id="unmapped-fields" {
                        (head(lang, &columns))
                        tbody {
                            @for f in fields {
                                tr {
                                    td { (f.dev_eui) }
                                    th scope="row" { (f.field) }
                                    td { (f.shown_value()) }
                                    td { (f.seen) }
                                    td { (when(lang, Some(f.last_seen_ms))) }
                                    td { (f.why) }
                                    td { pre { code { (f.suggested_rule()) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Which devices are public, with a button to change it and a link to edit each.
fn publication(lang: Lang, devices: &[Device], csrf: &str) -> Markup {
    let edit = lang.t("Bearbeiten", "Edit");
    html! {
        h2 id="registry" { (lang.t("Veröffentlichung", "Publication")) }
        p {
            (lang.t(
                "Eine Station erscheint auf den öffentlichen Seiten, in der API und in den offenen \
                 Daten nur, solange alle ihre Geräte öffentlich sind.",
                "A station appears on the public pages, in the API and in the open data only while \
                 all of its devices are public."
            ))
        }
        div.scroll {
            table id="publication" {
                thead {
                    tr {
                        th scope="col" { (lang.t("Gerät", "Device")) }
                        th scope="col" { "DevEUI" }
                        th scope="col" { "Station" }
                        th scope="col" { (lang.t("Öffentlich", "Public")) }
                        th scope="col" { (lang.t("Ändern", "Change")) }
                    }
                }
                tbody {
                    @for d in devices {
                        @let (state_text, action, next) = if d.public {
                            (lang.t("ja", "yes"), lang.t("Zurückziehen", "Withdraw"), "false")
                        } else {
                            (lang.t("nein", "no"), lang.t("Veröffentlichen", "Publish"), "true")
                        };
                        tr {
                            th scope="row" { (d.name) }
                            td { (d.dev_eui) }
                            td { (d.station) }
                            td { (state_text) }
                            td {
                                form method="post" action="/admin/devices/public" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="dev_eui" value=(d.dev_eui);
                                    input type="hidden" name="public" value=(next);
                                    button type="submit" aria-label={ (action) ": " (d.name) } { (action) }
                                }
                                " "
                                a href={ "/admin?edit=" (d.dev_eui) "#devices-form" } aria-label={ (edit) ": " (d.name) } {
                                    (edit)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form to add or change a device (filled in with the device being edited), and the
/// form to remove that device.
fn device_form(lang: Lang, editing: Option<&Device>, csrf: &str) -> Markup {
    let text = |f: fn(&Device) -> String| editing.map(f).unwrap_or_default();
    let chosen = editing.map_or(&DeviceType::CayenneLpp, |d| &d.device_type);
    let eui_hint = lang.t("16 Hex-Ziffern", "16 hex digits");
    html! {
        h3 id="devices-form" { (lang.t("Gerät anlegen oder ändern", "Add or change a device")) }
        p {
            a href="/admin/devices/import" { (lang.t("Viele Geräte auf einmal: CSV- oder JSON-Datei importieren", "Many devices at once: import a CSV or JSON file")) }
        }
        p {
            (lang.t(
                "Mit der DevEUI eines vorhandenen Geräts werden dessen Angaben ersetzt; \
                 ABP-Schlüssel bleiben erhalten (sie werden nur auf der Kommandozeile gesetzt).",
                "With the DevEUI of an existing device its details are replaced; ABP keys stay \
                 (they are set on the command line only)."
            ))
        }
        @if matches!(chosen, DeviceType::Js(_)) {
            p.error role="alert" {
                (lang.t(
                    "Dieses Gerät nutzt einen JavaScript-Decoder: Änderungen bitte mit \
                     `sensorhub devices add`, sonst wird der Decoder ersetzt.",
                    "This device uses a JavaScript decoder: change it with `sensorhub devices add`, \
                     or the decoder is replaced."
                ))
            }
        }
        form method="post" action="/admin/devices" class="device-form" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="f-eui" { "DevEUI (" (eui_hint) ")" }
                br;
                input id="f-eui" name="dev_eui" value=(text(|d| d.dev_eui.to_string())) required
                    pattern="[0-9A-Fa-f]{16}" title=(eui_hint) autocomplete="off" spellcheck="false";
            }
            p {
                label for="f-name" { (lang.t("Name (leer: wie die Station)", "Name (empty: as the station)")) }
                br;
                input id="f-name" name="name" value=(text(|d| d.name.clone())) autocomplete="off";
            }
            p {
                label for="f-station" { "Station" }
                br;
                input id="f-station" name="station" value=(text(|d| d.station.clone())) required autocomplete="off";
            }
            p {
                label for="f-type" { (lang.t("Gerätetyp (Decoder)", "Device type (decoder)")) }
                br;
                select id="f-type" name="device_type" {
                    @for t in sensorhub_core::device_type::BUILT_IN {
                        option selected[*t == chosen.as_str()] { (t) }
                    }
                }
            }
            p {
                label for="f-lat" { (lang.t("Breite (WGS 84, z. B. 54.6921)", "Latitude (WGS 84, e.g. 54.6921)")) }
                br;
                input id="f-lat" name="lat" value=(text(|d| d.lat.map(|v| v.to_string()).unwrap_or_default()))
                    inputmode="decimal" autocomplete="off";
            }
            p {
                label for="f-lon" { (lang.t("Länge (WGS 84, z. B. 8.5702)", "Longitude (WGS 84, e.g. 8.5702)")) }
                br;
                input id="f-lon" name="lon" value=(text(|d| d.lon.map(|v| v.to_string()).unwrap_or_default()))
                    inputmode="decimal" autocomplete="off";
            }
            p {
                input type="checkbox" id="f-public" name="public" checked[editing.is_some_and(|d| d.public)];
                " "
                label for="f-public" {
                    (lang.t(
                        "öffentlich (Werte erscheinen auf den Seiten und in den offenen Daten)",
                        "public (values appear on the pages and in the open data)"
                    ))
                }
            }
            p { button type="submit" { (lang.t("Speichern", "Save")) } }
        }
        // Removing the device being edited: its readings stay with the station.
        @if let Some(d) = editing {
            form method="post" action="/admin/devices/remove" class="device-remove" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="dev_eui" value=(d.dev_eui);
                p {
                    input type="checkbox" id="f-confirm" name="confirm" required;
                    " "
                    label for="f-confirm" {
                        (lang.t(
                            "Ja, dieses Gerät aus der Registrierung entfernen (seine Messwerte bleiben bei der Station)",
                            "Yes, remove this device from the registry (its readings stay with the station)"
                        ))
                    }
                }
                p { button type="submit" { (lang.t("Gerät entfernen", "Remove device")) } }
            }
        }
    }
}

fn unknown(lang: Lang, unknown: &[UnknownDevice]) -> Markup {
    html! {
        section aria-labelledby="unknown" {
            h2 id="unknown" { (lang.t("Unbekannte Geräte", "Unknown devices")) }
            div.scroll {
                table id="unknown-devices" {
                    (head(lang, &[("DevEUI / DevAddr", "DevEUI / DevAddr"), ("Nachrichten", "Messages"), ("Zuletzt", "Last seen")]))
                    tbody {
                        @for u in unknown {
                            tr { td { (u.dev_eui) } td { (u.uplinks) } td { (when(lang, Some(u.last_seen_ms))) } }
                        }
                    }
                }
            }
        }
    }
}

fn dead_letters(lang: Lang, letters: &[DeadLetter]) -> Markup {
    html! {
        section aria-labelledby="letters" {
            h2 id="letters" { (lang.t("Abgewiesene Nachrichten (neueste 50)", "Rejected messages (newest 50)")) }
            div.scroll {
                table id="dead-letters" {
                    (head(lang, &[("Zeit", "Time"), ("Grund", "Reason"), ("Topic", "Topic"), ("Detail", "Detail")]))
                    tbody {
                        @for l in letters {
                            tr {
                                td { (when(lang, Some(l.time_ms))) }
                                td { (l.reason.as_str()) }
                                td { (l.topic) }
                                td { (l.detail) }
                            }
                        }
                    }
                }
            }
        }
    }
}
