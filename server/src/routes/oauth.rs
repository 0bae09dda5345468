//! `GET /v1/oauth/notion/start` and `GET /v1/oauth_callback`: the web side of the sign-in.
//! What they mean lives in `domain::flow`; here are only cookies, redirects and pages.

use axum::extract::{RawQuery, State};
use axum::http::header::{HOST, USER_AGENT};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use domain::config::is_loopback_host;
use domain::failure::Failure;
use domain::flow::{unique_query_params, Callback, Intent, SignInFailed};
use domain::session::{cookie_names, flow_cookie, removal_cookie, session_cookie};
use domain::Latchkey;
use url::Url;

use super::AppState;
use crate::html::{failure_page, failure_page_with, FailureLinks};

pub async fn start(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let latchkey = &state.latchkey;
    if let Some(canonical) = loopback_alias_redirect(latchkey, &headers, query.as_deref()) {
        return canonical;
    }
    let secure = latchkey.config().secure_cookies();
    let [redirect_url, intent] = match unique_query_params(query.as_deref().unwrap_or(""), ["redirect_url", "intent"]) {
        Ok(params) => params,
        Err(failure) => return failure_page(failure, None),
    };
    let Some(intent) = Intent::parse(intent.as_deref()) else {
        return failure_page(Failure::BadRequest, None);
    };
    match latchkey.start_sign_in(redirect_url.as_deref(), intent).await {
        Ok(started) => {
            let jar = jar.add(flow_cookie(started.browser_nonce.expose(), secure));
            (jar, Redirect::to(started.authorize_url.as_str())).into_response()
        }
        Err(failure) => failure_page(failure, None),
    }
}

pub async fn callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let latchkey = &state.latchkey;
    let secure = latchkey.config().secure_cookies();
    let names = cookie_names(secure);
    let nonce = jar.get(names.flow).map(|c| c.value().to_string());
    let previous_session = jar.get(names.session).map(|c| domain::ids::SessionToken::new(c.value()));
    // The flow cookie has done its job whatever happens next.
    let jar = jar.add(removal_cookie(names.flow, secure));

    let callback = match Callback::parse(query.as_deref().unwrap_or("")) {
        Ok(callback) => callback,
        Err(failure) => return (jar, failure_page(failure, None)).into_response(),
    };
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    match latchkey.finish_sign_in(&callback, nonce.as_deref(), previous_session.as_ref(), user_agent).await {
        Ok(signed_in) => {
            crate::observe::sign_in_outcome(if signed_in.created_user { "signed_up" } else { "signed_in" });
            let jar = jar.add(session_cookie(signed_in.session_token.expose(), secure));
            (jar, Redirect::to(&signed_in.redirect_url)).into_response()
        }
        Err(SignInFailed { failure, retry_href, redirect_url }) => {
            crate::observe::sign_in_outcome(failure.code());
            // Back after a sign-in, or a callback opened twice: nothing was signed in, but the
            // person already is. Send them on rather than show a dead link's error.
            let stale_link = matches!(
                failure,
                Failure::StateMissing | Failure::StateInvalid | Failure::StateExpired | Failure::StateOtherBrowser
            );
            if stale_link {
                if let Some(token) = previous_session.as_ref() {
                    if let Ok(Some(_)) = latchkey.authenticate(token).await {
                        return (jar, Redirect::to(&latchkey.default_redirect_url())).into_response();
                    }
                }
            }
            // Notion refusing the code or the client is most often a redirect URI that does not
            // match what the integration has registered: say which one it must be.
            let hint = matches!(failure, Failure::CodeRejected | Failure::ClientRejected | Failure::NotionRejected).then(|| {
                format!(
                    "If you run this site: the Notion integration must be Public, with exactly {} registered as its redirect URI, and the client ID and secret from that integration.",
                    latchkey.config().redirect_uri()
                )
            });
            // The app the person came from, when it is another site: a way back to it.
            let back_to = redirect_url
                .and_then(|url| Url::parse(&url).ok())
                .and_then(|url| domain::redirect::back_to_app(url, &latchkey.config().public_url));
            (jar, failure_page_with(failure, FailureLinks { retry_href, back_to, owner_hint: hint })).into_response()
        }
    }
}

/// On a laptop, `localhost:3000` and `127.0.0.1:3000` are the same server but different cookie
/// jars: a sign-in started on one and called back on the other (the public URL) would look like
/// another browser. Move the browser to the public URL's host before the flow cookie is set.
/// Only between loopback names, so a proxy that rewrites `Host` can never cause a loop.
fn loopback_alias_redirect(latchkey: &Latchkey, headers: &HeaderMap, query: Option<&str>) -> Option<Response> {
    let public = &latchkey.config().public_url;
    let host = headers.get(HOST)?.to_str().ok()?;
    let public_host = format!("{}:{}", public.host_str()?, public.port_or_known_default()?);
    let requested = Url::parse(&format!("http://{host}")).ok()?;
    if host == public_host || !is_loopback_host(public) || !is_loopback_host(&requested) {
        return None;
    }
    let mut target = latchkey.config().public_url_join("/v1/oauth/notion/start");
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    Some(Redirect::temporary(&target).into_response())
}
