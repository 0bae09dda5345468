//! Latchkey as an OpenID Provider: discovery, authorization (with its consent page), token,
//! userinfo, revocation and RP-initiated logout. What they mean lives in `domain::oidc`; here
//! are cookies, forms, headers and status codes.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use domain::oidc::{AuthorizeRefusal, AuthorizeStep, OAuthError};
use domain::session::{cookie_names, removal_cookie};
use domain::Latchkey;
use serde_json::Value;
use tower_http::cors::{Any, CorsLayer};

use super::frontend_api::{browser_session, session_token};
use super::AppState;
use crate::html::{consent_page, logout_confirm_page, notice_page};

pub fn routes() -> Router<AppState> {
    // What relying parties call from their servers, or a single-page app from its own origin:
    // no cookies are read, so any origin may (and `*` never carries credentials).
    let open = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route(domain::oidc::TOKEN_PATH, post(token))
        .route(domain::oidc::USERINFO_PATH, get(userinfo).post(userinfo))
        .route(domain::oidc::REVOKE_PATH, post(revoke))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([AUTHORIZATION, axum::http::header::CONTENT_TYPE])
                .max_age(std::time::Duration::from_secs(600)),
        );
    Router::new()
        .merge(open)
        .route(domain::oidc::AUTHORIZE_PATH, get(authorize).post(consent))
        .route(domain::oidc::LOGOUT_PATH, get(logout).post(logout_confirmed))
}

/// The OAuth JSON answers must never be cached (RFC 6749 5.1).
fn no_store(status: StatusCode, body: Value) -> Response {
    (status, [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], Json(body)).into_response()
}

fn oauth_error(error: OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = no_store(status, error.to_json());
    if let Some(challenge) = error.challenge {
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

async fn discovery(State(state): State<AppState>) -> Response {
    (
        [(CACHE_CONTROL, "public, max-age=300"), (ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(state.latchkey.openid_configuration()),
    )
        .into_response()
}

fn step_response(step: Result<AuthorizeStep, AuthorizeRefusal>) -> Response {
    match step {
        Ok(AuthorizeStep::Redirect(url) | AuthorizeStep::SignIn(url)) => Redirect::to(&url).into_response(),
        Ok(AuthorizeStep::Consent(prompt)) => consent_page(prompt),
        Err(AuthorizeRefusal::Page { title, message }) => notice_page(StatusCode::BAD_REQUEST, title.into(), message),
    }
}

/// `GET /oauth/authorize`
async fn authorize(State(state): State<AppState>, RawQuery(query): RawQuery, jar: CookieJar) -> Response {
    let latchkey = &state.latchkey;
    let session = match browser_session(latchkey, &jar).await {
        Ok(session) => session,
        Err(down) => return down,
    };
    let session = session.as_ref().map(|(auth, token)| (auth, token));
    step_response(latchkey.authorize(query.as_deref().unwrap_or(""), session).await)
}

/// `POST /oauth/authorize`: the consent page's answer. Only from Latchkey's own pages.
async fn consent(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let latchkey = &state.latchkey;
    if !crate::security::from_own_origin(latchkey, &headers) {
        return notice_page(
            StatusCode::FORBIDDEN,
            "This request came from another site".into(),
            "Consent is given on Latchkey's own page only.".into(),
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
    let session = match browser_session(latchkey, &jar).await {
        Ok(session) => session,
        Err(down) => return down,
    };
    let session = session.as_ref().map(|(auth, token)| (auth, token));
    let allow = get("decision") == "allow";
    step_response(latchkey.decide_consent(get("request"), get("consent_token"), allow, session).await)
}

/// `POST /oauth/token`
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let body = String::from_utf8_lossy(&body);
    match state.latchkey.token_endpoint(&body, authorization).await {
        Ok(tokens) => no_store(StatusCode::OK, tokens),
        Err(error) => oauth_error(error),
    }
}

/// `GET|POST /oauth/userinfo`: the access token in `Authorization: Bearer`, or (POST) in the
/// form as `access_token` (RFC 6750 2.2).
async fn userinfo(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let from_header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|v| v.trim().to_string());
    let from_form =
        || url::form_urlencoded::parse(&body).find(|(k, _)| k == "access_token").map(|(_, v)| v.into_owned());
    let token = from_header.or_else(from_form);
    match state.latchkey.userinfo(token.as_deref()).await {
        Ok(claims) => no_store(StatusCode::OK, claims),
        Err(error) => oauth_error(error),
    }
}

/// `POST /oauth/revoke`: 200 whether or not the token was known (RFC 7009 2.2).
async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let body = String::from_utf8_lossy(&body);
    match state.latchkey.revoke_endpoint(&body, authorization).await {
        Ok(()) => no_store(StatusCode::OK, serde_json::json!({})),
        Err(error) => oauth_error(error),
    }
}

/// `GET /oauth/logout`: with an `id_token_hint` issued on this browser's own session, signs out
/// at once; otherwise asks first (a link on any site must not sign people out, even one that
/// carries some ID token).
async fn logout(State(state): State<AppState>, RawQuery(query): RawQuery, jar: CookieJar) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    let checked = match state.latchkey.check_logout(&params).await {
        Ok(checked) => checked,
        Err(why) => return notice_page(StatusCode::BAD_REQUEST, "This sign-out link is not valid".into(), why),
    };
    let current = match browser_session(&state.latchkey, &jar).await {
        Ok(session) => session.map(|(auth, _)| auth),
        Err(page) => return page,
    };
    let own_hint =
        current.as_ref().is_some_and(|auth| checked.hinted_session.as_deref() == Some(auth.session.id.as_str()));
    if current.is_some() && !own_hint {
        let then_to =
            checked.redirect.as_deref().and_then(|r| url::Url::parse(r).ok()).map(|u| domain::config::origin_of(&u));
        return logout_confirm_page(params, checked.app_name, then_to);
    }
    sign_out_and_leave(&state.latchkey, jar, checked.redirect).await
}

/// `POST /oauth/logout`: the confirmation page's button.
async fn logout_confirmed(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    if !crate::security::from_own_origin(&state.latchkey, &headers) {
        return notice_page(
            StatusCode::FORBIDDEN,
            "This request came from another site".into(),
            "Signing out is confirmed on Latchkey's own page only.".into(),
        );
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let checked = match state.latchkey.check_logout(&params).await {
        Ok(checked) => checked,
        Err(why) => return notice_page(StatusCode::BAD_REQUEST, "This sign-out link is not valid".into(), why),
    };
    sign_out_and_leave(&state.latchkey, jar, checked.redirect).await
}

async fn sign_out_and_leave(latchkey: &Latchkey, jar: CookieJar, redirect: Option<String>) -> Response {
    let secure = latchkey.config().secure_cookies();
    if let Some(token) = session_token(latchkey, &jar) {
        if latchkey.sign_out(&token).await.is_err() {
            return crate::html::failure_page(domain::failure::Failure::StorageUnavailable, None);
        }
    }
    let jar = jar.add(removal_cookie(cookie_names(secure).session, secure));
    match redirect {
        Some(url) => (jar, Redirect::to(&url)).into_response(),
        None => (
            jar,
            notice_page(
                StatusCode::OK,
                "You are signed out".into(),
                "You are signed out of Latchkey and of the apps you signed in to with it.".into(),
            ),
        )
            .into_response(),
    }
}
