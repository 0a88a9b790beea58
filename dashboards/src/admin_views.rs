//! The technicians' pages under `/admin`: a login (argon2 password hashes from the config,
//! attempts limited per address), a session cookie (HttpOnly, SameSite=Strict, Secure unless
//! switched off; sessions kept in the store as hashes), CSRF tokens on every form, and one
//! workbench page with silent-device and battery alerts, device health, publication switches,
//! a form to register, change or remove devices, unknown devices and dead letters. German by
//! default, English by choice. Nothing here is public: every page without a session redirects
//! to the login.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;

use crate::pages::{choose_lang, escape, remember_lang, Lang, PageQuery};
use crate::AppState;

const SESSION_COOKIE: &str = "sh_session";
const CSRF_COOKIE: &str = "sh_login_csrf";
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(workbench))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", axum::routing::post(logout))
        .route("/admin/devices/public", axum::routing::post(set_public))
        .route("/admin/devices", axum::routing::post(save_device))
        .route("/admin/devices/remove", axum::routing::post(remove_device))
}

/// An argon2id hash (PHC string) of `password` with a random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// A fresh password of 16 letters and digits (none that look alike), for demo accounts.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXYZ234679";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Login sessions, kept in the store so that a restart logs nobody out. The cookie's value is
/// stored only as a hash; a session ends when it expires, on logout, when its user leaves
/// `[[http.users]]`, or when that user's password hash changes.
pub struct Sessions;

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sessions {
    /// A new session for `user`: the cookie value.
    async fn create(
        state: &AppState,
        user: &str,
        password_hash: &str,
    ) -> Result<String, sensorhub_store::StoreError> {
        let id = random_token();
        let session = sensorhub_store::AdminSession {
            id_hash: sha256_hex(&id),
            user: user.to_owned(),
            account: sha256_hex(password_hash),
            csrf: random_token(),
            expires_ms: sensorhub_store::time::now_ms() + SESSION_TTL.as_millis() as i64,
        };
        state.store.state().put_admin_session(session).await?;
        Ok(id)
    }

    /// The user and CSRF token of a live session whose account is unchanged.
    async fn get(state: &AppState, id: &str) -> Option<(String, String)> {
        if id.is_empty() {
            return None;
        }
        let session = match state.store.state().admin_session(&sha256_hex(id)).await {
            Ok(s) => s?,
            Err(e) => {
                tracing::error!(error = %e, "cannot read admin sessions");
                return None;
            }
        };
        let account = state
            .http
            .users
            .iter()
            .find(|u| u.name == session.user)
            .map(|u| sha256_hex(&u.password_hash))?;
        same(&account, &session.account).then_some((session.user, session.csrf))
    }

    async fn remove(state: &AppState, id: &str) {
        if let Err(e) = state
            .store
            .state()
            .remove_admin_session(&sha256_hex(id))
            .await
        {
            tracing::error!(error = %e, "cannot remove the admin session");
        }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.http.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

fn admin_page(lang: Lang, title: &str, body: &str) -> String {
    let (code, other, other_label) = match lang {
        Lang::De => ("de", "en", "English"),
        Lang::En => ("en", "de", "Deutsch"),
    };
    let site = lang.t("sensorhub – Technik", "sensorhub – technicians");
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} – sensorhub</title>\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/assets/style.css\"><link rel=\"stylesheet\" href=\"/assets/admin.css\">\
         </head><body><header><p class=\"site\">{site}</p>\
         <p class=\"lang\"><a href=\"?lang={other}\" lang=\"{other}\" hreflang=\"{other}\">{other_label}</a></p></header>\
         <main id=\"main\">{body}</main></body></html>"
    )
}

/// 503 for a store that failed a technician's request; the reason goes to the log.
fn store_unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "admin page cannot use the store");
    (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn login_page(state: &AppState, lang: Lang, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = random_token();
    let title = lang.t("Anmeldung", "Log in");
    let mut body = format!("<h1>{title}</h1>");
    if state.http.users.is_empty() {
        body.push_str(lang.t(
            "<p>Es ist kein Zugang eingerichtet: <code>[[http.users]]</code> mit einem Hash von \
             <code>sensorhub admin hash-password</code>.</p>",
            "<p>No account is set up: <code>[[http.users]]</code> with a hash from \
             <code>sensorhub admin hash-password</code>.</p>",
        ));
    }
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", escape(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/admin/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <p><label for=\"user\">{user}</label><br><input id=\"user\" name=\"user\" autocomplete=\"username\" required></p>\
         <p><label for=\"password\">{password}</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
         <p><button type=\"submit\">{submit}</button></p></form>",
        user = lang.t("Benutzer", "User"),
        password = lang.t("Passwort", "Password"),
        submit = lang.t("Anmelden", "Log in"),
    );
    let mut response = (status, Html(admin_page(lang, title, &body))).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(state, CSRF_COOKIE, &csrf, 3600),
    );
    no_store(response)
}

async fn login_form(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = choose_lang(&query, &headers);
    let mut response = login_page(&state, lang, None, StatusCode::OK);
    remember_lang(&query, &mut response);
    response
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

/// A hash to verify against when the user is unknown, so that the answer takes as long.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user"))
}

