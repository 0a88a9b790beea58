//! Public answers kept between commits: the JSON API, the resident pages and the SensorThings
//! API are built once per change of what they show and served from memory, with their ETag,
//! gzip- or brotli-compressed as `Accept-Encoding` asks (compressed once, when first asked).
//!
//! An answer is used while the store's version ([`sensorhub_store::Store::version`]: commits
//! through this process, and SQLite's `data_version`, which sees every other writer too) is the
//! one it was built at, and for [`MAX_AGE`] at most, for what changes with time alone (the
//! policy's delay, stale values, relative windows). Concurrent requests for a missing answer
//! wait for one build; while an answer older than [`MAX_AGE`] (and no commit) is built anew,
//! the others get it as it was. The cache holds at most `http.cache_max_bytes`; the least recently used
//! answers leave first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

mod encoding;
use encoding::{accepted, brotli, gzip, Encoding};

/// The longest an answer is used without a commit.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// Answers shorter than this are sent uncompressed.
const COMPRESS_FROM: usize = 1024;
/// The most answers kept, whatever their size (a client inventing query strings meets it).
const MAX_ENTRIES: usize = 4096;
/// The longest request (host, language and URI) whose answer is kept.
const MAX_KEY: usize = 2048;

/// The answers, by request.
pub struct AnswerCache {
    max_bytes: usize,
    inner: Mutex<Inner>,
    clock: AtomicU64,
    hits: AtomicU64,
    builds: AtomicU64,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<String, Arc<Slot>>,
    bytes: usize,
}

/// One request's answer, and the lock its builders queue on.
#[derive(Default)]
struct Slot {
    key: String,
    entry: Mutex<Option<Arc<Entry>>>,
    build: tokio::sync::Mutex<()>,
    used: AtomicU64,
    bytes: AtomicU64,
}

struct Entry {
    version: u64,
    built: Instant,
    status: StatusCode,
    headers: HeaderMap,
    /// Without quotes.
    etag: String,
    body: Bytes,
    gzip: tokio::sync::OnceCell<Bytes>,
    brotli: tokio::sync::OnceCell<Bytes>,
}

impl AnswerCache {
    pub fn new(max_bytes: usize) -> AnswerCache {
        AnswerCache {
            max_bytes,
            inner: Mutex::new(Inner::default()),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            builds: AtomicU64::new(0),
        }
    }

