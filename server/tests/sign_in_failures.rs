//! Every way a sign-in can fail ends on a page a person understands, with no session and no
//! new rows. Against the real binary, its SQLite file, the sandbox and a misbehaving Notion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::time::{Duration, Instant};

use common::fake_notion::{person_token, Answer, FakeNotion};
use common::{consent_in_sandbox, query_param, sign_in, Browser, Page, Server};
use reqwest::StatusCode;

/// The page is the named failure, shown as a page with a way back, and no session was made.
fn assert_failure_page(page: &Page, code: &str, status: u16) {
    assert_eq!(
        page.error_code().as_deref(),
        Some(code),
        "status {} body {}",
        page.status,
        &page.body[..page.body.len().min(400)]
    );
    assert_eq!(page.status.as_u16(), status, "{code}");
    assert!(page.body.contains("Back to sign in"));
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    assert!(
        page.set_cookies().iter().all(|c| !c.contains("latchkey_session=") || c.contains("Max-Age=0")),
        "no session cookie"
    );
}

#[tokio::test]
async fn cancelling_on_notion() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "cancel").await;
    assert_eq!(query_param(&callback, "error").as_deref(), Some("access_denied"));
    let page = browser.get(&callback).await;
    // The person's own choice: not an error page, a way to try again.
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.error_code().as_deref(), Some("access_denied"));
    assert!(page.body.contains("You cancelled the sign-in"));
    assert!(page.body.contains(r#"href="/sign-in?redirect_url="#) && page.body.contains("Try again"), "{}", page.body);
    assert!(!page.body.contains("Error code"), "{}", page.body);
    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0]);
    assert_eq!(server.count("sign_in_flows").await, 0, "the cancelled flow is gone");
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// After a cancel or a failure, "Try again" still ends in the app the person came from, and a
/// link leads back to that app without signing in.
#[tokio::test]
async fn after_a_cancel_or_a_failure_the_way_back_keeps_the_app() {
    let app = "http://app.localhost:4321";
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", app)]).await;
    let back = format!("{app}/projects?tab=2");
    let start = format!("/v1/oauth/notion/start?intent=sign_up&redirect_url={}", enc(&back));

    let mut browser = Browser::new();
    let callback = common::consent_in_sandbox_from(&server, &mut browser, &start, "ada", "cancel").await;
    let page = browser.get(&callback).await;
    let retry = format!(r#"href="/sign-up?redirect_url={}""#, enc(&back));
    assert!(page.body.contains(&retry), "Try again keeps the app and the intent: {}", page.body);
    assert!(page.body.contains(&format!(r#"href="{back}""#)) && page.body.contains("Back to app.localhost"));
    // Following "Try again" starts a flow that still ends in the app.
    let again = browser.get(&server.url(&format!("/sign-up?redirect_url={}", enc(&back)))).await;
    assert!(again.body.contains(&format!("redirect_url={}", enc(&back))), "{}", again.body);

    // A failure after the state check (Notion refusing the code) keeps them as well.
    let mut browser = Browser::new();
    let callback = common::consent_in_sandbox_from(&server, &mut browser, &start, "ada", "allow").await;
    let code = query_param(&callback, "code").expect("code");
    let tampered = callback.replace(&format!("code={code}"), "code=not-the-code");
    let page = browser.get(&tampered).await;
    assert_failure_page(&page, "code_rejected", 400);
    assert!(page.body.contains(&retry), "{}", page.body);

    // A callback with a state that is not this browser's links nowhere of the flow's.
    let mut victim = Browser::new();
    let callback = common::consent_in_sandbox_from(&server, &mut victim, &start, "ada", "allow").await;
    let page = Browser::new().get(&callback).await;
    assert_failure_page(&page, "state_other_browser", 400);
    assert!(!page.body.contains("app.localhost"), "{}", page.body);
}

#[tokio::test]
async fn state_missing_forged_replayed_expired_and_from_another_browser() {
    let server = Server::start(&[]).await;

    // Missing.
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let code = query_param(&callback, "code").expect("code");
    let page = browser.get(&server.url(&format!("/v1/oauth_callback?code={code}"))).await;
    assert_failure_page(&page, "state_missing", 400);

    // Forged.
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let code = query_param(&callback, "code").expect("code");
    let forged = format!("/v1/oauth_callback?code={code}&state={}", "A".repeat(43));
    assert_failure_page(&browser.get(&server.url(&forged)).await, "state_invalid", 400);
    assert_failure_page(
        &browser.get(&server.url(&format!("/v1/oauth_callback?code={code}&state=%27%3B--"))).await,
        "state_invalid",
        400,
    );

    // From another browser: the victim started, the attacker's browser brings the callback.
    let mut victim = Browser::new();
    let callback = consent_in_sandbox(&server, &mut victim, "ada", "allow").await;
    let mut other = Browser::new();
    assert_failure_page(&other.get(&callback).await, "state_other_browser", 400);
    // ...also when that other browser has a sign-in of its own in progress.
    let mut victim = Browser::new();
    let callback = consent_in_sandbox(&server, &mut victim, "ada", "allow").await;
    let mut other = Browser::new();
    other.get(&server.url("/v1/oauth/notion/start")).await;
    assert!(other.cookies.contains_key("latchkey_flow"));
    assert_failure_page(&other.get(&callback).await, "state_other_browser", 400);
    // The state was used up by that attempt: the victim's own callback now fails safely too.
    assert_failure_page(&victim.get(&callback).await, "state_invalid", 400);

    // Expired: the flow is eleven minutes old.
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    server.execute("UPDATE sign_in_flows SET created_at = created_at - 660000, expires_at = expires_at - 660000").await;
    assert_failure_page(&browser.get(&callback).await, "state_expired", 400);

    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0]);

    // Replayed: a callback that worked works once.
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let flow_cookie = browser.cookies.get("latchkey_flow").cloned().expect("flow cookie");
    assert_eq!(browser.get(&callback).await.status, StatusCode::SEE_OTHER);
    let session = browser.cookies.get("latchkey_session").cloned().expect("signed in");
    // A copy of the browser without its session: the dead link's page.
    let mut copy = Browser::new();
    copy.cookies.insert("latchkey_flow".into(), flow_cookie.clone());
    assert_failure_page(&copy.get(&callback).await, "state_invalid", 400);
    // The signed-in person pressing Back (or opening the callback again): sent on, signed in
    // as before, nothing new made.
    for flow in [Some(flow_cookie), None] {
        if let Some(flow) = flow {
            browser.cookies.insert("latchkey_flow".into(), flow);
        }
        let again = browser.get(&callback).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
        assert_eq!(again.location().as_deref(), Some(server.url("/user").as_str()));
        assert_eq!(browser.cookies.get("latchkey_session"), Some(&session), "the same session");
    }
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1]);
}

