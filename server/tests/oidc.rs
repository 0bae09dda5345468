//! Latchkey as an OpenID Provider, driven the way a relying party and a browser drive it: the
//! real binary on loopback, the sandbox standing in for Notion, every answer read off the wire;
//! and by relying parties no one here wrote: panva's `openid-client` (Node) and `authlib`
//! (Python). Apache's `mod_auth_openidc` is in the end-to-end suite (Chromium).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{consent_form, query_param, Base, Browser, Page, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SECRET_KEY: &str = "sk_test_oidc_oidc_oidc_oidc_oidc_oidc_";
const REDIRECT_URI: &str = "https://app.example.org/oauth/callback";

async fn start_server() -> Server {
    Server::start(&[("LATCHKEY_SECRET_KEY", SECRET_KEY), ("LATCHKEY_MASTER_KEY", MASTER_KEY)]).await
}

async fn backend(server: &Server, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    common::backend_call(server, SECRET_KEY, method, path, body).await
}

/// A relying party registered through the backend API.
struct App {
    client_id: String,
    secret: Option<String>,
}

async fn register(server: &Server, body: Value) -> App {
    let (status, app) = backend(server, Method::POST, "/v1/admin/oauth_applications", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    App {
        client_id: app["client_id"].as_str().expect("client_id").into(),
        secret: app["client_secret"].as_str().map(str::to_string),
    }
}

async fn confidential(server: &Server, name: &str) -> App {
    register(server, json!({"name": name, "redirect_uris": [REDIRECT_URI]})).await
}

/// A PKCE verifier and its S256 challenge (RFC 7636 4.1, 4.2).
fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("{seed:-<43}").replace(' ', "-");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(server: &Server, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&server.url("/oauth/authorize")).expect("url");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// The usual request: code flow, every scope, state, nonce and PKCE.
fn code_request<'a>(app: &'a App, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", &app.client_id),
        ("redirect_uri", REDIRECT_URI),
        ("response_type", "code"),
        ("scope", "openid email profile offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// From an authorization request without a session: Latchkey's sign-in page, Notion (the
/// sandbox) as `email_name@example.org`, and back to the authorization request. Returns the
/// page the return lands on (a consent page, or the redirect to the app).
async fn sign_in_through(server: &Server, browser: &mut Browser, authorize: &str, email_name: &str) -> Page {
    let first = browser.get(authorize).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let sign_in = first.location().expect("to the sign-in page");
    assert!(sign_in.starts_with(&server.url("/sign-in?")), "{sign_in}");
    let back_to = query_param(&sign_in, "redirect_url").expect("the way back");
    assert!(back_to.starts_with("/oauth/authorize?"), "{back_to}");
    // The sign-in page's button: a Notion sign-in that returns to the authorization request.
    let page = browser.get(&sign_in).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut start = url::Url::parse(&server.url("/v1/oauth/notion/start")).expect("url");
    start.query_pairs_mut().append_pair("redirect_url", &back_to);
    let to_notion = browser.get(start.as_str()).await;
    let notion = to_notion.location().expect("to Notion");
    let form = format!(
        "{}&custom_name={email_name}&custom_email={email_name}%40example.org",
        consent_form(&notion, "custom", "allow")
    );
    let callback = browser.post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &form).await;
    let landed = browser.get(&callback.location().expect("callback")).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "signed in: {}", landed.body);
    let again = landed.location().expect("back to the authorization request");
    assert!(again.starts_with(&server.url("/oauth/authorize?")), "{again}");
    browser.get(&again).await
}

/// The consent page's form fields.
fn consent_fields(page: &Page) -> (String, String) {
    let value_of = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.body.find(&marker).unwrap_or_else(|| panic!("{name} in {}", page.body)) + marker.len();
        let end = page.body[start..].find('"').expect("closing quote") + start;
        page.body[start..end].replace("&amp;", "&")
    };
    (value_of("request"), value_of("consent_token"))
}

async fn answer_consent(server: &Server, browser: &mut Browser, page: &Page, decision: &str) -> Page {
    let (request, token) = consent_fields(page);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request", &request)
        .append_pair("consent_token", &token)
        .append_pair("decision", decision)
        .finish();
    let origin = server.base.clone();
    browser
        .request(
            Method::POST,
            &server.url("/oauth/authorize"),
            Some(form),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", &origin)],
        )
        .await
}

/// Where a redirect to the app goes, with its query.
fn back_at_app(page: &Page) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().expect("a redirect");
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    location
}

