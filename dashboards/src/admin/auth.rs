//! Who may see the technicians' pages and API: argon2 password hashes from the config, login
//! sessions kept in the store (the cookie's value only as a hash), CSRF tokens on every form,
//! attempts limited per client address, and the bearer token of the JSON API. Handlers ask for
//! an [`AdminSession`] or an [`AdminToken`] among their arguments; without one they never run.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;

use super::no_store;
use crate::error::AppError;
use crate::html::i18n::{choose_lang, remember_lang, Lang, PageQuery};
use crate::html::layout;
use crate::AppState;

const SESSION_COOKIE: &str = "sh_session";
const CSRF_COOKIE: &str = "sh_login_csrf";
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

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

/// Compares in time independent of where the bytes differ.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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

/// Login sessions, kept in the store so that a restart logs nobody out. The cookie's value is
/// stored only as a hash; a session ends when it expires, on logout, when its user leaves
/// `[[http.users]]`, or when that user's password hash changes.
struct Sessions;

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
        same(account.as_bytes(), session.account.as_bytes()).then_some((session.user, session.csrf))
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

/// A technician's live session: a handler that takes one runs only for a logged-in user
/// (everyone else goes to the login page). Forms prove they came from the session's own pages
/// with [`AdminSession::check`].
pub(crate) struct AdminSession {
    pub(crate) user: String,
    id: String,
    csrf: String,
}

impl AdminSession {
    /// The CSRF token the session's forms carry.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Refuses (403) a form without the session's CSRF token.
    pub(crate) fn check(&self, csrf: &str) -> Result<(), AppError> {
        if same(self.csrf.as_bytes(), csrf.as_bytes()) {
            Ok(())
        } else {
            Err(AppError::BadCsrf)
        }
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let id = cookie(&parts.headers, SESSION_COOKIE).unwrap_or("");
        match Sessions::get(state, id).await {
            Some((user, csrf)) => Ok(AdminSession {
                user,
                id: id.to_owned(),
                csrf,
            }),
            None => Err(AppError::LoginNeeded),
        }
    }
}

/// A request of the technicians' JSON API with the configured bearer token. Wrong tokens count
/// against the client like failed logins (`http.login_attempts_*`); beyond them the answer is
/// 429 without looking at the token, so guessing one stays slow.
pub(crate) struct AdminToken;

impl FromRequestParts<AppState> for AdminToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) = &state.admin_token else {
            return Err(AppError::AdminApiOff);
        };
        let headers = &parts.headers;
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| crate::limits::client_ip(c.0.ip(), headers, &state.http.trusted_proxies));
        // A token is taken first and given back when the bearer token is right, so parallel
        // guesses cannot all pass a check before any of them is counted.
        let now = Instant::now();
        if let Some(Err(wait)) = client.map(|ip| state.login_limiter.take(ip, now)) {
            return Err(AppError::TooMany {
                retry_after_s: wait,
                text: "too many wrong tokens from this address; try again later\n",
            });
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if same(given.as_bytes(), token.as_bytes()) {
            if let Some(ip) = client {
                state.login_limiter.give_back(ip);
            }
            Ok(AdminToken)
        } else {
            if let Some(ip) = client {
                tracing::warn!(client = %ip, "admin API: wrong bearer token");
            }
            Err(AppError::BadToken)
        }
    }
}

fn login_page(state: &AppState, lang: Lang, error: Option<&str>, status: StatusCode) -> Response {
    let csrf = random_token();
    let title = lang.t("Anmeldung", "Log in");
    let main = html! {
        h1 { (title) }
        @if state.http.users.is_empty() {
            @match lang {
                Lang::De => p {
                    "Es ist kein Zugang eingerichtet: " code { "[[http.users]]" }
                    " mit einem Hash von " code { "sensorhub admin hash-password" } "."
                },
                Lang::En => p {
                    "No account is set up: " code { "[[http.users]]" }
                    " with a hash from " code { "sensorhub admin hash-password" } "."
                },
            }
        }
        @if let Some(e) = error {
            p.error role="alert" { (e) }
        }
        form method="post" action="/admin/login" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="user" { (lang.t("Benutzer", "User")) }
                br;
                input id="user" name="user" autocomplete="username" required;
            }
            p {
                label for="password" { (lang.t("Passwort", "Password")) }
                br;
                input id="password" name="password" type="password" autocomplete="current-password" required;
            }
            p { button type="submit" { (lang.t("Anmelden", "Log in")) } }
        }
    };
    let page = layout::admin(lang, title, main).into_string();
    let mut response = (status, Html(page)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(state, CSRF_COOKIE, &csrf, 3600),
    );
    no_store(response)
}

pub(super) async fn login_form(
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
pub(super) struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

/// A hash to verify against when the user is unknown, so that the answer takes as long.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user"))
}

pub(super) async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
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
            return Ok(response);
        }
    }
    let expected = cookie(&headers, CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same(expected.as_bytes(), form.csrf.as_bytes()) {
        return Ok(login_page(
            &state,
            lang,
            Some(lang.t(
                "Das Formular ist abgelaufen; bitte erneut anmelden.",
                "The form has expired; please log in again.",
            )),
            StatusCode::FORBIDDEN,
        ));
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
        return Ok(login_page(
            &state,
            lang,
            Some(lang.t("Benutzer oder Passwort falsch.", "Wrong user or password.")),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let account = user.map_or("", |u| u.password_hash.as_str());
    let id = Sessions::create(&state, &form.user, account).await?;
    tracing::info!(user = %form.user, "admin login");
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &id, SESSION_TTL.as_secs()),
    );
    h.append(header::SET_COOKIE, set_cookie(&state, CSRF_COOKIE, "", 0));
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<AppState>,
    session: AdminSession,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AppError> {
    session.check(&form.csrf)?;
    Sessions::remove(&state, &session.id).await;
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin/login")]).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    Ok(response)
}
