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

mod workbench;
use workbench::workbench;

mod devices;
use devices::{remove_device, save_device, set_public};

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
