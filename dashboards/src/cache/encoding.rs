//! The encodings a cached answer is sent in: what the client accepts, and the compressions.

use std::io::Write;

use axum::body::Bytes;
use axum::http::{header, HeaderMap};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// The encoding to send: brotli, then gzip, where the client accepts it (`q=0` refuses).
pub(super) fn accepted(headers: &HeaderMap) -> Encoding {
    let text = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let takes = |name: &str| {
        text.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            coding.eq_ignore_ascii_case(name) && q > 0.0
        })
    };
    if takes("br") {
        Encoding::Brotli
    } else if takes("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

pub(super) fn gzip(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(6),
    );
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

pub(super) fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 4);
    let params = brotli::enc::BrotliEncoderParams {
        // Quality 5: most of the size of 11 at a small part of its time, for answers that
        // live one commit.
        quality: 5,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &body[..], &mut out, &params);
    Bytes::from(out)
}
