//! The one error type of every handler: what went wrong, and the answer the client gets for it.
//! A store failure is logged with its reason and answered 503 without it; everything else says
//! in a short text (or, under `/api/`, in JSON) what to change.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sensorhub_store::StoreError;

#[derive(Debug)]
pub(crate) enum AppError {
    /// The store failed: 503.
    Store(StoreError),
    /// `/api/`: a request that cannot be answered as asked (400, JSON `error`).
    ApiBadRequest(String),
    /// `/api/`: no such `what` (404, JSON `error`).
    ApiNotFound(&'static str),
    /// A request that cannot be answered as asked (400, text).
    BadRequest(&'static str),
    /// No such thing (404, text).
    NotFound(&'static str),
    /// A page that needs a technician's session, without one: to the login page.
    LoginNeeded,
    /// A form without its session's CSRF token (403).
    BadCsrf,
    /// The technicians' API without a configured token (404).
    AdminApiOff,
    /// The technicians' API with a wrong or missing bearer token (401).
    BadToken,
    /// A request body above its limit (413).
    TooLarge,
    /// Too many attempts from one client (429); seconds until the next may pass.
    TooMany {
        retry_after_s: f64,
        text: &'static str,
    },
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Store(e) => {
                tracing::error!(error = %e, "a request cannot use the store");
                (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
            }
            AppError::ApiBadRequest(message) => json_error(StatusCode::BAD_REQUEST, &message),
            AppError::ApiNotFound(what) => {
                json_error(StatusCode::NOT_FOUND, &format!("{what} not found"))
            }
            AppError::BadRequest(text) => (StatusCode::BAD_REQUEST, text).into_response(),
            AppError::NotFound(text) => (StatusCode::NOT_FOUND, text).into_response(),
            AppError::LoginNeeded => (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, HeaderValue::from_static("/admin/login")),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response(),
            AppError::BadCsrf => {
                (StatusCode::FORBIDDEN, "invalid or missing CSRF token\n").into_response()
            }
            AppError::AdminApiOff => (
                StatusCode::NOT_FOUND,
                "the admin API is off: set http.admin_token\n",
            )
                .into_response(),
            AppError::BadToken => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token is needed\n",
            )
                .into_response(),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is above the limit\n",
            )
                .into_response(),
            AppError::TooMany {
                retry_after_s,
                text,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    header::RETRY_AFTER,
                    format!("{}", retry_after_s.ceil().max(1.0)),
                )],
                text,
            )
                .into_response(),
        }
    }
}
