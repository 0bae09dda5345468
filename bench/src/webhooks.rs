//! Sign-ins with one webhook endpoint subscribed vs none, in alternating rounds on the same
//! server: the endpoint (the baseline server's `POST /webhooks`, answering 204) is switched
//! on for one round and off for the next, so the deliveries' cost (the outbox rows in the
//! sign-in's transaction, the worker's claims and sends) lands in the "subscribed" rounds.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::header::{HeaderName, AUTHORIZATION};
use hyper::Method;

use crate::load::{self, Client, LoadSpec};
use crate::signin::StepTimes;
use crate::Compared;

/// The backend API key the benchmarked instance is started with.
pub const SECRET_KEY: &str = "sk_test_latchkey_bench_latchkey_bench_key";

pub(crate) async fn backend(addr: SocketAddr, method: Method, path: &str, body: String) -> Result<String, String> {
    let mut client = Client::new(addr);
    let auth: [(HeaderName, String); 1] = [(AUTHORIZATION, format!("Bearer {SECRET_KEY}"))];
    let answer = client.send(method, path, &auth, Some(("application/json", body))).await?;
    let text = String::from_utf8_lossy(&answer.body).to_string();
    if !(200..300).contains(&answer.status) {
        return Err(format!("{path}: {} {text}", answer.status));
    }
    Ok(text)
}

/// `measured`: the subscribed rounds; `baseline`: the rounds with the endpoint switched off.
pub async fn sign_ins_with_and_without(
    spec: &LoadSpec,
    rounds: u32,
    latchkey: SocketAddr,
    receiver: SocketAddr,
) -> Result<Compared, String> {
    let created = backend(
        latchkey,
        Method::POST,
        "/v1/admin/webhooks",
        format!(r#"{{"url": "http://{receiver}/webhooks", "enabled": false}}"#),
    )
    .await?;
    let id = serde_json::from_str::<serde_json::Value>(&created)
        .ok()
        .and_then(|v| v["id"].as_str().map(String::from))
        .ok_or_else(|| format!("no webhook id in {created}"))?;
    let path = format!("/v1/admin/webhooks/{id}");
    let switch = |enabled: bool| {
        let path = path.clone();
        async move { backend(latchkey, Method::PATCH, &path, format!(r#"{{"enabled": {enabled}}}"#)).await }
    };
    let (none, subscribed) = load::alternate(
        spec,
        rounds,
        |round| {
            let switched = switch(false);
            async move {
                if let Err(e) = switched.await {
                    eprintln!("latchkey-bench: switching the webhook off failed: {e}");
                }
                crate::sign_in_load(&round, latchkey, 0, Arc::new(StepTimes::from(std::time::Instant::now()))).await
            }
        },
        |round| {
            let switched = switch(true);
            async move {
                if let Err(e) = switched.await {
                    eprintln!("latchkey-bench: switching the webhook on failed: {e}");
                }
                crate::sign_in_load(&round, latchkey, 0, Arc::new(StepTimes::from(std::time::Instant::now()))).await
            }
        },
    )
    .await;
    Ok(Compared { measured: subscribed, baseline: none, steps: None, cost: None })
}
