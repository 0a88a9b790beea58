//! Security headers on every response: a Content-Security-Policy without inline script (the
//! pages load their scripts from `/assets/` only), no content sniffing, no referrer to other
//! sites, and framing only by the origins `http.frame_ancestors` names (the technicians'
//! pages by nobody).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The headers, built once from the config.
#[derive(Clone)]
pub struct SecurityHeaders {
    pub(crate) csp: HeaderValue,
    /// The same policy without framing, for `/admin`.
    admin_csp: HeaderValue,
}

impl SecurityHeaders {
    pub fn new(http: &crate::HttpConfig) -> Self {
        let tiles = http
            .tile_origin()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        let policy = |ancestors: &str| {
            format!(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
                 connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors {ancestors}"
            )
        };
        let csp = policy(&http.frame_ancestors);
        SecurityHeaders {
            // Logged-in pages are never framed, whatever the public pages allow (clickjacking).
            admin_csp: HeaderValue::from_str(&policy("'none'")).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
            }),
            // The config check refuses control characters, so this only fails on a config that
            // was never checked; then the strictest policy stands in.
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'")
            }),
        }
    }
}

pub async fn add(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admin = request.uri().path().starts_with("/admin");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if admin {
        &state.security_headers.admin_csp
    } else {
        &state.security_headers.csp
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}
