//! The router per connection with the peer's address as `ConnectInfo<SocketAddr>` (what the
//! rate limits and the login read), for connections that come through the live-feed splitter
//! rather than a plain `TcpListener`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, Request};
use axum::serve::IncomingStream;
use axum::Router;
use tower_service::Service;

use crate::api::stream_conn::Splitter;

/// Makes a [`PeerRouter`] for each accepted connection.
pub struct MakePeerRouter(pub Router);

impl<'a> Service<IncomingStream<'a, Splitter>> for MakePeerRouter {
    type Response = PeerRouter;
    type Error = Infallible;
    type Future = std::future::Ready<Result<PeerRouter, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'a, Splitter>) -> Self::Future {
        std::future::ready(Ok(PeerRouter {
            router: self.0.clone(),
            peer: *incoming.remote_addr(),
        }))
    }
}

/// The router, with the connection's peer put into every request.
#[derive(Clone)]
pub struct PeerRouter {
    router: Router,
    peer: SocketAddr,
}

impl Service<Request> for PeerRouter {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = <Router as Service<Request>>::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(request)
    }
}
