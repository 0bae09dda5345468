//! Every request's way in and out, as one middleware, in this order: who the client is (behind
//! trusted proxies), the request id and the access log, a server function's body limit, the audit
//! record of admin actions, the dashboard's own-host check; then the security headers on the
//! answer.
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
    // A server function's body is read within its limit first (see `security`); the audit
    // record then reads the id it names from that buffered body.
    let mut response = match security::limit_server_fn_body(request).await {
        Err(refused) => refused,
        Ok(request) => match audit::Pending::begin(request).await {
            Err(refused) => refused,
            Ok((audited, request)) => {
                // The dashboard answers only for our own host; a refusal is audited as any answer.
                let response = match security::own_host_for_dashboard(&edge.latchkey, &request) {
                    Some(refused) => refused,
                    None => next.run(request).await,
                };
                if let Some(audited) = audited {
                    audited.finish(&edge.latchkey, response.status()).await;
                }
                response
            }
        },
    };
    headers.apply(&mut response);
    watch.finish(response)
}