    /// Its figures in Prometheus text format: bytes and answers held, answers served from
    /// memory and answers built.
    pub fn render_metrics(&self, out: &mut String) {
        let (bytes, entries) = {
            let inner = self.inner.lock().expect("answer cache");
            (inner.bytes, inner.slots.len())
        };
        for (name, help, kind, value) in [
            (
                "sensorhub_http_cache_bytes",
                "Bytes of public answers kept (bodies and compressed forms).",
                "gauge",
                bytes as u64,
            ),
            (
                "sensorhub_http_cache_max_bytes",
                "The bound, http.cache_max_bytes.",
                "gauge",
                self.max_bytes as u64,
            ),
            (
                "sensorhub_http_cache_entries",
                "Public answers kept.",
                "gauge",
                entries as u64,
            ),
            (
                "sensorhub_http_cache_hits_total",
                "Answers served from memory.",
                "counter",
                self.hits.load(Ordering::Relaxed),
            ),
            (
                "sensorhub_http_cache_builds_total",
                "Answers built by their handler.",
                "counter",
                self.builds.load(Ordering::Relaxed),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.inner.lock().expect("answer cache");
        let slot = match inner.slots.get(key) {
            Some(slot) => slot.clone(),
            None => {
                let slot = Arc::new(Slot {
                    key: key.to_owned(),
                    used: AtomicU64::new(tick),
                    ..Slot::default()
                });
                inner.slots.insert(key.to_owned(), slot.clone());
                slot.bytes.store(2 * key.len() as u64, Ordering::Relaxed);
                inner.bytes += 2 * key.len();
                self.evict(&mut inner);
                slot
            }
        };
        slot.used.store(tick, Ordering::Relaxed);
        slot
    }

    /// Counts what `slot` holds now (its key twice, its answer with its compressed forms),
    /// measured under the lock rather than added up, then makes room.
    fn resize(&self, slot: &Arc<Slot>) {
        let mut inner = self.inner.lock().expect("answer cache");
        let held = slot
            .entry
            .lock()
            .expect("answer cache")
            .as_ref()
            .map_or(0, |e| e.size());
        let after = 2 * slot.key.len() + held;
        let before = slot.bytes.swap(after as u64, Ordering::Relaxed) as usize;
        // Only slots still in the map count (an evicted one may finish a build later).
        let present = inner
            .slots
            .get(&slot.key)
            .is_some_and(|s| Arc::ptr_eq(s, slot));
        if present {
            inner.bytes = (inner.bytes + after).saturating_sub(before);
        }
        self.evict(&mut inner);
    }

    /// Takes out a slot whose build kept nothing, unless an answer or a waiter holds it.
    fn forget(&self, slot: &Arc<Slot>) {
        let mut inner = self.inner.lock().expect("answer cache");
        let empty = slot.entry.lock().expect("answer cache").is_none();
        let ours = inner
            .slots
            .get(&slot.key)
            .is_some_and(|s| Arc::ptr_eq(s, slot));
        // The map's reference and ours: nobody else waits for it.
        if empty && ours && Arc::strong_count(slot) <= 2 {
            inner.slots.remove(&slot.key);
            inner.bytes = inner
                .bytes
                .saturating_sub(slot.bytes.load(Ordering::Relaxed) as usize);
        }
    }

    fn evict(&self, inner: &mut Inner) {
        while inner.bytes > self.max_bytes || inner.slots.len() > MAX_ENTRIES {
            let Some(oldest) = inner
                .slots
                .iter()
                .min_by_key(|(_, s)| s.used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            if let Some(slot) = inner.slots.remove(&oldest) {
                inner.bytes = inner
                    .bytes
                    .saturating_sub(slot.bytes.load(Ordering::Relaxed) as usize);
                *slot.entry.lock().expect("answer cache") = None;
            }
        }
    }
}

impl Slot {
    fn fresh(&self, version: u64) -> Option<Arc<Entry>> {
        self.current(version)
            .filter(|e| e.built.elapsed() < MAX_AGE)
    }

    /// The answer built at `version`, however old.
    fn current(&self, version: u64) -> Option<Arc<Entry>> {
        let entry = self.entry.lock().expect("answer cache").clone()?;
        (entry.version == version).then_some(entry)
    }
}

/// What an answer depends on besides the store: the request line, the host its links name
/// and the language of a page.
fn key(request: &Request) -> String {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let query: crate::html::i18n::PageQuery =
        serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
    let lang = crate::html::i18n::choose_lang(&query, headers);
    format!("{host}\n{lang:?}\n{}", request.uri())
}

/// The middleware: the cached answer if it is current, else the handler's, kept.
pub async fn cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // HEAD answers have no body to keep: they pass.
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let cache = state.cache.clone();
    if cache.max_bytes == 0 {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let encoding = accepted(request.headers());
    let key = key(&request);
    // Keys are held (twice) for as long as their answers: long ones are not kept at all.
    if key.len() > MAX_KEY {
        return next.run(request).await;
    }
    let version = state.store.version();
    let slot = cache.slot(&key);
    let entry = match slot.fresh(version) {
        Some(entry) => {
            cache.hits.fetch_add(1, Ordering::Relaxed);
            entry
        }
        None => {
            // Only older than MAX_AGE, no commit since: while one request builds it anew, the
            // others get the one they would have got a moment ago instead of waiting.
            let building = match (slot.current(version), slot.build.try_lock()) {
                (Some(aged), Err(_)) => {
                    cache.hits.fetch_add(1, Ordering::Relaxed);
                    return serve(&cache, &slot, &aged, if_none_match.as_ref(), encoding).await;
                }
                (_, Ok(guard)) => guard,
                (None, Err(_)) => slot.build.lock().await,
            };
            let _building = building;
            match slot.fresh(version) {
                Some(entry) => {
                    cache.hits.fetch_add(1, Ordering::Relaxed);
                    entry
                }
                None => {
                    cache.builds.fetch_add(1, Ordering::Relaxed);
                    let mut request = request;
                    // The handler answers in full: conditions are checked here.
                    request.headers_mut().remove(header::IF_NONE_MATCH);
                    let response = next.run(request).await;
                    match keep(&cache, &slot, version, response).await {
                        Ok(entry) => entry,
                        Err(response) => {
                            drop(_building);
                            cache.forget(&slot);
                            return response;
                        }
                    }
                }
            }
        }
    };
    serve(&cache, &slot, &entry, if_none_match.as_ref(), encoding).await
}

/// Keeps a successful answer of bounded size; anything else passes through as it came.
async fn keep(
    cache: &AnswerCache,
    slot: &Arc<Slot>,
    version: u64,
    response: Response,
) -> Result<Arc<Entry>, Response> {
    let limit = (cache.max_bytes / 4).min(64 << 20);
    let cacheable = response.status() == StatusCode::OK
        && !response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("no-store"))
        && !response.headers().contains_key(header::CONTENT_ENCODING);
    if !cacheable {
        return Err(response);
    }
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(_) => return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    };
    if body.len() > limit {
        return Err(Response::from_parts(parts, Body::from(body)));
    }
    let mut headers = parts.headers;
    let etag = headers
        .remove(header::ETAG)
        .and_then(|v| v.to_str().ok().map(|v| v.trim_matches('"').to_owned()))
        .unwrap_or_else(|| format!("{:016x}", crate::limits::fnv1a(&body)));
    headers.remove(header::CONTENT_LENGTH);
    let entry = Arc::new(Entry {
        version,
        built: Instant::now(),
        status: parts.status,
        headers,
        etag,
        body,
        gzip: tokio::sync::OnceCell::new(),
        brotli: tokio::sync::OnceCell::new(),
    });
    slot.entry
        .lock()
        .expect("answer cache")
        .replace(entry.clone());
    cache.resize(slot);
    Ok(entry)
}

impl Entry {
    fn size(&self) -> usize {
        self.body.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
    }
}

async fn serve(
    cache: &AnswerCache,
    slot: &Arc<Slot>,
    entry: &Arc<Entry>,
    if_none_match: Option<&HeaderValue>,
    encoding: Encoding,
) -> Response {
    let encoding = if entry.body.len() < COMPRESS_FROM {
        Encoding::Identity
    } else {
        encoding
    };
    let (mut body, mut suffix, mut coding) = match encoding {
        Encoding::Identity => (entry.body.clone(), "", None),
        Encoding::Gzip => (
            compressed(cache, slot, entry, &entry.gzip, gzip).await,
            "-gzip",
            Some("gzip"),
        ),
        Encoding::Brotli => (
            compressed(cache, slot, entry, &entry.brotli, brotli).await,
            "-br",
            Some("br"),
        ),
    };
    if body.is_empty() && !entry.body.is_empty() {
        // The compression failed: the plain body instead.
        (body, suffix, coding) = (entry.body.clone(), "", None);
    }
    let etag = format!("\"{}{suffix}\"", entry.etag);
    // Any representation of the same answer matches (RFC 9110 weak comparison).
    let matches = if_none_match
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim().trim_start_matches("W/").trim_matches('"');
                t == "*" || t.split('-').next() == Some(entry.etag.as_str())
            })
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = entry.status;
        r
    };
    let headers = response.headers_mut();
    for (name, value) in &entry.headers {
        if matches && name == header::CONTENT_TYPE {
            continue;
        }
        headers.append(name, value.clone());
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if let (Some(coding), false) = (coding, matches) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// A compressed body, made once per answer on the blocking pool; its bytes count toward the
/// bound while the answer is the slot's.
async fn compressed(
    cache: &AnswerCache,
    slot: &Arc<Slot>,
    entry: &Arc<Entry>,
    cell: &tokio::sync::OnceCell<Bytes>,
    make: fn(&[u8]) -> Bytes,
) -> Bytes {
    let mut made = false;
    let body = cell
        .get_or_init(|| async {
            let plain = entry.body.clone();
            made = true;
            tokio::task::spawn_blocking(move || make(&plain))
                .await
                .unwrap_or_default()
        })
        .await
        .clone();
    if made {
        cache.resize(slot);
    }
    body
}

#[cfg(test)]
mod tests;
