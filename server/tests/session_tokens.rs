//! Session tokens for apps on other hosts: `/v1/me/token`, the JWKS, the handshake, and the
//! SDK's layer in front of a real axum app on loopback, against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{query_param, sign_in, Browser, Server};
use latchkey_sdk::{Latchkey, LatchkeyLayer, Rejection, SignedIn, HANDSHAKE_PARAM};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SECRET_KEY: &str = "sk_test_tokens_tokens_tokens_tokens";
const PAGE: &[(&str, &str)] = &[("accept", "text/html,application/xhtml+xml")];

fn json(page: &common::Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or(Value::Null)
}

async fn mint(server: &Server, browser: &mut Browser, origin: Option<&str>) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
    let page = browser.request(Method::POST, &server.url("/v1/me/token"), None, &headers).await;
    (page.status, json(&page))
}

fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap_or_default()).unwrap_or(Value::Null)
}

async fn backend(server: &Server, method: Method, path: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("backend API");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_signed_in_browser_gets_a_token_any_server_verifies_with_the_jwks() {
    let server = Server::start(&[("LATCHKEY_SECRET_KEY", SECRET_KEY)]).await;
    let mut browser = Browser::new();
    sign_in(&server, &mut browser, "ada").await;
    let me = json(&browser.get(&server.url("/v1/me")).await);

    let (status, minted) = mint(&server, &mut browser, Some(&server.base)).await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    let jwt = minted["jwt"].as_str().expect("jwt");
    let header = jwt_part(jwt, 0);
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("EdDSA"), Some("JWT")));
    let claims = jwt_part(jwt, 1);
    assert_eq!(claims["iss"], server.base.as_str(), "issuer: the public URL without a trailing slash");
    assert_eq!(claims["sub"], me["user"]["id"]);
    assert_eq!(claims["sid"], me["session"]["id"]);
    assert_eq!(claims["azp"], server.base.as_str(), "azp: the asking origin");
    assert_eq!(claims["exp"].as_i64().zip(claims["iat"].as_i64()).map(|(e, i)| e - i), Some(60));
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(minted["expires_at"].as_i64(), claims["exp"].as_i64().map(|e| e * 1000));
    // Without an Origin (a same-origin fetch of old browsers, a server): no azp.
    let (_, plain) = mint(&server, &mut browser, None).await;
    assert!(jwt_part(plain["jwt"].as_str().unwrap_or_default(), 1).get("azp").is_none());

    let jwks = reqwest::get(server.url("/.well-known/jwks.json")).await.expect("jwks");
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    assert!(jwks.headers()["cache-control"].to_str().unwrap_or_default().contains("max-age="));
    let jwks: Value = jwks.json().await.expect("jwks json");
    let all_keys = jwks["keys"].as_array().expect("keys");
    // One key signs session tokens; beside it, the RS256 key of the OpenID Provider's ID tokens.
    let keys: Vec<&Value> = all_keys.iter().filter(|k| k["alg"] != "RS256").collect();
    assert_eq!((keys.len(), all_keys.len()), (1, 2), "{jwks}");
    for key in keys {
        assert_eq!(
            (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
            (Some("OKP"), Some("EdDSA"), Some("sig"))
        );
        assert_eq!(key["kid"], header["kid"]);
        assert!(key.get("d").is_none(), "never a private part: {key}");
    }

    // The SDK, as an app's server uses it: fetches the JWKS and checks everything.
    let sdk = Latchkey::builder(&server.base).authorized_parties([server.base.as_str()]).build().expect("sdk");
    let verified = sdk.verify(jwt).await.expect("verifies");
    assert_eq!(Some(verified.sub.as_str()), me["user"]["id"].as_str());
    let strict = Latchkey::builder(&server.base).authorized_parties(["https://app.example.com"]).build().expect("sdk");
    assert_eq!(strict.verify(jwt).await, Err(Rejection::UnauthorizedParty));

    // The backend API, through the SDK's client.
    let sdk = Latchkey::builder(&server.base).secret_key(SECRET_KEY).build().expect("sdk");
    let user = sdk.backend().user(&verified.sub).await.expect("user");
    assert_eq!(Some(user.id.as_str()), me["user"]["id"].as_str());
    let tokens = sdk.backend().notion_tokens(&verified.sub).await.expect("notion tokens");
    assert_eq!(tokens.len(), 1);
    assert!(!format!("{tokens:?}").contains(&tokens[0].token), "Debug hides the Notion token");
}

