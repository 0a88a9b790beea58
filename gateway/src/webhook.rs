//! Webhooks in: The Things Stack's webhook (`POST /ingest/tts`, the uplink message JSON) and
//! ChirpStack's HTTP integration (`POST /ingest/chirpstack?event=up|status|...`, JSON, or
//! protobuf when its `Content-Type` says so), beside
//! MQTT, for network servers whose MQTT delivery is at most once.
//!
//! A post goes into the committer's queue like an MQTT message, so it gets the same parsing,
//! dead letters, metrics and limits, and it is answered only once what it produced is durably
//! committed: 200 stored (or skipped as a repeat), 202 kept as a dead letter, 400 for a body
//! that is not the format's JSON, 413 above `mqtt.max_message_bytes`, 503 while the store
//! cannot commit (nothing acknowledged, so the network server's retry delivers it again and
//! the repeat stores nothing twice). Each webhook has its own secret, sent as
//! `Authorization: Bearer <secret>` and compared in constant time; a missing or wrong secret is
//! 401, and a client that keeps failing gets 429 for a minute.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ingest::Outcome;
use crate::mqtt::Intake;
use crate::PayloadFormat;

/// `[ingest]`: what arrives other than over MQTT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    pub webhooks: Vec<WebhookConfig>,
}

/// `[[ingest.webhooks]]`: one network server's webhook and the variable holding its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub format: WebhookFormat,
    pub token_env: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    Tts,
    Chirpstack,
}

impl WebhookFormat {
    fn payload_format(self) -> PayloadFormat {
        match self {
            WebhookFormat::Tts => PayloadFormat::Tts,
            WebhookFormat::Chirpstack => PayloadFormat::Chirpstack,
        }
    }

    fn path(self) -> &'static str {
        match self {
            WebhookFormat::Tts => "/ingest/tts",
            WebhookFormat::Chirpstack => "/ingest/chirpstack",
        }
    }
}

/// The shortest secret accepted.
const MIN_SECRET: usize = 16;

