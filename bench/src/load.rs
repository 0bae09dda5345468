//! The load generator: one HTTP/1.1 keep-alive connection per task (hyper's low-level client, so
//! the generator itself costs as little CPU as it can: it shares the 2 cores with the server),
//! latency recorded per operation, every run bounded in time and in count.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The longest one request may take before it counts as an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const BENCH_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) latchkey-bench/0.1";

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of cookie `name` among the `Set-Cookie` headers.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|cookie| {
            let pair = cookie.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name && !value.is_empty()).then(|| value.to_string())
        })
    }
}

/// One keep-alive connection to `addr`, reopened when the server closes it.
pub struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        let host = HeaderValue::from_str(&addr.to_string()).unwrap_or(HeaderValue::from_static("127.0.0.1"));
        Client { addr, host, sender: None }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if let Some(sender) = &mut self.sender {
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.addr).await.map_err(|e| format!("connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".to_string())
    }

    /// Sends one request and reads the whole answer, within [`REQUEST_TIMEOUT`].
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, String)],
        body: Option<(&'static str, String)>,
    ) -> Result<Answer, String> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host.clone())
            .header(USER_AGENT, BENCH_USER_AGENT);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let body = match body {
            Some((content_type, text)) => {
                builder = builder.header(CONTENT_TYPE, content_type);
                Full::new(Bytes::from(text))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body).map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let sender = self.ready_sender().await?;
            let response = sender.send_request(request).await.map_err(|e| format!("send: {e}"))?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
            Ok::<_, String>(Answer { status: parts.status.as_u16(), headers: parts.headers, body })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => {
                let closing = answer.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                if closing {
                    self.sender = None;
                }
                Ok(answer)
            }
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))
            }
        }
    }

    pub async fn get(&mut self, path: &str, headers: &[(HeaderName, String)]) -> Result<Answer, String> {
        self.send(Method::GET, path, headers, None).await
    }
}

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub connections: usize,
    /// Operations in this first stretch are not recorded.
    pub warmup: Duration,
    pub duration: Duration,
    /// At most this many recorded operations, whatever the duration.
    pub max_operations: u64,
}

impl LoadSpec {
    pub fn describe(&self) -> String {
        format!(
            "{} connections, {:.0} s warm-up + {:.0} s measured (at most {} operations)",
            self.connections,
            self.warmup.as_secs_f64(),
            self.duration.as_secs_f64(),
            group(self.max_operations)
        )
    }
}

/// What a run measured (the warm-up left out).
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// From the start of measuring to the last recorded completion.
    pub window: Duration,
    /// Sorted, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl LoadResult {
    /// Adds a later, separate run (its window follows this one's).
    fn absorb(&mut self, other: LoadResult) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.window += other.window;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
    }

    pub fn per_second(&self) -> f64 {
        if self.window.is_zero() {
            return 0.0;
        }
        self.ok as f64 / self.window.as_secs_f64()
    }

    /// The `p`-quantile of successful operations' latency, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * self.latencies_us.len() as f64).ceil() as usize).clamp(1, self.latencies_us.len());
        f64::from(self.latencies_us[rank - 1]) / 1000.0
    }
}

/// Runs `operation` on `spec.connections` tasks, each with its own [`Client`], until the time or
/// the count runs out. `operation` takes the client and gives it back with its outcome.
pub async fn run<Op, Fut>(spec: &LoadSpec, addr: SocketAddr, operation: Op) -> LoadResult
where
    Op: Fn(Client) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = (Client, Result<(), String>)> + Send,
{
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let end = measure_from + spec.duration;
    let tickets = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(spec.connections);
    for _ in 0..spec.connections {
        let operation = operation.clone();
        let tickets = tickets.clone();
        let max = spec.max_operations;
        // Warm-up is bounded by time, and in count as well.
        let warmup_max = spec.max_operations;
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(addr);
            let mut result = LoadResult::default();
            let mut last_done = measure_from;
            let mut warmups = 0u64;
            loop {
                let begun = Instant::now();
                if begun >= end {
                    break;
                }
                let measured = begun >= measure_from;
                if measured {
                    if tickets.fetch_add(1, Ordering::Relaxed) >= max {
                        break;
                    }
                } else {
                    warmups += 1;
                    if warmups > warmup_max {
                        tokio::time::sleep_until(measure_from.into()).await;
                        continue;
                    }
                }
                let (returned, outcome) = operation(client).await;
                client = returned;
                if !measured {
                    continue;
                }
                let done = Instant::now();
                last_done = last_done.max(done);
                match outcome {
                    Ok(()) => {
                        result.ok += 1;
                        let us = (done - begun).as_micros().min(u128::from(u32::MAX)) as u32;
                        result.latencies_us.push(us);
                    }
                    Err(e) => {
                        result.errors += 1;
                        result.first_error.get_or_insert(e);
                        // A failing server must not turn this into a busy loop.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            result.window = last_done - measure_from;
            result
        }));
    }
    let mut total = LoadResult::default();
    for task in tasks {
        match task.await {
            Ok(part) => {
                total.ok += part.ok;
                total.errors += part.errors;
                if total.first_error.is_none() {
                    total.first_error = part.first_error;
                }
                total.window = total.window.max(part.window);
                total.latencies_us.extend(part.latencies_us);
            }
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert(format!("load task failed: {e}"));
            }
        }
    }
    total.latencies_us.sort_unstable();
    total
}