#[tokio::test]
async fn a_code_used_once_is_refused_by_notion_the_second_time() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let used_code = query_param(&callback, "code").expect("code");
    assert_eq!(browser.get(&callback).await.status, StatusCode::SEE_OTHER);
    let rows = server.sign_in_rows().await;

    // A new flow in the same browser, with the old code injected into its callback.
    let mut attacker = Browser::new();
    let fresh = consent_in_sandbox(&server, &mut attacker, "grace", "cancel").await;
    let state = query_param(&fresh, "state").expect("state");
    let page = attacker.get(&server.url(&format!("/v1/oauth_callback?code={used_code}&state={state}"))).await;
    assert_failure_page(&page, "code_rejected", 400);
    assert!(page.body.contains(&server.url("/v1/oauth_callback")), "the page names the redirect URI to register");
    assert_eq!(server.sign_in_rows().await, rows, "nothing new");
}

#[tokio::test]
async fn redirect_urls_outside_the_allowed_origins_never_leave_for_notion() {
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", "http://127.0.0.1:1,https://app.example.com")]).await;
    let mut browser = Browser::new();
    let long = format!("https://app.example.com/{}", "a".repeat(3000));
    for bad in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(document.cookie)",
        "https://app.example.com.evil.example/",
        "https://app.example.com@evil.example/",
        "http://app.example.com/",
        "https%3A%2F%2Fevil.example",
        "data:text/html,hi",
        long.as_str(),
    ] {
        let url = format!("/v1/oauth/notion/start?redirect_url={}", urlencode(bad));
        let page = browser.get(&server.url(&url)).await;
        assert_failure_page(&page, "redirect_url_not_allowed", 400);
        assert!(page.location().is_none(), "{bad}: no redirect at all");
    }
    assert_eq!(server.count("sign_in_flows").await, 0, "no flow was started");

    // An allowed one goes to Notion, and the person lands there after signing in.
    let start =
        browser
            .get(&server.url(&format!(
                "/v1/oauth/notion/start?redirect_url={}",
                urlencode("https://app.example.com/welcome?x=1")
            )))
            .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let authorize = start.location().expect("authorize");
    let decided = browser
        .post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &common::consent_form(&authorize, "ada", "allow"))
        .await;
    let landed = browser.get(&decided.location().expect("callback")).await;
    assert_eq!(landed.location().as_deref(), Some("https://app.example.com/welcome?x=1"));
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn malformed_requests_are_refused() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    assert_failure_page(&browser.get(&server.url("/v1/oauth/notion/start?intent=admin")).await, "bad_request", 400);
    assert_failure_page(
        &browser.get(&server.url("/v1/oauth/notion/start?redirect_url=/user&redirect_url=https://evil.example")).await,
        "bad_request",
        400,
    );
    assert_failure_page(
        &browser.get(&server.url("/v1/oauth_callback?code=a&code=b&state=s")).await,
        "bad_request",
        400,
    );
    let flood = format!("/v1/oauth_callback?code={}&state=s", "x".repeat(5000));
    assert_failure_page(&browser.get(&server.url(&flood)).await, "bad_request", 400);
    // A valid state with no code.
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let state = query_param(&callback, "state").expect("state");
    assert_failure_page(
        &browser.get(&server.url(&format!("/v1/oauth_callback?state={state}"))).await,
        "bad_request",
        400,
    );
    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn a_disabled_connection_refuses_to_start_and_to_finish() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    // The admin switches it off (through the backend API, as the dashboard does).
    let key = std::fs::read_to_string(server.data_dir.path().join("secret_key")).expect("generated key");
    let auth = format!("Bearer {}", key.trim());
    let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let listed =
        Browser::new().request(reqwest::Method::GET, &server.url("/v1/admin/connections"), None, &headers).await;
    let listed: serde_json::Value = serde_json::from_str(&listed.body).expect("json");
    let id = listed["data"][0]["id"].as_str().unwrap_or_else(|| panic!("a connection in {listed}")).to_string();
    let switched = Browser::new()
        .request(
            reqwest::Method::PATCH,
            &server.url(&format!("/v1/admin/connections/{id}")),
            Some(r#"{"enabled": false}"#.into()),
            &headers,
        )
        .await;
    assert_eq!(switched.status, reqwest::StatusCode::OK, "{}", switched.body);
    assert_failure_page(&browser.get(&callback).await, "connection_disabled", 403);
    assert_failure_page(&browser.get(&server.url("/v1/oauth/notion/start")).await, "connection_disabled", 403);
    let environment: serde_json::Value =
        serde_json::from_str(&browser.get(&server.url("/v1/environment")).await.body).expect("json");
    assert_eq!(environment["connections"][0]["enabled"], false);
    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0]);
}

