//! Webhooks: where an endpoint may be, how a delivery is signed (Standard Webhooks), and the
//! worker that sends the outbox (`store/webhooks.rs`).
//!
//! Every process runs one worker. It claims a batch of due deliveries under a lease, sends
//! them all at once (each bounded in time), and writes back how each went in one write. A
//! delivery that failed is tried again on [`RETRY_DELAYS`], then marked `failed`. Sign-ins
//! never wait for any of this: they only write the outbox rows.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use url::Url;

use crate::config::Config;
use crate::crypto::SealPurpose;
use crate::outbound::is_public;
use crate::secret::Secret;
use crate::store::{AttemptOutcome, ClaimedDelivery, StoreResult};
use crate::time::{Millis, HOUR, MINUTE, SECOND};
use crate::Latchkey;

pub use crate::outbound::REQUEST_TIMEOUT;

/// A claimed delivery is this worker's for this long (well past [`REQUEST_TIMEOUT`]); a worker
/// that dies holding it lets it go when it runs out.
const LEASE: Millis = 30 * SECOND;
/// Deliveries claimed and sent together.
const BATCH: i64 = 64;
/// How often an idle worker looks for due deliveries.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// After a round that did not fill a batch, the pause before the next: deliveries gather into
/// fewer, larger rounds (two database writes each) instead of many of one.
const GATHER: Duration = Duration::from_millis(200);

/// The wait before each retry: the first within 10 s and the next soon after (an app that was
/// restarting is back), then backing off to 10 h; the last retry comes about 26 hours after
/// the first attempt. Each wait is stretched or shrunk by up to a tenth, so endpoints that
/// failed together are not retried in one burst.
pub const RETRY_DELAYS: [Millis; 10] =
    [5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 10 * HOUR];

/// A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks' libraries read it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header for one message: `v1,` and the base64 HMAC-SHA256, keyed by
/// the secret's bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn signature(secret: &str, message_id: &str, timestamp_secs: i64, body: &str) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| "the endpoint's secret is not base64".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{message_id}.{timestamp_secs}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Checks an endpoint URL. A production instance sends only to https URLs on public
/// addresses, unless the operator named the host in `LATCHKEY_WEBHOOK_ALLOWED_HOSTS`; the
/// addresses a name resolves to are checked again at every delivery. `Err` says why.
pub fn check_endpoint_url(config: &Config, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|_| "is not a URL (https://app.example.com/webhooks)".to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an https URL".into());
    }
    let Some(host) = url.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()) else {
        return Err("must name a host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry a user name or password (put credentials in the path, or check the signature)".into()
        );
    }
    if !config.is_production() || config.webhook_allowed_hosts.contains(&host) {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err("must be https on a production instance".into());
    }
    let private_ip = host.parse::<IpAddr>().is_ok_and(|ip| !is_public(ip));
    if private_ip || host == "localhost" || host.ends_with(".localhost") {
        return Err(format!(
            "points to a private or loopback address ({host}); to allow it, add the host to LATCHKEY_WEBHOOK_ALLOWED_HOSTS"
        ));
    }
    Ok(url)
}

