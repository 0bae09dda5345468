//! Webhooks against the real binary: a real HTTP endpoint on loopback (Node) that checks
//! every delivery's signature with the `standardwebhooks` package, sign-ins through the
//! sandbox, faults, `kill -9`, and (on PostgreSQL) two replicas sharing one outbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{consent_form, Base, Browser, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SECRET_KEY: &str = "sk_test_webhooks_webhooks_webhooks_webh";

/// The Node endpoint (`common/webhook_receiver.mjs`).
struct Receiver {
    child: Child,
    base: String,
}

impl Receiver {
    fn start() -> Receiver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/webhook_receiver.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the webhook receiver (scripts/setup.sh --test installs its package)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("receiver starts");
        let port = line.trim().strip_prefix("listening ").expect("listening <port>").to_string();
        Receiver { child, base: format!("http://127.0.0.1:{port}") }
    }

    fn url(&self) -> String {
        format!("{}/hooks/latchkey", self.base)
    }

    async fn control(&self, body: Value) {
        let answer = reqwest::Client::new().post(format!("{}/control", self.base)).json(&body).send().await;
        assert!(answer.is_ok_and(|a| a.status() == StatusCode::NO_CONTENT));
    }

    async fn received(&self) -> Value {
        reqwest::get(format!("{}/received", self.base)).await.expect("receiver").json().await.expect("json")
    }

    /// Waits until `done` holds of what arrived (or fails the test after `limit`).
    async fn wait_for(&self, limit: Duration, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let received = self.received().await;
            if done(&received) {
                return received;
            }
            assert!(started.elapsed() < limit, "waited {limit:?} for {what}; received: {received}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deliveries(received: &Value) -> Vec<Value> {
    received["deliveries"].as_array().cloned().unwrap_or_default()
}

fn of_type(received: &Value, kind: &str) -> Vec<Value> {
    deliveries(received).into_iter().filter(|d| d["type"] == kind).collect()
}

async fn backend(server: &Server, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    common::backend_call(server, SECRET_KEY, method, path, body).await
}

async fn start_server(extra: &[(&str, &str)]) -> Server {
    let mut env = vec![("LATCHKEY_SECRET_KEY", SECRET_KEY), ("LATCHKEY_MASTER_KEY", MASTER_KEY)];
    env.extend_from_slice(extra);
    Server::start(&env).await
}

/// Registers the receiver for every event type and hands it the secret.
async fn subscribe(server: &Server, receiver: &Receiver) -> Value {
    let (status, webhook) =
        backend(server, Method::POST, "/v1/admin/webhooks", Some(json!({"url": receiver.url()}))).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    receiver.control(json!({"secret": webhook["secret"]})).await;
    webhook
}

/// A whole sign-in through the sandbox as a person of our own (a first sign-in makes a user).
async fn sign_in_as(server: &impl Base, browser: &mut Browser, name: &str) {
    sign_in_named(server, browser, name, name).await;
}

/// The same, with a display name of its own (the sandbox knows a person by their email).
async fn sign_in_named(server: &impl Base, browser: &mut Browser, email_name: &str, name: &str) {
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let authorize = start.location().expect("authorize URL");
    let consent = consent_form(&authorize, "custom", "allow");
    let form = format!("{consent}&custom_name={name}&custom_email={email_name}%40example.org");
    let decided = browser.post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &form).await;
    let callback = decided.location().expect("callback URL");
    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "signed in: {}", landed.body);
}

