//! A small client for CKAN's Action API: reads, idempotent writes with retries and backoff on
//! 5xx and timeouts, one-shot creates (the caller re-reads before trying again, so a lost
//! answer never makes a duplicate), multipart uploads, and a dry-run mode that prints the
//! writes instead of making them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `[publisher.ckan]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CkanConfig {
    /// The portal, such as https://opendata.schleswig-holstein.de.
    pub url: String,
    /// The organization (CKAN name) the datasets belong to.
    pub organization: String,
    /// Its title, used if sensorhub has to create it.
    pub organization_title: Option<String>,
    /// Environment variable with the API token.
    pub token_env: String,
    /// Or a file holding the token (first line), such as a mounted secret.
    pub token_file: Option<String>,
    pub timeout_s: u64,
    /// Attempts after the first on 5xx answers and timeouts.
    pub retries: u32,
    /// How the portal wants the metadata: `govdata` (the default), `schleswig-holstein`,
    /// `plain`.
    pub profile: crate::dcat::Profile,
    /// The DCAT-AP.de contributor the portal supplies GovData as
    /// (`http://dcat-ap.de/def/contributors/...`); the profile's by default.
    pub contributor_id: Option<String>,
}

impl Default for CkanConfig {
    fn default() -> Self {
        CkanConfig {
            url: String::new(),
            organization: String::new(),
            organization_title: None,
            token_env: "CKAN_TOKEN".into(),
            token_file: None,
            timeout_s: 60,
            retries: 4,
            profile: crate::dcat::Profile::default(),
            contributor_id: None,
        }
    }
}

impl CkanConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            problems.push(format!(
                "publisher.ckan.url: `{}` is not an http(s) URL",
                self.url
            ));
        }
        let name_ok = (2..=100).contains(&self.organization.len())
            && self
                .organization
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            problems.push(format!(
                "publisher.ckan.organization: `{}` is not a CKAN name",
                self.organization
            ));
        }
        if self.token_env.is_empty() && self.token_file.is_none() {
            problems.push("publisher.ckan: set token_env or token_file".into());
        }
        if self.timeout_s == 0 {
            problems.push("publisher.ckan.timeout_s: must be at least 1".into());
        }
        if let Some(id) = &self.contributor_id {
            if !id.starts_with("http://dcat-ap.de/def/contributors/") {
                problems.push(format!(
                    "publisher.ckan.contributor_id: `{id}` is not one of http://dcat-ap.de/def/contributors/"
                ));
            }
        }
        problems
    }

    /// The contributor id sent: the configured one, else the profile's.
    pub fn contributor(&self) -> Option<&str> {
        self.contributor_id
            .as_deref()
            .or(self.profile.default_contributor())
    }

    /// The API token, from the file or the environment. Never from the config itself.
    pub fn token(&self) -> Result<Token, CkanError> {
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CkanError::NoToken(format!("cannot read token file {path}: {e}")))?;
            let token = text.lines().next().unwrap_or("").trim().to_owned();
            if !token.is_empty() {
                return Ok(Token(token));
            }
            return Err(CkanError::NoToken(format!("token file {path} is empty")));
        }
        match std::env::var(&self.token_env) {
            Ok(t) if !t.trim().is_empty() => Ok(Token(t.trim().to_owned())),
            _ => Err(CkanError::NoToken(format!(
                "set the environment variable {} (or publisher.ckan.token_file)",
                self.token_env
            ))),
        }
    }
}

/// An API token; never printed.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CkanError {
    #[error("no CKAN API token: {0}")]
    NoToken(String),
    #[error("CKAN refused {action} ({status} {kind}): {message}")]
    Rejected {
        action: String,
        status: u16,
        kind: String,
        message: String,
    },
    #[error("CKAN unreachable for {action} after {attempts} attempts: {message}")]
    Unreachable {
        action: String,
        attempts: u32,
        message: String,
    },
    #[error("CKAN {action}: unexpected answer: {message}")]
    BadAnswer { action: String, message: String },
}

impl CkanError {
    /// Whether trying again later may help (the portal was down or overloaded).
    pub fn is_transient(&self) -> bool {
        matches!(self, CkanError::Unreachable { .. })
    }
}

pub struct Ckan {
    http: reqwest::Client,
    api: String,
    token: Option<Token>,
    retries: u32,
    dry_run: bool,
}

enum Attempt {
    Done(Value),
    NotFound,
    Retry(String),
    Fail(CkanError),
}

