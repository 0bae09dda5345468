//! Latchkey as an OpenID Provider under load: complete sign-ins of an app for a person who
//! already has a Latchkey session (authorize → token → userinfo, as a relying party's server
//! and the browser do them), and token-endpoint refreshes, each beside the baseline server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hyper::header::{HeaderName, AUTHORIZATION, COOKIE, LOCATION};
use hyper::Method;
use serde_json::Value;

use crate::load::{self, Client, LoadSpec};
use crate::webhooks::backend;
use crate::Compared;

/// Registered for the app; never called (the browser stops at the redirect).
const REDIRECT_URI: &str = "http://127.0.0.1:9/oauth/callback";
const FORM: &str = "application/x-www-form-urlencoded";

/// A confidential app that skips consent (a first-party app), as the benchmark registers it.
#[derive(Clone)]
pub struct App {
    client_id: String,
    client_secret: String,
}

pub async fn register(latchkey: SocketAddr) -> Result<App, String> {
    let body = format!(r#"{{"name": "bench", "redirect_uris": ["{REDIRECT_URI}"], "skip_consent": true}}"#);
    let created = backend(latchkey, Method::POST, "/v1/admin/oauth_applications", body).await?;
    let app: Value = serde_json::from_str(&created).map_err(|e| format!("{e}: {created}"))?;
    let field = |name: &str| app[name].as_str().map(String::from).ok_or_else(|| format!("no {name} in {created}"));
    Ok(App { client_id: field("client_id")?, client_secret: field("client_secret")? })
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn json(answer: &load::Answer, expected: u16, what: &str) -> Result<Value, String> {
    if answer.status != expected {
        return Err(format!("{what}: {} {}", answer.status, String::from_utf8_lossy(&answer.body)));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("{what}: {e}"))
}

async fn token_request(client: &mut Client, app: &App, grant: &[(&str, &str)]) -> Result<Value, String> {
    let mut pairs = grant.to_vec();
    pairs.extend([("client_id", app.client_id.as_str()), ("client_secret", app.client_secret.as_str())]);
    let answer = client.send(Method::POST, "/oauth/token", &[], Some((FORM, form(&pairs)))).await?;
    json(&answer, 200, "token")
}

/// One complete sign-in of the app: the browser's authorization request (the session cookie,
/// a 303 to the app with a code), the app's code exchange (client_secret_post) and its
/// userinfo call. Returns the token response.
pub async fn sign_in(client: &mut Client, app: &App, session_cookie: &[(HeaderName, String)]) -> Result<Value, String> {
    let query = form(&[
        ("client_id", &app.client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email profile offline_access"),
        ("state", "bench-state"),
        ("nonce", "bench-nonce"),
    ]);
    let authorized = client.get(&format!("/oauth/authorize?{query}"), session_cookie).await?;
    let location = authorized.header(LOCATION.as_str()).unwrap_or_default().to_string();
    if authorized.status != 303 || !location.starts_with(REDIRECT_URI) {
        return Err(format!("authorize: {} {location}", authorized.status));
    }
    let code = url::Url::parse(&location)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()))
        .ok_or_else(|| format!("authorize: no code in {location}"))?;
    let tokens = token_request(
        client,
        app,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)],
    )
    .await?;
    let access = tokens["access_token"].as_str().ok_or("token: no access_token")?;
    let bearer = [(AUTHORIZATION, format!("Bearer {access}"))];
    json(&client.get("/oauth/userinfo", &bearer).await?, 200, "userinfo")?;
    Ok(tokens)
}

/// Complete sign-ins (measured) beside `GET /` on the baseline, then refreshes beside it.
pub async fn figures(
    spec: &LoadSpec,
    rounds: u32,
    latchkey: SocketAddr,
    baseline: SocketAddr,
    session: &str,
) -> Result<(Compared, Compared), String> {
    let app = register(latchkey).await?;
    let cookie = vec![(COOKIE, format!("{}={session}", crate::signin::SESSION_COOKIE))];
    let (base, measured) = load::alternate(
        spec,
        rounds,
        |round| async move { load::hammer_get(&round, baseline, "/", vec![], 200).await },
        |round| {
            let (app, cookie) = (app.clone(), cookie.clone());
            async move {
                load::run(&round, latchkey, move |mut client: Client| {
                    let (app, cookie) = (app.clone(), cookie.clone());
                    async move {
                        let outcome = sign_in(&mut client, &app, &cookie).await.map(|_| ());
                        (client, outcome)
                    }
                })
                .await
            }
        },
    )
    .await;
    let sign_ins = Compared { measured, baseline: base, steps: None, cost: None };

    // Refreshes: one grant per connection, each refresh token used once and replaced by the
    // one it returns (rotation), as a relying party keeps it.
    let mut client = Client::new(latchkey);
    let mut pool = Vec::new();
    for _ in 0..spec.connections {
        let tokens = sign_in(&mut client, &app, &cookie).await?;
        pool.push(tokens["refresh_token"].as_str().ok_or("no refresh_token")?.to_string());
    }
    let pool = Arc::new(Mutex::new(pool));
    let (base, measured) = load::alternate(
        spec,
        rounds,
        |round| async move { load::hammer_get(&round, baseline, "/", vec![], 200).await },
        |round| {
            let (app, pool) = (app.clone(), pool.clone());
            async move {
                load::run(&round, latchkey, move |mut client: Client| {
                    let (app, pool) = (app.clone(), pool.clone());
                    async move {
                        let taken = pool.lock().map(|mut p| p.pop()).unwrap_or(None);
                        let Some(refresh) = taken else {
                            return (client, Err("no refresh token left".to_string()));
                        };
                        let grant = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
                        let outcome = match token_request(&mut client, &app, &grant).await {
                            Ok(tokens) => match tokens["refresh_token"].as_str() {
                                Some(next) => {
                                    if let Ok(mut p) = pool.lock() {
                                        p.push(next.to_string());
                                    }
                                    Ok(())
                                }
                                None => Err("refresh: no new refresh_token".to_string()),
                            },
                            Err(e) => Err(e),
                        };
                        (client, outcome)
                    }
                })
                .await
            }
        },
    )
    .await;
    Ok((sign_ins, Compared { measured, baseline: base, steps: None, cost: None }))
}