#[tokio::test]
async fn every_change_reaches_the_app_signed_with_the_contract_objects() {
    let server = start_server(&[]).await;
    let receiver = Receiver::start();

    // What is not an endpoint gets a 422 that names the problem.
    for (body, says) in [
        (json!({"url": "not a url"}), "is not a URL"),
        (json!({"url": "ftp://example.org/hooks"}), "https"),
        (json!({"url": receiver.url(), "events": []}), "at least one"),
        (json!({"url": receiver.url(), "events": ["user.exploded"]}), "user.exploded"),
    ] {
        let (status, error) = backend(&server, Method::POST, "/v1/admin/webhooks", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {error}");
        assert!(error.to_string().contains(says), "{body} → {error}");
    }
    let webhook = subscribe(&server, &receiver).await;
    let secret = webhook["secret"].as_str().unwrap_or_default();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{webhook}");
    assert_eq!(webhook["events"].as_array().map(Vec::len), Some(7), "every event type by default");
    let id = webhook["id"].as_str().expect("id").to_string();
    let (_, listed) = backend(&server, Method::GET, "/v1/admin/webhooks", None).await;
    assert_eq!(listed["total_count"], 1);
    assert!(listed["data"][0].get("secret").is_none(), "the secret is not in the list: {listed}");
    let (_, revealed) = backend(&server, Method::GET, &format!("/v1/admin/webhooks/{id}/secret"), None).await;
    assert_eq!(revealed["secret"], secret);

    // A first sign-in: user.created and session.created, with the contract's objects.
    let mut browser = Browser::new();
    sign_in_as(&server, &mut browser, "grace").await;
    let me: Value = serde_json::from_str(&browser.get(&server.url("/v1/me")).await.body).expect("me");
    let received = receiver
        .wait_for(Duration::from_secs(10), "user.created and session.created", |r| deliveries(r).len() >= 2)
        .await;
    let created = &of_type(&received, "user.created")[0];
    assert_eq!(created["data"], me["user"], "user.created carries the User object");
    assert!(created["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000_000), "unix ms");
    assert_eq!(of_type(&received, "session.created")[0]["data"]["id"], me["session"]["id"]);

    // Signing in again from the same browser ends its earlier session; signing out ends this one.
    sign_in_as(&server, &mut browser, "grace").await;
    browser.request(Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    let received = receiver
        .wait_for(Duration::from_secs(10), "two session.ended", |r| of_type(r, "session.ended").len() >= 2)
        .await;
    assert!(
        of_type(&received, "session.ended").iter().any(|d| d["data"]["id"] == me["session"]["id"]),
        "the first session ended: {received}"
    );
    assert!(of_type(&received, "user.created").len() == 1, "a returning person is not created again");

    // Notion now says another name: the user is updated, and the app hears the new one.
    sign_in_named(&server, &mut Browser::new(), "grace", "Grace%20Brewster").await;
    let received =
        receiver.wait_for(Duration::from_secs(10), "user.updated", |r| !of_type(r, "user.updated").is_empty()).await;
    let updated = &of_type(&received, "user.updated")[0]["data"];
    assert_eq!((updated["id"].clone(), updated["name"].clone()), (me["user"]["id"].clone(), json!("Grace Brewster")));

    // The admin's doings: a revoked session, a deleted user.
    let mut other = Browser::new();
    sign_in_as(&server, &mut other, "grace").await;
    let session: Value = serde_json::from_str(&other.get(&server.url("/v1/me")).await.body).expect("me");
    let session_id = session["session"]["id"].as_str().unwrap_or_default();
    backend(&server, Method::POST, &format!("/v1/admin/sessions/{session_id}/revoke"), None).await;
    let user_id = me["user"]["id"].as_str().unwrap_or_default();
    assert_eq!(backend(&server, Method::DELETE, &format!("/v1/admin/users/{user_id}"), None).await.0, StatusCode::OK);
    let received = receiver
        .wait_for(Duration::from_secs(10), "session.revoked and user.deleted", |r| {
            !of_type(r, "session.revoked").is_empty() && !of_type(r, "user.deleted").is_empty()
        })
        .await;
    assert_eq!(of_type(&received, "session.revoked")[0]["data"]["id"], session_id);
    assert_eq!(of_type(&received, "user.deleted")[0]["data"]["id"], user_id);
    assert_eq!(received["invalid"], 0, "every signature verified");

    // Each delivery, as the API lists it, once the worker has written every outcome (one batch
    // is sent concurrently, so the receiver may see its last few a moment after the first).
    let started = Instant::now();
    let (listed, rows) = loop {
        let (_, listed) = backend(&server, Method::GET, &format!("/v1/admin/webhooks/{id}/deliveries"), None).await;
        let rows = listed["data"].as_array().cloned().unwrap_or_default();
        if rows.iter().all(|row| row["status"] == "delivered") || started.elapsed() > Duration::from_secs(10) {
            break (listed, rows);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let received = receiver.received().await;
    assert_eq!(rows.len(), deliveries(&received).len(), "{listed}");
    for row in &rows {
        assert_eq!((row["status"].as_str(), row["attempts"].as_i64()), (Some("delivered"), Some(1)), "{row}");
        assert_eq!(row["last_status_code"], 204);
        assert!(deliveries(&received).iter().any(|d| d["id"] == row["id"]), "webhook-id is the delivery id");
    }

    // A subscription to one type hears only that type; a deleted endpoint hears nothing more.
    let (status, patched) =
        backend(&server, Method::PATCH, &format!("/v1/admin/webhooks/{id}"), Some(json!({"events": ["user.created"]})))
            .await;
    assert_eq!((status, patched["events"].clone()), (StatusCode::OK, json!(["user.created"])));
    let before = deliveries(&receiver.received().await).len();
    sign_in_as(&server, &mut Browser::new(), "hopper").await;
    receiver.wait_for(Duration::from_secs(10), "hopper's user.created", |r| deliveries(r).len() == before + 1).await;
    assert_eq!(backend(&server, Method::DELETE, &format!("/v1/admin/webhooks/{id}"), None).await.0, StatusCode::OK);
    sign_in_as(&server, &mut Browser::new(), "lovelace").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(deliveries(&receiver.received().await).len(), before + 1, "nothing after the endpoint went");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_and_every_fault_is_recorded() {
    let server = start_server(&[]).await;
    let receiver = Receiver::start();
    let webhook = subscribe(&server, &receiver).await;
    let id = webhook["id"].as_str().unwrap_or_default().to_string();
    let (status, _) = backend(
        &server,
        Method::PATCH,
        &format!("/v1/admin/webhooks/{id}"),
        Some(json!({"events": ["session.created"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let deliveries_of = |server: &Server| {
        let path = format!("/v1/admin/webhooks/{id}/deliveries");
        let server_url = server.url(&path);
        async move {
            let answer = reqwest::Client::new().get(server_url).bearer_auth(SECRET_KEY).send().await.expect("api");
            answer.json::<Value>().await.expect("json")["data"].as_array().cloned().unwrap_or_default()
        }
    };

    let mut seen: Vec<Value> = Vec::new();
    for (mode, code, error) in [
        ("fail", Some(500), "answered 500"),
        ("missing", Some(404), "404"),
        ("redirect", Some(302), "redirect"),
        ("close", None, ""),
    ] {
        receiver.control(json!({"mode": mode})).await;
        let signed_in = Instant::now();
        sign_in_as(&server, &mut Browser::new(), mode).await;
        assert!(signed_in.elapsed() < Duration::from_secs(3), "a failing endpoint does not slow a sign-in");
        let started = Instant::now();
        let row = loop {
            let rows = deliveries_of(&server).await;
            if let Some(row) = rows.into_iter().find(|r| r["attempts"].as_i64() >= Some(1) && !seen.contains(&r["id"]))
            {
                break row;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{mode}: attempted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(row["status"], "pending", "{mode}: {row}");
        assert_eq!(row["last_status_code"].as_i64(), code.map(i64::from), "{mode}: {row}");
        assert!(row["last_error"].as_str().is_some_and(|e| e.contains(error)), "{mode}: {row}");
        let wait = row["next_attempt_at"].as_i64().unwrap_or_default() - row["updated_at"].as_i64().unwrap_or_default();
        assert!((4_000..=10_000).contains(&wait), "{mode}: the first retry within 10 s: {row}");

        // Back up: the retry delivers it, once.
        receiver.control(json!({"mode": "ok"})).await;
        let received = receiver
            .wait_for(Duration::from_secs(15), "the retry", |r| deliveries(r).iter().any(|d| d["id"] == row["id"]))
            .await;
        assert_eq!(deliveries(&received).iter().filter(|d| d["id"] == row["id"]).count(), 1);
        // The receiver has it as soon as the request arrives; Latchkey records the answer after.
        let recorded = Instant::now();
        let delivered = loop {
            let delivered = deliveries_of(&server).await.into_iter().find(|r| r["id"] == row["id"]).expect("row");
            if delivered["status"] != "pending" || recorded.elapsed() > Duration::from_secs(5) {
                break delivered;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!((delivered["status"].as_str(), delivered["attempts"].as_i64()), (Some("delivered"), Some(2)));
        seen.push(row["id"].clone());
    }

    // Too slow: the attempt is given up at the time bound; Retry sends it again at once.
    receiver.control(json!({"mode": "slow"})).await;
    sign_in_as(&server, &mut Browser::new(), "slowpoke").await;
    let started = Instant::now();
    let row = loop {
        let rows = deliveries_of(&server).await;
        if let Some(row) =
            rows.into_iter().find(|r| r["last_error"].as_str().is_some_and(|e| e.contains("within 10 s")))
        {
            break row;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the slow attempt ends at the bound");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    receiver.control(json!({"mode": "ok"})).await;
    let delivery = row["id"].as_str().unwrap_or_default();
    let (status, retried) =
        backend(&server, Method::POST, &format!("/v1/admin/webhooks/{id}/deliveries/{delivery}/retry"), None).await;
    assert_eq!((status, retried["status"].as_str()), (StatusCode::OK, Some("pending")), "{retried}");
    receiver
        .wait_for(Duration::from_secs(3), "the retried delivery", |r| {
            deliveries(r).iter().any(|d| d["id"] == row["id"])
        })
        .await;
    let (status, _) =
        backend(&server, Method::POST, &format!("/v1/admin/webhooks/{id}/deliveries/nope/retry"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(receiver.received().await["invalid"], 0);
}

#[tokio::test]
async fn pending_deliveries_survive_kill_9_and_stop_when_their_endpoint_goes() {
    let mut server = start_server(&[]).await;
    let receiver = Receiver::start();
    subscribe(&server, &receiver).await;
    let doomed = Receiver::start();
    let (_, doomed_hook) = backend(
        &server,
        Method::POST,
        "/v1/admin/webhooks",
        Some(json!({"url": doomed.url(), "events": ["session.created"]})),
    )
    .await;
    receiver.control(json!({"mode": "fail"})).await;
    doomed.control(json!({"mode": "fail"})).await;
    for n in 0..20 {
        sign_in_as(&server, &mut Browser::new(), &format!("killed{n}")).await;
    }
    // Deleted with deliveries pending: they are not made.
    let doomed_id = doomed_hook["id"].as_str().unwrap_or_default();
    backend(&server, Method::DELETE, &format!("/v1/admin/webhooks/{doomed_id}"), None).await;
    // An attempt sent just before the kill is answered by the mode it arrived in (see
    // webhook_receiver.mjs): it is not taken for a delivery made after the deletion.
    server.kill_hard();
    receiver.control(json!({"mode": "ok"})).await;
    doomed.control(json!({"mode": "ok", "secret": doomed_hook["secret"]})).await;
    server.restart().await;
    let received = receiver
        .wait_for(Duration::from_secs(45), "all 40 events after the restart", |r| deliveries(r).len() >= 40)
        .await;
    let ids: std::collections::HashSet<String> =
        deliveries(&received).iter().filter_map(|d| d["id"].as_str().map(String::from)).collect();
    assert_eq!((ids.len(), deliveries(&received).len()), (40, 40), "each event once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries(&doomed.received().await).is_empty(), "a deleted endpoint hears nothing");
}

/// 1,000 sign-ins while the endpoint is down for the first half: afterwards every event has
/// arrived exactly once per `webhook-id`. On PostgreSQL through two replicas sharing the
/// outbox, so no event may be delivered by both.
#[tokio::test]
async fn a_thousand_sign_ins_with_the_endpoint_down_for_half_arrive_once_each() {
    // One client address signs everyone in: no per-address limit for this load.
    let first = start_server(&[("LATCHKEY_RATE_LIMIT", "0")]).await;
    let second = if first.is_postgres() {
        Some(start_server(&[("LATCHKEY_RATE_LIMIT", "0"), ("DATABASE_URL", first.database_url.as_str())]).await)
    } else {
        None
    };
    let servers: Vec<&Server> = std::iter::once(&first).chain(second.as_ref()).collect();
    let receiver = Receiver::start();
    subscribe(&first, &receiver).await;
    receiver.control(json!({"mode": "fail"})).await;

    const PEOPLE: usize = 1_000;
    const CONCURRENT: usize = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..CONCURRENT {
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        tasks.spawn(async move {
            let mut n = lane;
            while n < PEOPLE / 2 {
                let server = common::Server::probe(&bases[n % bases.len()], 0);
                sign_in_as(&server, &mut Browser::new(), &format!("p{n}")).await;
                n += CONCURRENT;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    receiver.control(json!({"mode": "ok"})).await;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..CONCURRENT {
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        tasks.spawn(async move {
            let mut n = PEOPLE / 2 + lane;
            while n < PEOPLE {
                let server = common::Server::probe(&bases[n % bases.len()], 0);
                sign_in_as(&server, &mut Browser::new(), &format!("p{n}")).await;
                n += CONCURRENT;
            }
        });
    }
    while tasks.join_next().await.is_some() {}

    receiver.wait_for(Duration::from_secs(120), "2,000 events", |r| deliveries(r).len() >= 2 * PEOPLE).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received().await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for delivery in deliveries(&received) {
        *per_id.entry(delivery["id"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 2 * PEOPLE, "one user.created and one session.created per person");
    let twice: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(of_type(&received, "user.created").len(), PEOPLE);
    assert_eq!(received["invalid"], 0);
    assert!(received["attempts"].as_u64() > Some(2 * PEOPLE as u64), "the first half was refused at first");
}

#[tokio::test]
async fn a_renewed_notion_token_is_announced_without_the_token() {
    use common::fake_notion::{Answer, FakeNotion};
    let fake = FakeNotion::start().await;
    let fake_env = fake.env();
    let env: Vec<(&str, &str)> = fake_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = start_server(&env).await;
    let receiver = Receiver::start();
    let (status, webhook) = backend(
        &server,
        Method::POST,
        "/v1/admin/webhooks",
        Some(json!({"url": receiver.url(), "events": ["notion_token.refreshed"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    receiver.control(json!({"secret": webhook["secret"]})).await;
    let owner = json!({"type": "user", "user": {"id": "u-1", "name": "Ada", "person": {"email": "ada@example.org"}}});
    let first = json!({"access_token": "ntn_first", "token_type": "bearer", "refresh_token": "nrt_first",
        "bot_id": "bot-1", "workspace_id": "ws-1", "workspace_name": "Acme", "owner": owner});
    fake.answer(Answer::Json(200, first.to_string()));
    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = common::query_param(&start.location().expect("authorize"), "state").expect("state");
    let landed = browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    let me: Value = serde_json::from_str(&browser.get(&server.url("/v1/me")).await.body).expect("me");
    let user_id = me["user"]["id"].as_str().expect("user id").to_string();

    // Notion reports the token inactive; asking for it renews it, and the app hears of that.
    fake.inactive_tokens.lock().expect("lock").insert("ntn_first".into());
    let renewed = json!({"access_token": "ntn_second", "token_type": "bearer", "refresh_token": "nrt_second",
        "bot_id": "bot-1", "workspace_id": "ws-1", "workspace_name": "Acme", "owner": owner});
    fake.answer(Answer::Json(200, renewed.to_string()));
    let (status, tokens) =
        backend(&server, Method::GET, &format!("/v1/admin/users/{user_id}/oauth_access_tokens/notion"), None).await;
    assert_eq!((status, tokens["data"][0]["token"].clone()), (StatusCode::OK, json!("ntn_second")));
    let received = receiver
        .wait_for(Duration::from_secs(10), "notion_token.refreshed", |r| {
            !of_type(r, "notion_token.refreshed").is_empty()
        })
        .await;
    let event = &of_type(&received, "notion_token.refreshed")[0];
    assert_eq!(event["data"], json!({"user_id": user_id, "bot_id": "bot-1", "workspace_id": "ws-1"}));
    assert!(!received.to_string().contains("ntn_") && !received.to_string().contains("nrt_"), "never the tokens");
    assert_eq!(deliveries(&received).len(), 1, "only the subscribed type");
}

/// An endpoint saved while the instance was a development one (any URL allowed) is not sent to
/// once it runs as production and refuses that URL: the URL is checked again at each delivery
/// (an address written as an IP never reaches the resolver that filters private ones).
#[tokio::test]
async fn an_endpoint_saved_in_development_gets_nothing_production_refuses() {
    let mut server = start_server(&[]).await;
    let receiver = Receiver::start();
    let (status, webhook) = backend(
        &server,
        Method::POST,
        "/v1/admin/webhooks",
        Some(json!({"url": receiver.url(), "events": ["user.deleted"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    receiver.control(json!({"secret": webhook["secret"]})).await;
    sign_in_as(&server, &mut Browser::new(), "ada").await;
    let (_, users) = backend(&server, Method::GET, "/v1/admin/users", None).await;
    let user_id = users["data"][0]["id"].as_str().expect("a user").to_string();

    const LIVE_KEY: &str = "sk_live_webhooks_webhooks_webhooks_webh";
    server.set_env("LATCHKEY_ENVIRONMENT", "production");
    server.set_env("LATCHKEY_SECRET_KEY", LIVE_KEY);
    server.restart().await;
    let backend = |method: Method, path: String| {
        let server = &server;
        async move { common::backend_call(server, LIVE_KEY, method, &path, None).await }
    };
    let (status, _) = backend(Method::DELETE, format!("/v1/admin/users/{user_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let id = webhook["id"].as_str().expect("id");
    let started = Instant::now();
    let row = loop {
        let (_, rows) = backend(Method::GET, format!("/v1/admin/webhooks/{id}/deliveries")).await;
        if let Some(row) = rows["data"].as_array().and_then(|r| r.first()).filter(|r| r["attempts"].as_i64() >= Some(1))
        {
            break row.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "attempted: {rows}\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Refused for being plain http here; an https URL on a private IP is refused the same way.
    assert!(row["last_error"].as_str().is_some_and(|e| e.starts_with("not sent: the endpoint's URL")), "{row}");
    assert!(deliveries(&receiver.received().await).is_empty(), "nothing reached the private address");
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
