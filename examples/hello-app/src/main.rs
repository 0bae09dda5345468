//! hello-app: a small server-rendered app on its own host. It never sees Latchkey's session
//! cookie; Latchkey's SDK gives it the person from a short-lived session token (the handshake,
//! so it works with JavaScript off), and the backend API gives it their Notion token.
//!
//! ```sh
//! LATCHKEY_URL=http://127.0.0.1:3000 APP_URL=http://127.0.0.1:4000 \
//! LATCHKEY_SECRET_KEY="$(cat data/secret_key)" cargo run -p hello-app
//! ```
//! Latchkey must list the app's origin in `LATCHKEY_ALLOWED_ORIGINS`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use latchkey_sdk::{Latchkey, LatchkeyLayer, SignedIn};

#[derive(Clone)]
struct App {
    latchkey: Latchkey,
    latchkey_url: String,
    app_url: String,
    notion_api: String,
    http: reqwest::Client,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().init();
    let latchkey_url = var("LATCHKEY_URL", "http://127.0.0.1:3000").trim_end_matches('/').to_string();
    let app_url = var("APP_URL", "http://127.0.0.1:4000").trim_end_matches('/').to_string();
    // In development the Notion sandbox stands in for Notion, inside Latchkey.
    let notion_api = var("NOTION_API_BASE", &format!("{latchkey_url}/sandbox/notion"));
    let Ok(secret_key) = std::env::var("LATCHKEY_SECRET_KEY") else {
        eprintln!("hello-app: LATCHKEY_SECRET_KEY: is required (the instance's sk_… key)");
        return ExitCode::from(2);
    };
    let latchkey = match Latchkey::builder(&latchkey_url)
        .app_url(&app_url)
        .map(|b| b.authorized_parties([app_url.as_str()]).secret_key(secret_key.trim()))
        .and_then(|b| b.build())
    {
        Ok(latchkey) => latchkey,
        Err(e) => {
            eprintln!("hello-app: {e}");
            return ExitCode::from(2);
        }
    };
    let listen = var("APP_ADDR", app_url.trim_start_matches("http://").trim_start_matches("https://"));
    let app = App { latchkey: latchkey.clone(), latchkey_url, app_url, notion_api, http: reqwest::Client::new() };
    let router = Router::new().route("/", get(home)).layer(LatchkeyLayer::new(latchkey)).with_state(app);
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hello-app: cannot listen on {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!("hello-app on http://{listen}");
    match axum::serve(listener, router).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

/// Text for HTML: names come from Notion and may hold anything.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>hello-app</title></head><body>{body}</body></html>"
    ))
}

async fn home(State(app): State<App>, who: Option<SignedIn>) -> Html<String> {
    let Some(who) = who else {
        let sign_in = app.latchkey.sign_in_url(&format!("{}/", app.app_url));
        return page(&format!(
            "<h1>hello-app</h1><p id=\"who\">You are signed out.</p><p><a href=\"{}\">Sign in with Notion</a></p>",
            escape(&sign_in)
        ));
    };
    let backend = app.latchkey.backend();
    let name = match backend.user(who.user_id()).await {
        Ok(user) => user.name.or(user.email).unwrap_or_else(|| who.user_id().to_string()),
        Err(e) => {
            tracing::warn!("backend API: {e}");
            who.user_id().to_string()
        }
    };
    let notion = match backend.notion_tokens(who.user_id()).await {
        Ok(tokens) => match tokens.first() {
            Some(grant) => notion_workspace(&app, &grant.token).await,
            None => "Notion: no workspace granted.".to_string(),
        },
        Err(e) => format!("Notion: could not get your token ({e})."),
    };
    page(&format!(
        "<h1>hello-app</h1><p id=\"who\">Hello, {}!</p><p id=\"notion\">{}</p>\
         <form method=\"post\" action=\"{}/v1/sign-out\"><button>Sign out</button></form>",
        escape(&name),
        escape(&notion),
        escape(&app.latchkey_url)
    ))
}

/// Calls Notion as the person: `GET /v1/users/me` with their token names the workspace.
async fn notion_workspace(app: &App, token: &str) -> String {
    let answer = app
        .http
        .get(format!("{}/v1/users/me", app.notion_api))
        .bearer_auth(token)
        .header("Notion-Version", "2022-06-28")
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            let me: serde_json::Value = response.json().await.unwrap_or_default();
            match me["bot"]["workspace_name"].as_str() {
                Some(workspace) => format!("Notion says your workspace is {workspace}."),
                None => "Notion answered, without a workspace name.".to_string(),
            }
        }
        Ok(response) => format!("Notion refused the call ({}).", response.status()),
        Err(e) => format!("Notion could not be reached ({e})."),
    }
}