/// Signs in against the fake Notion with its current answer; returns the callback's page.
async fn sign_in_against(server: &Server, fake: &FakeNotion) -> Page {
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let authorize = start.location().expect("to Notion");
    assert!(authorize.starts_with(&format!("{}/v1/oauth/authorize?", fake.base)), "{authorize}");
    assert_eq!(query_param(&authorize, "client_id").as_deref(), Some(common::fake_notion::CLIENT_ID));
    let state = query_param(&authorize, "state").expect("state");
    browser.get(&server.url(&format!("/v1/oauth_callback?code=the-code&state={state}"))).await
}

async fn fake_notion_server(fake: &FakeNotion) -> Server {
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(&env).await
}

#[tokio::test]
async fn the_exchange_speaks_notions_wire_format() {
    let fake = FakeNotion::start().await;
    let server = fake_notion_server(&fake).await;
    let page = sign_in_against(&server, &fake).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let received = fake.received.lock().expect("lock").last().cloned().expect("a token request");
    let head = received.head.to_ascii_lowercase();
    assert!(head.starts_with("post /v1/oauth/token "), "{head}");
    // Basic base64("fake-client-id:fake-client-secret")
    assert!(
        head.contains(
            "authorization: basic ZmFrZS1jbGllbnQtaWQ6ZmFrZS1jbGllbnQtc2VjcmV0".to_ascii_lowercase().as_str()
        ),
        "{head}"
    );
    assert!(head.contains("content-type: application/json"));
    assert!(head.contains("notion-version: 2022-06-28"));
    let body: serde_json::Value = serde_json::from_str(&received.body).expect("JSON body");
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["code"], "the-code");
    assert_eq!(body["redirect_uri"], server.url("/v1/oauth_callback"));
    assert!(!received.body.contains("fake-client-secret"), "the secret is never in the body");
}

