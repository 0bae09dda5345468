//! The Notion sandbox's HTTP face, under `/sandbox/notion` (development only: the router adds
//! these routes only when the domain made a sandbox). The rules are in `domain::notion::sandbox`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use domain::notion::sandbox::{
    AuthorizeProblem, Consent, Quirk, Sandbox, TokenAction, SAMPLE_PEOPLE, SAMPLE_WORKSPACES,
};
use leptos::prelude::*;
use serde::Deserialize;
use url::Url;

use super::AppState;
use crate::html::document;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/notion/v1/oauth/authorize", get(authorize_page).post(authorize_decision))
        .route("/sandbox/notion/v1/oauth/token", post(token))
        .route("/sandbox/notion/v1/oauth/introspect", post(|s, h, b| token_admin(TokenAction::Introspect, s, h, b)))
        .route("/sandbox/notion/v1/oauth/revoke", post(|s, h, b| token_admin(TokenAction::Revoke, s, h, b)))
        .route("/sandbox/notion/v1/users/me", get(users_me))
}

/// The authorize request's parameters, as Notion receives them.
#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    owner: Option<String>,
    state: Option<String>,
}

impl AuthorizeParams {
    fn check(&self, sandbox: &Sandbox) -> Result<(), AuthorizeProblem> {
        sandbox.check_authorize(
            self.client_id.as_deref(),
            self.redirect_uri.as_deref(),
            self.response_type.as_deref(),
            self.owner.as_deref(),
        )
    }
}

fn sandbox_of(state: &AppState) -> Result<&Sandbox, Response> {
    state.latchkey.sandbox().ok_or_else(|| StatusCode::NOT_FOUND.into_response())
}

async fn authorize_page(State(state): State<AppState>, Query(params): Query<AuthorizeParams>) -> Response {
    let sandbox = match sandbox_of(&state) {
        Ok(sandbox) => sandbox,
        Err(response) => return response,
    };
    match params.check(sandbox) {
        Ok(()) => consent_response(StatusCode::OK, consent_page(&params, None)),
        Err(problem) => problem_response(sandbox, &params, problem),
    }
}

/// As Notion does: a bad redirect URI or client gets a page here; other problems go back to
/// the redirect URI as an OAuth error.
fn problem_response(sandbox: &Sandbox, params: &AuthorizeParams, problem: AuthorizeProblem) -> Response {
    let message = match problem {
        AuthorizeProblem::InvalidRedirectUri => format!(
            "Missing or invalid redirect_uri. The sandbox accepts exactly {} — check LATCHKEY_PUBLIC_URL.",
            sandbox.registered_redirect_uri()
        ),
        AuthorizeProblem::InvalidClient => "Missing or invalid client_id.".to_string(),
        AuthorizeProblem::InvalidRequest(why) => {
            let redirect = back_to_client(
                sandbox.registered_redirect_uri(),
                &[("error", "invalid_request"), ("error_description", why)],
                params.state.as_deref(),
            );
            return Redirect::to(&redirect).into_response();
        }
    };
    let body = view! {
        <main class="auth">
            <section class="card">
                <p class="sandbox-tag">"Notion sandbox"</p>
                <h1>"This sign-in link is not valid"</h1>
                <p class="lead" data-error="invalid_request">{message}</p>
            </section>
        </main>
    };
    (StatusCode::BAD_REQUEST, Html(document("Notion sandbox: invalid request".into(), body))).into_response()
}

fn back_to_client(redirect_uri: &str, pairs: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_string();
    };
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    url.to_string()
}

/// The consent form posts here, and the answer redirects through the callback on to wherever the
/// sign-in was headed — possibly an app on another origin. Browsers apply `form-action` to that
/// whole redirect chain, so this page allows any web destination for its form.
fn consent_response(status: StatusCode, html: String) -> Response {
    const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'";
    (status, [(axum::http::header::CONTENT_SECURITY_POLICY, CSP)], Html(html)).into_response()
}

