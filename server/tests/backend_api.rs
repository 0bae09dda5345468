//! The backend API (`/v1/admin/…`) against the real binary: auth, validation, the production
//! rule, users and sessions, Notion tokens, and secrets that never leak.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use common::fake_notion::{Answer, FakeNotion};
use common::{sign_in, Browser, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PROD_KEY: &str = "sk_live_0123456789abcdefghijklmnop";

/// The backend API as an app's server calls it.
struct Api<'a> {
    server: &'a Server,
    key: String,
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut browser = Browser::new();
        let auth = format!("Bearer {}", self.key);
        let body_text = body.map(|b| b.to_string());
        let page = browser
            .request(
                method,
                &self.server.url(path),
                body_text,
                &[("authorization", &auth), ("content-type", "application/json")],
            )
            .await;
        let value = serde_json::from_str(&page.body).unwrap_or(Value::Null);
        (page.status, value)
    }
}

fn dev_api(server: &Server) -> Api<'_> {
    let key = std::fs::read_to_string(server.data_dir.path().join("secret_key")).expect("generated key");
    Api { server, key: key.trim().to_string() }
}

fn assert_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) {
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (expected_status, Some(code)), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "{body}");
}

#[tokio::test]
async fn only_the_secret_key_opens_the_backend_api() {
    let server = Server::start(&[]).await;
    let api = dev_api(&server);
    let (status, _) = api.call(Method::GET, "/v1/admin/connections", None).await;
    assert_eq!(status, StatusCode::OK);
    for key in ["", "sk_test_wrong", "Basic abc", &api.key[..api.key.len() - 1]] {
        let wrong = Api { server: &server, key: key.to_string() };
        for path in ["/v1/admin/connections", "/v1/admin/users", "/v1/admin/sessions", "/v1/admin/openapi.json"] {
            let (status, body) = wrong.call(Method::GET, path, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {key:?}");
            assert!(body["error"]["code"].is_string());
        }
    }
    let mut browser = Browser::new();
    assert_eq!(browser.get(&server.url("/v1/admin/users")).await.status, StatusCode::UNAUTHORIZED);
    // A signed-in user's cookie is not a key.
    sign_in(&server, &mut browser, "ada").await;
    assert_eq!(browser.get(&server.url("/v1/admin/users")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn connections_are_managed_with_validation_and_the_secret_stays_secret() {
    let server = Server::start(&[("RUST_LOG", "debug")]).await;
    let api = dev_api(&server);
    let (_, list) = api.call(Method::GET, "/v1/admin/connections", None).await;
    assert_eq!(list["total_count"], 1, "development starts with Notion on shared credentials");
    let id = list["data"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(list["data"][0]["use_custom_credentials"], false);
    assert_eq!(list["data"][0]["client_id"], Value::Null);
    assert_eq!(list["data"][0]["redirect_uri"], server.url("/v1/oauth_callback"));

    let (status, body) = api.call(Method::POST, "/v1/admin/connections", Some(json!({"provider": "notion"}))).await;
    assert_error(status, &body, 409, "connection_exists");
    let (status, body) = api.call(Method::POST, "/v1/admin/connections", Some(json!({"provider": "github"}))).await;
    assert_error(status, &body, 422, "invalid_field");
    assert!(body["error"]["message"].as_str().unwrap_or_default().starts_with("provider"));
    let (status, body) =
        api.call(Method::POST, "/v1/admin/connections", Some(json!({"provider": "notion", "colour": "red"}))).await;
    assert_error(status, &body, 400, "invalid_body");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("colour"), "names the field");
    let (status, body) =
        api.call(Method::PATCH, &format!("/v1/admin/connections/{id}"), Some(json!({"enabled": "yes"}))).await;
    assert_error(status, &body, 400, "invalid_body");
    let (status, body) = api
        .call(Method::PATCH, &format!("/v1/admin/connections/{id}"), Some(json!({"use_custom_credentials": true})))
        .await;
    assert_error(status, &body, 422, "credentials_missing");
    let (_, unchanged) = api.call(Method::GET, &format!("/v1/admin/connections/{id}"), None).await;
    assert_eq!(unchanged["use_custom_credentials"], false, "nothing partially saved");

    let secret = "secret_ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123";
    let patch = json!({"use_custom_credentials": true, "client_id": "client-123", "client_secret": secret});
    let (status, changed) = api.call(Method::PATCH, &format!("/v1/admin/connections/{id}"), Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["client_id"].as_str(), changed["has_client_secret"].as_bool()),
        (Some("client-123"), Some(true))
    );
    let stored = server.stored_text().await;
    assert!(stored.contains("client-123"), "the check reads what is stored");
    assert!(!stored.contains(secret), "the client secret is sealed at rest");
    // A missing client_secret keeps the old one.
    let (_, kept) =
        api.call(Method::PATCH, &format!("/v1/admin/connections/{id}"), Some(json!({"enabled": false}))).await;
    assert_eq!((kept["enabled"].as_bool(), kept["has_client_secret"].as_bool()), (Some(false), Some(true)));

    let (status, _) = api.call(Method::GET, "/v1/admin/connections/conn_nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, deleted) = api.call(Method::DELETE, &format!("/v1/admin/connections/{id}"), None).await;
    assert_eq!((status, deleted["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, _) = api.call(Method::DELETE, &format!("/v1/admin/connections/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, created) =
        api.call(Method::POST, "/v1/admin/connections", Some(json!({"provider": "notion", "enabled": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    // The secret is nowhere: not in answers, not in the log, not in the database file.
    let (_, all) = api.call(Method::GET, "/v1/admin/connections", None).await;
    assert!(!all.to_string().contains(secret) && !changed.to_string().contains(secret));
    assert!(!server.log().contains(secret), "log");
    assert!(server.log().contains("DEBUG"), "the log was at debug level, so this check means something");
}

#[tokio::test]
async fn production_requires_custom_credentials_and_signs_in_with_them() {
    let fake = FakeNotion::start().await;
    let server = Server::start(&[
        ("LATCHKEY_ENVIRONMENT", "production"),
        ("LATCHKEY_MASTER_KEY", MASTER_KEY),
        ("LATCHKEY_SECRET_KEY", PROD_KEY),
        ("NOTION_API_BASE", &fake.base),
    ])
    .await;
    let api = Api { server: &server, key: PROD_KEY.into() };
    let (_, list) = api.call(Method::GET, "/v1/admin/connections", None).await;
    assert_eq!(list["total_count"], 0, "production starts with none");
    for body in [
        json!({"provider": "notion"}),
        json!({"provider": "notion", "use_custom_credentials": false}),
        json!({"provider": "notion", "use_custom_credentials": false, "client_id": "a", "client_secret": "b"}),
    ] {
        let (status, error) = api.call(Method::POST, "/v1/admin/connections", Some(body)).await;
        assert_error(status, &error, 422, "custom_credentials_required");
    }
    let (status, error) = api
        .call(
            Method::POST,
            "/v1/admin/connections",
            Some(json!({"provider": "notion", "use_custom_credentials": true, "client_id": "a"})),
        )
        .await;
    assert_error(status, &error, 422, "custom_credentials_required");
    assert_eq!(server.count("connections").await, 0, "nothing half-made");

    let input = json!({"provider": "notion", "use_custom_credentials": true, "client_id": common::fake_notion::CLIENT_ID, "client_secret": common::fake_notion::CLIENT_SECRET});
    let (status, connection) = api.call(Method::POST, "/v1/admin/connections", Some(input)).await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let id = connection["id"].as_str().expect("id");
    let (status, error) = api
        .call(Method::PATCH, &format!("/v1/admin/connections/{id}"), Some(json!({"use_custom_credentials": false})))
        .await;
    assert_error(status, &error, 422, "custom_credentials_required");

    // A person signs in through Notion with those credentials.
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let authorize = start.location().expect("authorize");
    assert_eq!(common::query_param(&authorize, "client_id").as_deref(), Some(common::fake_notion::CLIENT_ID));
    let state = common::query_param(&authorize, "state").expect("state");
    let landed = browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let cookie = landed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-latchkey_session="))
        .expect("production cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"));
    assert!(landed.header("strict-transport-security").is_none(), "no HSTS on a loopback http URL");
    let basic =
        fake.received.lock().expect("lock").iter().any(|r| {
            r.head.to_lowercase().contains("authorization: basic zmfrzs1jbgllbnqtawq6zmfrzs1jbgllbnqtc2vjcmv0")
        });
    assert!(basic, "the pasted credentials were used");
}

#[tokio::test]
async fn users_sessions_and_verification() {
    let server = Server::start(&[]).await;
    let api = dev_api(&server);
    let mut ada = Browser::new();
    sign_in(&server, &mut ada, "ada").await;
    let mut grace = Browser::new();
    sign_in(&server, &mut grace, "grace").await;
    let mut grace_phone = Browser::new();
    sign_in(&server, &mut grace_phone, "grace").await;

    let (_, page) = api.call(Method::GET, "/v1/admin/users?limit=1", None).await;
    assert_eq!((page["total_count"].as_i64(), page["data"].as_array().map(Vec::len)), (Some(2), Some(1)));
    let (_, second) = api.call(Method::GET, "/v1/admin/users?limit=1&offset=1", None).await;
    assert_ne!(page["data"][0]["id"], second["data"][0]["id"]);
    let (_, found) = api.call(Method::GET, "/v1/admin/users?query=GRACE", None).await;
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["data"][0]["email"], "grace@example.com");
    let (_, none) = api.call(Method::GET, "/v1/admin/users?query=%25", None).await;
    assert_eq!(none["total_count"], 0, "LIKE wildcards are matched literally");
    let (status, error) = api.call(Method::GET, "/v1/admin/users?limit=lots", None).await;
    assert_error(status, &error, 400, "invalid_query");
    assert!(error["error"]["message"].as_str().unwrap_or_default().starts_with("limit"));
    let (status, _) = api.call(Method::GET, "/v1/admin/users/user_nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let grace_id = found["data"][0]["id"].as_str().expect("id").to_string();
    let (_, sessions) = api.call(Method::GET, &format!("/v1/admin/sessions?user_id={grace_id}"), None).await;
    assert_eq!(sessions["total_count"], 2);

    // An app's server checks a request's cookie.
    let token = grace.cookies.get("latchkey_session").cloned().expect("token");
    let (status, verified) = api.call(Method::POST, "/v1/admin/sessions/verify", Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["user"]["id"], grace_id.as_str());
    let (status, error) =
        api.call(Method::POST, "/v1/admin/sessions/verify", Some(json!({"token": "A".repeat(43)}))).await;
    assert_error(status, &error, 401, "session_invalid");
    let (status, _) = api.call(Method::POST, "/v1/admin/sessions/verify", Some(json!({"cookie": token}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Revoking ends it at once.
    let session_id = verified["session"]["id"].as_str().expect("session id").to_string();
    let (status, _) = api.call(Method::POST, &format!("/v1/admin/sessions/{session_id}/revoke"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grace.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.call(Method::POST, "/v1/admin/sessions/verify", Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(grace_phone.get(&server.url("/v1/me")).await.status, StatusCode::OK);

    // Deleting a user ends all their sessions and removes their rows.
    let (status, _) = api.call(Method::DELETE, &format!("/v1/admin/users/{grace_id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grace_phone.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1], "only Ada is left");
    assert_eq!(ada.get(&server.url("/v1/me")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn notion_tokens_are_returned_and_renewed_once_when_inactive() {
    let fake = FakeNotion::start().await;
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&env).await;
    let api = dev_api(&server);
    // Sign in (the fake answers a person with a refresh token).
    let token = json!({
        "access_token": "ntn_first", "token_type": "bearer", "refresh_token": "nrt_first", "bot_id": "bot-1",
        "workspace_id": "ws-1", "workspace_name": "Acme", "workspace_icon": null,
        "owner": {"type": "user", "user": {"id": "u-1", "name": "Ada", "person": {"email": "ada@example.org"}}}
    });
    fake.answer(Answer::Json(200, token.to_string()));
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = common::query_param(&start.location().expect("authorize"), "state").expect("state");
    assert_eq!(
        browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await.status,
        StatusCode::SEE_OTHER
    );
    let (_, users) = api.call(Method::GET, "/v1/admin/users", None).await;
    let user_id = users["data"][0]["id"].as_str().expect("id").to_string();
    let path = format!("/v1/admin/users/{user_id}/oauth_access_tokens/notion");

    let (status, tokens) = api.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tokens,
        json!({"data": [{"token": "ntn_first", "workspace_id": "ws-1", "workspace_name": "Acme", "bot_id": "bot-1"}], "total_count": 1})
    );

    // Notion now reports the token inactive: eight concurrent asks refresh it once.
    fake.inactive_tokens.lock().expect("lock").insert("ntn_first".into());
    let renewed = json!({"access_token": "ntn_second", "token_type": "bearer", "refresh_token": "nrt_second", "bot_id": "bot-1",
        "workspace_id": "ws-1", "workspace_name": "Acme", "owner": {"type": "user", "user": {"id": "u-1", "person": {"email": "ada@example.org"}}}});
    fake.answer(Answer::Json(200, renewed.to_string()));
    let before = fake.count("/v1/oauth/token");
    let answers = futures::future::join_all((0..8).map(|_| api.call(Method::GET, &path, None))).await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(body["data"][0]["token"], "ntn_second", "{body}");
    }
    assert_eq!(fake.count("/v1/oauth/token") - before, 1, "single-flight refresh");
    let refresh_request = fake
        .received
        .lock()
        .expect("lock")
        .iter()
        .rev()
        .find(|r| r.body.contains("refresh_token"))
        .cloned()
        .expect("refresh");
    assert!(refresh_request.body.contains("nrt_first"));

    // A grant that cannot be renewed says so, without failing the whole answer.
    fake.inactive_tokens.lock().expect("lock").insert("ntn_second".into());
    fake.answer(Answer::Json(400, r#"{"error": "invalid_grant"}"#.into()));
    let (status, body) = api.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"][0]["error"].as_str().is_some_and(|e| e.contains("sign in again")), "{body}");
    assert!(body["data"][0].get("token").is_none());
    let (status, _) = api.call(Method::GET, "/v1/admin/users/user_nope/oauth_access_tokens/notion", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let server = Server::start(&[]).await;
    let api = dev_api(&server);
    let (status, document) = api.call(Method::GET, "/v1/admin/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], server.base.as_str());
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{id}", "unknown_id").replace("{delivery_id}", "unknown_id");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let (status, answer) = api.call(method.clone(), &concrete, body).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if status == StatusCode::NOT_FOUND {
                assert_eq!(answer["error"]["code"], "not_found", "{method} {path} is routed");
            }
        }
    }
    assert_eq!(operations, 30);
    // And every backend route is documented: an undocumented one would 404 here as unrouted.
    let (status, _) = api.call(Method::GET, "/v1/admin/not-a-route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_sign_in_locks_out_after_repeated_failures() {
    let server = Server::start(&[("LATCHKEY_ADMIN_PASSWORD", "the-right-password-42")]).await;
    let mut browser = Browser::new();
    let url = server.url("/api/dashboard/sign-in");
    for _ in 0..5 {
        let page = browser.post_form(&url, "username=admin&password=wrong-password").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        assert!(page.body.contains("do not match"));
    }
    // Even the right password waits now: the lock is on the address.
    let page = browser.post_form(&url, "username=admin&password=the-right-password-42").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    let retry: i64 = page.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=900).contains(&retry));
    assert!(page.set_cookies().iter().all(|c| !c.contains("latchkey_admin=") || c.contains("Max-Age=0")));
    // Another site's page cannot sign in on the admin's behalf.
    let mut other = Browser::new();
    let forged = other
        .request(
            Method::POST,
            &url,
            Some("username=admin&password=the-right-password-42".into()),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", "https://evil.example")],
        )
        .await;
    assert!(forged.status.is_client_error() || forged.status.is_server_error());
    assert!(forged.set_cookies().iter().all(|c| !c.contains("latchkey_admin=")));
}

#[tokio::test]
async fn admin_sign_in_sets_a_strict_http_only_cookie() {
    let server = Server::start(&[("LATCHKEY_ADMIN_PASSWORD", "the-right-password-42")]).await;
    let mut browser = Browser::new();
    let page =
        browser.post_form(&server.url("/api/dashboard/sign-in"), "username=admin&password=the-right-password-42").await;
    assert!(page.status.is_success() || page.status.is_redirection(), "{}", page.body);
    let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("latchkey_admin=")).expect("admin cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    // The dashboard's data needs it.
    let mut stranger = Browser::new();
    let refused = stranger.post_form(&server.url("/api/dashboard/connections"), "").await;
    assert!(!refused.status.is_success());
    let allowed = browser.post_form(&server.url("/api/dashboard/connections"), "").await;
    assert!(allowed.status.is_success(), "{}", allowed.body);
    assert!(allowed.body.contains("redirect_uri"));
    // A value the admin typed wrong is theirs to fix: 422 with the message, not a 500.
    let origin = server.base.clone();
    let bad = browser
        .request(
            Method::POST,
            &server.url("/api/dashboard/add-webhook"),
            Some("url=not+a+url&events=user.created".into()),
            &[("content-type", "application/x-www-form-urlencoded"), ("origin", &origin)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("is not a URL"), "{}", bad.body);
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_without_its_secrets() {
    let server = Server::start(&[("LATCHKEY_ADMIN_PASSWORD", "the-right-password-42")]).await;
    let api = dev_api(&server);
    // The backend API: a change, a secret revealed, and reads that are not actions.
    let (status, webhook) =
        api.call(Method::POST, "/v1/admin/webhooks", Some(json!({"url": "http://127.0.0.1:9/hooks"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = webhook["id"].as_str().unwrap_or_default().to_string();
    api.call(Method::GET, &format!("/v1/admin/webhooks/{id}/secret"), None).await;
    api.call(Method::GET, "/v1/admin/users", None).await;
    // The dashboard: a wrong password, then the right one, then a change.
    let mut browser = Browser::new();
    let url = server.url("/api/dashboard/sign-in");
    browser.post_form(&url, "username=admin&password=wrong-password").await;
    let signed_in = browser.post_form(&url, "username=admin&password=the-right-password-42").await;
    assert!(signed_in.status.is_success(), "{}", signed_in.body);
    let origin = [("origin", server.base.as_str())];
    let form = format!("id={id}");
    let deleted = browser
        .request(
            Method::POST,
            &server.url("/api/dashboard/delete-webhook"),
            Some(form),
            &[origin[0], ("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);

    let (status, log) = api.call(Method::GET, "/v1/admin/audit_log", None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries: Vec<(String, String, String, Option<String>, i64)> = log["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .rev()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["action"].as_str().unwrap_or_default().to_string(),
                e["client"].as_str().unwrap_or_default().to_string(),
                e["target"].as_str().map(String::from),
                e["status"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("secret_key", "POST /v1/admin/webhooks", None, 201),
        ("secret_key", "GET /v1/admin/webhooks/{id}/secret", Some(id.clone()), 200),
        ("anonymous", "dashboard/sign-in", None, 401),
        ("admin", "dashboard/sign-in", None, 200),
        ("admin", "dashboard/delete-webhook", Some(id.clone()), 200),
    ];
    assert_eq!(entries.len(), expected.len(), "reads are not actions: {log}");
    for (entry, (actor, action, target, status)) in entries.iter().zip(expected) {
        assert_eq!((entry.0.as_str(), entry.1.as_str(), entry.3.clone(), entry.4), (actor, action, target, status));
        assert_eq!(entry.2, "127.0.0.1");
    }
    let secret = webhook["secret"].as_str().unwrap_or_default();
    assert!(!log.to_string().contains(secret) && !log.to_string().contains("the-right-password"), "no secret: {log}");
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
