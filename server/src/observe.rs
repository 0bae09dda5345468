//! What operators watch: an access-log line per request (target `latchkey::access`, at info),
//! carrying a request id that is also sent back as `x-request-id`; and, when
//! `LATCHKEY_METRICS_ADDR` is set, Prometheus metrics on that address of their own (kept off
//! the public listener).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Set once a recorder is installed: until then no label is even formatted.
static METRICS_ON: AtomicBool = AtomicBool::new(false);

/// A request id unique in this process and unlikely to repeat across processes: a random
/// prefix chosen at start, then a counter.
fn request_id() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(rand::random::<u32>);
    format!("{prefix:08x}{:010x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The access log and the request metrics. The path is logged without its query, which may
/// carry an authorization code, a state or a token.
pub struct Watch {
    started: Instant,
    id: String,
    metrics_on: bool,
    method: Option<Method>,
    route: Option<String>,
    seen: Option<(String, String)>,
}

impl Watch {
    /// Copies out of the request only what will be used (this runs on every request).
    pub fn start(request: &Request) -> Watch {
        let metrics_on = METRICS_ON.load(Ordering::Relaxed);
        let logging = tracing::enabled!(target: "latchkey::access", tracing::Level::INFO);
        let route =
            metrics_on.then(|| request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned())).flatten();
        let seen = logging.then(|| {
            let client =
                request.extensions().get::<domain::proxy::ClientIp>().map(|c| c.0.to_string()).unwrap_or_default();
            (request.uri().path().to_owned(), client)
        });
        Watch {
            started: Instant::now(),
            id: request_id(),
            metrics_on,
            method: (metrics_on || logging).then(|| request.method().clone()),
            route,
            seen,
        }
    }

    /// The request id on the response, then the metrics and the access-log line.
    pub fn finish(self, mut response: Response) -> Response {
        if let Ok(value) = HeaderValue::from_str(&self.id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let (Some(method), elapsed, status) = (self.method, self.started.elapsed(), response.status().as_u16()) else {
            return response;
        };
        if self.metrics_on {
            // The route pattern, never the path itself: a label per made-up URL would grow without bound.
            let route = self.route.unwrap_or_else(|| "unmatched".to_owned());
            metrics::counter!("latchkey_http_requests_total",
                "method" => method.to_string(), "route" => route.clone(), "status" => status.to_string())
            .increment(1);
            metrics::histogram!("latchkey_http_request_duration_seconds", "route" => route)
                .record(elapsed.as_secs_f64());
        }
        if let Some((path, client)) = self.seen {
            tracing::info!(
                target: "latchkey::access",
                request_id = %self.id,
                method = %method,
                path = %path,
                status,
                ms = (elapsed.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
                client = %client,
            );
        }
        response
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `addr`. Errors are a line for
/// the operator.
pub async fn serve_metrics(
    addr: SocketAddr,
    latchkey: std::sync::Arc<domain::Latchkey>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let handle: PrometheusHandle = PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0])
        .map_err(|e| format!("metrics: {e}"))?
        .install_recorder()
        .map_err(|e| format!("metrics: {e}"))?;
    METRICS_ON.store(true, Ordering::Relaxed);
    describe();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("LATCHKEY_METRICS_ADDR: cannot listen on {addr}: {e}"))?;
    let render = handle.clone();
    // Live sessions are counted in the database at each scrape: on replicas, each replica
    // reports the same global figure (take one, not the sum).
    let app = Router::new().route(
        "/metrics",
        get(move || async move {
            match latchkey.live_session_count().await {
                Ok(live) => metrics::gauge!("latchkey_sessions_active").set(live as f64),
                Err(e) => tracing::warn!("metrics: counting live sessions failed: {e}"),
            }
            render.render()
        }),
    );
    Ok(tokio::spawn(async move {
        let upkeep = async {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                handle.run_upkeep();
            }
        };
        tokio::select! {
            served = axum::serve(listener, app) => {
                if let Err(e) = served {
                    tracing::error!("the metrics listener stopped: {e}");
                }
            }
            () = upkeep => {}
        }
    }))
}

fn describe() {
    metrics::describe_counter!(
        "latchkey_http_requests_total",
        "HTTP requests answered, by method, route pattern and status"
    );
    metrics::describe_histogram!(
        "latchkey_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer a request, by route pattern"
    );
    metrics::describe_counter!(
        "latchkey_sign_ins_total",
        "Sign-in callbacks by outcome: signed_in, signed_up, or the failure's error code"
    );
    metrics::describe_histogram!(
        "latchkey_notion_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time Notion took to answer, by call: token, introspect, revoke"
    );
    metrics::describe_counter!("latchkey_notion_errors_total", "Notion calls that failed, by call");
    metrics::describe_counter!(
        "latchkey_oidc_token_requests_total",
        "OpenID Provider token requests by grant (authorization_code, refresh_token) and outcome (issued, refused)"
    );
    metrics::describe_gauge!(
        "latchkey_sessions_active",
        "Sessions that would sign a request in now, across every replica (counted in the database)"
    );
    metrics::describe_counter!(
        "latchkey_webhook_attempts_total",
        "Webhook delivery attempts by outcome: delivered, retrying or failed"
    );
}

/// A sign-in callback's outcome, counted.
pub fn sign_in_outcome(outcome: &'static str) {
    if METRICS_ON.load(Ordering::Relaxed) {
        metrics::counter!("latchkey_sign_ins_total", "outcome" => outcome).increment(1);
    }
}
