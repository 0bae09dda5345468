//! The frontend API: what a browser (the portal, the widget) asks with its session cookie.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use domain::ids::{SessionId, SessionToken};
use domain::session::{cookie_names, removal_cookie, Authenticated};
use domain::Latchkey;
use serde_json::json;

use super::AppState;
use crate::error::ApiError;
pub(super) use crate::error::{api_error, storage_down};
use crate::security::origin_allowed;

fn not_signed_in() -> Response {
    ApiError::unauthenticated().into_response()
}

pub(super) fn session_token(latchkey: &Latchkey, jar: &CookieJar) -> Option<SessionToken> {
    jar.get(cookie_names(latchkey.config().secure_cookies()).session).map(|c| SessionToken::new(c.value()))
}

/// The browser's Latchkey session, if it has a live one, with its token (the OpenID consent
/// form is bound to it); a page saying so when the database cannot be reached.
pub(super) async fn browser_session(
    latchkey: &Latchkey,
    jar: &CookieJar,
) -> Result<Option<(Authenticated, SessionToken)>, Response> {
    let Some(token) = session_token(latchkey, jar) else {
        return Ok(None);
    };
    match latchkey.authenticate(&token).await {
        Ok(auth) => Ok(auth.map(|auth| (auth, token))),
        Err(_) => Err(crate::html::failure_page(domain::failure::Failure::StorageUnavailable, None)),
    }
}

pub(super) async fn authenticated(latchkey: &Latchkey, jar: &CookieJar) -> Result<Authenticated, Response> {
    let token = session_token(latchkey, jar).ok_or_else(not_signed_in)?;
    match latchkey.authenticate(&token).await {
        Ok(Some(auth)) => Ok(auth),
        Ok(None) => Err(not_signed_in()),
        Err(_) => Err(storage_down()),
    }
}

/// A plain HTML form post (the portal without JavaScript) wants a page back, not JSON.
fn is_form_post(headers: &HeaderMap) -> bool {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    content_type.starts_with("application/x-www-form-urlencoded") || accept.contains("text/html")
}

/// A request from a page of a site that is not allowed: refused before anything is read or done.
pub(super) async fn cross_site(latchkey: &Latchkey, headers: &HeaderMap) -> Option<Response> {
    // Most requests carry no Origin (same-origin GETs, servers), or our own: no need to read
    // the settings for those.
    if origin_allowed(headers, &latchkey.config().allowed_origins) {
        return None;
    }
    let allowed = match latchkey.allowed_origins().await {
        Ok(allowed) => allowed,
        Err(_) => return Some(storage_down()),
    };
    (!origin_allowed(headers, &allowed)).then(|| {
        api_error(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "This request came from a site that is not allowed to make it.",
        )
    })
}

/// A browser request from an allowed origin with a live session, or the answer refusing it
/// (403 for another site, 401 signed out, 503 storage down).
pub(super) async fn signed_in(
    latchkey: &Latchkey,
    headers: &HeaderMap,
    jar: &CookieJar,
) -> Result<Authenticated, Response> {
    if let Some(refused) = cross_site(latchkey, headers).await {
        return Err(refused);
    }
    authenticated(latchkey, jar).await
}

/// [`signed_in`] for the portal's own forms: a person who posted one gets a page saying why it
/// was refused, with the way on, where a script gets the JSON error.
async fn signed_in_form(latchkey: &Latchkey, headers: &HeaderMap, jar: &CookieJar) -> Result<Authenticated, Response> {
    signed_in(latchkey, headers, jar).await.map_err(|refused| {
        if !is_form_post(headers) {
            return refused;
        }
        match refused.status() {
            StatusCode::UNAUTHORIZED => FormRefusal::SignedOut,
            StatusCode::FORBIDDEN => FormRefusal::OtherSite,
            _ => FormRefusal::Unavailable,
        }
        .page()
    })
}

/// The account page's own forms (ending another session, deleting the account): from Latchkey's
/// pages only. An allowed app's page may sign its visitor out and mint tokens, and is the same
/// site as Latchkey (the session cookie goes with its requests), but must not do these.
async fn signed_in_on_own_page(
    latchkey: &Latchkey,
    headers: &HeaderMap,
    jar: &CookieJar,
) -> Result<Authenticated, Response> {
    if !crate::security::from_own_origin(latchkey, headers) {
        return Err(if is_form_post(headers) {
            FormRefusal::OtherSite.page()
        } else {
            api_error(StatusCode::FORBIDDEN, "origin_not_allowed", "Only Latchkey's own account page can do this.")
        });
    }
    signed_in_form(latchkey, headers, jar).await
}

/// Why one of the portal's forms did nothing, told to the person who sent it.
#[derive(Clone, Copy)]
enum FormRefusal {
    SignedOut,
    OtherSite,
    SessionEnded,
    NotConfirmed,
    Unavailable,
}

impl FormRefusal {
    fn page(self) -> Response {
        let (status, title, message) = match self {
            FormRefusal::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "You are signed out",
                "Your session ended, so nothing was changed. Sign in again to manage your account.",
            ),
            FormRefusal::OtherSite => (
                StatusCode::FORBIDDEN,
                "Sent from another site",
                "This form was sent from a site that is not allowed to, so nothing was changed.",
            ),
            FormRefusal::SessionEnded => {
                (StatusCode::NOT_FOUND, "That session already ended", "It is not among your active sessions any more.")
            }
            FormRefusal::NotConfirmed => (
                StatusCode::BAD_REQUEST,
                "Nothing was deleted",
                "Tick the box that confirms the deletion, then press Delete account again.",
            ),
            FormRefusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Something went wrong on our side",
                "Nothing was changed. Try again in a moment.",
            ),
        };
        // Signed out, the way on is the sign-in; otherwise back to the account.
        let link = match self {
            FormRefusal::SignedOut => ("/sign-in", "Sign in"),
            _ => ("/user", "Your account"),
        };
        crate::html::notice_page_with_link(status, title.into(), message.into(), link)
    }
}