impl IngestConfig {
    /// Each webhook's secret from its variable in `env`, checked: one webhook per format, a
    /// secret of at least 16 characters. Problems say the key, never the secret.
    pub fn secrets(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(WebhookFormat, Secret)>, Vec<String>> {
        let mut problems = Vec::new();
        let mut out: Vec<(WebhookFormat, Secret)> = Vec::new();
        for (i, hook) in self.webhooks.iter().enumerate() {
            let at = format!("ingest.webhooks[{i}]");
            if out.iter().any(|(f, _)| *f == hook.format) {
                problems.push(format!(
                    "{at}: a second webhook for the same format; one secret per format"
                ));
                continue;
            }
            match env(&hook.token_env) {
                Some(secret) if secret.trim().chars().count() >= MIN_SECRET => {
                    out.push((hook.format, Secret::new(secret.trim())))
                }
                Some(_) => problems.push(format!(
                    "{at}.token_env: the secret in {} is shorter than {MIN_SECRET} characters",
                    hook.token_env
                )),
                None => problems.push(format!(
                    "{at}.token_env: {} is not set; it must hold the webhook's secret",
                    hook.token_env
                )),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }
}

/// A webhook secret, kept only as its SHA-256, so comparing takes the same time whatever the
/// guess and the secret itself is never printed.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl Secret {
    pub fn new(secret: &str) -> Secret {
        Secret(Sha256::digest(secret.as_bytes()).into())
    }

    fn matches(&self, guess: &str) -> bool {
        let guess: [u8; 32] = Sha256::digest(guess.as_bytes()).into();
        guess.iter().zip(&self.0).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// Failed attempts a client may make per minute before it is refused for the rest of it.
const FAILURES_PER_MINUTE: u32 = 10;
/// Clients whose failures are remembered; beyond that the oldest are forgotten.
const REMEMBERED_CLIENTS: usize = 10_000;
/// How long a post waits for its commit before the answer is 503.
const COMMIT_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Hooks {
    intake: Intake,
    secrets: Arc<Vec<(WebhookFormat, Secret)>>,
    failures: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

/// The routes of the configured webhooks (none when there are none), for the HTTP server.
pub fn routes(intake: Intake, secrets: Vec<(WebhookFormat, Secret)>) -> Router {
    let formats: Vec<WebhookFormat> = secrets.iter().map(|(f, _)| *f).collect();
    let hooks = Hooks {
        intake,
        secrets: Arc::new(secrets),
        failures: Arc::new(Mutex::new(HashMap::new())),
    };
    let mut router = Router::new();
    for format in formats {
        router = router.route(
            format.path(),
            post(move |state: State<Hooks>, request: Request| receive(state, format, request)),
        );
    }
    router.with_state(hooks)
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn refusal(status: StatusCode, error: &str) -> Response {
    answer(status, serde_json::json!({ "error": error }))
}

async fn receive(State(hooks): State<Hooks>, format: WebhookFormat, request: Request) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = client {
        if hooks.refused(ip) {
            let mut r = refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed attempts; try again in a minute",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return r;
        }
    }
    let (parts, body) = request.into_parts();
    let secret = hooks
        .secrets
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, s)| s);
    let authorised = bearer(&parts.headers).is_some_and(|t| secret.is_some_and(|s| s.matches(t)));
    if !authorised {
        if let Some(ip) = client {
            hooks.failed(ip);
        }
        let mut r = refusal(
            StatusCode::UNAUTHORIZED,
            "missing or wrong secret: send Authorization: Bearer <secret>",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let protobuf = is_protobuf(&parts.headers);
    if protobuf && format == WebhookFormat::Tts {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The Things Stack's webhooks post JSON here; choose the JSON format",
        );
    }
    let limit = hooks.intake.max_message_bytes();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(limit);
    }
    let Ok(body) = to_bytes(Body::new(body), limit).await else {
        return too_large(limit);
    };
    let (topic, body) = match format {
        WebhookFormat::Tts => ("webhook/tts".to_owned(), body.to_vec()),
        WebhookFormat::Chirpstack => {
            let event = event(parts.uri.query()).unwrap_or("up");
            if event.is_empty()
                || event.len() > 16
                || !event.bytes().all(|b| b.is_ascii_lowercase())
            {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "event must be one of ChirpStack's event names (up, status, join, ...)",
                );
            }
            // The protobuf encoding, read into the JSON shape the same parser takes.
            let body = if protobuf && (event == "up" || event == "status") {
                match crate::formats::chirpstack_protobuf::to_json(event, &body) {
                    Ok(json) => json,
                    Err(e) => {
                        return answer(
                            StatusCode::BAD_REQUEST,
                            serde_json::json!({ "error": e.to_string(), "dead_letter": e.reason().as_str() }),
                        )
                    }
                }
            } else if protobuf {
                // Other events store nothing; the parser needs only their name.
                b"{}".to_vec()
            } else {
                body.to_vec()
            };
            (format!("webhook/chirpstack/event/{event}"), body)
        }
    };
    let submitted = hooks.intake.submit(topic, body, format.payload_format());
    match tokio::time::timeout(COMMIT_WAIT, submitted).await {
        Ok(Some(outcome)) => outcome_answer(outcome),
        Ok(None) => refusal(StatusCode::SERVICE_UNAVAILABLE, "the gateway is stopping"),
        Err(_) => {
            let mut r = refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot commit right now; nothing was acknowledged, send it again",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
            r
        }
    }
}

fn too_large(limit: usize) -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than mqtt.max_message_bytes ({limit} bytes)"),
    )
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether the body is protobuf, as its `Content-Type` says (ChirpStack sends
/// `application/octet-stream` with the protobuf encoding).
fn is_protobuf(headers: &HeaderMap) -> bool {
    let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let kind = kind
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    kind.contains("protobuf") || kind == "application/octet-stream"
}

/// `event` of the query string.
fn event(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "event")
        .map(|(_, v)| v)
}

fn outcome_answer(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Stored {
            readings,
            implausible,
        } => answer(
            StatusCode::OK,
            serde_json::json!({ "stored": readings, "implausible": implausible }),
        ),
        Outcome::Skipped => answer(StatusCode::OK, serde_json::json!({ "stored": 0 })),
        // Not the format at all: the sender's mistake, and sending it again will not help.
        Outcome::DeadLettered(
            reason @ (sensorhub_store::DeadLetterReason::BadJson
            | sensorhub_store::DeadLetterReason::MissingField
            | sensorhub_store::DeadLetterReason::BadField),
        ) => answer(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": reason.description(), "dead_letter": reason.as_str() }),
        ),
        // Kept for the technicians (an unknown device, a failing codec): accepted, so the
        // network server does not send it again.
        Outcome::DeadLettered(reason) => answer(
            StatusCode::ACCEPTED,
            serde_json::json!({ "stored": 0, "dead_letter": reason.as_str() }),
        ),
    }
}

impl Hooks {
    fn refused(&self, ip: IpAddr) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.get(&ip).is_some_and(|(since, n)| {
            since.elapsed() < Duration::from_secs(60) && *n >= FAILURES_PER_MINUTE
        })
    }

    fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= REMEMBERED_CLIENTS {
            failures.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
            if failures.len() >= REMEMBERED_CLIENTS {
                failures.clear();
            }
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Duration::from_secs(60) {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_their_variables_and_are_checked() {
        let config = IngestConfig {
            webhooks: vec![
                WebhookConfig {
                    format: WebhookFormat::Tts,
                    token_env: "TTS".into(),
                },
                WebhookConfig {
                    format: WebhookFormat::Chirpstack,
                    token_env: "CS".into(),
                },
            ],
        };
        let env = |name: &str| match name {
            "TTS" => Some("a-long-enough-secret".to_owned()),
            "CS" => Some("tiny-1".to_owned()),
            _ => None,
        };
        let problems = config.secrets(env).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("CS") && !problems[0].contains("tiny-1"),
            "{problems:?}"
        );
        let none = config.secrets(|_| None).unwrap_err();
        assert!(none[0].contains("TTS is not set"), "{none:?}");
    }

    #[test]
    fn only_the_right_secret_matches() {
        let secret = Secret::new("a-long-enough-secret");
        assert!(secret.matches("a-long-enough-secret"));
        assert!(!secret.matches("a-long-enough-secreT"));
        assert!(!secret.matches(""));
        assert_eq!(format!("{secret:?}"), "Secret(<hidden>)");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer  abc "),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
