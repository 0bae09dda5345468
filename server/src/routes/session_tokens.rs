//! Session tokens for apps on other hosts: the JWKS, `POST /v1/me/token` (the widget), and the
//! handshake that hands a server-rendered app its token by redirect (works without JavaScript).

use axum::extract::{RawQuery, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use domain::config::origin_of;
use domain::failure::Failure;
use domain::flow::unique_query_params;
use domain::redirect::check_redirect_url;
use domain::tokens::{TokenError, HANDSHAKE_PARAM};
use serde_json::json;
use tracing::error;

use super::frontend_api::{api_error, browser_session, signed_in, storage_down};
use super::AppState;
use crate::html::failure_page;

fn signing_unavailable(error: TokenError) -> Response {
    error!("session token: {error}");
    match error {
        TokenError::Storage(_) => storage_down(),
        _ => api_error(StatusCode::INTERNAL_SERVER_ERROR, "signing_failed", "We could not sign a session token."),
    }
}

/// `GET /.well-known/jwks.json`: public keys only, for anyone; cacheable for a few minutes
/// (verifiers fetch again when they meet a key id they do not know).
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.latchkey.jwks().await {
        Ok(keys) => {
            ([(CACHE_CONTROL, "public, max-age=300"), (ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(keys)).into_response()
        }
        Err(e) => signing_unavailable(e),
    }
}

/// `POST /v1/me/token`: a fresh session token for this browser's session, for Latchkey's own
/// origin or an allowed one (CORS with credentials); `azp` is the asking origin.
pub async fn mint(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    let latchkey = &state.latchkey;
    let auth = match signed_in(latchkey, &headers, &jar).await {
        Ok(auth) => auth,
        Err(refused) => return refused,
    };
    let azp = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match latchkey.mint_session_token(&auth, azp).await {
        Ok(token) => Json(json!({"jwt": token.jwt.expose(), "expires_at": token.expires_at})).into_response(),
        Err(e) => signing_unavailable(e),
    }
}

/// `GET /v1/client/handshake?redirect_url=…[&nonce=…]`: back to `redirect_url` (allowed origins
/// only) with a signed answer for that origin: this browser's session token, or "signed out",
/// and the SDK's `nonce` (which it also keeps in a cookie, so it takes only the answer its own
/// browser asked for). The app's SDK reads it once, sets its `latchkey_token` cookie and does
/// not ask again for a while, so there is never a loop.
pub async fn handshake(State(state): State<AppState>, RawQuery(query): RawQuery, jar: CookieJar) -> Response {
    let latchkey = &state.latchkey;
    let [redirect_url, nonce] = match unique_query_params(query.as_deref().unwrap_or(""), ["redirect_url", "nonce"]) {
        Ok(params) => params,
        Err(failure) => return failure_page(failure, None),
    };
    let Some(redirect_url) = redirect_url else {
        return failure_page(Failure::BadRequest, None);
    };
    // The SDK's nonce comes back inside the signed answer: short and URL-safe, or refused.
    if nonce.as_deref().is_some_and(|n| {
        n.is_empty() || n.len() > 64 || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return failure_page(Failure::BadRequest, None);
    }
    let allowed = match latchkey.allowed_origins().await {
        Ok(allowed) => allowed,
        Err(_) => return failure_page(Failure::StorageUnavailable, None),
    };
    let Some(mut back) = check_redirect_url(&redirect_url, &latchkey.config().public_url, &allowed) else {
        return failure_page(Failure::RedirectNotAllowed, None);
    };
    let app_origin = origin_of(&back);

    let signed_in = match browser_session(latchkey, &jar).await {
        Ok(session) => session.map(|(auth, _)| auth),
        Err(page) => return page,
    };
    let token = match &signed_in {
        Some(auth) => match latchkey.mint_session_token(auth, Some(&app_origin)).await {
            Ok(token) => Some(token),
            Err(e) => return signing_unavailable(e),
        },
        None => None,
    };
    let answer = match latchkey.handshake_answer(&app_origin, token.as_ref(), nonce.as_deref()).await {
        Ok(answer) => answer,
        Err(e) => return signing_unavailable(e),
    };
    // An answer already in the URL (a stale one) is replaced, never doubled.
    let kept: Vec<(String, String)> = back
        .query_pairs()
        .filter(|(k, _)| k != HANDSHAKE_PARAM)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    back.query_pairs_mut().clear().extend_pairs(kept).append_pair(HANDSHAKE_PARAM, &answer);
    Redirect::to(back.as_str()).into_response()
}
