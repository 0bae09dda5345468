//! Security headers on every response, the client's address behind trusted proxies, the
//! sign-in rate limit, and the same-origin check for state-changing form posts.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::failure::Failure;
use domain::proxy::{ClientIp, TrustedProxies};
use domain::Latchkey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::html::failure_page;
use crate::routes::AppState;

/// Pages other than the Leptos ones (which set their own policy, with a script nonce) get a
/// policy that allows no script at all.
const STRICT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every response gets: decided from the request's path on the way in (no copy of
/// it is kept), added to the response on the way out.
pub struct ResponseHeaders {
    hsts: bool,
    widget: bool,
    no_store: bool,
}

impl ResponseHeaders {
    pub fn for_path(path: &str, hsts: bool) -> ResponseHeaders {
        let widget = path.starts_with("/widget/");
        // The JWKS and the widget's loader set their own max-age: verifiers and every page that
        // embeds the widget cache them.
        let no_store =
            !path.starts_with("/pkg/") && !widget && path != "/widget.js" && !path.starts_with("/.well-known/");
        ResponseHeaders { hsts, widget, no_store }
    }

    pub fn apply(&self, response: &mut Response) {
        let h = response.headers_mut();
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(STRICT_CSP));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
        if self.hsts {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        // Pages and answers about a person must not sit in shared caches; the hashed-free static
        // bundle may be revalidated.
        if self.widget {
            // The widget's module and WASM are fetched by pages on other origins (no credentials).
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        if self.no_store {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

/// Works out who the client is (the peer, or what our trusted proxies say) once per request and
/// leaves it in the request's extensions as [`ClientIp`], for the rate limit and the dashboard's
/// lockout alike.
pub fn attach_client_ip(trusted: &TrustedProxies, peer: SocketAddr, request: &mut Request) {
    let client = {
        let headers = request.headers();
        let values = |name| headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        trusted.client(peer.ip(), &values("x-forwarded-for"), &values(header::FORWARDED.as_str()))
    };
    request.extensions_mut().insert(client);
}

/// The dashboard (its pages and server functions) answers only requests for our own host. A
/// hostile name made to resolve to our address (DNS rebinding) gives the attacker's page a
/// "same-origin" path to an instance it could not otherwise reach (one on a private network,
/// or a laptop): its requests then carry its own name as `Host` and `Origin`, and are refused
/// here. Any other stray name is a misrouted request.
pub fn own_host_for_dashboard(latchkey: &Latchkey, request: &Request) -> Option<Response> {
    let path = request.uri().path();
    if !(path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/api/dashboard/")) {
        return None;
    }
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if latchkey.config().host_is_ours(host) {
        return None;
    }
    tracing::warn!(host = %host.escape_debug(), "dashboard request for another host refused");
    let message = format!("The dashboard answers only at {}.", latchkey.config().public_url_join("/dashboard"));
    Some((StatusCode::FORBIDDEN, message).into_response())
}

/// Leptos reads a server function's body itself, and a body over the limit came out as a 500:
/// read it here, within the limit, so an over-long one is a 413 before any server function runs.
pub async fn limit_server_fn_body(request: Request) -> Result<Request, Response> {
    if !request.uri().path().starts_with("/api/") {
        return Ok(request);
    }
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > SERVER_FN_BODY_LIMIT) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, SERVER_FN_BODY_LIMIT).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(_) => Err(too_large()),
    }
}

/// The answer to a body over [`SERVER_FN_BODY_LIMIT`].
pub fn too_large() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, "That request is too large.").into_response()
}

/// What any dashboard form can need, with room to spare.
pub const SERVER_FN_BODY_LIMIT: usize = 64 * 1024;

/// What the rate limit counts a request by: its client (see [`attach_client_ip`]; the peer if
/// it did not run), an IPv6 one by its /64.
fn client_of(request: &Request, peer: SocketAddr) -> IpAddr {
    request.extensions().get::<ClientIp>().copied().unwrap_or(ClientIp(peer.ip())).limit_key()
}

/// CORS for the frontend API: only the allowed origins (configured and set in the dashboard),
/// with credentials; `Vary: Origin`. A preflight from any other origin is answered without any
/// grant, so the browser refuses the request.
pub fn cors(latchkey: Arc<Latchkey>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin: HeaderValue, _parts: &Parts| {
            let latchkey = latchkey.clone();
            async move {
                let Ok(origin) = origin.to_str() else { return false };
                match latchkey.allowed_origins().await {
                    Ok(allowed) => allowed.iter().any(|a| a == origin),
                    Err(_) => false,
                }
            }
        }))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

/// Requests per minute per client address, for the sign-in endpoints.
pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimiter {
    /// `0` turns the limit off.
    pub fn per_minute(limit: u32) -> Self {
        RateLimiter { limiter: NonZeroU32::new(limit).map(|n| governor::RateLimiter::keyed(Quota::per_minute(n))) }
    }

    /// `Err(seconds to wait)` when `ip` is over its limit.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }
}

pub async fn rate_limit_sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match state.sign_in_limiter.check(client_of(&request, peer)) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            // A code refused here is still live at Notion: spend it (see `spend_code`).
            if request.uri().path() == "/v1/oauth_callback" {
                let query = request.uri().query().unwrap_or("");
                if let Ok(callback) = domain::flow::Callback::parse(query) {
                    state.latchkey.spend_code(callback.code.as_deref()).await;
                }
            }
            let mut response = failure_page(Failure::RateLimited, None).into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// True when a state-changing request comes from an allowed origin: `allowed` is the
/// configuration's list (which always holds Latchkey's own origin), or that list with the
/// dashboard's additions. Browsers send `Origin` on POSTs; a request without one (curl, old
/// clients) carries no cookie risk.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => allowed.iter().any(|a| a == origin),
    }
}

/// Whether a browser request came from one of Latchkey's own pages: [`origin_allowed`] with the
/// public URL's origin alone.
pub fn from_own_origin(latchkey: &Latchkey, headers: &HeaderMap) -> bool {
    origin_allowed(headers, &[latchkey.config().own_origin()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_check_refuses_other_sites() {
        // As the configuration builds it: our own origin first, then the apps'.
        let vars = [
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_ALLOWED_ORIGINS", "https://app.example.com"),
            ("LATCHKEY_ENVIRONMENT", "development"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        let config = domain::config::Config::from_vars(&vars, "127.0.0.1:3000".parse().expect("addr")).expect("config");
        let allowed = config.allowed_origins;
        let mut headers = HeaderMap::new();
        assert!(origin_allowed(&headers, &allowed));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://auth.example.com"));
        assert!(origin_allowed(&headers, &allowed));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://app.example.com"));
        assert!(origin_allowed(&headers, &allowed));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!origin_allowed(&headers, &allowed));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_allowed(&headers, &allowed));
    }

    #[test]
    fn rate_limit_answers_with_a_wait() {
        let limiter = RateLimiter::per_minute(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(limiter.check(ip).is_ok());
        assert!(limiter.check(ip).is_ok());
        assert!(matches!(limiter.check(ip), Err(wait) if (1..=60).contains(&wait)));
        assert!(limiter.check([127, 0, 0, 2].into()).is_ok(), "per address");
        assert!(RateLimiter::per_minute(0).check(ip).is_ok());
    }
}
