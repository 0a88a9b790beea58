//! Unit tests of the answer cache: `Accept-Encoding` and the least-recently-used bound.

use super::*;

fn accept(value: &str) -> Encoding {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_str(value).unwrap(),
    );
    accepted(&headers)
}

#[test]
fn accept_encoding_is_read_with_its_weights() {
    assert_eq!(accept("gzip, deflate, br, zstd"), Encoding::Brotli);
    assert_eq!(accept("gzip"), Encoding::Gzip);
    assert_eq!(accept("br;q=0, gzip;q=0.5"), Encoding::Gzip);
    assert_eq!(accept("BR"), Encoding::Brotli);
    assert_eq!(accept("identity"), Encoding::Identity);
    assert_eq!(accept("gzip;q=0"), Encoding::Identity);
    assert_eq!(accept(""), Encoding::Identity);
    assert_eq!(accept(";;;,,q=,br;q=x"), Encoding::Brotli);
}

#[test]
fn the_least_recently_used_answers_leave_first_and_keys_count() {
    // Keys of one byte count two each: "a", "b", "c" hold 2 + 100 each.
    let cache = AnswerCache::new(350);
    let entry = |n: usize| {
        Arc::new(Entry {
            version: 0,
            built: Instant::now(),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            etag: String::new(),
            body: Bytes::from(vec![b'x'; n]),
            gzip: tokio::sync::OnceCell::new(),
            brotli: tokio::sync::OnceCell::new(),
        })
    };
    for key in ["a", "b", "c"] {
        let slot = cache.slot(key);
        *slot.entry.lock().unwrap() = Some(entry(100));
        cache.resize(&slot);
    }
    // "a" was asked for again, so "b" leaves when "d" comes.
    let a = cache.slot("a");
    drop(a);
    let d = cache.slot("d");
    *d.entry.lock().unwrap() = Some(entry(100));
    cache.resize(&d);
    {
        let inner = cache.inner.lock().unwrap();
        let mut keys: Vec<&str> = inner.slots.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["a", "c", "d"]);
        assert_eq!(inner.bytes, 306);
    }
    // A build that kept nothing leaves no slot behind.
    let miss = cache.slot("404");
    cache.forget(&miss);
    assert!(!cache.inner.lock().unwrap().slots.contains_key("404"));
    assert_eq!(cache.inner.lock().unwrap().bytes, 306);
}
