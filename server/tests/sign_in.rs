//! The sign-in through the built-in Notion sandbox, against the real binary and its SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use common::{consent_in_sandbox, query_param, sign_in, Browser, Server};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn a_new_person_signs_up_through_the_sandbox_and_signs_out() {
    let server = Server::start(&[]).await;
    let mut browser = Browser::new();

    let sign_in_page = browser.get(&server.url("/sign-in")).await;
    assert_eq!(sign_in_page.status, StatusCode::OK);
    assert!(
        sign_in_page.body.contains("href=\"/v1/oauth/notion/start?intent=sign_in\""),
        "a real link works without JavaScript"
    );
    assert!(!sign_in_page.body.contains(".wasm"), "the sign-in page loads no WASM");

    let start = browser.get(&server.url("/v1/oauth/notion/start?intent=sign_up")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let authorize = start.location().expect("to Notion");
    assert!(authorize.starts_with(&server.url("/sandbox/notion/v1/oauth/authorize?")));
    for (name, value) in [("client_id", "latchkey-sandbox"), ("response_type", "code"), ("owner", "user")] {
        assert_eq!(query_param(&authorize, name).as_deref(), Some(value));
    }
    assert_eq!(query_param(&authorize, "redirect_uri"), Some(server.url("/v1/oauth_callback")));
    let state = query_param(&authorize, "state").expect("state");
    assert!(state.len() >= 43, "state carries at least 256 bits");
    let flow_cookie = start.set_cookies().into_iter().find(|c| c.starts_with("latchkey_flow=")).expect("flow cookie");
    assert!(
        flow_cookie.contains("HttpOnly") && flow_cookie.contains("SameSite=Lax") && flow_cookie.contains("Max-Age=600")
    );

    let consent = browser.get(&authorize).await;
    assert!(
        consent.body.contains("Notion sandbox")
            && consent.body.contains("Allow access")
            && consent.body.contains("Cancel")
    );
    let decided = browser
        .post_form(
            &server.url("/sandbox/notion/v1/oauth/authorize"),
            &common::consent_form(&authorize, "grace", "allow"),
        )
        .await;
    let callback = decided.location().expect("back to the callback");
    assert!(callback.starts_with(&server.url("/v1/oauth_callback?code=")));

    let landed = browser.get(&callback).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER);
    assert_eq!(landed.location(), Some(server.url("/user")));
    let session_cookie =
        landed.set_cookies().into_iter().find(|c| c.starts_with("latchkey_session=")).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(attribute), "{session_cookie} lacks {attribute}");
    }
    assert!(!session_cookie.contains("Secure"), "plain-http development cookie");
    let token = browser.cookies.get("latchkey_session").cloned().expect("token");
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    assert!(!browser.cookies.contains_key("latchkey_flow"), "the flow cookie is cleared");

    let me = browser.get(&server.url("/v1/me")).await;
    assert_eq!(me.status, StatusCode::OK);
    let me: serde_json::Value = serde_json::from_str(&me.body).expect("json");
    assert_eq!(me["user"]["name"], "Grace Hopper");
    assert_eq!(me["user"]["email"], "grace@example.com");
    assert_eq!(me["user"]["external_accounts"][0]["provider"], "notion");
    assert_eq!(me["user"]["external_accounts"][0]["workspaces"][0]["workspace_name"], "Acme Corp");
    assert_eq!(me["session"]["user_id"], me["user"]["id"]);

    let profile = browser.get(&server.url("/user")).await;
    assert_eq!(profile.status, StatusCode::OK);
    for text in ["Grace Hopper", "grace@example.com", "Acme Corp", "This device", "Chrome on Linux"] {
        assert!(profile.body.contains(text), "/user shows {text}");
    }

    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 1]);
    let stored = server.stored_text().await;
    assert!(stored.contains("Grace Hopper"), "the check reads what is stored");
    assert!(!stored.contains(&token), "the session token is stored only as a hash");
    assert!(!stored.contains("ntn_sandbox_"), "Notion tokens are sealed at rest");

    let signed_out = browser.request(Method::POST, &server.url("/v1/sign-out"), None, &[]).await;
    assert_eq!(signed_out.status, StatusCode::NO_CONTENT);
    assert!(!browser.cookies.contains_key("latchkey_session"));
    let mut old_cookie = Browser::new();
    old_cookie.cookies.insert("latchkey_session".into(), token);
    assert_eq!(old_cookie.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED, "the old token is dead");
    let profile = browser.get(&server.url("/user")).await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER);
    assert!(profile.location().is_some_and(|l| l.starts_with("/sign-in")));
}

