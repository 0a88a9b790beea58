//! Unit tests of `admin`.

use super::auth::*;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use axum::http::{header, HeaderMap};

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