#[derive(serde::Serialize)]
struct Me<'a> {
    user: &'a domain::model::User,
    session: domain::model::Session,
}

/// `GET /v1/me`
pub async fn me(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    if let Some(refused) = cross_site(&state.latchkey, &headers).await {
        return refused;
    }
    match authenticated(&state.latchkey, &jar).await {
        // Serialized straight from the models: the busiest answer Latchkey gives.
        Ok(auth) => Json(Me { user: &auth.user, session: auth.session.to_model() }).into_response(),
        Err(response) => response,
    }
}

/// `POST /v1/sign-out`: ends this browser's session. 204, or 303 to `/sign-in` for a form.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    let latchkey = &state.latchkey;
    if let Some(refused) = cross_site(latchkey, &headers).await {
        return refused;
    }
    if let Some(token) = session_token(latchkey, &jar) {
        if latchkey.sign_out(&token).await.is_err() {
            return storage_down();
        }
    }
    let secure = latchkey.config().secure_cookies();
    let jar = jar.add(removal_cookie(cookie_names(secure).session, secure));
    if is_form_post(&headers) {
        (jar, Redirect::to("/sign-in")).into_response()
    } else {
        (jar, StatusCode::NO_CONTENT).into_response()
    }
}

/// `POST /v1/sessions/{id}/revoke`: ends another of the signed-in user's sessions.
pub async fn revoke_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let latchkey = &state.latchkey;
    let auth = match signed_in_on_own_page(latchkey, &headers, &jar).await {
        Ok(auth) => auth,
        Err(refused) => return refused,
    };
    let form = is_form_post(&headers);
    match latchkey.revoke_own_session(&auth.user.id, &SessionId::from(id)).await {
        Ok(true) if form => Redirect::to("/user").into_response(),
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) if form => FormRefusal::SessionEnded.page(),
        Ok(false) => api_error(StatusCode::NOT_FOUND, "session_not_found", "No such session of yours is active."),
        Err(_) if form => FormRefusal::Unavailable.page(),
        Err(_) => storage_down(),
    }
}

/// `POST /v1/me/delete` (the form on `/user`, with its `confirm=yes` box ticked): deletes the
/// signed-in person's account as an admin's delete does (every session ends, the Notion grants
/// are revoked, `user.deleted` goes to the webhooks), clears the cookie and says it is done.
pub async fn delete_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let latchkey = &state.latchkey;
    let auth = match signed_in_on_own_page(latchkey, &headers, &jar).await {
        Ok(auth) => auth,
        Err(refused) => return refused,
    };
    let from_form = is_form_post(&headers);
    if form.get("confirm").map(String::as_str) != Some("yes") {
        if from_form {
            return FormRefusal::NotConfirmed.page();
        }
        return api_error(StatusCode::BAD_REQUEST, "confirmation_required", "Tick the box to confirm the deletion.");
    }
    if let Err(error) = latchkey.delete_user(&auth.user.id).await {
        return if from_form { FormRefusal::Unavailable.page() } else { crate::error::admin_error(error) };
    }
    let secure = latchkey.config().secure_cookies();
    let jar = jar.add(removal_cookie(cookie_names(secure).session, secure));
    let page = crate::html::notice_page_with_link(
        StatusCode::OK,
        "Your account is deleted".into(),
        "Your account and every session are gone, and this site's access to your Notion workspaces is revoked. You can sign up again at any time.".into(),
        ("/sign-up", "Sign up again"),
    );
    (jar, page).into_response()
}

/// `GET /v1/environment`: what a sign-in UI needs to know before it draws a button.
///
/// With `?include=signed_in` (what the widget asks) the answer also says whether this browser
/// is signed in: `"signed_in": true|false`. A signed-out visitor's browser then gets only 200s,
/// where asking `/v1/me` (401 when signed out, as it must stay) made every signed-out visit log
/// a failed request in the host page's console. Without the parameter the answer is unchanged.
pub async fn environment(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let latchkey = &state.latchkey;
    if let Some(refused) = cross_site(latchkey, &headers).await {
        return refused;
    }
    let enabled = match latchkey.notion_connection_enabled().await {
        Ok(enabled) => enabled,
        Err(_) => return storage_down(),
    };
    let connections: Vec<_> = enabled
        .map(|enabled| json!({"provider": domain::ids::Provider::Notion, "name": "Notion", "enabled": enabled}))
        .into_iter()
        .collect();
    let mut body = json!({"environment": latchkey.config().environment.as_str(), "connections": connections});
    if query.as_deref().unwrap_or("").split('&').any(|pair| pair == "include=signed_in") {
        let signed_in = match session_token(latchkey, &jar) {
            Some(token) => match latchkey.authenticate(&token).await {
                Ok(auth) => auth.is_some(),
                Err(_) => return storage_down(),
            },
            None => false,
        };
        body["signed_in"] = signed_in.into();
    }
    Json(body).into_response()
}

pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.latchkey.database_reachable().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        storage_down()
    }
}

/// `GET /widget.js`: the loader that mounts the widget (see `widget/loader.js`).
pub async fn widget_loader() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../widget/loader.js"),
    )
        .into_response()
}
