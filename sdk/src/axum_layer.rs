//! axum: the `LatchkeyLayer` (reads the token, runs the handshake for pages) and the
//! `SignedIn` extractor.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, Method, Request, StatusCode};
use tower::{Layer, Service};

use crate::{Latchkey, Rejection, SessionClaims, HANDSHAKE_COOKIE, HANDSHAKE_PARAM, TOKEN_COOKIE};

/// After a signed-in handshake, no other for this long: a token refused (a clock far off) then
/// costs one round every 10 s, never a loop; and no shorter-lived token (10 s at least) is
/// left without renewal.
const QUIET_AFTER_SIGNED_IN: i64 = 10;
/// After a signed-out answer: a person who signs in through [`Latchkey::sign_in_url`] comes
/// back through the handshake anyway.
const QUIET_AFTER_SIGNED_OUT: i64 = 300;
/// A handshake under way: its nonce is kept as long as its answer lives (and, like the marks
/// above, no other handshake starts meanwhile).
const PENDING_HANDSHAKE: i64 = 60;
/// Added to the way back when an answer this browser did not ask for made it ask again: an
/// answer that still does not match it is left alone, so a browser that keeps no cookies gets
/// its page rather than a loop.
const ASKED_AGAIN_PARAM: &str = "__latchkey_asked_again";

/// What the layer found, in the request's extensions.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A valid session token.
    SignedIn(SessionClaims),
    /// No valid token, and why.
    SignedOut(Rejection),
}

/// The person a request comes from. As an extractor it answers 401 with the contract's JSON
/// error when there is none; use `Option<SignedIn>` for pages that serve both.
#[derive(Debug, Clone)]
pub struct SignedIn(pub SessionClaims);

impl SignedIn {
    /// The user's id (`sub`).
    pub fn user_id(&self) -> &str {
        &self.0.sub
    }
    /// The session's id (`sid`).
    pub fn session_id(&self) -> &str {
        &self.0.sid
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match self {
            Rejection::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        let message = match &self {
            Rejection::Missing => "You are not signed in.".to_string(),
            other => format!("Your session token was refused: {other}."),
        };
        let body = serde_json::json!({"error": {"code": self.code(), "message": message}}).to_string();
        (status, [(CONTENT_TYPE, "application/json")], body).into_response()
    }
}

fn auth_of(parts: &Parts) -> Auth {
    parts.extensions.get::<Auth>().cloned().unwrap_or(Auth::SignedOut(Rejection::Missing))
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        match auth_of(parts) {
            Auth::SignedIn(claims) => Ok(SignedIn(claims)),
            Auth::SignedOut(why) => Err(why),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedIn {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(match auth_of(parts) {
            Auth::SignedIn(claims) => Some(SignedIn(claims)),
            Auth::SignedOut(_) => None,
        })
    }
}

/// Verifies the session token of every request (`Authorization: Bearer` first, then the
/// `latchkey_token` cookie) and puts an [`Auth`] in its extensions. With an app URL configured,
/// it also runs the handshake for page navigations (GET, HTML) that have no valid token.
#[derive(Clone)]
pub struct LatchkeyLayer {
    latchkey: Latchkey,
}

impl LatchkeyLayer {
    /// A layer verifying against `latchkey`.
    pub fn new(latchkey: Latchkey) -> Self {
        LatchkeyLayer { latchkey }
    }
}

impl<S> Layer<S> for LatchkeyLayer {
    type Service = LatchkeyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        LatchkeyService { inner, latchkey: self.latchkey.clone() }
    }
}

/// The service [`LatchkeyLayer`] makes.
#[derive(Clone)]
pub struct LatchkeyService<S> {
    inner: S,
    latchkey: Latchkey,
}

fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// A browser loading a page (not a fetch, not an API client).
fn is_page_navigation<B>(request: &Request<B>) -> bool {
    request.method() == Method::GET
        && request.headers().get(AUTHORIZATION).is_none()
        && request.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

impl<S, B> Service<Request<B>> for LatchkeyService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was made ready is the one that serves (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let latchkey = self.latchkey.clone();
        Box::pin(async move {
            let answer = query_param(request.uri(), HANDSHAKE_PARAM);
            // Asked once more already, and that answer was not this browser's either: serve the
            // page as it is (a browser that keeps no cookies), never another round.
            let gave_up = answer.is_none() && query_param(request.uri(), ASKED_AGAIN_PARAM).is_some();
            let handshake = latchkey.inner.app_url.is_some() && is_page_navigation(&request) && !gave_up;
            if handshake {
                if let Some(answer) = answer {
                    let pending = cookie(request.headers(), HANDSHAKE_COOKIE).filter(|v| is_nonce(v));
                    return Ok(latchkey.finish_handshake(request.uri(), &answer, pending).await);
                }
            }
            let token = bearer(request.headers()).or_else(|| cookie(request.headers(), TOKEN_COOKIE));
            let auth = match token {
                None => Auth::SignedOut(Rejection::Missing),
                Some(token) => match latchkey.verify(token).await {
                    Ok(claims) => Auth::SignedIn(claims),
                    Err(why) => {
                        tracing::info!(reason = %why, "latchkey: session token refused");
                        Auth::SignedOut(why)
                    }
                },
            };
            let quiet = cookie(request.headers(), HANDSHAKE_COOKIE).is_some();
            if handshake && !quiet && matches!(auth, Auth::SignedOut(_)) {
                return Ok(latchkey.start_handshake(request.uri(), false));
            }
            request.extensions_mut().insert(auth);
            inner.call(request).await
        })
    }
}

/// The handshake cookie holds a nonce while a handshake is under way, else a one-character mark.
fn is_nonce(value: &str) -> bool {
    value.len() > 1
}

/// 128 random bits, base64url: what a handshake's answer must carry back to this browser.
fn new_nonce() -> Option<String> {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn with_asked_again(mut url: String) -> String {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(ASKED_AGAIN_PARAM);
    url.push_str("=1");
    url
}

fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

impl Latchkey {
    fn app_origin(&self) -> String {
        self.inner.app_url.as_ref().map(|u| u.origin().ascii_serialization()).unwrap_or_default()
    }

    fn cookie_attributes(&self, max_age: i64) -> String {
        let secure = self.inner.app_url.as_ref().is_some_and(|u| u.scheme() == "https");
        format!("; Path=/; SameSite=Lax; Max-Age={}{}", max_age.max(0), if secure { "; Secure" } else { "" })
    }

    /// The handshake's own cookie: a nonce or a mark, for the SDK only (no script reads it).
    fn handshake_cookie(&self, value: &str, max_age: i64) -> String {
        format!("{HANDSHAKE_COOKIE}={value}{}; HttpOnly", self.cookie_attributes(max_age))
    }

    /// The page's own address on the app (from the configured app URL, never the Host header).
    fn page_url(&self, uri: &http::Uri, drop_answer: bool) -> String {
        let path = uri.path();
        let query: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| !(drop_answer && (k == HANDSHAKE_PARAM || k == ASKED_AGAIN_PARAM)))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut url = format!("{}{}", self.app_origin(), path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish());
        }
        url
    }

