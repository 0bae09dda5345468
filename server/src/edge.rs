//! Every request's way in and out, as one middleware, in this order: who the client is (behind
//! trusted proxies), the request id and the access log, the audit record of admin actions, the
//! dashboard's own-host check and body limit; then the security headers on the answer.
//!
//! One layer rather than one per concern: each `from_fn` layer clones the service under it and
//! boxes a future on every request, and the nested futures were moved whole at each step
//! (`memmove` was the largest single item in `/v1/me`'s profile with six of them).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use domain::proxy::TrustedProxies;
use domain::Latchkey;

use crate::audit;
use crate::observe::Watch;
use crate::security::{self, ResponseHeaders};

pub struct Edge {
    pub trusted: TrustedProxies,
    pub latchkey: Arc<Latchkey>,
    /// `Strict-Transport-Security` on every answer (the public URL is https).
    pub hsts: bool,
}

pub async fn edge(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    security::attach_client_ip(&edge.trusted, peer, &mut request);
    let watch = Watch::start(&request);
    let headers = ResponseHeaders::for_path(request.uri().path(), edge.hsts);
    let mut response = match audit::Pending::begin(request).await {
        Ok((audited, request)) => {
            let response = match own_host_and_body(&edge.latchkey, request).await {
                Ok(request) => next.run(request).await,
                Err(refused) => refused,
            };
            if let Some(audited) = audited {
                audited.finish(&edge.latchkey, response.status()).await;
            }
            response
        }
        Err(refused) => refused,
    };
    headers.apply(&mut response);
    watch.finish(response)
}

/// The dashboard answers only for our own host, and a server function's body is read within
/// its limit (see `security`).
async fn own_host_and_body(latchkey: &Latchkey, request: Request) -> Result<Request, Response> {
    if let Some(refused) = security::own_host_for_dashboard(latchkey, &request) {
        return Err(refused);
    }
    security::limit_server_fn_body(request).await
}
