//! Rotating the master key: with the old key in `LATCHKEY_PREVIOUS_MASTER_KEYS`, everything
//! sealed under it still opens and is re-sealed under the new key at start; afterwards the new
//! key alone opens everything, and the old key alone opens nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use common::fake_notion::FakeNotion;
use common::{query_param, Browser, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const OLD_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const SECRET_KEY: &str = "sk_test_rotation_rotation_rotation_rot";

async fn backend(server: &Server, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    common::backend_call(server, SECRET_KEY, method, path, body).await
}

/// What the sealed values stand for, read through the API: a Notion token, a webhook secret,
/// and the key id session tokens are signed with.
async fn what_is_sealed(
    server: &Server,
    user_id: &str,
    webhook_id: &str,
    browser: &mut Browser,
) -> (Value, Value, Value) {
    let (_, tokens) =
        backend(server, Method::GET, &format!("/v1/admin/users/{user_id}/oauth_access_tokens/notion"), None).await;
    let (_, secret) = backend(server, Method::GET, &format!("/v1/admin/webhooks/{webhook_id}/secret"), None).await;
    let minted = browser.request(Method::POST, &server.url("/v1/me/token"), None, &[]).await;
    let jwt: Value = serde_json::from_str(&minted.body).unwrap_or(Value::Null);
    let header = jwt["jwt"].as_str().and_then(|j| j.split('.').next()).unwrap_or_default().to_string();
    (tokens["data"][0]["token"].clone(), secret["secret"].clone(), json!(header))
}

#[tokio::test]
async fn a_rotated_master_key_reseals_everything_and_the_old_key_can_go() {
    // Notion's stand-in answers introspection (the sandbox's tokens belong to its master key).
    let fake = FakeNotion::start().await;
    let fake_env = fake.env();
    let mut env: Vec<(&str, &str)> = fake_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([("LATCHKEY_MASTER_KEY", OLD_KEY), ("LATCHKEY_SECRET_KEY", SECRET_KEY), ("RUST_LOG", "info")]);
    let mut server = Server::start(&env).await;
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize URL"), "state").expect("state");
    let landed = browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let me: Value = serde_json::from_str(&browser.get(&server.url("/v1/me")).await.body).expect("me");
    let user_id = me["user"]["id"].as_str().expect("user id").to_string();
    let (status, webhook) =
        backend(&server, Method::POST, "/v1/admin/webhooks", Some(json!({"url": "http://127.0.0.1:9/hooks"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let webhook_id = webhook["id"].as_str().expect("id").to_string();
    let before = what_is_sealed(&server, &user_id, &webhook_id, &mut browser).await;
    assert!(before.0.as_str().is_some_and(|t| !t.is_empty()), "{before:?}");
    assert_eq!(before.1, webhook["secret"]);

    // The new key, with the old one still accepted: the same values, now re-sealed.
    server.set_env("LATCHKEY_MASTER_KEY", NEW_KEY);
    server.set_env("LATCHKEY_PREVIOUS_MASTER_KEYS", OLD_KEY);
    server.restart().await;
    assert_eq!(what_is_sealed(&server, &user_id, &webhook_id, &mut browser).await, before);
    assert!(server.log().contains("re-sealed"), "the start says what it re-sealed:\n{}", server.log());

    // The new key alone: everything still opens.
    server.set_env("LATCHKEY_PREVIOUS_MASTER_KEYS", "");
    server.restart().await;
    assert_eq!(what_is_sealed(&server, &user_id, &webhook_id, &mut browser).await, before);

    // The old key alone opens nothing any more, and the start says why.
    server.set_env("LATCHKEY_MASTER_KEY", OLD_KEY);
    server.restart().await;
    let (status, refused) =
        backend(&server, Method::GET, &format!("/v1/admin/webhooks/{webhook_id}/secret"), None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{refused}");
    assert!(server.log().contains("this instance was not given"), "{}", server.log());
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
