//! The domain on a temporary SQLite file with a clock the test moves: the sign-in flow's ten
//! minutes, a session's idle timeout and absolute lifetime, and the touch interval, each at the
//! millisecond it changes — without rewriting rows by hand. Also: making signing keys leaves the
//! runtime free.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::config::Config;
use crate::failure::Failure;
use crate::flow::{Callback, Intent};
use crate::ids::{Provider, SessionId, SessionToken, UserId};
use crate::notion::Identity;
use crate::service::Latchkey;
use crate::session::{ABSOLUTE_LIFETIME, FLOW_LIFETIME, IDLE_TIMEOUT, TOUCH_INTERVAL};
use crate::store::{GrantRecord, NewSession, SignInRecord};
use crate::time::Clock;

/// Starts at a fixed instant; the test moves it.
struct TestClock(AtomicI64);

impl TestClock {
    fn set(&self, at: i64) {
        self.0.store(at, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

const T0: i64 = 1_800_000_000_000;

async fn latchkey(dir: &std::path::Path) -> (Latchkey, Arc<TestClock>) {
    let vars = HashMap::from([
        ("LATCHKEY_DATA_DIR".to_string(), dir.display().to_string()),
        ("DATABASE_URL".to_string(), format!("sqlite://{}", dir.join("latchkey.db").display())),
    ]);
    let config = Config::from_vars(&vars, "127.0.0.1:3999".parse().unwrap()).expect("a development config");
    let (mut latchkey, _) = Latchkey::start(config).await.expect("starts");
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    latchkey.clock = clock.clone();
    (latchkey, clock)
}

/// A callback for the flow `started` began, in the browser that began it; no code, so only the
/// state is judged (an accepted state then fails on the missing code, before any exchange).
async fn return_from_notion(latchkey: &Latchkey, authorize_url: &url::Url, nonce: &str) -> Failure {
    let state = authorize_url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
    let callback = Callback { code: None, state, error: None };
    match latchkey.finish_sign_in(&callback, Some(nonce), None, None).await {
        Ok(_) => panic!("no code, no sign-in"),
        Err(failed) => failed.failure,
    }
}

#[tokio::test]
async fn a_sign_in_flow_lasts_ten_minutes_to_the_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let (latchkey, clock) = latchkey(dir.path()).await;

    let in_time = latchkey.start_sign_in(None, Intent::SignIn).await.expect("started");
    let late = latchkey.start_sign_in(None, Intent::SignIn).await.expect("started");
    clock.set(T0 + FLOW_LIFETIME - 1);
    let failure = return_from_notion(&latchkey, &in_time.authorize_url, in_time.browser_nonce.expose()).await;
    assert_eq!(failure, Failure::BadRequest, "the state is still good a millisecond before the end");
    clock.set(T0 + FLOW_LIFETIME);
    let failure = return_from_notion(&latchkey, &late.authorize_url, late.browser_nonce.expose()).await;
    assert_eq!(failure, Failure::StateExpired);
}

/// A session for a new person, made as the sign-in's transaction makes it, at the clock's now.
async fn session(latchkey: &Latchkey, person: &str) -> SessionToken {
    let connection =
        latchkey.store.connection_by_provider(Provider::Notion).await.unwrap().expect("the dev connection");
    let token = SessionToken::generate();
    let now = latchkey.now();
    let record = SignInRecord {
        now,
        identity: Identity {
            notion_user_id: format!("notion-{person}"),
            name: Some(person.to_string()),
            avatar_url: None,
            email: Some(format!("{person}@example.com")),
            email_verified: false,
        },
        new_user_id: UserId::new(format!("user_{person}")),
        new_account_id: format!("eacc_{person}"),
        allow_sign_up: true,
        grant: GrantRecord {
            bot_id: format!("bot-{person}"),
            connection_id: connection.id,
            workspace_id: "ws".into(),
            workspace_name: None,
            workspace_icon: None,
            access_token_sealed: "sealed".into(),
            refresh_token_sealed: None,
        },
        session: NewSession {
            id: SessionId::new(format!("sess_{person}")),
            token_hash: token.hash(),
            user_agent: None,
            expires_at: now + ABSOLUTE_LIFETIME,
        },
        replaces_session_hash: None,
    };
    latchkey.store.complete_sign_in(&record).await.unwrap().expect("signed in");
    token
}

#[tokio::test]
async fn a_session_ends_after_a_week_idle_and_thirty_days_in_all() {
    let dir = tempfile::tempdir().unwrap();
    let (latchkey, clock) = latchkey(dir.path()).await;
    let idle = session(&latchkey, "ida").await;

    clock.set(T0 + IDLE_TIMEOUT - 1);
    assert!(latchkey.authenticate(&idle).await.unwrap().is_some(), "a millisecond short of a week idle");
    // That use counted as activity: the idle week starts again from it.
    let active_at = T0 + IDLE_TIMEOUT - 1;
    clock.set(active_at + IDLE_TIMEOUT - 1);
    assert!(latchkey.authenticate(&idle).await.unwrap().is_some());
    clock.set(active_at + IDLE_TIMEOUT - 1 + IDLE_TIMEOUT);
    assert!(latchkey.authenticate(&idle).await.unwrap().is_none(), "a week without use ends it");

    // Used every few days, a session still ends thirty days after it began.
    clock.set(T0);
    let busy = session(&latchkey, "bea").await;
    let mut at = T0;
    while at + 3 * 86_400_000 < T0 + ABSOLUTE_LIFETIME {
        at += 3 * 86_400_000;
        clock.set(at);
        assert!(latchkey.authenticate(&busy).await.unwrap().is_some(), "day {}", (at - T0) / 86_400_000);
    }
    clock.set(T0 + ABSOLUTE_LIFETIME - 1);
    assert!(latchkey.authenticate(&busy).await.unwrap().is_some());
    clock.set(T0 + ABSOLUTE_LIFETIME);
    assert!(latchkey.authenticate(&busy).await.unwrap().is_none(), "thirty days is the end whatever the use");
}

#[tokio::test]
async fn last_active_is_written_at_most_once_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (latchkey, clock) = latchkey(dir.path()).await;
    let token = session(&latchkey, "tom").await;
    let last_active = |auth: Option<crate::session::Authenticated>| auth.expect("live").session.last_active_at;

    clock.set(T0 + TOUCH_INTERVAL - 1);
    assert_eq!(last_active(latchkey.authenticate(&token).await.unwrap()), T0, "not yet a minute: not written");
    clock.set(T0 + TOUCH_INTERVAL);
    assert_eq!(last_active(latchkey.authenticate(&token).await.unwrap()), T0 + TOUCH_INTERVAL);
    // Read back from the database, not only the answer: the touch was stored.
    clock.set(T0 + TOUCH_INTERVAL + 1);
    assert_eq!(last_active(latchkey.authenticate(&token).await.unwrap()), T0 + TOUCH_INTERVAL);
}

/// Making signing keys (an RSA key takes up to seconds of CPU) leaves the runtime free: on a
/// one-thread runtime, a task that wakes every 5 ms keeps waking while a rotation makes its
/// keys. Done on the runtime's thread, the generation would stop it for nearly all that time.
#[tokio::test(flavor = "current_thread")]
async fn making_signing_keys_does_not_stop_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let (latchkey, _clock) = latchkey(dir.path()).await;
    latchkey.jwks().await.expect("the first keys");