fn consent_page(params: &AuthorizeParams, problem: Option<&str>) -> String {
    let hidden = |name: &'static str, value: &Option<String>| view! { <input type="hidden" name=name value=value.clone().unwrap_or_default()/> };
    let people = SAMPLE_PEOPLE
        .iter()
        .enumerate()
        .map(|(i, p)| {
            view! {
                <label class="choice">
                    <input type="radio" name="person" value=p.key checked=i == 0/>
                    <span><strong>{p.name}</strong> " " <span class="muted">{p.email}</span></span>
                </label>
            }
        })
        .collect_view();
    let workspaces = SAMPLE_WORKSPACES
        .iter()
        .enumerate()
        .map(|(i, (name, icon))| {
            view! {
                <label class="choice">
                    <input type="radio" name="workspace" value=i.to_string() checked=i == 0/>
                    <span>{*icon} " " {*name}</span>
                </label>
            }
        })
        .collect_view();
    let body = view! {
        <main class="auth sandbox">
            <form class="card" method="post" action="/sandbox/notion/v1/oauth/authorize">
                <p class="sandbox-tag">"Notion sandbox · development only"</p>
                <h1>"Sign in to this app with Notion"</h1>
                <p class="lead">
                    "Latchkey's stand-in for Notion's consent page: nothing is sent to Notion. Pick who you are, or type your own."
                </p>
                {problem.map(|p| view! { <div class="alert" role="alert"><p>{p.to_string()}</p></div> })}
                {hidden("client_id", &params.client_id)}
                {hidden("redirect_uri", &params.redirect_uri)}
                {hidden("response_type", &params.response_type)}
                {hidden("owner", &params.owner)}
                {hidden("state", &params.state)}
                // Side by side on a wide screen, so "Allow access" is on the first screen.
                <div class="sandbox-choices">
                    <fieldset>
                        <legend>"Notion person"</legend>
                        {people}
                        <label class="choice">
                            <input type="radio" name="person" value="custom"/>
                            <span>"Someone else:"</span>
                        </label>
                        <div class="custom">
                            <input type="text" name="custom_name" placeholder="Name" aria-label="Name" maxlength="100"/>
                            <input type="email" name="custom_email" placeholder="Email" aria-label="Email" maxlength="200"/>
                        </div>
                    </fieldset>
                    <fieldset>
                        <legend>"Workspace to share"</legend>
                        {workspaces}
                        <label class="choice">
                            <input type="radio" name="workspace" value="custom"/>
                            <span>"Another workspace:"</span>
                        </label>
                        <div class="custom">
                            <input type="text" name="custom_workspace" placeholder="Workspace name" aria-label="Workspace name" maxlength="100"/>
                        </div>
                    </fieldset>
                </div>
                <div class="actions">
                    <button type="submit" name="decision" value="cancel" class="button">"Cancel"</button>
                    <button type="submit" name="decision" value="allow" class="button primary">"Allow access"</button>
                </div>
                // Rarely wanted, so folded away: make the answer one of Notion's odd ones.
                <details class="sandbox-more">
                    <summary>"Answer like Notion does when…"</summary>
                    <select name="quirk" aria-label="Notion's answer">
                        <option value="none" selected=true>"…all is well (person with email)"</option>
                        <option value="no_email">"…the integration lacks the email capability"</option>
                        <option value="workspace_owner">"…the integration is a legacy workspace integration"</option>
                    </select>
                </details>
            </form>
        </main>
    };
    document("Notion sandbox: allow access".into(), body)
}

async fn authorize_decision(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Response {
    let sandbox = match sandbox_of(&state) {
        Ok(sandbox) => sandbox,
        Err(response) => return response,
    };
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let params = AuthorizeParams {
        client_id: field("client_id"),
        redirect_uri: field("redirect_uri"),
        response_type: field("response_type"),
        owner: field("owner"),
        state: field("state"),
    };
    if let Err(problem) = params.check(sandbox) {
        return problem_response(sandbox, &params, problem);
    }
    let redirect_uri = sandbox.registered_redirect_uri();
    if field("decision").as_deref() != Some("allow") {
        return Redirect::to(&back_to_client(redirect_uri, &[("error", "access_denied")], params.state.as_deref()))
            .into_response();
    }
    let consent = match consent_from_form(&field) {
        Ok(consent) => consent,
        Err(problem) => return consent_response(StatusCode::BAD_REQUEST, consent_page(&params, Some(problem))),
    };
    let code = sandbox.issue_code(consent, redirect_uri, state.latchkey.now());
    Redirect::to(&back_to_client(redirect_uri, &[("code", &code)], params.state.as_deref())).into_response()
}

fn consent_from_form(field: &dyn Fn(&str) -> Option<String>) -> Result<Consent, &'static str> {
    let (name, email) = match field("person").as_deref() {
        Some("custom") => {
            let name = field("custom_name").ok_or("Type the person's name.")?;
            let email = field("custom_email").ok_or("Type the person's email address.")?;
            if !email.contains('@') || email.len() > 200 || name.chars().count() > 100 {
                return Err("Type a name of up to 100 characters and a valid email address.");
            }
            (name, email)
        }
        key => {
            let person = SAMPLE_PEOPLE.iter().find(|p| Some(p.key) == key).ok_or("Pick a person.")?;
            (person.name.to_string(), person.email.to_string())
        }
    };
    let (workspace_name, workspace_icon) = match field("workspace").as_deref() {
        Some("custom") => {
            let name = field("custom_workspace").ok_or("Type the workspace's name.")?;
            if name.chars().count() > 100 {
                return Err("Workspace names have at most 100 characters.");
            }
            (name, None)
        }
        index => {
            let (name, icon) = index
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| SAMPLE_WORKSPACES.get(i))
                .ok_or("Pick a workspace.")?;
            (name.to_string(), Some(icon.to_string()))
        }
    };
    let quirk = match field("quirk").as_deref() {
        Some("no_email") => Quirk::NoEmail,
        Some("workspace_owner") => Quirk::WorkspaceOwner,
        _ => Quirk::None,
    };
    Ok(Consent { name, email, workspace_name, workspace_icon, quirk })
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let sandbox = match sandbox_of(&state) {
        Ok(sandbox) => sandbox,
        Err(response) => return response,
    };
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (status, json) = sandbox.token(header(AUTHORIZATION), header(CONTENT_TYPE), &body, state.latchkey.now());
    (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(json)).into_response()
}

async fn token_admin(action: TokenAction, State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(sandbox) = sandbox_of(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let (status, json) = sandbox.token_admin(action, authorization, &body);
    (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(json)).into_response()
}

/// `GET /sandbox/notion/v1/users/me`: who a user's token is, so apps can try a Notion call.
async fn users_me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Ok(sandbox) = sandbox_of(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let header = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    let (status, json) = sandbox.users_me(header(AUTHORIZATION.as_str()), header("notion-version"));
    (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(json)).into_response()
}