/// A token-endpoint request: `basic` is `(client_id, secret)` for HTTP Basic.
async fn token(server: &impl Base, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> (StatusCode, Value, Page) {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request = reqwest::Client::new()
        .post(server.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some((id, secret)) = basic {
        // RFC 6749 2.3.1: each part form-encoded before Basic.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        request = request.basic_auth(enc(id), Some(enc(secret)));
    }
    let response = request.send().await.expect("token endpoint");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, Page { status, headers, body: text })
}

async fn exchange(server: &impl Base, app: &App, code: &str, verifier: &str) -> (StatusCode, Value) {
    let secret = app.secret.as_deref().unwrap_or_default();
    let (status, json, _) = token(
        server,
        Some((&app.client_id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await;
    (status, json)
}

async fn userinfo(server: &impl Base, access_token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(server.url("/oauth/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap_or_default();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap_or_default()).unwrap_or(Value::Null)
}

/// A signed-in browser's code for `app` (consent already given or skipped).
async fn code_for(server: &Server, browser: &mut Browser, app: &App, challenge: &str) -> String {
    let page = browser.get(&authorize_url(server, &code_request(app, challenge))).await;
    let location = back_at_app(&page);
    query_param(&location, "code").unwrap_or_else(|| panic!("a code: {location}"))
}

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_public_url() {
    let server = start_server().await;
    let response = reqwest::get(server.url("/.well-known/openid-configuration")).await.expect("discovery");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("*"));
    let config: Value = response.json().await.expect("json");
    assert_eq!(config["issuer"], server.base.as_str());
    for (name, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("end_session_endpoint", "/oauth/logout"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(config[name], server.url(path), "{name}");
    }
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
    assert!(config["id_token_signing_alg_values_supported"].as_array().is_some_and(|a| a.contains(&json!("RS256"))));
    let auth_methods = &config["token_endpoint_auth_methods_supported"];
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(auth_methods.as_array().is_some_and(|a| a.contains(&json!(method))), "{auth_methods}");
    }
    // The JWKS it names holds an RS256 key beside the session tokens' EdDSA key.
    let jwks: Value =
        reqwest::get(server.url("/.well-known/jwks.json")).await.expect("jwks").json().await.expect("json");
    let algs: Vec<&str> = jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["alg"].as_str()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"EdDSA"), "{jwks}");
    let rsa = jwks["keys"].as_array().expect("keys").iter().find(|k| k["alg"] == "RS256").expect("rsa");
    assert_eq!((rsa["kty"].as_str(), rsa["use"].as_str(), rsa["e"].as_str()), (Some("RSA"), Some("sig"), Some("AQAB")));
    assert!(rsa["n"].as_str().is_some_and(|n| n.len() >= 342), "a 2048-bit modulus: {rsa}");
    assert!(rsa.get("d").is_none() && rsa.get("p").is_none(), "never the private parts: {rsa}");
}

#[tokio::test]
async fn a_person_signs_in_to_an_app_with_notion_and_the_app_learns_who() {
    let server = start_server().await;
    let app = confidential(&server, "Grafana").await;
    let secret = app.secret.clone().expect("the secret, shown at creation");
    let (verifier, challenge) = pkce("verifier-of-the-first-sign-in");
    let mut browser = Browser::new();

    // No Latchkey session: sign in with Notion first, then the consent page names the app,
    // where it sends you, and what it will see.
    let consent =
        sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&app, &challenge)), "ada").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    for words in ["Grafana", "app.example.org", "ada@example.org", "email address", "Allow"] {
        assert!(consent.body.contains(words), "the consent page says {words}: {}", consent.body);
    }
    assert_eq!(server.count("oauth_codes").await, 0, "nothing issued before the person allows it");
    // Browsers hold the redirect that answers the form to its `form-action`: the app's origin is
    // allowed there, and no other.
    let csp = consent.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("form-action 'self' https://app.example.org;"), "{csp}");

    let back = back_at_app(&answer_consent(&server, &mut browser, &consent, "allow").await);
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(server.base.as_str()), "RFC 9207 iss");
    let code = query_param(&back, "code").expect("code");

    // The app's server exchanges it.
    let (status, tokens) = exchange(&server, &app, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let mut scope: Vec<&str> = tokens["scope"].as_str().unwrap_or_default().split(' ').collect();
    scope.sort_unstable();
    assert_eq!(scope, ["email", "offline_access", "openid", "profile"], "{tokens}");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    assert_eq!(jwt_part(id_token, 0)["alg"], "RS256");
    let claims = jwt_part(id_token, 1);
    let me: Value = serde_json::from_str(&browser.get(&server.url("/v1/me")).await.body).expect("me");
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(claims["sub"], me["user"]["id"], "sub is the Latchkey user id");
    assert_eq!(claims["aud"], app.client_id.as_str());
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["email"], "ada@example.org");
    assert_eq!(claims["email_verified"], false, "Notion did not say the email is verified");
    assert_eq!(claims["name"], "ada");
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    assert!(claims["auth_time"].as_i64().is_some_and(|t| (now - 120..=now + 5).contains(&t)), "{claims}");
    assert_eq!(claims["exp"].as_i64().zip(claims["iat"].as_i64()).map(|(e, i)| e - i), Some(3600));
    // The kid is published.
    let jwks: Value =
        reqwest::get(server.url("/.well-known/jwks.json")).await.expect("jwks").json().await.expect("json");
    let kid = jwt_part(id_token, 0)["kid"].clone();
    assert!(jwks["keys"].as_array().is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid)), "{kid} in {jwks}");

    let access = tokens["access_token"].as_str().expect("access_token");
    let (status, info) = userinfo(&server, access).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["sub"], claims["sub"]);
    assert_eq!((info["email"].as_str(), info["email_verified"].as_bool()), (Some("ada@example.org"), Some(false)));
    assert_eq!(info["preferred_username"], "ada@example.org");

    // Refresh rotates: a new pair, the old refresh token spent.
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token (offline_access)");
    let (status, renewed, _) =
        token(&server, Some((&app.client_id, &secret)), &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let renewed_access = renewed["access_token"].as_str().expect("access");
    assert_eq!(userinfo(&server, renewed_access).await.0, StatusCode::OK);
    assert_eq!(jwt_part(renewed["id_token"].as_str().expect("id_token"), 1)["sub"], claims["sub"]);

    // A second sign-in to the same app: the consent is remembered, straight back with a code.
    let (verifier, challenge) = pkce("verifier-of-the-second-sign-in");
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    assert_eq!(exchange(&server, &app, &code, &verifier).await.0, StatusCode::OK);
    // prompt=consent asks again.
    let mut again = code_request(&app, &challenge);
    again.push(("prompt", "consent"));
    assert_eq!(browser.get(&authorize_url(&server, &again)).await.status, StatusCode::OK);

    // Revoking the refresh token ends the grant: its access token stops working too.
    let revoked = reqwest::Client::new()
        .post(server.url("/oauth/revoke"))
        .basic_auth(&app.client_id, Some(&secret))
        .form(&[("token", renewed["refresh_token"].as_str().unwrap_or_default())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(userinfo(&server, renewed_access).await.0, StatusCode::UNAUTHORIZED);

    // Signing out of Latchkey through the app (RP-initiated logout) ends the Latchkey session
    // and what was issued on it.
    let (_, third) =
        exchange(&server, &app, &code_for(&server, &mut browser, &app, &pkce("third").1).await, &pkce("third").0).await;
    let third_access = third["access_token"].as_str().expect("access").to_string();
    let mut logout = url::Url::parse(&server.url("/oauth/logout")).expect("url");
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", third["id_token"].as_str().unwrap_or_default())
        .append_pair("post_logout_redirect_uri", "https://app.example.org/signed-out")
        .append_pair("state", "bye");
    let left = browser.get(logout.as_str()).await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.body);
    assert_eq!(left.location().as_deref(), Some("https://app.example.org/signed-out?state=bye"));
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo(&server, &third_access).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn consent_is_asked_unless_skipped_and_a_refusal_goes_back_as_access_denied() {
    let server = start_server().await;
    let trusted =
        register(&server, json!({"name": "Intranet", "redirect_uris": [REDIRECT_URI], "skip_consent": true})).await;
    let other = confidential(&server, "Other app").await;
    let (_, challenge) = pkce("consent");
    let mut browser = Browser::new();

    // A first-party app the admin marked skip-consent: no page.
    let landed =
        sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&trusted, &challenge)), "kay")
            .await;
    assert!(query_param(&back_at_app(&landed), "code").is_some());

    // Another app: the person says no; the app hears access_denied with its state, no code.
    let consent = browser.get(&authorize_url(&server, &code_request(&other, &challenge))).await;
    assert_eq!(consent.status, StatusCode::OK);
    let denied = back_at_app(&answer_consent(&server, &mut browser, &consent, "deny").await);
    assert_eq!(query_param(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&denied, "state").as_deref(), Some("st-123"));
    assert!(query_param(&denied, "code").is_none());

    // A consent form posted from another site, or bound to another browser's session: refused.
    let (request, token) = consent_fields(&consent);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request", &request)
        .append_pair("consent_token", &token)
        .append_pair("decision", "allow")
        .finish();
    let cross_site = browser
        .request(
            Method::POST,
            &server.url("/oauth/authorize"),
            Some(form.clone()),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let mut someone_else = Browser::new();
    sign_in_through(
        &server,
        &mut someone_else,
        &authorize_url(&server, &code_request(&trusted, &challenge)),
        "mallory",
    )
    .await;
    let forged = someone_else
        .request(
            Method::POST,
            &server.url("/oauth/authorize"),
            Some(form),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", &server.base)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    assert!(forged.location().is_none());
    assert_eq!(server.count("oauth_consents").await, 0, "nothing remembered from a refusal or a forgery");
}

#[tokio::test]
async fn an_unknown_app_or_redirect_uri_gets_a_page_never_a_redirect() {
    let server = start_server().await;
    let app = confidential(&server, "Gitea").await;
    let (_, challenge) = pkce("pages");
    let mut browser = Browser::new();
    sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&app, &challenge)), "lin").await;

    let mut cases: Vec<(Vec<(&str, &str)>, &str)> = vec![(
        vec![
            ("client_id", "no-such-app"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid"),
        ],
        "not known",
    )];
    for look_alike in [
        "https://app.example.org/oauth/callback/",
        "https://app.example.org/oauth/callback?x=1",
        "https://app.example.org/oauth/callback#x",
        "https://app.example.org.evil.example/oauth/callback",
        "https://APP.example.org/oauth/callback",
        "http://app.example.org/oauth/callback",
        "https://app.example.org:8443/oauth/callback",
    ] {
        cases.push((
            vec![
                ("client_id", &app.client_id),
                ("redirect_uri", look_alike),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
            "has not registered",
        ));
    }
    cases.push((vec![("client_id", &app.client_id), ("response_type", "code"), ("scope", "openid")], "redirect_uri"));
    cases.push((
        vec![
            ("client_id", &app.client_id),
            ("client_id", "x"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
        ],
        "client_id",
    ));
    for (params, says) in cases {
        let page = browser.get(&authorize_url(&server, &params)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(page.location().is_none(), "never a redirect: {params:?}");
        assert!(page.body.contains(says), "{params:?} says {says}: {}", page.body);
    }
    assert_eq!(server.count("oauth_codes").await, 0);
}

#[tokio::test]
async fn a_bad_request_from_a_known_app_goes_back_to_it_as_an_oauth_error() {
    let server = start_server().await;
    let app = confidential(&server, "Outline").await;
    let public = register(&server, json!({"name": "SPA", "redirect_uris": [REDIRECT_URI], "public": true})).await;
    assert!(public.secret.is_none(), "a public client has no secret");
    let (_, challenge) = pkce("errors");
    let base = |app: &App| -> Vec<(String, String)> {
        code_request(app, "")
            .into_iter()
            .filter(|(k, _)| !k.starts_with("code_challenge"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let with = |app: &App, extra: &[(&str, &str)], without: &[&str]| -> String {
        let mut params: Vec<(String, String)> =
            base(app).into_iter().filter(|(k, _)| !without.contains(&k.as_str())).collect();
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize_url(&server, &refs)
    };
    let s256 = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];

    // Not signed in and told not to ask: login_required, straight back.
    let mut browser = Browser::new();
    let none = browser.get(&with(&app, &[("prompt", "none")], &[])).await;
    let back = back_at_app(&none);
    assert_eq!(query_param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"));

    sign_in_through(&server, &mut browser, &with(&app, &s256, &[]), "noor").await;
    let cases: Vec<(String, &str)> = vec![
        (with(&public, &[], &[]), "invalid_request"),
        (
            with(&public, &[("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], &[]),
            "invalid_request",
        ),
        (with(&app, &[("code_challenge", "too-short"), ("code_challenge_method", "S256")], &[]), "invalid_request"),
        (with(&app, &[("response_type", "token")], &["response_type"]), "unsupported_response_type"),
        (with(&app, &[("scope", "email profile")], &["scope"]), "invalid_scope"),
        (with(&app, &[("prompt", "none")], &[]), "consent_required"),
        (with(&app, &[("request", "eyJ9.e30.")], &[]), "request_not_supported"),
        (with(&app, &[("max_age", "soon")], &[]), "invalid_request"),
    ];
    for (url, error) in cases {
        let back = back_at_app(&browser.get(&url).await);
        assert_eq!(query_param(&back, "error").as_deref(), Some(error), "{url}");
        assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"), "{url}");
        assert!(query_param(&back, "error_description").is_some_and(|d| !d.is_empty()));
        assert!(query_param(&back, "code").is_none());
    }

    // Sign-in turned off by the admin: nothing is issued, even to a signed-in person.
    let (_, connections) = backend(&server, Method::GET, "/v1/admin/connections", None).await;
    let connection = connections["data"][0]["id"].as_str().expect("connection").to_string();
    let path = format!("/v1/admin/connections/{connection}");
    let (status, _) = backend(&server, Method::PATCH, &path, Some(json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    let back = back_at_app(&browser.get(&with(&app, &s256, &[])).await);
    assert_eq!(query_param(&back, "error").as_deref(), Some("temporarily_unavailable"));
    assert_eq!(server.count("oauth_codes").await, 0, "no error path made a code");
}

#[tokio::test]
async fn the_token_endpoint_refuses_every_misuse_and_revokes_what_a_replay_issued() {
    let server = start_server().await;
    let app = confidential(&server, "oauth2-proxy").await;
    let other = confidential(&server, "Other").await;
    let public = register(&server, json!({"name": "SPA", "redirect_uris": [REDIRECT_URI], "public": true})).await;
    let secret = app.secret.clone().expect("secret");
    let (verifier, challenge) = pkce("token-endpoint");
    let mut browser = Browser::new();
    let trusted_login =
        register(&server, json!({"name": "login", "redirect_uris": [REDIRECT_URI], "skip_consent": true})).await;
    sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&trusted_login, &challenge)), "ravi")
        .await;
    for target in [&app, &other, &public] {
        // Consent once per app, so codes come straight back from here on.
        let consent = browser.get(&authorize_url(&server, &code_request(target, &challenge))).await;
        back_at_app(&answer_consent(&server, &mut browser, &consent, "allow").await);
    }
    let code_form = |code: &str, verifier: &str| -> Vec<(String, String)> {
        vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.into()),
            ("redirect_uri".into(), REDIRECT_URI.into()),
            ("code_verifier".into(), verifier.into()),
        ]
    };
    let refs = |form: &[(String, String)]| -> Vec<(String, String)> { form.to_vec() };
    async fn send(
        server: &Server,
        basic: Option<(&str, &str)>,
        form: &[(String, String)],
    ) -> (StatusCode, Value, Page) {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        token(server, basic, &pairs).await
    }

    // Client authentication.
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    let (status, error, page) = send(&server, Some((&app.client_id, "wrong")), &code_form(&code, &verifier)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{error}");
    assert!(page.header("www-authenticate").is_some_and(|h| h.starts_with("Basic")), "RFC 6749 5.2");
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let mut no_secret = code_form(&code, &verifier);
    no_secret.push(("client_id".into(), app.client_id.clone()));
    let (status, error, _) = send(&server, None, &no_secret).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    // client_secret_post works, and the code (not spent by the refusals above) is exchanged.
    let mut post = no_secret.clone();
    post.push(("client_secret".into(), secret.clone()));
    let (status, first, _) = send(&server, None, &post).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let first_access = first["access_token"].as_str().expect("access").to_string();
    assert_eq!(userinfo(&server, &first_access).await.0, StatusCode::OK);

    // The same code again: refused, and what it issued is revoked.
    let (status, error, _) = send(&server, Some((&app.client_id, &secret)), &refs(&code_form(&code, &verifier))).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{error}");
    assert_eq!(userinfo(&server, &first_access).await.0, StatusCode::UNAUTHORIZED, "the replay revoked the grant");
    let (status, _, _) = send(
        &server,
        Some((&app.client_id, &secret)),
        &[
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), first["refresh_token"].as_str().unwrap_or_default().into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "its refresh token too");

    // PKCE: a missing or wrong verifier.
    for bad_verifier in ["", "a-verifier-that-is-long-enough-but-not-the-right-one"] {
        let code = code_for(&server, &mut browser, &app, &challenge).await;
        let mut form = code_form(&code, bad_verifier);
        form.retain(|(k, v)| k != "code_verifier" || !v.is_empty());
        let (status, error, _) = send(&server, Some((&app.client_id, &secret)), &form).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{bad_verifier:?}"
        );
    }
    // A code for one client presented by another; a wrong redirect_uri.
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    let other_secret = other.secret.clone().expect("secret");
    let (status, error, _) = send(&server, Some((&other.client_id, &other_secret)), &code_form(&code, &verifier)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{error}");
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    let mut form = code_form(&code, &verifier);
    form[2].1 = "https://app.example.org/elsewhere".into();
    assert_eq!(send(&server, Some((&app.client_id, &secret)), &form).await.0, StatusCode::BAD_REQUEST);

    // An expired code (its two minutes passed).
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    server.execute("UPDATE oauth_codes SET expires_at = expires_at - 3600000 WHERE used_at IS NULL").await;
    let (status, error, _) = send(&server, Some((&app.client_id, &secret)), &code_form(&code, &verifier)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(error["error_description"].as_str().is_some_and(|d| d.contains("expired")), "{error}");

    // A public client: no secret, PKCE required at the token endpoint too.
    let code = code_for(&server, &mut browser, &public, &challenge).await;
    let mut form = code_form(&code, &verifier);
    form.retain(|(k, _)| k != "code_verifier");
    form.push(("client_id".into(), public.client_id.clone()));
    let (status, error, _) = send(&server, None, &form).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{error}");
    let code = code_for(&server, &mut browser, &public, &challenge).await;
    let mut form = code_form(&code, &verifier);
    form.push(("client_id".into(), public.client_id.clone()));
    let (status, spa, _) = send(&server, None, &form).await;
    assert_eq!(status, StatusCode::OK, "{spa}");

    // Refresh rotation: the old refresh token used again revokes the whole family.
    let old_refresh = spa["refresh_token"].as_str().expect("refresh").to_string();
    let refresh_form = |token: &str| -> Vec<(String, String)> {
        vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), token.into()),
            ("client_id".into(), public.client_id.clone()),
        ]
    };
    let (status, rotated, _) = send(&server, None, &refresh_form(&old_refresh)).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, error, _) = send(&server, None, &refresh_form(&old_refresh)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let newest = rotated["refresh_token"].as_str().expect("refresh");
    assert_eq!(send(&server, None, &refresh_form(newest)).await.0, StatusCode::BAD_REQUEST, "the family is revoked");
    assert_eq!(
        userinfo(&server, rotated["access_token"].as_str().unwrap_or_default()).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Nonsense at the door.
    let (status, error, _) =
        send(&server, Some((&app.client_id, &secret)), &[("grant_type".into(), "password".into())]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (status, error, _) = send(&server, Some(("nobody", "x")), &code_form("c", &verifier)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert_eq!(userinfo(&server, "not-a-token").await.0, StatusCode::UNAUTHORIZED);

    // Sign-in turned off: a refresh is refused.
    let code = code_for(&server, &mut browser, &app, &challenge).await;
    let (_, fresh, _) = send(&server, Some((&app.client_id, &secret)), &code_form(&code, &verifier)).await;
    let (_, connections) = backend(&server, Method::GET, "/v1/admin/connections", None).await;
    let connection = connections["data"][0]["id"].as_str().expect("connection").to_string();
    backend(&server, Method::PATCH, &format!("/v1/admin/connections/{connection}"), Some(json!({"enabled": false})))
        .await;
    let form = vec![
        ("grant_type".into(), "refresh_token".into()),
        ("refresh_token".into(), fresh["refresh_token"].as_str().unwrap_or_default().to_string()),
    ];
    let (status, error, _) = send(&server, Some((&app.client_id, &secret)), &form).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{error}");
}

/// The clean-up's SQL on each engine: an authorization nothing can reach any more (no code, no
/// token left) is forgotten; one whose refresh token lives is kept, and the token still works.
#[tokio::test]
async fn the_clean_up_forgets_authorizations_nothing_can_reach_and_keeps_the_rest() {
    let mut server = start_server().await;
    let app = confidential(&server, "Grafana").await;
    let (verifier, challenge) = pkce("verifier-of-the-clean-up");
    let mut browser = Browser::new();
    let consent =
        sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&app, &challenge)), "ada").await;
    let back = back_at_app(&answer_consent(&server, &mut browser, &consent, "allow").await);
    let (status, tokens) = exchange(&server, &app, &query_param(&back, "code").expect("code"), &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // Long ago: the authorization, its spent code and its access token; beside it another
    // authorization of the same person whose code is long gone.
    server.execute("UPDATE oauth_codes SET expires_at = 0").await;
    server.execute("UPDATE oauth_tokens SET expires_at = 0 WHERE kind = 'access'").await;
    server.execute("UPDATE oauth_grants SET created_at = 0, auth_time = 0").await;
    server
        .execute(
            "INSERT INTO oauth_grants (id, application_id, user_id, session_id, scope, auth_time, created_at)
             SELECT 'ogr_abandoned', application_id, user_id, session_id, scope, 0, 0 FROM oauth_grants",
        )
        .await;
    assert_eq!(server.count("oauth_grants").await, 2);

    // The clean-up runs at start, then once a minute.
    server.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.count("oauth_grants").await != 1 {
        assert!(Instant::now() < deadline, "the abandoned authorization is still there: {}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let db = server.db().await;
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM oauth_grants").fetch_all(&db).await.expect("grants");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM oauth_tokens").fetch_all(&db).await.expect("tokens");
    db.close().await;
    assert!(left.iter().all(|id| id != "ogr_abandoned"), "{left:?}");
    assert_eq!(kinds, ["refresh"], "the expired access token went, the refresh token stayed");
    assert_eq!(server.count("oauth_codes").await, 0);
    let secret = app.secret.clone().expect("secret");
    let refresh = tokens["refresh_token"].as_str().expect("refresh_token");
    let (status, renewed, _) =
        token(&server, Some((&app.client_id, &secret)), &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .await;
    assert_eq!(status, StatusCode::OK, "the kept authorization still refreshes: {renewed}");
}

/// A refresh token is good for as long as the Latchkey session it came from, however that
/// session ends: here by a new sign-in on the same device, and by its idle limit.
#[tokio::test]
async fn a_refresh_token_ends_with_the_latchkey_session_it_came_from() {
    let server = start_server().await;
    let app = confidential(&server, "Grafana").await;
    let secret = app.secret.clone().expect("secret");
    let mut tokens_of = Vec::new();
    for (seed, person) in [("verifier-of-the-re-sign-in", "ada"), ("verifier-of-the-idle-session", "grace")] {
        let (verifier, challenge) = pkce(seed);
        let mut browser = Browser::new();
        let consent =
            sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&app, &challenge)), person)
                .await;
        let back = back_at_app(&answer_consent(&server, &mut browser, &consent, "allow").await);
        let (status, tokens) = exchange(&server, &app, &query_param(&back, "code").expect("code"), &verifier).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let (status, renewed) =
            token_call(&server, &app, &secret, tokens["refresh_token"].as_str().expect("refresh")).await;
        assert_eq!(status, StatusCode::OK, "a live session's refresh token works: {renewed}");
        tokens_of.push((browser, renewed["refresh_token"].as_str().expect("rotated").to_string()));
    }
    let (mut ada, ada_refresh) = tokens_of.remove(0);
    let (_grace, grace_refresh) = tokens_of.remove(0);

    // Ada signs in to Latchkey again on the same device: a new session, and what the app was
    // given carries on under it.
    let to_notion = ada.get(&server.url("/v1/oauth/notion/start")).await;
    let form = format!(
        "{}&custom_name=ada&custom_email=ada%40example.org",
        consent_form(&to_notion.location().expect("to Notion"), "custom", "allow")
    );
    let callback = ada.post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &form).await;
    let landed = ada.get(&callback.location().expect("callback")).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let (status, renewed) = token_call(&server, &app, &secret, &ada_refresh).await;
    assert_eq!(status, StatusCode::OK, "the same person signing in again keeps the app: {renewed}");
    let ada_refresh = renewed["refresh_token"].as_str().expect("rotated").to_string();

    // Someone else signs in on that device: that ends Ada's session, and her app's tokens.
    let landed = common::sign_in(&server, &mut ada, "grace").await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let (status, refused) = token_call(&server, &app, &secret, &ada_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");

    // A week without a visit to Latchkey itself does not end an app's refresh tokens...
    let graces = "revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE email = 'grace@example.org')";
    server.execute(&format!("UPDATE sessions SET last_active_at = 0 WHERE {graces}")).await;
    let (status, renewed) = token_call(&server, &app, &secret, &grace_refresh).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let grace_refresh = renewed["refresh_token"].as_str().expect("rotated").to_string();
    // ...its absolute lifetime (30 days) does.
    server.execute(&format!("UPDATE sessions SET expires_at = 1 WHERE {graces}")).await;
    let (status, refused) = token_call(&server, &app, &secret, &grace_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["error_description"].as_str().is_some_and(|d| d.contains("session")), "{refused}");
    // Both authorizations are revoked, so nothing they issued is left.
    let db = server.db().await;
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NULL")
        .fetch_one(&db)
        .await
        .expect("grants");
    db.close().await;
    assert_eq!(live, 0);
    assert_eq!(server.count("oauth_tokens").await, 0);
}

/// `grant_type=refresh_token` with HTTP Basic: the status and the JSON answer.
async fn token_call(server: &Server, app: &App, secret: &str, refresh_token: &str) -> (StatusCode, Value) {
    let (status, body, _) = token(
        server,
        Some((&app.client_id, secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn oauth_applications_are_managed_through_the_backend_api() {
    let server = start_server().await;
    for (body, says) in [
        (json!({"name": "", "redirect_uris": [REDIRECT_URI]}), "name"),
        (json!({"name": "x", "redirect_uris": []}), "redirect"),
        (json!({"name": "x", "redirect_uris": ["not a url"]}), "not an absolute URL"),
        (json!({"name": "x", "redirect_uris": ["https://app.example.org/cb#frag"]}), "fragment"),
        (json!({"name": "x", "redirect_uris": ["javascript:alert(1)"]}), "http"),
    ] {
        let (status, error) = backend(&server, Method::POST, "/v1/admin/oauth_applications", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert!(error.to_string().contains(says), "{body} → {error}");
    }
    let (status, created) = backend(
        &server,
        Method::POST,
        "/v1/admin/oauth_applications",
        Some(json!({"name": "Grafana", "redirect_uris": [REDIRECT_URI]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["object"], "oauth_application");
    assert_eq!((created["public"].as_bool(), created["skip_consent"].as_bool()), (Some(false), Some(false)));
    let id = created["id"].as_str().expect("id").to_string();
    let secret = created["client_secret"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 40);
    assert!(!server.stored_text().await.contains(&secret), "the secret is stored hashed only");

    let (_, listed) = backend(&server, Method::GET, "/v1/admin/oauth_applications", None).await;
    assert_eq!(listed["total_count"], 1);
    assert!(listed["data"][0].get("client_secret").is_none(), "{listed}");
    let path = format!("/v1/admin/oauth_applications/{id}");
    let (status, patched) =
        backend(&server, Method::PATCH, &path, Some(json!({"skip_consent": true, "name": "Grafana 12"}))).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!((patched["skip_consent"].as_bool(), patched["name"].as_str()), (Some(true), Some("Grafana 12")));
    assert!(patched.get("client_secret").is_none());

    // A rotated secret replaces the old one at once.
    let (status, rotated) = backend(&server, Method::POST, &format!("{path}/rotate_secret"), None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().expect("new secret");
    assert_ne!(new_secret, secret);
    let client_id = created["client_id"].as_str().expect("client_id");
    let probe = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    assert_eq!(token(&server, Some((client_id, &secret)), &probe).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(token(&server, Some((client_id, new_secret)), &probe).await.0, StatusCode::BAD_REQUEST, "authenticated");

    assert_eq!(backend(&server, Method::DELETE, &path, None).await.0, StatusCode::OK);
    assert_eq!(backend(&server, Method::GET, &path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(token(&server, Some((client_id, new_secret)), &probe).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sign_in_started_on_one_replica_finishes_on_another() {
    if !common::on_postgres() {
        eprintln!("OIDC on two replicas: runs only against PostgreSQL; skipped on SQLite");
        return;
    }
    let env = [("LATCHKEY_SECRET_KEY", SECRET_KEY), ("LATCHKEY_MASTER_KEY", MASTER_KEY)];
    let one = Server::start(&env).await;
    let mut env_two = env.to_vec();
    env_two.push(("DATABASE_URL", one.database_url.as_str()));
    let two = Server::start(&env_two).await;
    let app = confidential(&one, "Vault").await;
    let (verifier, challenge) = pkce("replicas");

    // Authorized on one (its consent page answered there), exchanged on the other.
    let mut browser = Browser::new();
    let consent =
        sign_in_through(&one, &mut browser, &authorize_url(&one, &code_request(&app, &challenge)), "rep").await;
    let code =
        query_param(&back_at_app(&answer_consent(&one, &mut browser, &consent, "allow").await), "code").expect("code");
    let (status, tokens) = exchange(&two, &app, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // The ID token's key is in the other replica's JWKS; userinfo answers on both.
    let kid = jwt_part(tokens["id_token"].as_str().unwrap_or_default(), 0)["kid"].clone();
    let jwks: Value = reqwest::get(one.url("/.well-known/jwks.json")).await.expect("jwks").json().await.expect("json");
    assert!(jwks["keys"].as_array().is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid)));
    let access = tokens["access_token"].as_str().expect("access");
    assert_eq!(userinfo(&one, access).await.0, StatusCode::OK);
    // The code replayed on the first replica is refused there and revokes on both.
    assert_eq!(exchange(&one, &app, &code, &verifier).await.0, StatusCode::BAD_REQUEST);
    let deadline = Instant::now() + Duration::from_secs(5);
    while userinfo(&two, access).await.0 != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the replay's revocation reached the other replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a relying-party script (`relying_parties/…`) through one sign-in: it prints the
/// authorization URL, the browser signs in and allows, and the script gets the callback URL and
/// prints what it made of it.
async fn relying_party(server: &Server, program: &str, script: &str, app: &App, person: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relying_parties").join(script);
    let mut child = Command::new(program)
        .arg(&script)
        .args([&server.base, &app.client_id, app.secret.as_deref().unwrap_or_default(), REDIRECT_URI])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs {} (scripts/setup.sh --test installs it): {e}", script.display()));
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    fn read_line(stdout: &mut impl BufRead) -> Value {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the relying party answers");
        serde_json::from_str::<Value>(&line).unwrap_or_else(|_| panic!("JSON from the relying party: {line:?}"))
    }
    let started = read_line(&mut stdout);
    let authorize =
        started["authorize"].as_str().unwrap_or_else(|| panic!("an authorization URL: {started}")).to_string();

    let mut browser = Browser::new();
    let consent = sign_in_through(server, &mut browser, &authorize, person).await;
    let callback = back_at_app(&answer_consent(server, &mut browser, &consent, "allow").await);
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{callback}").expect("callback to the relying party");
    drop(stdin);
    let finished = tokio::task::spawn_blocking(move || {
        let answer = read_line(&mut stdout);
        let _ = child.wait();
        answer
    })
    .await
    .expect("relying party");
    assert!(finished.get("error").is_none(), "{program} {}: {finished}", script.display());
    let me: Value = serde_json::from_str(&browser.get(&server.url("/v1/me")).await.body).expect("me");
    assert_eq!(finished["claims"]["sub"], me["user"]["id"], "{finished}");
    finished
}

#[tokio::test]
async fn openid_client_signs_a_person_in_with_discovery_pkce_userinfo_and_refresh() {
    let server = start_server().await;
    let app = confidential(&server, "openid-client").await;
    let node_modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/node_modules/openid-client");
    assert!(node_modules.exists(), "scripts/setup.sh --test installs openid-client into tools/");
    let answer = relying_party(&server, "node", "openid_client.mjs", &app, "oona").await;
    // openid-client checked state, iss, the RS256 signature against the JWKS, aud, exp and nonce.
    assert_eq!(answer["claims"]["email"], "oona@example.org");
    assert_eq!(answer["claims"]["email_verified"], false);
    assert_eq!(answer["userinfo"]["email"], "oona@example.org");
    assert_eq!(answer["userinfo"]["sub"], answer["claims"]["sub"]);
    assert_eq!(answer["refreshed_claims"]["sub"], answer["claims"]["sub"], "{answer}");
    assert_eq!(answer["refreshed_userinfo"]["name"], "oona");
    assert_eq!(answer["rotated"], true, "the refresh token rotates");
}

#[tokio::test]
async fn authlib_signs_a_person_in_with_client_secret_post() {
    let server = start_server().await;
    let app = confidential(&server, "authlib").await;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/venv/bin/python");
    assert!(python.exists(), "scripts/setup.sh --test installs authlib into tools/venv");
    let answer = relying_party(&server, &python.to_string_lossy(), "authlib_client.py", &app, "priya").await;
    assert_eq!(answer["claims"]["aud"], app.client_id.as_str());
    assert_eq!(answer["userinfo"]["email"], "priya@example.org");
    assert_eq!(answer["userinfo"]["email_verified"], false);
    // No offline_access asked: no refresh token.
    assert_eq!(
        answer["token_keys"],
        json!(["access_token", "expires_at", "expires_in", "id_token", "scope", "token_type"])
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_ask_a_signed_in_person_to_sign_in_again() {
    let server = start_server().await;
    let app = register(&server, json!({"name": "Vault", "redirect_uris": [REDIRECT_URI], "skip_consent": true})).await;
    let (verifier, challenge) = pkce("prompt-login");
    let mut browser = Browser::new();
    let first =
        sign_in_through(&server, &mut browser, &authorize_url(&server, &code_request(&app, &challenge)), "uma").await;
    let first_code = query_param(&back_at_app(&first), "code").expect("code");
    let (_, first_tokens) = exchange(&server, &app, &first_code, &verifier).await;
    let first_auth_time = jwt_part(first_tokens["id_token"].as_str().unwrap_or_default(), 1)["auth_time"].clone();

    // Signed in, yet prompt=login goes through Notion again, and comes back with a code whose
    // ID token tells the newer sign-in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut params = code_request(&app, &challenge);
    params.push(("prompt", "login"));
    let again = sign_in_through(&server, &mut browser, &authorize_url(&server, &params), "uma").await;
    let code = query_param(&back_at_app(&again), "code").expect("a code after signing in again");
    let (_, tokens) = exchange(&server, &app, &code, &verifier).await;
    let auth_time = jwt_part(tokens["id_token"].as_str().unwrap_or_default(), 1)["auth_time"].clone();
    assert!(auth_time.as_i64() > first_auth_time.as_i64(), "{auth_time} after {first_auth_time}");

    // The mark of that sign-in is Latchkey's own: a made-up one does not skip it.
    for forged in ["0", "1", "f0f6d343.AAAA"] {
        let mut params = code_request(&app, &challenge);
        params.extend([("prompt", "login"), ("latchkey_login_after", forged)]);
        let hop = browser.get(&authorize_url(&server, &params)).await;
        assert!(
            hop.location().is_some_and(|l| l.starts_with(&server.url("/sign-in?"))),
            "{forged}: {:?}",
            hop.location()
        );
    }

    // max_age=0: the session is always too old; without it, straight back.
    let mut params = code_request(&app, &challenge);
    params.push(("max_age", "0"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let hop = browser.get(&authorize_url(&server, &params)).await;
    assert!(hop.location().is_some_and(|l| l.starts_with(&server.url("/sign-in?"))), "{:?}", hop.location());
    assert!(query_param(
        &back_at_app(&browser.get(&authorize_url(&server, &code_request(&app, &challenge))).await),
        "code"
    )
    .is_some());

    // A logout link without id_token_hint asks first: a link on any site must not sign you out.
    let ask = browser.get(&server.url("/oauth/logout")).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Sign out?"), "{}", ask.body);
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK, "still signed in");
    // Nor does one carrying an ID token issued on another session (anyone can get one).
    let mut other = Browser::new();
    let (other_verifier, other_challenge) = pkce("another-person");
    let theirs =
        sign_in_through(&server, &mut other, &authorize_url(&server, &code_request(&app, &other_challenge)), "vera")
            .await;
    let (_, their_tokens) =
        exchange(&server, &app, &query_param(&back_at_app(&theirs), "code").expect("code"), &other_verifier).await;
    let mut link = url::Url::parse(&server.url("/oauth/logout")).expect("url");
    link.query_pairs_mut().append_pair("id_token_hint", their_tokens["id_token"].as_str().expect("id_token"));
    let ask = browser.get(link.as_str()).await;
    assert_eq!(ask.status, StatusCode::OK, "{:?}", ask.location());
    assert!(ask.body.contains("Sign out?"), "{}", ask.body);
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK, "still signed in");
    let confirmed = browser
        .request(
            Method::POST,
            &server.url("/oauth/logout"),
            Some(String::new()),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", &server.base)],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    // A post_logout_redirect_uri the app never registered: refused, not followed.
    let mut logout = url::Url::parse(&server.url("/oauth/logout")).expect("url");
    logout
        .query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("post_logout_redirect_uri", "https://evil.example/");
    let refused = browser.get(logout.as_str()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.location().is_none());
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
