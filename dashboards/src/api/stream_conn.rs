//! `/api/v1/stream` connections served beside hyper, in a few hundred bytes each: a live-feed
//! client holds its connection open for hours, and hyper keeps 8 KB read and 8 KB write buffers
//! for every connection (with the task around them, 18 KB a client, BENCHMARKS.md). The
//! [`Splitter`] accepts the connections, looks at the first bytes of each, and hands every
//! request but `GET /api/v1/stream` to axum as before; a stream request is answered here: the
//! same rate limit, headers and events as the axum route (which stays for clients whose request
//! line arrives in pieces).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use crate::AppState;

const PREFIX: &[u8] = b"GET /api/v1/stream";
/// The most a stream request's head may hold, and how long it may take to arrive.
const MAX_HEAD: usize = 8192;
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait for the first bytes before a connection is handed to hyper undecided.
const PEEK_TIMEOUT: Duration = Duration::from_secs(2);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one event may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener for `axum::serve`: the connections that are not live-feed streams.
pub struct Splitter {
    connections: mpsc::Receiver<(TcpStream, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for Splitter {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl Splitter {
    pub fn new(listener: TcpListener, state: AppState) -> std::io::Result<Splitter> {
        let local = listener.local_addr()?;
        let (tx, connections) = mpsc::channel(1024);
        let open = std::sync::Arc::new(Open::default());
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum does.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (tx, state, open) = (tx.clone(), state.clone(), open.clone());
                tokio::spawn(async move {
                    if is_stream_request(&stream).await {
                        serve_stream(stream, peer, state, &open).await;
                    } else {
                        let _ = tx.send((stream, peer)).await;
                    }
                });
            }
        });
        Ok(Splitter {
            connections,
            local,
            accepting,
        })
    }
}

impl axum::serve::Listener for Splitter {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accepting task ended: nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Whether the request line begins `GET /api/v1/stream` followed by a space or a query.
async fn is_stream_request(stream: &TcpStream) -> bool {
    let mut buf = [0u8; PREFIX.len() + 1];
    let deadline = tokio::time::Instant::now() + PEEK_TIMEOUT;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        let seen = &buf[..n];
        if n == 0 || !PREFIX.starts_with(&seen[..n.min(PREFIX.len())]) {
            return false;
        }
        if n == buf.len() {
            return matches!(buf[PREFIX.len()], b' ' | b'?');
        }
        // Part of the prefix so far: wait for more.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads the request head; `None` for one too long, too slow or cut off.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let read = async {
        let mut buf = [0u8; 512];
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            // Only the new bytes (and three before them) can complete the end of the head.
            let from = head.len().saturating_sub(3);
            head.extend_from_slice(&buf[..n]);
            if head[from..].windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(());
            }
            if head.len() > MAX_HEAD {
                return None;
            }
        }
    };
    tokio::time::timeout(HEAD_TIMEOUT, read).await.ok()??;
    Some(head)
}

/// The request's headers, parsed enough for the rate limit (`X-Forwarded-For`).
fn headers_of(head: &[u8]) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.trim().as_bytes()),
                axum::http::HeaderValue::from_str(value.trim()),
            ) {
                headers.append(name, value);
            }
        }
    }
    headers
}

/// Streams open per client (its address, or its /64), so that no client can hold the server's
/// file descriptors: the rate limit counts new streams, not open ones.
#[derive(Default)]
struct Open(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One open stream of a client, counted while it lives.
struct Held<'a> {
    open: &'a Open,
    key: std::net::IpAddr,
}

impl Open {
    /// Counts one more stream of `ip`, unless it holds `limit` already (0: no limit).
    fn hold(&self, ip: std::net::IpAddr, limit: usize) -> Option<Held<'_>> {
        let key = crate::limits::client_key(ip);
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(Held { open: self, key })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

async fn serve_stream(mut stream: TcpStream, peer: SocketAddr, state: AppState, open: &Open) {
    let Some(head) = read_head(&mut stream).await else {
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    };
    let headers = headers_of(&head);
    // HTTP/1.0 knows no chunked body: such a client gets the events as they are, and the end
    // of the connection ends the body.
    let chunked = !head
        .split(|b| *b == b'\n')
        .next()
        .is_some_and(|line| line.trim_ascii_end().ends_with(b" HTTP/1.0"));
    drop(head);
    let ip = crate::limits::client_ip(peer.ip(), &headers, &state.http.trusted_proxies);
    if let Err(wait) = state.limiter.take(ip, Instant::now()) {
        let body = "too many requests; slow down\n";
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: {}\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            wait.ceil().max(1.0),
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return;
    }
    drop(headers);
    let Some(_held) = open.hold(ip, state.http.live_streams_per_client) else {
        let body = "too many open streams from this address; close some\n";
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 60\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return;
    };
    let mut receiver = state.live.subscribe();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         {}content-security-policy: {}\r\n\
         x-content-type-options: nosniff\r\nreferrer-policy: strict-origin-when-cross-origin\r\n\r\n",
        if chunked {
            "transfer-encoding: chunked\r\n"
        } else {
            "connection: close\r\n"
        },
        state.security_headers.csp.to_str().unwrap_or("default-src 'none'")
    );
    if stream.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    drop(answer);
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.reset();
    let mut probe = [0u8; 16];
    loop {
        let chunk = tokio::select! {
            event = receiver.recv() => match event {
                Ok(data) => frame(&format!("event: reading\ndata: {data}\n\n"), chunked),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = keep_alive.tick() => frame(":\n\n", chunked),
            // A stream client sends nothing more: a read of 0 is its goodbye, anything else
            // is not a client of this feed.
            _ = stream.read(&mut probe) => return,
        };
        // A client that stops reading is let go, not waited for.
        match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&chunk)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
}

/// Bytes of the event stream (an event, or a keep-alive comment), as one HTTP chunk when
/// `chunked`. The feed's JSON has no line breaks.
fn frame(text: &str, chunked: bool) -> Vec<u8> {
    if !chunked {
        return text.as_bytes().to_vec();
    }
    format!("{:x}\r\n{text}\r\n", text.len()).into_bytes()
}