async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = choose_lang(&PageQuery::default(), &headers);
    if let Some(ConnectInfo(address)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        let ip = crate::limits::client_ip(address.ip(), &headers, &state.http.trusted_proxies);
        let now = Instant::now();
        let wait = state
            .limiter
            .take(ip, now)
            .and_then(|()| state.login_limiter.take(ip, now));
        if let Err(wait) = wait {
            tracing::warn!(client = %ip, user = %form.user, "admin login refused: too many attempts");
            let minutes = (wait / 60.0).ceil().max(1.0);
            let message = match lang {
                Lang::De => format!(
                    "Zu viele Anmeldeversuche von dieser Adresse; bitte in {minutes} \
                     Minute(n) erneut versuchen."
                ),
                Lang::En => format!(
                    "Too many login attempts from this address; please try again in \
                     {minutes} minute(s)."
                ),
            };
            let mut response =
                login_page(&state, lang, Some(&message), StatusCode::TOO_MANY_REQUESTS);
            if let Ok(value) = HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0))) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    let expected = cookie(&headers, CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same(expected, &form.csrf) {
        return login_page(
            &state,
            lang,
            Some(lang.t(
                "Das Formular ist abgelaufen; bitte erneut anmelden.",
                "The form has expired; please log in again.",
            )),
            StatusCode::FORBIDDEN,
        );
    }
    let user = state.http.users.iter().find(|u| u.name == form.user);
    let hash = user.map_or(dummy_hash(), |u| u.password_hash.as_str());
    let password = form.password.clone();
    let hash = hash.to_owned();
    let verified = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    if !(verified && user.is_some()) {
        tracing::warn!(user = %form.user, "failed admin login");
        return login_page(
            &state,
            lang,
            Some(lang.t("Benutzer oder Passwort falsch.", "Wrong user or password.")),
            StatusCode::UNAUTHORIZED,
        );
    }
    let account = user.map_or("", |u| u.password_hash.as_str());
    let id = match Sessions::create(&state, &form.user, account).await {
        Ok(id) => id,
        Err(e) => return store_unavailable(e),
    };
    tracing::info!(user = %form.user, "admin login");
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &id, SESSION_TTL.as_secs()),
    );
    h.append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, "", 0));
    response
}

/// The session behind a form: its user and id, when the cookie names a live session and the
/// form carries that session's CSRF token. Otherwise the answer to give: to the login without
/// a session, 403 with a wrong token.
async fn form_session(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(String, String), Response> {
    let id = cookie(headers, SESSION_COOKIE).unwrap_or("");
    match Sessions::get(state, id).await {
        Some((user, expected)) if same(&expected, csrf) => Ok((user, id.to_owned())),
        Some(_) => Err((StatusCode::FORBIDDEN, "invalid or missing CSRF token\n").into_response()),
        None => Err((StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login")]).into_response()),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    match form_session(&state, &headers, &form.csrf).await {
        Ok((_, id)) => {
            Sessions::remove(&state, &id).await;
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login")]).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, "", 0),
            );
            response
        }
        Err(refusal) => refusal,
    }
}

#[derive(Deserialize)]
struct PublicForm {
    csrf: String,
    dev_eui: String,
    /// `true` to publish the device's station, `false` to withdraw it.
    public: String,
}

/// `POST /admin/devices/public`: a technician publishes or withdraws a device's values. A
/// station is public only while every device reporting under it is.
async fn set_public(
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

/// `POST /admin/devices`: registers a device or changes one, as `sensorhub devices add` does.
/// An existing device keeps its ABP session keys (they are set on the command line only).
async fn save_device(
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
        if !sensorhub_core::device_type::BUILT_IN.contains(&form.device_type.trim()) {
            return Err(format!(
                "device_type `{}`: choose one of the listed decoders (JavaScript codecs are \
                 set with `sensorhub devices add`)",
                form.device_type
            ));
        }
        let lat = coordinate(&form.lat, "lat", 90.0)?;
        let lon = coordinate(&form.lon, "lon", 180.0)?;
        (sensorhub_store::Device {
            dev_eui: form.dev_eui.clone(),
            name: form.name.trim().to_owned(),
            station: form.station.trim().to_owned(),
            device_type: form.device_type.trim().to_owned(),
            lat,
            lon,
            public: form.public.is_some(),
            dev_addr: None,
            nwk_s_key: None,
            app_s_key: None,
        })
        .validate()
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

#[derive(Deserialize)]
struct RemoveForm {
    csrf: String,
    dev_eui: String,
    /// The confirmation checkbox: without it nothing is removed.
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /admin/devices/remove`: takes a device out of the registry, as
/// `sensorhub devices remove` does; its readings stay with the station.
async fn remove_device(
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
        let unit = f
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let rule = f.suggested_rule();
        let _ = write!(
            body,
            "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><pre><code>{}</code></pre></td></tr>",
            escape(&f.dev_eui),
            escape(&f.field),
            f.last_value,
            escape(&unit),
            f.seen,
            when(lang, Some(f.last_seen_ms)),
            escape(&f.why),
            escape(&rule),
        );
    }
    body.push_str("</tbody></table></div></section>");
}

async fn workbench(
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
        .filter(|(_, kind, _)| kind == "low_battery")
        .map(|(eui, _, since)| (eui, since))
        .collect();
    let silent_ms = crate::parse_duration_ms(&state.http.silent_after).unwrap_or(7_200_000);
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
        escape(&state.http.silent_after)
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
            escape(&l.reason),
            escape(&l.topic),
            escape(&l.detail)
        );
    }
    body.push_str("</tbody></table></div></section>");
    let mut response = no_store(Html(admin_page(lang, title, &body)).into_response());
    remember_lang(&query, &mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("Deich-2026!");
        assert!(hash.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"Deich-2026!", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"deich-2026!", &parsed)
            .is_err());
        assert_ne!(hash, hash_password("Deich-2026!"), "salted");
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "sh_session_x=1; sh_session=abc; lang=de".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "sh_session"), Some("abc"));
        assert_eq!(cookie(&h, "sh_login_csrf"), None);
    }
}
