//! Session tokens: one minted by the running Latchkey (`POST /v1/me/token`), the SDK's time to
//! verify it with its keys cached, and an axum route behind the SDK's `LatchkeyLayer` beside the
//! same route without it, both served by this process on loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use hyper::header::HeaderName;
use hyper::Method;
use latchkey_sdk::{Latchkey, LatchkeyLayer, SignedIn};
use tokio::task::JoinHandle;

use crate::load::Client;

pub const MINT_PATH: &str = "/v1/me/token";

/// Verifications timed, after [`VERIFY_WARMUP`] untimed ones.
pub const VERIFY_CALLS: u32 = 20_000;
const VERIFY_WARMUP: u32 = 1_000;
/// The timed calls are split into this many batches, to show the spread.
pub const VERIFY_BATCHES: u32 = 10;

/// `POST /v1/me/token` with the session cookie: the JWT of the answer.
pub async fn mint(client: &mut Client, session_cookie: &[(HeaderName, String)]) -> Result<String, String> {
    let answer = client.send(Method::POST, MINT_PATH, session_cookie, None).await?;
    if answer.status != 200 {
        return Err(format!("POST {MINT_PATH} answered {} (expected 200)", answer.status));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|e| format!("POST {MINT_PATH}: not JSON: {e}"))?;
    value
        .get("jwt")
        .and_then(|jwt| jwt.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("POST {MINT_PATH}: no `jwt` in the answer"))
}

/// The SDK's verifier for the Latchkey at `addr` (its issuer: `http://ADDR`), its JWKS fetched.
pub async fn verifier(addr: SocketAddr) -> Result<Latchkey, String> {
    let latchkey =
        Latchkey::builder(&format!("http://{addr}")).build().map_err(|e| format!("latchkey-sdk: build: {e}"))?;
    latchkey.prefetch_keys().await.map_err(|e| format!("latchkey-sdk: prefetch_keys: {e}"))?;
    Ok(latchkey)
}

/// Mean time of one verification.
#[derive(Debug, Clone)]
pub struct VerifyTime {
    pub calls: u32,
    pub total: Duration,
    /// The fastest and the slowest batch's mean, in microseconds.
    pub batch_range_us: (f64, f64),
}

impl VerifyTime {
    pub fn mean_us(&self) -> f64 {
        self.total.as_secs_f64() * 1e6 / f64::from(self.calls.max(1))
    }

    fn from_batches(batches: &[Duration], per_batch: u32) -> VerifyTime {
        let means = batches.iter().map(|b| b.as_secs_f64() * 1e6 / f64::from(per_batch.max(1)));
        let batch_range_us = means.fold((f64::INFINITY, 0.0_f64), |(lo, hi), m| (lo.min(m), hi.max(m)));
        VerifyTime { calls: per_batch * batches.len() as u32, total: batches.iter().sum(), batch_range_us }
    }
}

/// `verify_cached(token)` [`VERIFY_CALLS`] times (after a warm-up) on a blocking thread, each
/// answer checked: a refusal ends the measurement as an error.
pub async fn time_verify_cached(latchkey: &Latchkey, token: &str) -> Result<VerifyTime, String> {
    let latchkey = latchkey.clone();
    let token = token.to_string();
    tokio::task::spawn_blocking(move || {
        let once = || {
            latchkey
                .verify_cached(std::hint::black_box(&token))
                .map(std::hint::black_box)
                .map_err(|why| format!("verify_cached refused the minted token: {why}"))
        };
        for _ in 0..VERIFY_WARMUP {
            once()?;
        }
        let per_batch = VERIFY_CALLS / VERIFY_BATCHES;
        let mut batches = Vec::with_capacity(VERIFY_BATCHES as usize);
        for _ in 0..VERIFY_BATCHES {
            let begun = Instant::now();
            for _ in 0..per_batch {
                once()?;
            }
            batches.push(begun.elapsed());
        }
        Ok(VerifyTime::from_batches(&batches, per_batch))
    })
    .await
    .map_err(|e| format!("verify_cached thread: {e}"))?
}

/// The same with `verify(token).await` (the keys are cached, so it never waits on a fetch).
pub async fn time_verify(latchkey: &Latchkey, token: &str) -> Result<VerifyTime, String> {
    for _ in 0..VERIFY_WARMUP {
        latchkey.verify(token).await.map_err(|why| format!("verify refused the minted token: {why}"))?;
    }
    let per_batch = VERIFY_CALLS / VERIFY_BATCHES;
    let mut batches = Vec::with_capacity(VERIFY_BATCHES as usize);
    for _ in 0..VERIFY_BATCHES {
        let begun = Instant::now();
        for _ in 0..per_batch {
            let claims = latchkey
                .verify(std::hint::black_box(token))
                .await
                .map_err(|why| format!("verify refused the minted token: {why}"))?;
            std::hint::black_box(claims);
        }
        batches.push(begun.elapsed());
    }
    Ok(VerifyTime::from_batches(&batches, per_batch))
}

async fn hello() -> &'static str {
    "hello"
}

/// The same answer, for a signed-in person only: a refused token answers 401 (an error to the
/// load generator), so every counted answer is a token the layer verified.
async fn hello_signed_in(_who: SignedIn) -> &'static str {
    "hello"
}

/// `GET /` → `hello` twice on loopback, in this process: plain, and behind `LatchkeyLayer`.
pub struct SdkRoutes {
    pub plain: SocketAddr,
    pub layered: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl SdkRoutes {
    pub async fn serve(latchkey: Latchkey) -> Result<SdkRoutes, String> {
        let plain = Router::new().route("/", get(hello));
        let layered = Router::new().route("/", get(hello_signed_in)).layer(LatchkeyLayer::new(latchkey));
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for app in [plain, layered] {
            let listener =
                tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("SDK route: bind: {e}"))?;
            addrs.push(listener.local_addr().map_err(|e| format!("SDK route: address: {e}"))?);
            tasks.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("latchkey-bench: SDK route: {e}");
                }
            }));
        }
        Ok(SdkRoutes { plain: addrs[0], layered: addrs[1], tasks })
    }
}

impl Drop for SdkRoutes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_give_the_mean_and_the_spread() {
        let time = VerifyTime::from_batches(&[Duration::from_millis(30), Duration::from_millis(50)], 1000);
        assert_eq!(time.calls, 2000);
        assert!((time.mean_us() - 40.0).abs() < 1e-9);
        assert!((time.batch_range_us.0 - 30.0).abs() < 1e-9 && (time.batch_range_us.1 - 50.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn the_layered_route_refuses_a_request_without_a_token() {
        let latchkey = Latchkey::builder("http://127.0.0.1:9").build().expect("verifier");
        let routes = SdkRoutes::serve(latchkey).await.expect("served");
        let mut plain = Client::new(routes.plain);
        let mut layered = Client::new(routes.layered);
        assert_eq!(plain.get("/", &[]).await.expect("plain").status, 200);
        let bearer = vec![(hyper::header::AUTHORIZATION, "Bearer not.a.token".to_string())];
        assert_eq!(layered.get("/", &bearer).await.expect("layered").status, 401);
    }
}
