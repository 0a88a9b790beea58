//! The `[http]` config section.

use sensorhub_core::duration::HumanDuration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address the dashboard and API listen on.
    pub listen: String,
    /// Bearer token for the technicians' JSON API under `/admin/api/v1` (device health,
    /// unknown devices, dead letters); better set as SENSORHUB_HTTP_ADMIN_TOKEN. Without it that
    /// API is off.
    pub admin_token: Option<String>,
    /// Name shown in the page header.
    pub site_name: String,
    /// Map tiles, such as `https://tile.openstreetmap.org/{z}/{x}/{y}.png`. Without one the map
    /// shows the stations on a plain background (no request leaves for a tile server).
    pub tile_url: Option<String>,
    /// Attribution the tile provider asks for.
    pub tile_attribution: String,
    /// The dataset on the open-data portal, linked from the pages.
    pub portal_url: Option<String>,
    /// Licence of the data shown (short id as in `[[datasets]]`) and whom to name.
    #[serde(with = "sensorhub_policy::licence::by_id")]
    pub licence: &'static sensorhub_policy::Licence,
    pub attribution: String,
    /// Contact for the accessibility statement (feedback and the enforcement procedure).
    pub accessibility_contact: String,
    /// Requests per second and burst each client may make to `/api/`; 0 switches the limit off.
    pub rate_limit_per_s: u32,
    pub rate_limit_burst: u32,
    /// Addresses of reverse proxies (such as the TLS proxy in front): for requests from them the
    /// client is the last address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Login attempts on `/admin/login` per client address: a burst, then this many per hour
    /// (guessing passwords stays slow; argon2 checks cannot eat the CPU). 0 per hour: no limit.
    pub login_attempts_burst: u32,
    pub login_attempts_per_hour: u32,
    /// Technicians who may log in to `/admin`: name and an argon2 hash of the password
    /// (`sensorhub admin hash-password` makes one).
    pub users: Vec<UserConfig>,
    /// Mark session cookies `Secure` (HTTPS only). Leave on behind a TLS proxy; switch off
    /// only for plain-HTTP tests on loopback.
    pub secure_cookies: bool,
    /// A device that sent nothing for this long is listed as silent (`2h`, `1d`).
    pub silent_after: HumanDuration,
    /// A public value older than this is marked as outdated on the pages (`veraltet`) and in
    /// the API (`stale: true`), so nobody takes an old water level for the current one.
    pub stale_after: HumanDuration,
    /// Who may show the pages in a frame: the CSP `frame-ancestors` sources, `'self'` by
    /// default (`'none'` forbids every frame; an origin such as `https://www.amrum.de` lets
    /// that site embed the dashboard).
    pub frame_ancestors: String,
    /// Public answers (JSON API, pages, SensorThings) are kept between commits, up to this
    /// many bytes in all (bodies and their compressed forms); 0 keeps none.
    pub cache_max_bytes: usize,
    /// Live-feed streams (`/api/v1/stream`) one client address (or IPv6 /64) may hold open at
    /// once; beyond it 429. 0: no limit.
    pub live_streams_per_client: usize,
}

/// A technician account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UserConfig {
    pub name: String,
    /// PHC string of an argon2 hash, `$argon2id$v=19$...`.
    pub password_hash: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            admin_token: None,
            site_name: "sensorhub".into(),
            tile_url: None,
            tile_attribution: String::new(),
            portal_url: None,
            licence: sensorhub_policy::Licence::DEFAULT,
            attribution: String::new(),
            accessibility_contact: String::new(),
            rate_limit_per_s: 20,
            rate_limit_burst: 100,
            trusted_proxies: Vec::new(),
            login_attempts_burst: 10,
            login_attempts_per_hour: 30,
            users: Vec::new(),
            secure_cookies: true,
            silent_after: HumanDuration::from_hours(2),
            stale_after: HumanDuration::from_hours(3),
            frame_ancestors: "'self'".into(),
            cache_max_bytes: 64 << 20,
            live_streams_per_client: 256,
        }
    }
}

impl HttpConfig {
    /// The origin (`https://tile.example.org`) of the map tiles, where there are any.
    pub fn tile_origin(&self) -> Option<&str> {
        let url = self.tile_url.as_deref()?;
        let rest = url.split_once("://")?.1;
        let host_end = rest.find('/').unwrap_or(rest.len());
        Some(&url[..url.len() - rest.len() + host_end])
    }

    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = &self.tile_url {
            if !url.starts_with("https://") && !url.starts_with("http://") || !url.contains("{z}") {
                problems.push(format!(
                    "http.tile_url: `{url}` needs http(s):// and {{z}}/{{x}}/{{y}}"
                ));
            }
        }
        if self.rate_limit_per_s > 0 && self.rate_limit_burst < self.rate_limit_per_s {
            problems.push("http.rate_limit_burst: must be at least rate_limit_per_s".into());
        }
        if self.login_attempts_per_hour > 0 && self.login_attempts_burst == 0 {
            problems.push(
                "http.login_attempts_burst: 0 would refuse every login; set at least 1".into(),
            );
        }
        for (i, user) in self.users.iter().enumerate() {
            if user.name.trim().is_empty() {
                problems.push(format!("http.users[{i}].name: empty"));
            }
            if argon2::PasswordHash::new(&user.password_hash).is_err() {
                problems.push(format!(
                    "http.users[{i}].password_hash: not a PHC hash string; make one with \
                     `sensorhub admin hash-password`"
                ));
            }
        }
        let bad_source = |s: &str| {
            s.is_empty() || s.contains([';', ',', '\'', '"']) && !matches!(s, "'self'" | "'none'")
        };
        if self.frame_ancestors.split_whitespace().next().is_none()
            || self.frame_ancestors.split_whitespace().any(bad_source)
            || self.frame_ancestors.chars().any(char::is_control)
        {
            problems.push(format!(
                "http.frame_ancestors: `{}` is not a list of CSP sources such as 'self' or https://example.org",
                self.frame_ancestors.escape_default()
            ));
        }
        problems
    }
}