impl Ckan {
    pub fn new(config: &CkanConfig, dry_run: bool) -> Result<Ckan, CkanError> {
        let token = match config.token() {
            Ok(t) => Some(t),
            Err(_) if dry_run => None,
            Err(e) => return Err(e),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_s.max(1)))
            .user_agent(concat!("sensorhub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CkanError::BadAnswer {
                action: "client".into(),
                message: e.to_string(),
            })?;
        Ok(Ckan {
            http,
            api: format!("{}/api/3/action", config.url.trim_end_matches('/')),
            token,
            retries: config.retries,
            dry_run,
        })
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// A read (GET); `None` when CKAN says Not Found.
    pub async fn read(
        &self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Option<Value>, CkanError> {
        self.with_retries(action, true, || {
            self.authorised(self.http.get(format!("{}/{action}", self.api)))
                .query(params)
        })
        .await
    }

    /// An idempotent write (patch, upsert): retried.
    pub async fn write(&self, action: &str, body: Value) -> Result<Value, CkanError> {
        self.post_json(action, body, true).await
    }

    /// A create: tried once; the caller re-reads before trying again.
    pub async fn create(&self, action: &str, body: Value) -> Result<Value, CkanError> {
        self.post_json(action, body, false).await
    }

    /// A JSON POST (printed instead in a dry run).
    async fn post_json(&self, action: &str, body: Value, retry: bool) -> Result<Value, CkanError> {
        if self.dry_run {
            return Ok(self.print(action, &body, None));
        }
        self.with_retries(action, retry, || {
            self.authorised(self.http.post(format!("{}/{action}", self.api)))
                .json(&body)
        })
        .await?
        .ok_or_else(|| not_found(action))
    }

    /// A multipart upload (`resource_create` / `resource_patch` with a file): tried once.
    pub async fn upload(
        &self,
        action: &str,
        fields: Vec<(&'static str, String)>,
        file_name: &str,
        mimetype: &str,
        bytes: Vec<u8>,
    ) -> Result<Value, CkanError> {
        if self.dry_run {
            let body: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
                .collect();
            return Ok(self.print(action, &Value::Object(body), Some((file_name, bytes.len()))));
        }
        self.with_retries(action, false, || {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in &fields {
                form = form.text(*k, v.clone());
            }
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.to_owned())
                .mime_str(mimetype)
                .unwrap_or_else(|_| reqwest::multipart::Part::bytes(bytes.clone()));
            form = form.part("upload", part);
            self.authorised(self.http.post(format!("{}/{action}", self.api)))
                .multipart(form)
        })
        .await?
        .ok_or_else(|| not_found(action))
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            // CKAN takes the token as is, not as `Bearer ...`.
            Some(Token(t)) => request.header("Authorization", t),
            None => request,
        }
    }

    /// Prints a write the dry run would make; the answer pretends it worked.
    fn print(&self, action: &str, body: &Value, file: Option<(&str, usize)>) -> Value {
        let mut shown = body.clone();
        if let Some(records) = shown.get_mut("records").and_then(Value::as_array_mut) {
            let n = records.len();
            *records = vec![json!(format!("... {n} records"))];
        }
        match file {
            Some((name, size)) => {
                println!(
                    "POST {}/{action} {shown} + upload {name} ({size} bytes)",
                    self.api
                )
            }
            None => println!("POST {}/{action} {shown}", self.api),
        }
        let mut answer = body.clone();
        if answer.get("id").is_none() {
            answer["id"] = json!("(dry-run)");
        }
        answer["resources"] = json!([]);
        answer
    }

    async fn with_retries(
        &self,
        action: &str,
        retry: bool,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Option<Value>, CkanError> {
        let attempts = if retry { self.retries + 1 } else { 1 };
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                let backoff = Duration::from_millis(250 << attempt.min(5));
                tracing::warn!(action, attempt, error = %last, "CKAN failed; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
            }
            match self.attempt(action, request()).await {
                Attempt::Done(v) => return Ok(Some(v)),
                Attempt::NotFound => return Ok(None),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(message) => last = message,
            }
        }
        Err(CkanError::Unreachable {
            action: action.to_owned(),
            attempts,
            message: last,
        })
    }

    async fn attempt(&self, action: &str, request: reqwest::RequestBuilder) -> Attempt {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(e.to_string()),
        };
        let status = response.status();
        if status.is_server_error() {
            return Attempt::Retry(format!("HTTP {status}"));
        }
        let body: Value = match response.json().await {
            Ok(v) => v,
            Err(e) if status.is_success() => {
                return Attempt::Retry(format!("unreadable answer: {e}"))
            }
            Err(_) => Value::Null,
        };
        if status.is_success() && body["success"] == json!(true) {
            return Attempt::Done(body["result"].clone());
        }
        if status.as_u16() == 404 {
            return Attempt::NotFound;
        }
        let error = &body["error"];
        let kind = error["__type"].as_str().unwrap_or("error").to_owned();
        let mut details: Vec<String> = error
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "__type")
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect()
            })
            .unwrap_or_default();
        if details.is_empty() {
            details.push(format!("HTTP {status}"));
        }
        Attempt::Fail(CkanError::Rejected {
            action: action.to_owned(),
            status: status.as_u16(),
            kind,
            message: details.join("; "),
        })
    }
}

fn not_found(action: &str) -> CkanError {
    CkanError::Rejected {
        action: action.to_owned(),
        status: 404,
        kind: "Not Found".into(),
        message: "the object does not exist".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_and_comes_only_from_env_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "secret-token-123\n").unwrap();
        let config = CkanConfig {
            token_file: Some(path.display().to_string()),
            ..CkanConfig::default()
        };
        let token = config.token().unwrap();
        assert_eq!(token.0, "secret-token-123");
        assert!(!format!("{token:?}").contains("secret"));
        let missing = CkanConfig {
            token_env: "SENSORHUB_TEST_TOKEN_NOT_SET".into(),
            ..CkanConfig::default()
        };
        assert!(
            matches!(missing.token(), Err(CkanError::NoToken(m)) if m.contains("SENSORHUB_TEST_TOKEN_NOT_SET"))
        );
    }
}
