//! The HTTP/1 server loop: `axum::serve` has no header-read timeout, so a few hundred
//! connections that send half a request head and stop were held forever (and, under a low file
//! limit, stopped the server answering). Here every connection has a deadline for its request
//! head, a lifetime after which it is closed between requests, and there is a cap on how many
//! are open at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tracing::{debug, warn};

/// A client has this long to send a request's head (its first line and headers), counted from
/// when the server starts waiting for it: slow-loris connections are closed after it, and so
/// is a keep-alive connection idle this long between requests (hyper waits for the next head).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
// A development instance's Notion client talks to this server (the sandbox): it must drop an
// idle connection before this server closes it, or an exchange can go out on a closing one.
const _: () = assert!(domain::outbound::IDLE_CONNECTION_KEPT.as_millis() < HEADER_READ_TIMEOUT.as_millis());
/// A connection is closed (between requests) after this long, however busy: idle keep-alive
/// connections cannot pile up.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);
/// Connections open at once; beyond it new ones wait in the kernel's backlog. Below the usual
/// file limits, so the process keeps descriptors for its database and Notion.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stopping, stop_signal) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: wait a little instead of spinning.
                    warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` gave handlers: the peer address.
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let mut stop_signal = stop_signal.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            let mut closing = false;
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(e) = ended {
                            debug!(%peer, "connection ended: {e}");
                        }
                        break;
                    }
                    // Finish the request in flight, then close.
                    () = &mut lifetime, if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = stop_signal.changed(), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every connection gives its slot back when it is done.
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await.is_err() {
        warn!("shutting down with requests still in flight");
    }
    Ok(())
}