/// Loads the baseline and the server measured against it in turns: one warm-up each, then
/// `rounds` short runs each, alternating, so that whatever else the machine does at the time
/// weighs on both alike. Returns (baseline, measured).
pub async fn alternate<B, BFut, M, MFut>(
    spec: &LoadSpec,
    rounds: u32,
    baseline: B,
    measured: M,
) -> (LoadResult, LoadResult)
where
    B: Fn(LoadSpec) -> BFut,
    BFut: Future<Output = LoadResult>,
    M: Fn(LoadSpec) -> MFut,
    MFut: Future<Output = LoadResult>,
{
    let rounds = rounds.max(1);
    if !spec.warmup.is_zero() {
        let warm = LoadSpec { warmup: Duration::ZERO, duration: spec.warmup, ..spec.clone() };
        baseline(warm.clone()).await;
        measured(warm).await;
    }
    let round = LoadSpec {
        warmup: Duration::ZERO,
        duration: spec.duration / rounds,
        max_operations: spec.max_operations.div_ceil(u64::from(rounds)),
        ..spec.clone()
    };
    let (mut base, mut ours) = (LoadResult::default(), LoadResult::default());
    for _ in 0..rounds {
        base.absorb(baseline(round.clone()).await);
        ours.absorb(measured(round.clone()).await);
    }
    (base, ours)
}

/// `GET path` with these headers, answered `expected`, as fast as it goes.
pub async fn hammer_get(
    spec: &LoadSpec,
    addr: SocketAddr,
    path: &str,
    headers: Vec<(HeaderName, String)>,
    expected: u16,
) -> LoadResult {
    hammer(spec, addr, Method::GET, path, headers, expected).await
}

/// `method path` (no body) with these headers, answered `expected`, as fast as it goes.
pub async fn hammer(
    spec: &LoadSpec,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: Vec<(HeaderName, String)>,
    expected: u16,
) -> LoadResult {
    let path: Arc<str> = Arc::from(path);
    let headers = Arc::new(headers);
    run(spec, addr, move |mut client: Client| {
        let path = path.clone();
        let headers = headers.clone();
        let method = method.clone();
        async move {
            let outcome = match client.send(method.clone(), &path, &headers, None).await {
                Ok(answer) if answer.status == expected => Ok(()),
                Ok(answer) => Err(format!("{method} {path} answered {} (expected {expected})", answer.status)),
                Err(e) => Err(format!("{method} {path}: {e}")),
            };
            (client, outcome)
        }
    })
    .await
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn alternating_rounds_count_answers_and_errors() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let spec = LoadSpec {
            connections: 4,
            warmup: Duration::from_millis(50),
            duration: Duration::from_millis(200),
            max_operations: 1000,
        };
        let (hello, missing) = alternate(
            &spec,
            2,
            |round| async move { hammer_get(&round, addr, "/", vec![], 200).await },
            |round| async move { hammer_get(&round, addr, "/missing", vec![], 200).await },
        )
        .await;
        assert!(hello.ok > 0 && hello.ok <= 1000, "{hello:?}");
        assert_eq!((hello.errors, hello.latencies_us.len() as u64), (0, hello.ok));
        assert!(hello.latencies_us.windows(2).all(|w| w[0] <= w[1]), "sorted");
        assert!(!hello.window.is_zero() && hello.window < Duration::from_secs(5));
        assert_eq!(missing.ok, 0);
        assert!(missing.errors > 0);
        assert!(missing.first_error.as_deref().is_some_and(|e| e.contains("answered 404")), "{missing:?}");
    }

    #[test]
    fn percentiles_and_grouping() {
        let result = LoadResult {
            ok: 100,
            window: Duration::from_secs(2),
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
            ..Default::default()
        };
        assert_eq!(result.per_second(), 50.0);
        assert_eq!(result.percentile_ms(0.5), 50.0);
        assert_eq!(result.percentile_ms(0.99), 99.0);
        assert_eq!(result.percentile_ms(1.0), 100.0);
        assert!(LoadResult::default().percentile_ms(0.5).is_nan());
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
