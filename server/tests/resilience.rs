//! Replicas, faults and load: what happens on Latchkey's worst day. The replica and
//! database-outage tests need PostgreSQL: they run in the PostgreSQL run (see
//! `common::again_on_postgresql`); on SQLite they say so and pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::fake_notion::{person_token, Answer, FakeNotion};
use common::{consent_in_sandbox, query_param, Browser, Server};
use reqwest::StatusCode;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn needs_postgres(test: &str) -> Option<String> {
    if common::on_postgres() {
        return common::postgres_server().ok();
    }
    eprintln!(
        "{test}: runs only against PostgreSQL (in the run `all_tests_again_on_postgresql` makes); skipped on SQLite"
    );
    None
}

#[tokio::test]
async fn two_replicas_on_one_database_act_as_one() {
    if needs_postgres("two_replicas").is_none() {
        return;
    }
    let fake = FakeNotion::start().await;
    let mut env: Vec<(String, String)> = fake.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    env.push(("LATCHKEY_MASTER_KEY".into(), MASTER_KEY.into()));
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let one = Server::start(&env_ref).await;
    let mut env_two = env_ref.clone();
    env_two.push(("DATABASE_URL", one.database_url.as_str()));
    let two = Server::start(&env_two).await;

    // Started on one, finished on the other.
    fake.answer(Answer::Json(200, person_token("u-r", Some("r@example.org"), "Rep Lica", "bot-r")));
    let mut browser = Browser::new();
    let start = browser.get(&one.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize"), "state").expect("state");
    let landed = browser.get(&two.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);

    // The session works on both (the cookie is per host; a load balancer gives one host).
    let token = browser.cookies.get("latchkey_session").cloned().expect("token");
    for server in [&one, &two] {
        let mut b = Browser::new();
        b.cookies.insert("latchkey_session".into(), token.clone());
        assert_eq!(b.get(&server.url("/v1/me")).await.status, StatusCode::OK);
    }
    // Signed out on one: refused by the other at once.
    let mut on_two = Browser::new();
    on_two.cookies.insert("latchkey_session".into(), token.clone());
    let mut on_one = on_two.clone();
    assert_eq!(
        on_one.request(reqwest::Method::POST, &one.url("/v1/sign-out"), None, &[]).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(on_two.get(&two.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
}

/// On PostgreSQL every sign-in reads the connection, and the sign-ins that ask at once share one
/// read (store/shared_reads.rs). Shared or not, a switch made on one replica holds on the other
/// from the moment it is answered: every start that begins afterwards is refused there, even
/// while dozens of other starts keep that replica's reads busy.
#[tokio::test]
async fn a_connection_switched_off_on_one_replica_is_off_on_the_other_under_load() {
    if needs_postgres("switched_off_under_load").is_none() {
        return;
    }
    let one = Server::start(&[("LATCHKEY_RATE_LIMIT", "0")]).await;
    let two = Server::start(&[("LATCHKEY_RATE_LIMIT", "0"), ("DATABASE_URL", one.database_url.as_str())]).await;
    let key = std::fs::read_to_string(one.data_dir.path().join("secret_key")).expect("generated key");
    let (_, listed) = common::backend_call(&one, key.trim(), reqwest::Method::GET, "/v1/admin/connections", None).await;
    let id = listed["data"][0]["id"].as_str().expect("the sandbox connection").to_string();

    // Starts on replica two, 24 at a time, until told to stop; each remembers when it was sent.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = std::time::Instant::now();
    let load: Vec<_> = (0..24)
        .map(|_| {
            let (stop, url) = (Arc::clone(&stop), two.url("/v1/oauth/notion/start"));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let sent = started.elapsed();
                    let page = Browser::new().get(&url).await;
                    seen.push((sent, page.status, page.error_code()));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = format!("/v1/admin/connections/{id}");
    let (status, _) = common::backend_call(
        &one,
        key.trim(),
        reqwest::Method::PATCH,
        &path,
        Some(serde_json::json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let switched_off = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);

    let (mut before, mut after) = (0, 0);
    for starts in load {
        for (sent, status, code) in starts.await.expect("load task") {
            if sent < switched_off {
                before += 1;
                continue;
            }
            after += 1;
            assert_eq!(
                (status, code.as_deref()),
                (StatusCode::FORBIDDEN, Some("connection_disabled")),
                "a start sent {:?} after the switch was answered",
                sent - switched_off
            );
        }
    }
    assert!(before > 24 && after > 24, "starts before and after the switch: {before}, {after}");
}

#[tokio::test]
async fn the_database_going_away_at_callback_time_loses_nothing_and_recovers() {
    if needs_postgres("database_outage").is_none() {
        return;
    }
    let fake = FakeNotion::start().await;
    let env = fake.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&env).await;
    let database = server.database_url.rsplit('/').next().expect("name").to_string();
    let admin_url = format!("{}/postgres", server.database_url.rsplit_once('/').expect("url").0);
    let admin = || async {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&admin_url).await.expect("admin connection")
    };

    let mut browser = Browser::new();
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize"), "state").expect("state");

    // The database refuses connections and drops the ones it had.
    let pg = admin().await;
    sqlx::query(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false")).execute(&pg).await.expect("lock out");
    sqlx::query(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"))
        .execute(&pg)
        .await
        .expect("drop connections");
    let page = browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.error_code().as_deref(), Some("storage_unavailable"));
    assert_eq!(browser.get(&server.url("/readyz")).await.status, StatusCode::SERVICE_UNAVAILABLE);

    // It comes back: the same process signs people in again.
    sqlx::query(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true")).execute(&pg).await.expect("let in");
    pg.close().await;
    assert_eq!(server.sign_in_rows().await, [0, 0, 0, 0], "no partial rows");
    let mut ready = false;
    for _ in 0..50 {
        if browser.get(&server.url("/readyz")).await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again without a restart");
    let start = browser.get(&server.url("/v1/oauth/notion/start")).await;
    let state = query_param(&start.location().expect("authorize"), "state").expect("state");
    assert_eq!(
        browser.get(&server.url(&format!("/v1/oauth_callback?code=c&state={state}"))).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1]);
}

#[tokio::test]
async fn kill_9_during_a_stream_of_sign_ins_loses_no_session_that_was_handed_out() {
    let fake = FakeNotion::start().await;
    let mut env: Vec<(String, String)> = fake.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    env.push(("LATCHKEY_RATE_LIMIT".into(), "0".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = Server::start(&env).await;
    // Eight Notion people, signing in over and over from 16 browsers.
    let handed_out = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..16 {
        let base = server.base.clone();
        let fake = fake.clone();
        let handed_out = handed_out.clone();
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            let _ = fake;
            for round in 0..1000 {
                let mut browser = Browser::new();
                let Some(start) = try_get(&mut browser, &format!("{base}/v1/oauth/notion/start")).await else { return };
                let Some(state) = start.location().and_then(|l| query_param(&l, "state")) else { return };
                let _ = (worker, round);
                let Some(landed) =
                    try_get(&mut browser, &format!("{base}/v1/oauth_callback?code=c&state={state}")).await
                else {
                    return;
                };
                if landed.status == StatusCode::SEE_OTHER {
                    if let Some(token) = browser.cookies.get("latchkey_session") {
                        handed_out.lock().expect("lock").push(token.clone());
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    // Each sign-in is one of eight people.
    let people: Vec<String> = (0..8)
        .map(|i| person_token(&format!("person-{i}"), Some(&format!("p{i}@example.org")), "P", &format!("bot-{i}")))
        .collect();
    let mut turn = 0;
    while done.load(Ordering::SeqCst) < 60 {
        fake.answer(Answer::Json(200, people[turn % people.len()].clone()));
        turn += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_hard();
    for worker in workers {
        let _ = worker.await;
    }
    server.restart().await;

    let tokens = handed_out.lock().expect("lock").clone();
    assert!(tokens.len() >= 60);
    for token in &tokens {
        let mut browser = Browser::new();
        browser.cookies.insert("latchkey_session".into(), token.clone());
        assert_eq!(
            browser.get(&server.url("/v1/me")).await.status,
            StatusCode::OK,
            "a session handed out before the kill works"
        );
    }
    let db = server.db().await;
    if !server.is_postgres() {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db).await.expect("integrity");
        assert_eq!(check, "ok");
    }
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&db).await.expect("users");
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT provider_user_id) FROM external_accounts")
        .fetch_one(&db)
        .await
        .expect("accounts");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM external_accounts a WHERE a.user_id = u.id)",
    )
    .fetch_one(&db)
    .await
    .expect("orphans");
    assert!(users <= 8 && users == accounts, "one user per Notion person ({users} users, {accounts} accounts)");
    assert_eq!(orphans, 0, "no user without its Notion account");
}

async fn try_get(browser: &mut Browser, url: &str) -> Option<common::Page> {
    browser.try_get(url).await
}

/// 2,000 sign-ins, 64 at a time, through the sandbox: zero errors, every session valid, one
/// user per Notion person. Not timed: speed lives in the benchmark report.
#[tokio::test]
async fn two_thousand_sign_ins_sixty_four_at_a_time() {
    let server = Server::start(&[("LATCHKEY_RATE_LIMIT", "0")]).await;
    let people = ["ada", "grace", "katherine"];
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..64 {
        let next = next.clone();
        let base = server.base.clone();
        let port = server.port;
        workers.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            let mut errors = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= 2000 {
                    break;
                }
                let mut browser = Browser::new();
                let probe = Server::probe(&base, port);
                let callback = consent_in_sandbox(&probe, &mut browser, people[n % people.len()], "allow").await;
                let landed = browser.get(&callback).await;
                match (landed.status, browser.cookies.get("latchkey_session")) {
                    (StatusCode::SEE_OTHER, Some(token)) => tokens.push(token.clone()),
                    (status, _) => errors.push(format!("{status} {:?}", landed.error_code())),
                }
            }
            (tokens, errors)
        }));
    }
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    for worker in workers {
        let (t, e) = worker.await.expect("worker");
        tokens.extend(t);
        errors.extend(e);
    }
    assert!(errors.is_empty(), "every sign-in lands; these did not: {errors:?}\n{}", server.log());
    assert_eq!(tokens.len(), 2000);
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 2000, "every token unique");
    assert_eq!(server.sign_in_rows().await, [3, 3, 3, 2000]);
    for token in tokens.iter().step_by(1) {
        let mut browser = Browser::new();
        browser.cookies.insert("latchkey_session".into(), token.clone());
        assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK);
    }
}

/// SQLite is for one process: a second Latchkey on the same file would write behind the first's
/// back (and its memory of sessions). It refuses to start, says why, and the first keeps serving.
#[tokio::test]
async fn a_second_process_on_the_same_sqlite_file_refuses_to_start() {
    let server = Server::start(&[]).await;
    if server.is_postgres() {
        eprintln!("second_process: SQLite only (PostgreSQL takes many replicas); skipped");
        return;
    }
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    assert_eq!(browser.get(&callback).await.status, StatusCode::SEE_OTHER);

    let mut second = server.command();
    second
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", common::free_port()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || second.output()).await.expect("joined").expect("runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the second process must not start");
    assert!(said.contains("another Latchkey process is using the SQLite database"), "{said}");
    assert!(said.contains("PostgreSQL"), "it names the way to run several: {said}");

    assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK, "the first one is untouched");
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