#[tokio::test]
async fn no_token_for_the_signed_out_for_other_sites_or_for_ended_sessions() {
    let server = Server::start(&[("LATCHKEY_SECRET_KEY", SECRET_KEY)]).await;
    let mut stranger = Browser::new();
    let (status, body) = mint(&server, &mut stranger, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    stranger.cookies.insert("latchkey_session".into(), "garbage-not-a-token".into());
    assert_eq!(mint(&server, &mut stranger, None).await.0, StatusCode::UNAUTHORIZED);

    let mut browser = Browser::new();
    sign_in(&server, &mut browser, "ada").await;
    let (status, body) = mint(&server, &mut browser, Some("https://evil.example")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("origin_not_allowed")));

    // Revoked by the admin (backend API): no new token at once.
    let sid = json(&browser.get(&server.url("/v1/me")).await)["session"]["id"].as_str().expect("sid").to_string();
    assert_eq!(mint(&server, &mut browser, None).await.0, StatusCode::OK);
    let (status, _) = backend(&server, Method::POST, &format!("/v1/admin/sessions/{sid}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mint(&server, &mut browser, None).await.0, StatusCode::UNAUTHORIZED);

    // Signed out: none either.
    let mut other = Browser::new();
    sign_in(&server, &mut other, "grace").await;
    assert_eq!(mint(&server, &mut other, None).await.0, StatusCode::OK);
    other.request(Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    other.cookies.insert("latchkey_session".into(), "x".repeat(43));
    assert_eq!(mint(&server, &mut other, None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_handshake_answers_only_allowed_origins_signed_in_or_out() {
    let app = "http://app.example.test:8080";
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", app)]).await;
    let sdk = Latchkey::builder(&server.base).authorized_parties([app]).build().expect("sdk");
    let handshake = |to: &str| server.url(&format!("/v1/client/handshake?redirect_url={}&nonce=n-1_A", urlencode(to)));

    let mut browser = Browser::new();
    let page = browser.get(&handshake(&format!("{app}/page?x=1&{HANDSHAKE_PARAM}=stale"))).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let back = page.location().expect("back to the app");
    assert!(back.starts_with(&format!("{app}/page?x=1&")), "{back}");
    assert_eq!(back.matches(HANDSHAKE_PARAM).count(), 1, "a stale answer is replaced: {back}");
    let answer = query_param(&back, HANDSHAKE_PARAM).expect("answer");
    assert_eq!(sdk.verify_handshake(&answer, app, "n-1_A").await, Ok(None), "signed out is an answer");
    assert_eq!(sdk.verify_handshake(&answer, "http://other.test", "n-1_A").await, Err(Rejection::WrongAudience));
    // For the browser that asked only: another nonce, or none, is another browser's.
    assert_eq!(sdk.verify_handshake(&answer, app, "n-2_B").await, Err(Rejection::WrongBrowser));
    let unbound = browser.get(&server.url(&format!("/v1/client/handshake?redirect_url={}", urlencode(app)))).await;
    let unbound = query_param(&unbound.location().expect("back"), HANDSHAKE_PARAM).expect("answer");
    assert_eq!(sdk.verify_handshake(&unbound, app, "n-1_A").await, Err(Rejection::WrongBrowser));

    sign_in(&server, &mut browser, "ada").await;
    let back = browser.get(&handshake(&format!("{app}/"))).await.location().expect("back");
    let answer = query_param(&back, HANDSHAKE_PARAM).expect("answer");
    let token = sdk.verify_handshake(&answer, app, "n-1_A").await.expect("answer verifies").expect("signed in");
    let claims = sdk.verify(&token).await.expect("token verifies");
    assert_eq!(claims.azp.as_deref(), Some(app), "bound to the app's origin");
    assert_eq!(sdk.verify(&answer).await, Err(Rejection::WrongType), "an answer is no session token");

    for refused in ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""] {
        let page = browser.get(&handshake(refused)).await;
        assert!(page.status.is_client_error(), "{refused}: {}", page.status);
        assert!(page.location().is_none(), "{refused}: never a redirect");
    }
    for nonce in ["", "a%20b", &"n".repeat(65)] {
        let page = browser
            .get(&server.url(&format!("/v1/client/handshake?redirect_url={}&nonce={nonce}", urlencode(app))))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "nonce {nonce:?}");
    }
}

/// Login CSRF through the handshake: an answer someone fetched for their own session, put in a
/// link to the app, must not sign the person who opens it in as them. The app asks again for
/// the visitor's own answer. A plain sign-in link's answer (no nonce) costs the same one round.
#[tokio::test]
async fn a_handshake_answer_carried_to_another_browser_signs_nobody_in() {
    let (listener, origin) = app_listener().await;
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", &origin)]).await;
    let app = start_app(listener, &server.base, 0).await;
    let sdk = Latchkey::builder(&server.base).build().expect("sdk");

    let mut attacker = Browser::new();
    sign_in(&server, &mut attacker, "ada").await;
    let fetched = attacker
        .get(&server.url(&format!("/v1/client/handshake?redirect_url={}&nonce=attackers-own", urlencode(&app))))
        .await;
    let answer = query_param(&fetched.location().expect("back"), HANDSHAKE_PARAM).expect("an answer");
    let link = format!("{app}/?{HANDSHAKE_PARAM}={}", urlencode(&answer));

    // Signed out, and signed in as someone else: each stays who they are.
    let mut visitor = Browser::new();
    let mut grace = Browser::new();
    sign_in(&server, &mut grace, "grace").await;
    let grace_id = json(&grace.get(&server.url("/v1/me")).await)["user"]["id"].as_str().expect("id").to_string();
    for (browser, expected) in [(&mut visitor, "signed out".to_string()), (&mut grace, format!("hello {grace_id}"))] {
        let hops = browser.follow_with(&link, PAGE).await;
        let route: Vec<&str> = hops.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(hops.last().map(|h| h.1.body.clone()), Some(expected.clone()), "{route:?}");
        assert!(hops.len() <= 4, "one round to ask again: {route:?}");
        let token = browser.cookies.get("latchkey_token").cloned();
        let who = match &token {
            Some(token) if !token.is_empty() => sdk.verify(token).await.ok().map(|c| c.sub),
            _ => None,
        };
        assert_ne!(who, json(&attacker.get(&server.url("/v1/me")).await)["user"]["id"].as_str().map(str::to_string));
    }

    // A person who signed in through a plain sign-in link comes back signed in.
    let mut person = Browser::new();
    sign_in(&server, &mut person, "katherine").await;
    let hops = person.follow_with(&sdk.handshake_url(&format!("{app}/")), PAGE).await;
    let route: Vec<&str> = hops.iter().map(|h| h.0.as_str()).collect();
    assert!(hops.last().is_some_and(|h| h.1.body.starts_with("hello user_")), "{route:?}");
    assert_eq!(hops.last().map(|h| h.0.clone()), Some(format!("{app}/")), "nothing left in the URL: {route:?}");

    // A browser that keeps no cookies gets its page after asking once more: never a loop.
    let mut cookieless = Browser::new();
    let mut url = link.clone();
    let mut hops = 0;
    loop {
        let page = cookieless.request(Method::GET, &url, None, PAGE).await;
        cookieless.cookies.clear();
        hops += 1;
        assert!(hops < 8, "a loop: {url}");
        match page.location() {
            Some(next) => url = if next.starts_with("http") { next } else { format!("{app}{next}") },
            None => {
                assert_eq!(page.body, "signed out");
                assert!(!url.contains(HANDSHAKE_PARAM), "no answer left in the page's URL: {url}");
                break;
            }
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// An app on its own port that uses the SDK's layer: `/` is a page that greets the person,
/// `/api/me` an API that needs a token.
async fn start_app(listener: tokio::net::TcpListener, latchkey: &str, skew: i64) -> String {
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let sdk = Latchkey::builder(latchkey)
        .app_url(&base)
        .expect("app url")
        .authorized_parties([base.as_str()])
        .clock(move || {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            now.as_secs() as i64 + skew
        })
        .build()
        .expect("sdk");
    let app = Router::new()
        .route(
            "/",
            get(|who: Option<SignedIn>| async move {
                match who {
                    Some(who) => format!("hello {}", who.user_id()),
                    None => "signed out".to_string(),
                }
            }),
        )
        .route("/api/me", get(|who: SignedIn| async move { who.user_id().to_string() }))
        .layer(LatchkeyLayer::new(sdk));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn app_listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, origin)
}

#[tokio::test]
async fn a_server_rendered_app_learns_who_is_signed_in_without_javascript_and_never_loops() {
    let (listener, origin) = app_listener().await;
    let (skewed_ahead, ahead_origin) = app_listener().await;
    let (skewed_behind, behind_origin) = app_listener().await;
    let origins = [origin.as_str(), ahead_origin.as_str(), behind_origin.as_str()].join(",");
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", &origins), ("LATCHKEY_TOKEN_LIFETIME", "10")]).await;
    let app = start_app(listener, &server.base, 0).await;

    // Signed out: one round through Latchkey, then the page, and no second round.
    let mut visitor = Browser::new();
    let hops = visitor.follow_with(&format!("{app}/"), PAGE).await;
    assert!(hops.len() <= 4, "{:?}", hops.iter().map(|h| &h.0).collect::<Vec<_>>());
    assert_eq!(hops.last().map(|h| h.1.body.as_str()), Some("signed out"));
    for _ in 0..3 {
        let again = visitor.follow_with(&format!("{app}/"), PAGE).await;
        assert_eq!(again.len(), 1, "no redirect while the signed-out answer holds");
    }

    // Signed in at Latchkey: the app's page knows the person, and then asks no more.
    let mut person = Browser::new();
    sign_in(&server, &mut person, "ada").await;
    let user_id = json(&person.get(&server.url("/v1/me")).await)["user"]["id"].as_str().expect("id").to_string();
    let hops = person.follow_with(&format!("{app}/?tab=1"), PAGE).await;
    assert_eq!(hops.last().map(|h| h.1.body.clone()), Some(format!("hello {user_id}")));
    assert_eq!(hops.last().map(|h| h.0.clone()), Some(format!("{app}/?tab=1")), "the answer leaves the URL");
    let token = person.cookies.get("latchkey_token").cloned().expect("the app's token cookie");
    assert_eq!(person.follow_with(&format!("{app}/"), PAGE).await.len(), 1, "a valid token: no redirect");
    // The API reads the same token as a bearer; without one it answers the contract's JSON.
    let mut api = Browser::new();
    let page = api
        .request(Method::GET, &format!("{app}/api/me"), None, &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, user_id.as_str()));
    let page = api.get(&format!("{app}/api/me")).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(json(&page)["error"]["code"], "unauthenticated");
    api.cookies.insert("latchkey_token".into(), "garbage".into());
    let page = api.get(&format!("{app}/api/me")).await;
    assert_eq!((page.status, json(&page)["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));

    // A clock so far ahead that every 10-second token looks expired: signed out, but never a loop.
    let far_ahead = start_app(skewed_ahead, &server.base, 30).await;
    for _ in 0..4 {
        let hops = person.follow_with(&format!("{far_ahead}/"), PAGE).await;
        assert!(hops.len() <= 4, "no loop: {:?}", hops.iter().map(|h| &h.0).collect::<Vec<_>>());
    }
    drop(skewed_behind);

    // Signed out at Latchkey: the app sees it once the token's lifetime is over.
    person.request(Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The browser drops the expired cookie itself; this one is told by Max-Age.
        if person.cookies.get("latchkey_token").is_some_and(|t| latchkey_expired(t)) {
            person.cookies.remove("latchkey_token");
        }
        let hops = person.follow_with(&format!("{app}/"), PAGE).await;
        if hops.last().is_some_and(|h| h.1.body == "signed out") {
            break;
        }
        assert!(Instant::now() < deadline, "the app still says signed in 20 s after sign-out");
    }
}

fn latchkey_expired(token: &str) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    jwt_part(token, 1)["exp"].as_i64().is_none_or(|exp| exp <= now)
}

#[tokio::test]
async fn clocks_thirty_seconds_off_either_way_still_sign_in_and_never_loop() {
    let (ahead, ahead_origin) = app_listener().await;
    let (behind, behind_origin) = app_listener().await;
    let origins = format!("{ahead_origin},{behind_origin}");
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", &origins)]).await;
    for (listener, skew) in [(ahead, 30), (behind, -30)] {
        // A browser of its own: cookies do not keep ports apart, and both apps are on 127.0.0.1.
        let mut person = Browser::new();
        sign_in(&server, &mut person, "ada").await;
        let me = json(&person.get(&server.url("/v1/me")).await);
        let user_id = me["user"]["id"].as_str().expect("id").to_string();
        let app = start_app(listener, &server.base, skew).await;
        let hops = person.follow_with(&format!("{app}/"), PAGE).await;
        let route: Vec<&str> = hops.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(hops.last().map(|h| h.1.body.clone()), Some(format!("hello {user_id}")), "skew {skew}: {route:?}");
        for _ in 0..3 {
            assert_eq!(person.follow_with(&format!("{app}/"), PAGE).await.len(), 1, "skew {skew}: no redirect");
        }
    }
}

#[tokio::test]
async fn a_key_rotation_across_two_replicas_keeps_every_token_verifying() {
    if !common::on_postgres() {
        eprintln!("key rotation on two replicas: runs only against PostgreSQL; skipped on SQLite");
        return;
    }
    let env = [("LATCHKEY_MASTER_KEY", MASTER_KEY), ("LATCHKEY_SECRET_KEY", SECRET_KEY)];
    let one = Server::start(&env).await;
    let mut env_two = env.to_vec();
    env_two.push(("DATABASE_URL", one.database_url.as_str()));
    let two = Server::start(&env_two).await;

    let mut browser = Browser::new();
    sign_in(&one, &mut browser, "ada").await;
    let (_, first) = mint(&one, &mut browser, None).await;
    let first = first["jwt"].as_str().expect("jwt").to_string();
    let first_kid = jwt_part(&first, 0)["kid"].clone();
    // The same key on the other replica.
    let (_, same) = mint(&two, &mut browser, None).await;
    assert_eq!(jwt_part(same["jwt"].as_str().unwrap_or_default(), 0)["kid"], first_kid);

    let (status, rotated) = backend(&two, Method::POST, "/v1/admin/signing_keys/rotate").await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let next_kid = rotated["kid"].clone();

    // Published on both replicas before it signs anything; then it signs on both.
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        let (_, minted) = mint(&one, &mut browser, None).await;
        let jwt = minted["jwt"].as_str().unwrap_or_default().to_string();
        let kid = jwt_part(&jwt, 0)["kid"].clone();
        if kid == next_kid {
            break jwt;
        }
        assert_eq!(kid, first_kid, "the old key signs until the new one takes over");
        assert!(Instant::now() < deadline, "the new key never took over");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for server in [&one, &two] {
        let jwks: Value =
            reqwest::get(server.url("/.well-known/jwks.json")).await.expect("jwks").json().await.expect("json");
        let kids: Vec<Value> = jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].clone()).collect();
        assert!(kids.contains(&first_kid) && kids.contains(&next_kid), "both keys during the overlap: {kids:?}");
        // Tokens of both keys verify against this replica's JWKS.
        let sdk = Latchkey::builder(&one.base).jwks(serde_json::from_value(jwks).expect("set")).build().expect("sdk");
        assert!(sdk.verify(&first).await.is_ok(), "a token of the old key");
        assert!(sdk.verify(&second).await.is_ok(), "a token of the new key");
    }
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
