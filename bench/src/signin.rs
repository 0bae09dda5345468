//! A whole sign-in through the built-in Notion sandbox, as a fresh browser does it:
//! start → consent → callback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyper::header::{HeaderName, COOKIE, ORIGIN};
use hyper::Method;

use crate::load::Client;

pub const FLOW_COOKIE: &str = "latchkey_flow";
pub const SESSION_COOKIE: &str = "latchkey_session";

/// The path (and query) of a `Location`, which must point at the same origin.
fn same_origin_path(client: &Client, location: &str) -> Result<String, String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Ok(location.to_string());
    }
    let origin = client.origin();
    match location.strip_prefix(&origin) {
        Some(rest) if rest.starts_with('/') => Ok(rest.to_string()),
        _ => Err(format!("redirected off loopback: {location}")),
    }
}

/// What the sandbox's consent form posts for `person`, with the authorize URL's own parameters.
pub fn consent_form(authorize: &str, person: &str) -> String {
    let query = authorize.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for name in ["client_id", "redirect_uri", "response_type", "owner", "state"] {
        let value = params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
        form.append_pair(name, value);
    }
    // `bench-17` stands for a person of our own; sample people go by their key (`ada`).
    match person.strip_prefix("bench-") {
        Some(n) => form
            .append_pair("person", "custom")
            .append_pair("custom_name", &format!("Bench Person {n}"))
            .append_pair("custom_email", &format!("bench-{n}@example.com")),
        None => form.append_pair("person", person),
    };
    form.append_pair("workspace", "0").append_pair("quirk", "none").append_pair("decision", "allow");
    form.finish()
}

/// Time spent in each of a sign-in's three requests, summed over successful sign-ins begun
/// from `from` on (the warm-up left out).
#[derive(Debug)]
pub struct StepTimes {
    from: Instant,
    micros: [AtomicU64; 3],
    count: AtomicU64,
}

impl StepTimes {
    pub fn from(from: Instant) -> StepTimes {
        StepTimes { from, micros: Default::default(), count: AtomicU64::new(0) }
    }

    fn add(&self, begun: Instant, steps: [u64; 3]) {
        if begun < self.from {
            return;
        }
        for (sum, step) in self.micros.iter().zip(steps) {
            sum.fetch_add(step, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Mean milliseconds of start, consent and callback.
    pub fn means_ms(&self) -> Option<[f64; 3]> {
        let count = self.count.load(Ordering::Relaxed);
        (count > 0).then(|| self.micros.each_ref().map(|m| m.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0))
    }
}

/// One complete sign-in; returns the session token the callback set.
pub async fn sign_in(client: &mut Client, person: &str) -> Result<String, String> {
    sign_in_timed(client, person, None).await
}

/// [`sign_in`], adding each request's time to `times`.
pub async fn sign_in_timed(client: &mut Client, person: &str, times: Option<&StepTimes>) -> Result<String, String> {
    let t0 = Instant::now();
    let start = client.get("/v1/oauth/notion/start", &[]).await.map_err(|e| format!("start: {e}"))?;
    if start.status != 303 {
        return Err(format!("start answered {} (expected 303)", start.status));
    }
    let authorize = start.header("location").ok_or("start: no Location")?.to_string();
    let nonce = start.set_cookie(FLOW_COOKIE).ok_or("start: no flow cookie")?;
    let flow_cookie = vec![(COOKIE, format!("{FLOW_COOKIE}={nonce}"))];

    let authorize_path = same_origin_path(client, &authorize)?;
    let form_path = authorize_path.split('?').next().unwrap_or_default().to_string();
    let mut post_headers: Vec<(HeaderName, String)> = flow_cookie.clone();
    // A browser's form post names its origin; Latchkey checks it.
    post_headers.push((ORIGIN, client.origin()));
    let t1 = Instant::now();
    let consent = client
        .send(
            Method::POST,
            &form_path,
            &post_headers,
            Some(("application/x-www-form-urlencoded", consent_form(&authorize, person))),
        )
        .await
        .map_err(|e| format!("consent: {e}"))?;
    if consent.status != 303 {
        return Err(format!("consent answered {} (expected 303)", consent.status));
    }
    let callback = consent.header("location").ok_or("consent: no Location")?.to_string();
    let callback_path = same_origin_path(client, &callback)?;

    let t2 = Instant::now();
    let done = client.get(&callback_path, &flow_cookie).await.map_err(|e| format!("callback: {e}"))?;
    let t3 = Instant::now();
    if done.status != 303 {
        let code = String::from_utf8_lossy(&done.body)
            .split("data-error=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|code| format!(", error {code}"))
            .unwrap_or_default();
        return Err(format!("callback answered {} (expected 303{code})", done.status));
    }
    let token = done.set_cookie(SESSION_COOKIE).ok_or_else(|| "callback: no session cookie".to_string())?;
    if let Some(times) = times {
        let micros = |a: Instant, b: Instant| (b - a).as_micros() as u64;
        times.add(t0, [micros(t0, t1), micros(t1, t2), micros(t2, t3)]);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_copies_the_authorize_parameters() {
        let form = consent_form(
            "http://127.0.0.1:1/sandbox/notion/v1/oauth/authorize?client_id=c&response_type=code&owner=user&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fv1%2Foauth_callback&state=s1",
            "ada",
        );
        assert_eq!(
            form,
            "client_id=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fv1%2Foauth_callback&response_type=code&owner=user&state=s1&person=ada&workspace=0&quirk=none&decision=allow"
        );
    }

    #[test]
    fn redirects_stay_on_loopback() {
        let client = Client::new("127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(same_origin_path(&client, "/user").as_deref(), Ok("/user"));
        assert_eq!(same_origin_path(&client, "http://127.0.0.1:8080/v1/x?y=1").as_deref(), Ok("/v1/x?y=1"));
        assert!(same_origin_path(&client, "https://api.notion.com/v1/oauth/authorize").is_err());
        assert!(same_origin_path(&client, "//evil.example/").is_err());
    }
}