#[tokio::test]
async fn every_way_notion_fails_ends_on_a_clear_page_with_nothing_saved() {
    let fake = FakeNotion::start().await;
    let server = fake_notion_server(&fake).await;
    let cases: Vec<(Answer, &str, u16)> = vec![
        (Answer::Json(400, r#"{"error": "invalid_grant", "error_description": "Invalid code."}"#.into()), "code_rejected", 400),
        (Answer::Json(401, r#"{"object": "error", "status": 401, "code": "invalid_client", "message": "bad"}"#.into()), "notion_client_rejected", 502),
        (Answer::Json(400, r#"{"error": "unsupported_grant_type"}"#.into()), "notion_rejected", 502),
        (Answer::RateLimited, "notion_rate_limited", 502),
        (Answer::Json(500, r#"{"object": "error", "status": 500, "code": "internal_server_error", "message": "x"}"#.into()), "notion_unavailable", 502),
        (Answer::Json(529, r#"{"object": "error", "status": 529, "code": "service_overload", "message": "x"}"#.into()), "notion_unavailable", 502),
        (Answer::Html(502), "notion_unavailable", 502),
        (Answer::Html(200), "notion_unavailable", 502),
        (Answer::Json(200, r#"{"access_token": "ntn_x", "bot_id": "#.into()), "notion_unavailable", 502),
        (Answer::Json(200, r#"{"access_token": "ntn_x"}"#.into()), "notion_unavailable", 502),
        (Answer::Cut, "notion_unavailable", 502),
        // A huge answer is given up on, not buffered whole.
        (Answer::Json(200, format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024))), "notion_unavailable", 502),
        (
            Answer::Json(200, r#"{"access_token": "ntn_x", "bot_id": "b", "workspace_id": "w", "owner": {"type": "workspace", "workspace": true}}"#.into()),
            "notion_no_person",
            422,
        ),
        (Answer::Json(200, person_token("u-no-email", None, "No Email", "bot-ne")), "notion_email_missing", 422),
    ];
    for (answer, code, status) in cases {
        fake.answer(answer.clone());
        let page = sign_in_against(&server, &fake).await;
        assert_failure_page(&page, code, status);
        assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0], "{answer:?} saved nothing");
    }
    // Nor at Notion: the two that got a token (and then no person, or no email) revoked it.
    let deadline = Instant::now() + Duration::from_secs(5);
    for token in ["ntn_x", "ntn_fake_bot-ne"] {
        let revoked = || {
            fake.received
                .lock()
                .expect("lock")
                .iter()
                .any(|r| r.head.split_whitespace().nth(1) == Some("/v1/oauth/revoke") && r.body.contains(token))
        };
        while !revoked() {
            assert!(Instant::now() < deadline, "{token} was not revoked at Notion");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Notion's cancel from the fake's side, with an unusual error.
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize"), "state").expect("state");
    let page = browser.get(&server.url(&format!("/v1/oauth_callback?error=server_error&state={state}"))).await;
    assert_failure_page(&page, "notion_rejected", 502);

    // And once Notion answers well again, the sign-in works.
    fake.answer(Answer::Json(200, person_token("u-1", Some("ada@example.org"), "Ada", "bot-1")));
    assert_eq!(sign_in_against(&server, &fake).await.status, StatusCode::SEE_OTHER);
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1]);
}

#[tokio::test]
async fn a_slow_notion_is_given_up_on_within_the_bound() {
    let fake = FakeNotion::start().await;
    let server = fake_notion_server(&fake).await;
    fake.answer(Answer::Slow(Duration::from_secs(15)));
    let began = Instant::now();
    let page = sign_in_against(&server, &fake).await;
    let waited = began.elapsed();
    assert_failure_page(&page, "notion_unavailable", 502);
    assert!(waited < Duration::from_secs(12), "the person waited {waited:?}");
    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn sign_in_endpoints_are_rate_limited() {
    let server = Server::start(&[("LATCHKEY_RATE_LIMIT", "3")]).await;
    let mut browser = Browser::new();
    for _ in 0..3 {
        assert_eq!(browser.get(&server.url("/v1/oauth/notion/start")).await.status, StatusCode::SEE_OTHER);
    }
    let limited = browser.get(&server.url("/v1/oauth/notion/start")).await;
    assert_failure_page(&limited, "rate_limited", 429);
    let retry_after: u64 = limited.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(
        browser.get(&server.url("/v1/oauth_callback?code=x&state=y")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other pages are not limited.
    assert_eq!(browser.get(&server.url("/sign-in")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    sign_in(&server, &mut browser, "ada").await;
    for path in [
        "/sign-in",
        "/sign-up",
        "/user",
        "/v1/me",
        "/v1/oauth_callback",
        "/sandbox/notion/v1/oauth/authorize",
        "/no-such-page",
        "/healthz",
    ] {
        let page = browser.get(&server.url(path)).await;
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("'unsafe-inline'"), "{path}");
        assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert!(page.header("referrer-policy").is_some(), "{path}");
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"), "{path}");
    }
    assert_eq!(browser.get(&server.url("/no-such-page")).await.status, StatusCode::NOT_FOUND);
    // Inline scripts carry this response's nonce.
    let profile = browser.get(&server.url("/user")).await;
    let csp = profile.header("content-security-policy").unwrap_or_default();
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(profile.body.contains(&format!("nonce=\"{nonce}\"")));
}

#[tokio::test]
async fn contract_json_endpoints() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    let me = browser.get(&server.url("/v1/me")).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let error: serde_json::Value = serde_json::from_str(&me.body).expect("json");
    assert_eq!(error["error"]["code"], "unauthenticated");
    assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    let environment: serde_json::Value =
        serde_json::from_str(&browser.get(&server.url("/v1/environment")).await.body).expect("json");
    assert_eq!(
        environment,
        serde_json::json!({"environment": "development", "connections": [{"provider": "notion", "name": "Notion", "enabled": true}]})
    );
    assert_eq!(browser.get(&server.url("/healthz")).await.status, StatusCode::OK);
    assert_eq!(browser.get(&server.url("/readyz")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn production_has_no_sandbox_and_secure_cookies() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let server = Server::start(&[("LATCHKEY_ENVIRONMENT", "production"), ("LATCHKEY_MASTER_KEY", key)]).await;
    let mut browser = Browser::new();
    assert_eq!(
        browser.get(&server.url("/sandbox/notion/v1/oauth/authorize?client_id=latchkey-sandbox")).await.status,
        StatusCode::NOT_FOUND
    );
    // No connection is configured yet: the sign-in says so instead of leaving for Notion.
    assert_failure_page(&browser.get(&server.url("/v1/oauth/notion/start")).await, "connection_disabled", 403);
    assert!(!server.data_dir.path().join("master.key").exists(), "production generates nothing");
    // Sign-out (which always clears the cookie) shows the production cookie's shape.
    let out = browser.request(reqwest::Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    let cleared = out.set_cookies().join("\n");
    assert!(cleared.contains("__Host-latchkey_session=") && cleared.contains("Secure"), "{cleared}");
}

#[tokio::test]
async fn a_wrong_setting_stops_the_start_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    for (env, variable) in [
        (vec![("LATCHKEY_ENVIRONMENT", "production")], "LATCHKEY_MASTER_KEY"),
        (vec![("LATCHKEY_PUBLIC_URL", "not a url")], "LATCHKEY_PUBLIC_URL"),
        (vec![("LATCHKEY_MASTER_KEY", "c2hvcnQ=")], "LATCHKEY_MASTER_KEY"),
        (vec![("LATCHKEY_RATE_LIMIT", "many")], "LATCHKEY_RATE_LIMIT"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_clear()
            .env("LATCHKEY_DATA_DIR", dir.path())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", common::free_port()))
            .envs(env)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(&format!("latchkey: {variable}: ")), "{stderr}");
    }
}

#[tokio::test]
async fn hostile_strings_from_notion_are_rendered_inert() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let authorize = start.location().expect("authorize");
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for name in ["client_id", "redirect_uri", "response_type", "owner", "state"] {
        form.append_pair(name, &query_param(&authorize, name).unwrap_or_default());
    }
    form.append_pair("person", "custom")
        .append_pair("custom_name", "<script>alert('name')</script>")
        .append_pair("custom_email", "eve@example.com")
        .append_pair("workspace", "custom")
        .append_pair("custom_workspace", "<img src=x onerror=alert(1)>")
        .append_pair("quirk", "none")
        .append_pair("decision", "allow");
    let decided = browser.post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &form.finish()).await;
    assert_eq!(browser.get(&decided.location().expect("callback")).await.status, StatusCode::SEE_OTHER);
    let profile = browser.get(&server.url("/user")).await;
    assert!(
        profile.body.contains("&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;")
            || profile.body.contains("&lt;script&gt;alert('name')&lt;/script&gt;"),
        "the name is shown as text"
    );
    assert!(profile.body.contains("&lt;img src=x onerror=alert(1)&gt;"), "the workspace is shown as text");
    assert!(!profile.body.contains("<script>alert"), "no live script");
    assert!(!profile.body.contains("<img src=x"), "no live image");

    // A `javascript:` icon or avatar from Notion never becomes a link or an image source.
    let fake = FakeNotion::start().await;
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&env).await;
    fake.answer(Answer::Json(200, serde_json::json!({
        "access_token": "ntn_x", "bot_id": "b", "workspace_id": "w", "workspace_name": "W",
        "workspace_icon": "javascript:alert(1)",
        "owner": {"type": "user", "user": {"id": "u", "name": "Mal", "avatar_url": "javascript:alert(2)", "person": {"email": "m@example.org"}}}
    }).to_string()));
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize"), "state").expect("state");
    browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    let profile = browser.get(&server.url("/user")).await;
    assert!(profile.body.contains("Mal"));
    assert!(!profile.body.contains("src=\"javascript:"), "no javascript: image source");
    assert!(!profile.body.contains("href=\"javascript:"), "no javascript: link");
}

#[tokio::test]
async fn production_behind_tls_sends_hsts_and_host_prefixed_secure_cookies() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    // Listening on loopback behind a TLS-terminating proxy, as production usually runs.
    let server = Server::start(&[
        ("LATCHKEY_ENVIRONMENT", "production"),
        ("LATCHKEY_MASTER_KEY", key),
        ("LATCHKEY_PUBLIC_URL", "https://auth.example.test"),
    ])
    .await;
    let mut browser = Browser::new();
    let page = browser.get(&server.url("/sign-in")).await;
    assert!(page.header("strict-transport-security").is_some_and(|h| h.contains("max-age=")));
    let out = browser.request(reqwest::Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    let cookie = out.set_cookies().join("\n");
    assert!(
        cookie.contains("__Host-latchkey_session=") && cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn the_frontend_api_shares_with_allowed_origins_only() {
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", "http://127.0.0.1:1,http://app.localhost:4000")]).await;
    let mut browser = Browser::new();
    sign_in(&server, &mut browser, "ada").await;
    let allowed = [("origin", "http://app.localhost:4000")];
    let me = browser.request(reqwest::Method::GET, &server.url("/v1/me"), None, &allowed).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.header("access-control-allow-origin").as_deref(), Some("http://app.localhost:4000"));
    assert_eq!(me.header("access-control-allow-credentials").as_deref(), Some("true"));
    assert!(me.header("vary").is_some_and(|v| v.to_lowercase().contains("origin")));

    let evil = [("origin", "https://evil.example")];
    let me = browser.request(reqwest::Method::GET, &server.url("/v1/me"), None, &evil).await;
    assert_eq!(me.status, StatusCode::FORBIDDEN, "no user data for other origins");
    assert!(!me.body.contains("Ada"));
    assert!(me.header("access-control-allow-origin").is_none());
    let preflight = [("origin", "https://evil.example"), ("access-control-request-method", "POST")];
    let answer = browser.request(reqwest::Method::OPTIONS, &server.url("/v1/sign-out"), None, &preflight).await;
    assert!(answer.header("access-control-allow-origin").is_none(), "preflight not granted");
    let preflight = [("origin", "http://app.localhost:4000"), ("access-control-request-method", "POST")];
    let answer = browser.request(reqwest::Method::OPTIONS, &server.url("/v1/sign-out"), None, &preflight).await;
    assert_eq!(answer.header("access-control-allow-origin").as_deref(), Some("http://app.localhost:4000"));

    // Sign-out by a cross-origin POST: only from an allowed origin.
    let refused = browser.request(reqwest::Method::POST, &server.url("/v1/sign-out"), None, &evil).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK);
    let done = browser.request(reqwest::Method::POST, &server.url("/v1/sign-out"), None, &allowed).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT);
    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);

    let loader = browser.get(&server.url("/widget.js")).await;
    assert_eq!(loader.status, StatusCode::OK);
    assert!(loader.header("content-type").is_some_and(|c| c.starts_with("text/javascript")));
    assert!(loader.body.contains("data-publishable-key"));
    // Every page view of every site that embeds the widget loads it: it is cached a while.
    assert!(loader.header("cache-control").is_some_and(|c| c.contains("max-age=") && !c.contains("no-store")));
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}

/// The Account Portal's "sign-ups" switch, off: someone Latchkey does not know is told sign-ups
/// are closed and nothing of theirs is saved; someone it knows still signs in.
#[tokio::test]
async fn with_sign_ups_closed_only_people_known_here_sign_in() {
    const PASSWORD: &str = "an-admin-password-for-sign-ups";
    let server = Server::start(&[("LATCHKEY_ADMIN_PASSWORD", PASSWORD)]).await;
    sign_in(&server, &mut Browser::new(), "ada").await;

    let mut admin = Browser::new();
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("origin", server.base.as_str())];
    let signed_in = admin
        .request(
            reqwest::Method::POST,
            &server.url("/api/dashboard/sign-in"),
            Some(format!("username=admin&password={PASSWORD}")),
            &headers,
        )
        .await;
    assert!(signed_in.status.is_success(), "{}", signed_in.body);
    let saved = admin
        .request(
            reqwest::Method::POST,
            &server.url("/api/dashboard/save-portal"),
            Some("origins=&after_sign_in_url=&after_sign_up_url=&sign_ups_open=false".into()),
            &headers,
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    // The sign-up page says so before anyone goes to Notion, and offers a sign-in instead.
    let page = Browser::new().get(&server.url("/sign-up")).await;
    assert!(page.body.contains(r#"data-unavailable="sign_ups_closed""#), "{}", page.body);
    assert!(page.body.contains("/v1/oauth/notion/start?intent=sign_in") && !page.body.contains("intent=sign_up"));
    let page = sign_in(&server, &mut Browser::new(), "grace").await;
    assert_failure_page(&page, "sign_ups_closed", 403);
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1], "nothing of Grace's was saved");
    let page = sign_in(&server, &mut Browser::new(), "ada").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "a known person still signs in: {}", page.body);
}
