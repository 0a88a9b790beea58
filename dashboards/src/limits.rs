//! HTTP caching and fairness for the public API: strong ETags with `If-None-Match`, and a
//! token-bucket rate limit per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Per-address token buckets.
pub struct RateLimiter {
    per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_s: u32, burst: u32) -> Self {
        RateLimiter::with_rate(f64::from(per_s), f64::from(burst.max(per_s)))
    }

    /// `per_s` tokens a second (fractions allowed: 30 an hour is 30.0 / 3600.0), up to `burst`.
    pub fn with_rate(per_s: f64, burst: f64) -> Self {
        RateLimiter {
            per_s,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Returns a token taken for `ip` (an attempt that turned out to be right).
    pub fn give_back(&self, ip: IpAddr) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((tokens, _)) = buckets.get_mut(&client_key(ip)) {
            *tokens = (*tokens + 1.0).min(self.burst);
        }
    }

    /// Takes a token for `ip`; `Err(seconds)` until one is free.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), f64> {
        if self.per_s <= 0.0 {
            return Ok(());
        }
        let ip = client_key(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget clients whose bucket has refilled: they lose nothing.
            let full_after = self.burst / self.per_s;
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < full_after);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_s).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.per_s)
        }
    }
}

/// The key a client is limited under: its IPv4 address, or the /64 network of an IPv6 address
/// (one subscriber's prefix: an attacker has 2^64 addresses in it, not one).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Middleware: 429 with `Retry-After` when a client exceeds its rate.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_ip(c.0.ip(), request.headers(), &state.http.trusted_proxies));
    if let Some(ip) = ip {
        if let Err(wait) = state.limiter.take(ip, Instant::now()) {
            let retry = format!("{}", wait.ceil().max(1.0));
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry)],
                "too many requests; slow down\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// The client behind a request: the peer, or, when the peer is a trusted proxy, the last
/// address in `X-Forwarded-For` that is not a trusted proxy itself (earlier entries can be
/// forged by the client).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// FNV-1a, 64 bit: stable across runs and versions, enough to tell bodies apart.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A JSON answer with an ETag and Cache-Control; 304 when the client has it already.
pub fn cached_json(headers: &HeaderMap, body: Vec<u8>, max_age_s: u32) -> Response {
    let etag = format!("\"{:016x}\"", fnv1a(&body));
    let cache = format!("public, max-age={max_age_s}");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_the_bucket_of_their_64_network() {
        let limiter = RateLimiter::with_rate(1.0, 2.0);
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::7".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.take(a, now).is_ok() && limiter.take(b, now).is_ok());
        assert!(limiter.take(a, now).is_err(), "b used a's /64");
        limiter.give_back(b);
        assert!(limiter.take(a, now).is_ok(), "b gave one back");
        assert!(limiter.take(b, now).is_err());
        assert!(limiter.take(other, now).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
    use std::time::Duration;

    #[test]
    fn buckets_refill_at_the_rate_and_allow_the_burst() {
        let limiter = RateLimiter::new(10, 20);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert!(limiter.take(ip, t0).is_ok());
        }
        let wait = limiter.take(ip, t0).unwrap_err();
        assert!((wait - 0.1).abs() < 1e-9, "{wait}");
        assert!(limiter.take(other, t0).is_ok(), "clients are limited apart");
        assert!(limiter.take(ip, t0 + Duration::from_millis(100)).is_ok());
        assert!(limiter.take(ip, t0 + Duration::from_millis(100)).is_err());
        assert!(
            RateLimiter::new(0, 0).take(ip, t0).is_ok(),
            "0 switches it off"
        );
    }

    #[test]
    fn clients_behind_a_trusted_proxy_are_told_apart() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.4".parse().unwrap(),
        );
        // From the proxy: the last untrusted address (the first can be forged by the client).
        assert_eq!(
            client_ip(proxy, &headers, &[proxy]),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // From anyone else the header counts for nothing.
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn etags_answer_304_only_for_the_same_body() {
        let first = cached_json(&HeaderMap::new(), b"[1]".to_vec(), 10);
        let etag = first.headers()[header::ETAG].clone();
        assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=10");
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag.clone());
        assert_eq!(
            cached_json(&again, b"[1]".to_vec(), 10).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            cached_json(&again, b"[2]".to_vec(), 10).status(),
            StatusCode::OK
        );
    }
}