    let wakes = Arc::new(AtomicI64::new(0));
    let ticker = tokio::spawn({
        let wakes = wakes.clone();
        async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                wakes.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let started = std::time::Instant::now();
    latchkey.rotate_signing_key().await.expect("rotated");
    let took = started.elapsed();
    ticker.abort();
    let woke = wakes.load(Ordering::SeqCst);
    // 5 ms a wake, at least a third of the time (the test machine may be busy).
    let expected = (took.as_millis() as i64) / 5 / 3;
    assert!(woke >= expected, "the ticker woke {woke} times in {took:?} (expected at least {expected})");
}

/// OpenID grants nothing can reach any more go with the clean-up: one whose code was never
/// spent, a day after the code's end; one with a refresh token, once that token has ended.
#[tokio::test]
async fn a_grant_nothing_can_reach_any_more_is_pruned() {
    use crate::admin::OAuthApplicationInput;
    use crate::ids::TokenHash;
    use crate::store::{OAuthCodeRow, OAuthGrantRow, OAuthTokenRow, TokenKind};
    use crate::time::DAY;

    let dir = tempfile::tempdir().unwrap();
    let (latchkey, clock) = latchkey(dir.path()).await;
    session(&latchkey, "ada").await;
    let app = latchkey
        .create_oauth_application(OAuthApplicationInput {
            name: "Notes".into(),
            redirect_uris: vec!["https://notes.example/callback".into()],
            public: false,
            skip_consent: true,
        })
        .await
        .unwrap();
    let authorize = |grant_id: &str| {
        let grant = OAuthGrantRow {
            id: grant_id.into(),
            application_id: app.id.clone(),
            user_id: UserId::new("user_ada".to_string()),
            session_id: SessionId::new("sess_ada".to_string()),
            scope: "openid".into(),
            auth_time: T0,
            created_at: T0,
            revoked_at: None,
        };
        let code = OAuthCodeRow {
            code_hash: TokenHash::of(&format!("code-of-{grant_id}")),
            grant_id: grant_id.into(),
            redirect_uri: "https://notes.example/callback".into(),
            nonce: None,
            code_challenge: None,
            expires_at: T0 + 60_000,
        };
        (grant, code)
    };
    let (abandoned, its_code) = authorize("ogr_abandoned");
    latchkey.store.insert_authorization(&abandoned, &its_code, false).await.unwrap();
    let (kept, its_code) = authorize("ogr_kept");
    latchkey.store.insert_authorization(&kept, &its_code, false).await.unwrap();
    let refresh = OAuthTokenRow {
        token_hash: TokenHash::of("refresh"),
        kind: TokenKind::Refresh,
        created_at: T0,
        expires_at: T0 + 30 * DAY,
    };
    assert!(latchkey.store.insert_oauth_tokens("ogr_kept", &[refresh]).await.unwrap());

    let grants = || {
        let db = rusqlite::Connection::open(dir.path().join("latchkey.db")).unwrap();
        let mut statement = db.prepare("SELECT id FROM oauth_grants ORDER BY id").unwrap();
        statement.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap).collect::<Vec<_>>()
    };
    clock.set(T0 + DAY);
    latchkey.prune_expired().await.unwrap();
    assert_eq!(grants(), ["ogr_abandoned", "ogr_kept"], "a day after the code's end it is still recognised");
    clock.set(T0 + 60_000 + DAY + 1);
    latchkey.prune_expired().await.unwrap();
    assert_eq!(grants(), ["ogr_kept"], "the unspent code has gone, and its grant with it");
    clock.set(T0 + 30 * DAY + 1);
    latchkey.prune_expired().await.unwrap();
    assert_eq!(grants(), Vec::<String>::new(), "its refresh token ended: nothing reaches the grant");
}