impl Latchkey {
    /// One round of the worker: claims due deliveries, sends them at once, writes back how
    /// each went. Returns how many it sent.
    pub async fn deliver_due_webhooks(&self) -> StoreResult<usize> {
        let now = self.now();
        let (claim, due) = self.store.claim_webhook_deliveries(now, now + LEASE, BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut sending = tokio::task::JoinSet::new();
        for delivery in due {
            let secret = self.sealer.open(SealPurpose::WebhookSecret, &delivery.secret_sealed);
            // Checked again at every delivery, not only when saved: an endpoint saved on a
            // development instance, or for a host no longer allowed, is not sent to. (An IP in
            // the URL never reaches the resolver that filters private addresses.)
            let refused = check_endpoint_url(&self.config, &delivery.url).err();
            let http = self.webhook_http.clone();
            let clock = self.clock.clone();
            sending.spawn(async move {
                let tried = match (secret, refused) {
                    (_, Some(why)) => Err((None, format!("not sent: the endpoint's URL {why}"))),
                    (Ok(secret), None) => attempt(&http, &delivery, &secret, clock.now()).await,
                    (Err(_), None) => {
                        Err((None, "the endpoint's secret cannot be opened with this master key".to_string()))
                    }
                };
                outcome(&delivery, tried, clock.now())
            });
        }
        let mut outcomes = Vec::with_capacity(sending.len());
        while let Some(done) = sending.join_next().await {
            if let Ok(outcome) = done {
                outcomes.push(outcome);
            }
        }
        let sent = outcomes.len();
        for outcome in &outcomes {
            let outcome = match outcome.status {
                "delivered" => "delivered",
                "pending" => "retrying",
                _ => "failed",
            };
            metrics::counter!("latchkey_webhook_attempts_total", "outcome" => outcome).increment(1);
        }
        self.store.finish_webhook_attempts(&claim, outcomes, self.now()).await?;
        Ok(sent)
    }
}

/// Runs the delivery worker until the process ends.
pub async fn run_worker(latchkey: Arc<Latchkey>) {
    loop {
        match latchkey.deliver_due_webhooks().await {
            Ok(0) => tokio::time::sleep(IDLE_POLL).await,
            Ok(sent) if sent < BATCH as usize => tokio::time::sleep(GATHER).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "webhook deliveries could not be claimed or recorded; trying again in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sends one delivery: `Ok(status)` for a 2xx answer, else the status (if any) and why.
async fn attempt(
    http: &reqwest::Client,
    delivery: &ClaimedDelivery,
    secret: &Secret<String>,
    now: Millis,
) -> Result<u16, (Option<u16>, String)> {
    let timestamp = now / 1000;
    let signed = signature(secret.expose(), &delivery.id, timestamp, &delivery.payload).map_err(|e| (None, e))?;
    let answer = http
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .body(delivery.payload.clone())
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) if response.status().is_redirection() => {
            Err((Some(response.status().as_u16()), "the endpoint redirected; redirects are not followed".into()))
        }
        Ok(response) => Err((Some(response.status().as_u16()), format!("the endpoint answered {}", response.status()))),
        Err(e) if e.is_timeout() => Err((None, format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))),
        Err(e) if e.is_connect() => Err((None, "could not connect to the endpoint".into())),
        Err(_) => Err((None, "the connection failed before an answer arrived".into())),
    }
}

/// What to write back after an attempt: delivered; or pending until the next retry; or, with
/// the retries spent, failed.
fn outcome(delivery: &ClaimedDelivery, tried: Result<u16, (Option<u16>, String)>, now: Millis) -> AttemptOutcome {
    let (status_code, error) = match tried {
        Ok(code) => {
            return AttemptOutcome {
                delivery_id: delivery.id.clone(),
                status: "delivered",
                status_code: Some(i64::from(code)),
                error: None,
                next_attempt_at: None,
            }
        }
        Err((code, error)) => (code.map(i64::from), Some(error)),
    };
    let failures = usize::try_from(delivery.attempts).unwrap_or(0);
    match RETRY_DELAYS.get(failures) {
        Some(delay) => {
            let spread = delay / 10;
            let jitter = if spread > 0 { rand::thread_rng().gen_range(-spread..=spread) } else { 0 };
            AttemptOutcome {
                delivery_id: delivery.id.clone(),
                status: "pending",
                status_code,
                error,
                next_attempt_at: Some(now + delay + jitter),
            }
        }
        None => AttemptOutcome {
            delivery_id: delivery.id.clone(),
            status: "failed",
            status_code,
            error,
            next_attempt_at: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn retries_start_within_ten_seconds_last_over_a_day_then_fail() {
        assert!(RETRY_DELAYS[0] * 11 / 10 <= 10 * SECOND);
        assert!(RETRY_DELAYS.iter().sum::<Millis>() >= 24 * HOUR);
        let delivery = |attempts| ClaimedDelivery {
            id: "msg_1".into(),
            attempts,
            url: "https://example.com".into(),
            secret_sealed: String::new(),
            payload: "{}".into(),
        };
        let failed = |attempts| outcome(&delivery(attempts), Err((Some(500), "x".into())), 0);
        let first = failed(0);
        assert_eq!(first.status, "pending");
        assert!((4_500..=5_500).contains(&first.next_attempt_at.unwrap()), "{first:?}");
        assert_eq!(failed(RETRY_DELAYS.len() as i64 - 1).status, "pending");
        assert_eq!(failed(RETRY_DELAYS.len() as i64).status, "failed");
        assert_eq!(outcome(&delivery(3), Ok(204), 0).status, "delivered");
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        let vars = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(&vars, "127.0.0.1:3000".parse().expect("addr")).expect("config")
    }

    #[test]
    fn production_sends_only_to_public_https_unless_the_operator_names_the_host() {
        let production = config(&[
            ("LATCHKEY_ENVIRONMENT", "production"),
            ("LATCHKEY_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_WEBHOOK_ALLOWED_HOSTS", "Hooks.Internal, 10.0.0.9"),
        ]);
        assert!(check_endpoint_url(&production, "https://app.example.com/hooks").is_ok());
        for (url, says) in [
            ("http://app.example.com/hooks", "https"),
            ("https://127.0.0.1/hooks", "private"),
            ("https://[::1]:8443/hooks", "private"),
            ("https://169.254.169.254/latest/meta-data", "private"),
            ("https://10.1.2.3/hooks", "private"),
            ("https://localhost/hooks", "private"),
            ("https://app.localhost/hooks", "private"),
            ("https://user:pass@app.example.com/hooks", "password"),
            ("app.example.com/hooks", "not a URL"),
            ("javascript:alert(1)", "https"),
        ] {
            let refused = check_endpoint_url(&production, url).expect_err(url);
            assert!(refused.contains(says), "{url}: {refused}");
        }
        // Named by the operator: private and plain http are allowed.
        assert!(check_endpoint_url(&production, "http://hooks.internal:8080/latchkey").is_ok());
        assert!(check_endpoint_url(&production, "http://10.0.0.9/latchkey").is_ok());
        // A development instance sends anywhere (the app usually runs beside it).
        assert!(check_endpoint_url(&config(&[]), "http://127.0.0.1:4000/hooks").is_ok());
    }
}