#[tokio::test]
async fn a_returning_person_is_the_same_user_with_a_fresh_session() {
    let server = Server::start(&[]).await;
    let mut first = Browser::new();
    sign_in(&server, &mut first, "ada").await;
    let mut second = Browser::new();
    let landed = sign_in(&server, &mut second, "ada").await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER);
    assert_ne!(first.cookies.get("latchkey_session"), second.cookies.get("latchkey_session"));
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 2], "one user, one grant (same bot_id), two sessions");
    // Form sign-out from the profile page goes back to sign-in.
    let signed_out = second.post_form(&server.url("/v1/sign-out"), "").await;
    assert_eq!((signed_out.status, signed_out.location().as_deref()), (StatusCode::SEE_OTHER, Some("/sign-in")));
    assert_eq!(first.get(&server.url("/v1/me")).await.status, StatusCode::OK, "other devices stay signed in");
}

#[tokio::test]
async fn another_session_can_be_ended_from_the_profile() {
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", "https://app.example")]).await;
    let mut laptop = Browser::new();
    let mut phone = Browser::with_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1");
    sign_in(&server, &mut laptop, "katherine").await;
    sign_in(&server, &mut phone, "katherine").await;
    let me: serde_json::Value = serde_json::from_str(&phone.get(&server.url("/v1/me")).await.body).expect("json");
    let phone_session = me["session"]["id"].as_str().expect("id").to_string();
    let profile = laptop.get(&server.url("/user")).await;
    assert!(profile.body.contains("Safari on iPhone"), "the other device is listed");
    assert!(profile.body.contains(&format!("/v1/sessions/{phone_session}/revoke")));

    // Another site cannot end it for them; nor can an app's page, though it is allowed to sign
    // its visitor out and mint tokens.
    for origin in ["https://evil.example", "https://app.example"] {
        let forged = laptop
            .request(
                Method::POST,
                &server.url(&format!("/v1/sessions/{phone_session}/revoke")),
                Some(String::new()),
                &[("origin", origin)],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "from {origin}: {}", forged.body);
    }
    assert_eq!(phone.get(&server.url("/v1/me")).await.status, StatusCode::OK);

    let ended = laptop.post_form(&server.url(&format!("/v1/sessions/{phone_session}/revoke")), "").await;
    assert_eq!((ended.status, ended.location().as_deref()), (StatusCode::SEE_OTHER, Some("/user")));
    assert_eq!(phone.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.get(&server.url("/v1/me")).await.status, StatusCode::OK);

    // Someone else's session is not yours to end.
    let mut stranger = Browser::new();
    sign_in(&server, &mut stranger, "ada").await;
    let me: serde_json::Value = serde_json::from_str(&laptop.get(&server.url("/v1/me")).await.body).expect("json");
    let laptop_session = me["session"]["id"].as_str().expect("id").to_string();
    let refused = stranger.post_form(&server.url(&format!("/v1/sessions/{laptop_session}/revoke")), "").await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(refused.body.contains("That session already ended"), "a page for the form: {}", refused.body);
    let by_script =
        stranger.request(Method::POST, &server.url(&format!("/v1/sessions/{laptop_session}/revoke")), None, &[]).await;
    assert_eq!(by_script.status, StatusCode::NOT_FOUND);
    assert!(by_script.body.contains(r#""session_not_found""#), "JSON for a script: {}", by_script.body);
    assert_eq!(laptop.get(&server.url("/v1/me")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn thirty_two_concurrent_first_sign_ins_of_one_person_make_one_user() {
    let server = Server::start(&[("LATCHKEY_RATE_LIMIT", "0")]).await;
    let mut callbacks = Vec::new();
    for _ in 0..32 {
        let mut browser = Browser::new();
        let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
        callbacks.push((browser, callback));
    }
    let landings = futures::future::join_all(callbacks.into_iter().map(|(mut browser, callback)| async move {
        let page = browser.get(&callback).await;
        (browser, page)
    }))
    .await;
    for (_, page) in &landings {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}\nThe server's log:\n{}", page.body, server.log());
    }
    assert_eq!(server.sign_in_rows().await, [1, 1, 1, 32]);
    for (mut browser, _) in landings {
        assert_eq!(browser.get(&server.url("/v1/me")).await.status, StatusCode::OK);
    }
}

/// A callback URL works at most once, even opened many times at the same moment (a double
/// click, a replay racing the real one): one request takes the flow and the others are told
/// the link is spent. A refused request also spends Notion's code (a code seen with a state we
/// do not accept is burnt), so the one that took the flow may then hear that Notion refused the
/// code: the person starts again. Never two sessions, never a partial sign-in.
#[tokio::test]
async fn a_callback_opened_sixteen_times_at_once_signs_in_at_most_once() {
    let server = Server::start(&[("LATCHKEY_RATE_LIMIT", "0")]).await;
    let mut browser = Browser::new();
    let callback = consent_in_sandbox(&server, &mut browser, "ada", "allow").await;
    let landings = futures::future::join_all((0..16).map(|_| {
        let (mut browser, callback) = (browser.clone(), callback.clone());
        async move { browser.get(&callback).await }
    }))
    .await;
    let outcomes: Vec<_> = landings.iter().map(|p| (p.status, p.error_code())).collect();
    let signed_in: Vec<_> = landings.iter().filter(|page| page.status == StatusCode::SEE_OTHER).collect();
    assert!(signed_in.len() <= 1, "{outcomes:?}");
    for page in &signed_in {
        assert!(page.set_cookies().iter().any(|c| c.starts_with("latchkey_session=")));
    }
    let refusals: Vec<_> = landings.iter().filter(|page| page.status != StatusCode::SEE_OTHER).collect();
    let state_spent = refusals.iter().filter(|p| p.error_code().as_deref() == Some("state_invalid")).count();
    assert_eq!(state_spent, 15, "one request took the flow: {outcomes:?}");
    for refused in refusals {
        assert!(matches!(refused.error_code().as_deref(), Some("state_invalid" | "code_rejected")), "{outcomes:?}");
    }
    let expected = if signed_in.is_empty() { [0, 0, 0, 0] } else { [1, 1, 1, 1] };
    assert_eq!(server.sign_in_rows().await, expected, "{outcomes:?}");
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let mut server = Server::start(&[]).await;
    let mut browser = Browser::new();
    sign_in(&server, &mut browser, "grace").await;
    server.restart().await;
    let me = browser.get(&server.url("/v1/me")).await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("Grace Hopper"));
    // The generated development keys were kept, not made anew: sealed tokens still open.
    let keys = ["master.key", "secret_key", "admin_password"].map(|f| server.data_dir.path().join(f).exists());
    assert_eq!(keys, [true, true, true]);
}

#[tokio::test]
async fn a_session_cookie_planted_before_sign_in_is_never_the_session_after() {
    let server = Server::start(&[]).await;
    let mut attacker = Browser::new();
    sign_in(&server, &mut attacker, "ada").await;
    let planted = attacker.cookies.get("latchkey_session").cloned().expect("attacker's token");

    // The victim's browser carries the attacker's cookie, then signs in as themselves.
    let mut victim = Browser::new();
    victim.cookies.insert("latchkey_session".into(), planted.clone());
    sign_in(&server, &mut victim, "grace").await;
    let after = victim.cookies.get("latchkey_session").cloned().expect("victim's token");
    assert_ne!(after, planted, "a fresh token at every sign-in");
    let me: serde_json::Value = serde_json::from_str(&victim.get(&server.url("/v1/me")).await.body).expect("json");
    assert_eq!(me["user"]["name"], "Grace Hopper");
    // The planted session ended with the sign-in on that device.
    assert_eq!(attacker.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_person_deletes_their_own_account_from_the_profile() {
    let server = Server::start(&[("LATCHKEY_ALLOWED_ORIGINS", "https://app.example")]).await;
    let mut ada = Browser::new();
    sign_in(&server, &mut ada, "ada").await;
    let mut phone = Browser::new();
    sign_in(&server, &mut phone, "ada").await;
    let profile = ada.get(&server.url("/user")).await;
    assert!(profile.body.contains(r#"action="/v1/me/delete""#), "the profile offers it");

    // Not without the box ticked, and never from another site.
    let unconfirmed = ada.post_form(&server.url("/v1/me/delete"), "").await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    // A person who sent the form reads why, on a page with the way back, not JSON.
    assert!(unconfirmed.body.contains("Tick the box"), "{}", unconfirmed.body);
    assert!(unconfirmed.body.contains(r#"href="/user""#) && !unconfirmed.body.contains(r#""error""#));
    // Not from an allowed app's page either: the account page alone deletes the account.
    for origin in ["https://evil.example", "https://app.example"] {
        let forged = ada
            .request(
                Method::POST,
                &server.url("/v1/me/delete"),
                Some("confirm=yes".into()),
                &[("origin", origin), ("content-type", "application/x-www-form-urlencoded")],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "from {origin}");
        assert!(forged.body.contains("Sent from another site"), "{}", forged.body);
        assert_eq!(server.count("users").await, 1);
    }

    let deleted = ada.post_form(&server.url("/v1/me/delete"), "confirm=yes").await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(deleted.body.contains("Your account is deleted"));
    assert!(deleted.set_cookies().iter().any(|c| c.starts_with("latchkey_session=") && c.contains("Max-Age=0")));
    assert_eq!(server.count("users").await, 0);
    // Every session of theirs ended, this device's and the phone's.
    assert_eq!(ada.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(phone.get(&server.url("/v1/me")).await.status, StatusCode::UNAUTHORIZED);
    // Signed out, there is nothing to delete: the page says so and leads to the sign-in.
    let signed_out = Browser::new().post_form(&server.url("/v1/me/delete"), "confirm=yes").await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert!(signed_out.body.contains("You are signed out") && signed_out.body.contains(r#"href="/sign-in""#));
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
