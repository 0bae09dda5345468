//! Property tests (fuzzing) of the three places where the outside world's bytes enter the
//! sign-in: the callback's query, Notion's token answer, and `redirect_url`.
//!
//! The test command runs a short bounded pass (256 cases each). A long run:
//! `PROPTEST_CASES=1000000 cargo test -p domain --release --test properties`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

use domain::failure::Failure;
use domain::flow::{Callback, MAX_CALLBACK_QUERY_LEN};
use domain::notion::client::interpret_token_answer;
use domain::redirect::check_redirect_url;
use proptest::prelude::*;
use url::Url;

fn allowed() -> Vec<String> {
    vec!["https://auth.example.com".into(), "https://app.example.com".into(), "http://localhost:5173".into()]
}

proptest! {
    /// Any query string parses or is refused as a bad request; never a panic, never two states.
    #[test]
    fn callback_queries_never_panic(raw in ".{0,600}", repeat in any::<bool>()) {
        let query = if repeat { format!("{raw}&state=a&state=b") } else { raw.clone() };
        match Callback::parse(&query) {
            Ok(callback) => {
                let states = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "state").count();
                prop_assert!(states <= 1);
                prop_assert_eq!(callback.state.is_some(), states == 1);
            }
            Err(failure) => prop_assert_eq!(failure, Failure::BadRequest),
        }
    }

    #[test]
    fn structured_callback_queries_round_trip(code in "[A-Za-z0-9_-]{1,64}", state in "[A-Za-z0-9_-]{43}", noise in "[a-z]{1,8}") {
        let query = format!("{noise}=1&code={code}&state={state}");
        let callback = Callback::parse(&query).expect("valid");
        prop_assert_eq!(callback.code.as_deref(), Some(code.as_str()));
        prop_assert_eq!(callback.state.as_deref(), Some(state.as_str()));
        let flood = format!("code={}", "x".repeat(MAX_CALLBACK_QUERY_LEN));
        prop_assert_eq!(Callback::parse(&flood).err(), Some(Failure::BadRequest));
    }

    /// Whatever Notion (or anything in its place) answers, the parser gives a token or an error.
    #[test]
    fn token_answers_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = interpret_token_answer(status, None, &body);
    }

    /// JSON-shaped answers with fields of any type.
    #[test]
    fn token_like_json_never_panics(
        access in proptest::option::of(".{0,20}"),
        owner_type in prop_oneof![Just("user".to_string()), Just("workspace".to_string()), Just("bot".to_string()), ".{0,8}"],
        icon in prop_oneof![Just(serde_json::Value::Null), any::<i64>().prop_map(serde_json::Value::from), ".{0,10}".prop_map(serde_json::Value::from)],
        email in proptest::option::of(".{0,30}"),
    ) {
        let body = serde_json::json!({
            "access_token": access, "bot_id": "b", "workspace_id": "w", "workspace_icon": icon,
            "owner": {"type": owner_type, "user": {"id": "u", "person": {"email": email}}},
        });
        if let Ok(token) = interpret_token_answer(200, None, body.to_string().as_bytes()) {
            if let Ok(person) = token.identity() {
                prop_assert!(person.email.as_deref().is_none_or(|e| e.contains('@')));
                prop_assert!(person.avatar_url.as_deref().is_none_or(|u| u.starts_with("http")));
            }
        }
    }

    /// An accepted `redirect_url` always lands on an allowed origin, over http(s), with no
    /// credentials in it; anything else is refused. Never a panic.
    #[test]
    fn redirect_urls_only_reach_allowed_origins(candidate in ".{0,300}") {
        let public = Url::parse("https://auth.example.com").expect("url");
        if let Some(url) = check_redirect_url(&candidate, &public, &allowed()) {
            prop_assert!(allowed().contains(&url.origin().ascii_serialization()));
            prop_assert!(matches!(url.scheme(), "http" | "https"));
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
    }

    #[test]
    fn redirect_urls_built_from_tricky_parts(
        scheme in prop_oneof![Just("https://"), Just("http://"), Just("//"), Just("/"), Just("javascript:"), Just("HTTPS://"), Just("https:/"), Just("")],
        userinfo in prop_oneof![Just(""), Just("user@"), Just("app.example.com@"), Just("u:p@")],
        host in prop_oneof![Just("app.example.com"), Just("app.example.com.evil.example"), Just("evil.example"), Just("APP.example.com"), Just("localhost:5173"), Just("app.example.com:443")],
        path in "[/a-z%0-9?#=&.\\\\]{0,20}",
    ) {
        let candidate = format!("{scheme}{userinfo}{host}{path}");
        let public = Url::parse("https://auth.example.com").expect("url");
        if let Some(url) = check_redirect_url(&candidate, &public, &allowed()) {
            prop_assert!(allowed().contains(&url.origin().ascii_serialization()), "{candidate} -> {url}");
            if scheme == "/" {
                // A path stays on Latchkey's own origin, whatever it contains.
                prop_assert_eq!(url.origin().ascii_serialization(), "https://auth.example.com");
            } else {
                prop_assert!(userinfo.is_empty(), "{candidate} carried credentials");
            }
        }
    }
}