    /// To Latchkey's handshake, with a fresh nonce kept in this browser's cookie. `again`: an
    /// answer came that this browser had not asked for, and the way back says so.
    fn start_handshake(&self, uri: &http::Uri, again: bool) -> Response {
        let Some(nonce) = new_nonce() else {
            tracing::error!("latchkey: no randomness for a handshake nonce; serving the page signed out");
            return see_other(&self.page_url(uri, true), &[self.handshake_cookie("0", QUIET_AFTER_SIGNED_OUT)]);
        };
        let mut back = self.page_url(uri, true);
        if again {
            back = with_asked_again(back);
        }
        // Kept before leaving: should the answer never come, the next pages do not ask again.
        let pending = self.handshake_cookie(&nonce, PENDING_HANDSHAKE);
        see_other(&self.bound_handshake_url(&back, &nonce), &[pending])
    }

    /// An answer on the way back: taken when this browser asked for it (the token cookie set,
    /// the nonce spent), else asked for again, bound to this browser. An answer that still is
    /// not this browser's after asking again is dropped from the URL (it may hold the person's
    /// own session token), and the way back keeps the mark that stops another round.
    async fn finish_handshake(&self, uri: &http::Uri, answer: &str, pending: Option<&str>) -> Response {
        let back = self.page_url(uri, true);
        let verified = match pending {
            Some(nonce) => self.verify_handshake(answer, &self.app_origin(), nonce).await,
            None => Err(Rejection::WrongBrowser),
        };
        let token = match verified {
            Ok(Some(token)) => match self.verify(&token).await {
                Ok(claims) => Some((token, claims)),
                Err(why) => {
                    tracing::warn!(reason = %why, "latchkey: the handshake's session token was refused");
                    None
                }
            },
            Ok(None) => None,
            Err(why) => {
                // Someone else's answer (a link that carries it), the answer to a plain sign-in
                // link (`sign_in_url`), or a stale one: never taken, asked for again instead.
                tracing::info!(reason = %why, "latchkey: a handshake answer this browser did not ask for");
                if query_param(uri, ASKED_AGAIN_PARAM).is_some() {
                    return see_other(&with_asked_again(back), &[]);
                }
                return self.start_handshake(uri, true);
            }
        };
        let cookies = match token {
            Some((token, claims)) => vec![
                format!("{TOKEN_COOKIE}={token}{}", self.cookie_attributes(claims.exp - self.now())),
                self.handshake_cookie("1", QUIET_AFTER_SIGNED_IN),
            ],
            None => vec![
                format!("{TOKEN_COOKIE}={}", self.cookie_attributes(0)),
                self.handshake_cookie("0", QUIET_AFTER_SIGNED_OUT),
            ],
        };
        see_other(&back, &cookies)
    }
}
