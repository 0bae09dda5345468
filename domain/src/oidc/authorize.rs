//! The authorization endpoint (OpenID Connect Core 3.1.2, RFC 6749 4.1, RFC 7636, RFC 9700).
//!
//! Order matters: until the app and its exact redirect URI are known, nothing may redirect
//! (an open redirector, or a code sent to a look-alike URI); after that, every refusal goes back
//! to the app as an OAuth error with its `state`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::{granted_scope, has_scope, AUTHORIZE_PATH, CODE_LIFETIME, SCOPES};
use crate::crypto::{constant_time_eq, random_id, random_token, token_hash, SealPurpose};
use crate::failure::Failure;
use crate::ids::{SessionToken, TokenHash};
use crate::session::Authenticated;
use crate::store::{OAuthApplicationRow, OAuthCodeRow, OAuthGrantRow};
use crate::time::Millis;
use crate::Latchkey;

/// Added to the authorization request when `prompt=login` (or `max_age`) sends the person to
/// sign in again: on the way back, a session begun after this moment satisfies it. Sealed, so
/// only Latchkey can write it: a made-up value must not stand for a sign-in that never happened.
pub const LOGIN_AFTER_PARAM: &str = "latchkey_login_after";

/// The parameters read; any other is ignored (OpenID Connect Core 3.1.2.1).
const PARAMS: [&str; 13] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "response_mode",
    "request",
    LOGIN_AFTER_PARAM,
];

/// Longest value of any parameter: far above real ones, far below abuse.
const MAX_PARAM_LEN: usize = 2048;

/// A request Latchkey will not send back to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    /// The app or its redirect URI is unknown: a page says so, and nothing leaves Latchkey.
    Page { title: &'static str, message: String },
}

/// What the browser does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeStep {
    /// Back to the app: with a code, or with an OAuth error.
    Redirect(String),
    /// Sign in first (with Notion); then this same request again.
    SignIn(String),
    /// Ask the person.
    Consent(ConsentPrompt),
}

/// The consent page's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPrompt {
    pub app_name: String,
    /// The host the app's redirect URI names, so a person sees where they are going.
    pub app_host: String,
    /// The redirect URI's origin: the page's `form-action` must let the answer go there.
    pub app_origin: String,
    /// What the app will see, in words.
    pub sees: Vec<&'static str>,
    /// Who is signed in.
    pub person: String,
    /// The authorization request, echoed in the form (re-checked when it comes back).
    pub request: String,
    /// Binds the form to this session and this request (see [`consent_token`]).
    pub consent_token: String,
}

/// A checked authorization request.
struct Request {
    app: OAuthApplicationRow,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scope: String,
    code_challenge: Option<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
    login_after: Option<Millis>,
}

/// The request's parameters, each at most once.
type Params = Vec<(String, String)>;

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn page(title: &'static str, message: impl Into<String>) -> AuthorizeRefusal {
    AuthorizeRefusal::Page { title, message: message.into() }
}

/// The app's redirect URI with `params` added (and `iss`, RFC 9207).
fn back_to(redirect_uri: &str, issuer: &str, params: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_string();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        query.append_pair("iss", issuer);
    }
    url.to_string()
}

impl Request {
    fn error(&self, issuer: &str, error: &str, description: &str) -> AuthorizeStep {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        AuthorizeStep::Redirect(back_to(&self.redirect_uri, issuer, &params))
    }

    fn prompts(&self, value: &str) -> bool {
        self.prompt.iter().any(|p| p == value)
    }
}

/// HMAC of the request under the session's token hash: only a page this server rendered for
/// this session can carry it, so another site cannot post a consent in the person's name.
fn consent_token(session_token: &str, request: &str) -> String {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(token_hash(session_token).as_bytes()).expect("any key length");
    mac.update(b"latchkey oidc consent\n");
    mac.update(request.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// `code_challenge` as RFC 7636 4.2 makes it: 43 base64url characters (a SHA-256).
fn is_s256_challenge(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Latchkey {
    /// `GET /oauth/authorize`. `signed_in` is the browser's Latchkey session and its token.
    pub async fn authorize(
        &self,
        query: &str,
        signed_in: Option<(&Authenticated, &SessionToken)>,
    ) -> Result<AuthorizeStep, AuthorizeRefusal> {
        let request = match self.check_authorization_request(query).await? {
            Ok(request) => request,
            Err(refusal) => return Ok(refusal),
        };
        let issuer = self.config.issuer();
        let now = self.now();

        let fresh_enough = |auth: &Authenticated| {
            let login_ok =
                !request.prompts("login") || request.login_after.is_some_and(|t| auth.session.created_at >= t);
            let age_ok = request.max_age.is_none_or(|max| now - auth.session.created_at <= max * 1000);
            login_ok && age_ok
        };
        let signed_in = signed_in.filter(|(auth, _)| fresh_enough(auth));
        let Some((auth, session_token)) = signed_in else {
            if request.prompts("none") {
                return Ok(request.error(&issuer, "login_required", "The person is not signed in to Latchkey."));
            }
            return Ok(AuthorizeStep::SignIn(self.sign_in_first(query, now)));
        };

        let remembered =
            self.store.oauth_consent(auth.user.id.as_str(), &request.app.id).await.map_err(storage_page)?;
        let covered = remembered.is_some_and(|scope| request.scope.split(' ').all(|s| has_scope(&scope, s)));
        if request.app.skips_consent() || (covered && !request.prompts("consent")) {
            return self.issue_code(&request, auth, false).await;
        }
        if request.prompts("none") {
            return Ok(request.error(&issuer, "consent_required", "The person has not allowed this app yet."));
        }
        let sees = SCOPES.iter().filter(|(name, _)| has_scope(&request.scope, name)).map(|(_, words)| *words).collect();
        let redirect = Url::parse(&request.redirect_uri).ok();
        let app_host = redirect.as_ref().and_then(|u| u.host_str().map(str::to_string));
        let app_origin = redirect.as_ref().map(crate::config::origin_of).unwrap_or_default();
        Ok(AuthorizeStep::Consent(ConsentPrompt {
            app_name: request.app.name.clone(),
            app_host: app_host.unwrap_or_default(),
            app_origin,
            sees,
            person: auth
                .user
                .email
                .clone()
                .or_else(|| auth.user.name.clone())
                .unwrap_or_else(|| auth.user.id.to_string()),
            request: query.to_string(),
            consent_token: consent_token(session_token.expose(), query),
        }))
    }

    /// `POST /oauth/authorize`: the person's answer on the consent page. The request is checked
    /// again from scratch; only the answer comes from the form.
    pub async fn decide_consent(
        &self,
        request: &str,
        presented_token: &str,
        allow: bool,
        signed_in: Option<(&Authenticated, &SessionToken)>,
    ) -> Result<AuthorizeStep, AuthorizeRefusal> {
        let checked = match self.check_authorization_request(request).await? {
            Ok(checked) => checked,
            Err(refusal) => return Ok(refusal),
        };
        let Some((auth, session_token)) = signed_in else {
            return Ok(AuthorizeStep::SignIn(self.sign_in_first(request, self.now())));
        };
        let expected = consent_token(session_token.expose(), request);
        if !constant_time_eq(expected.as_bytes(), presented_token.as_bytes()) {
            return Err(page(
                "This page has expired",
                "Go back to the app and sign in again: this consent form was not made for this browser's sign-in.",
            ));
        }
        if !allow {
            return Ok(checked.error(&self.config.issuer(), "access_denied", "The person did not allow this app."));
        }
        self.issue_code(&checked, auth, true).await
    }

    /// The sign-in page, coming back to this authorization request afterwards. `prompt=login`
    /// is remembered as "a sign-in after now" (sealed), so the return is not asked to sign in again.
    fn sign_in_first(&self, query: &str, now: Millis) -> String {
        let mut back = self.config.public_url_at(AUTHORIZE_PATH);
        let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != LOGIN_AFTER_PARAM)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        back.query_pairs_mut()
            .extend_pairs(kept)
            .append_pair(LOGIN_AFTER_PARAM, &self.sealer.seal(SealPurpose::OidcLoginAfter, &now.to_string()));
        let return_to = match back.query() {
            Some(query) => format!("{AUTHORIZE_PATH}?{query}"),
            None => AUTHORIZE_PATH.to_string(),
        };
        let mut sign_in = self.config.public_url_at("/sign-in");
        sign_in.query_pairs_mut().append_pair("redirect_url", &return_to);
        sign_in.to_string()
    }

    /// The request's checks: `Err(page)` when it cannot go back to the app, `Ok(Err(step))`
    /// when it goes back with an OAuth error.
    async fn check_authorization_request(
        &self,
        query: &str,
    ) -> Result<Result<Request, AuthorizeStep>, AuthorizeRefusal> {
        let mut params: Params = Vec::new();
        let mut repeated = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if !PARAMS.contains(&name.as_ref()) {
                continue;
            }
            if value.len() > MAX_PARAM_LEN {
                return Err(page("This sign-in link is not valid", format!("Its `{name}` is too long.")));
            }
            if params.iter().any(|(k, _)| k == &name) {
                repeated.get_or_insert_with(|| name.to_string());
                continue;
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        // Who is asking, and where the answer goes: until both are certain, only a page.
        let Some(client_id) = param(&params, "client_id").filter(|_| repeated.as_deref() != Some("client_id")) else {
            return Err(page("This sign-in link is not valid", "It does not say which app it is for (`client_id`)."));
        };
        let app =
            self.store.oauth_application_by_client_id(client_id).await.map_err(storage_page)?.ok_or_else(|| {
                page(
                    "This app is not known here",
                    "The sign-in link names an app this Latchkey does not know. Tell the app's owner.",
                )
            })?;
        let Some(redirect_uri) = param(&params, "redirect_uri").filter(|_| repeated.as_deref() != Some("redirect_uri"))
        else {
            return Err(page(
                "This sign-in link is not valid",
                "It does not say where to go back to (`redirect_uri`).",
            ));
        };
        if !app.redirect_uri_list().iter().any(|registered| registered == redirect_uri) {
            return Err(page(
                "This sign-in link is not valid",
                format!(
                    "{} asked to send you back to an address it has not registered. Nothing was sent; tell the app's owner.",
                    app.name
                ),
            ));
        }
        let mut request = Request {
            redirect_uri: redirect_uri.to_string(),
            state: param(&params, "state").map(str::to_string),
            nonce: param(&params, "nonce").map(str::to_string),
            scope: String::new(),
            code_challenge: param(&params, "code_challenge").map(str::to_string),
            prompt: param(&params, "prompt")
                .unwrap_or("")
                .split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            max_age: None,
            login_after: param(&params, LOGIN_AFTER_PARAM)
                .and_then(|sealed| self.sealer.open(SealPurpose::OidcLoginAfter, sealed).ok())
                .and_then(|moment| moment.expose().parse().ok()),
            app,
        };
        let issuer = self.config.issuer();
        let refuse =
            |request: &Request, error: &str, description: &str| Ok(Err(request.error(&issuer, error, description)));

        if let Some(name) = &repeated {
            return refuse(&request, "invalid_request", &format!("`{name}` was sent more than once."));
        }
        if param(&params, "request").is_some() {
            return refuse(&request, "request_not_supported", "Request objects are not supported.");
        }
        if param(&params, "response_type") != Some("code") {
            return refuse(
                &request,
                "unsupported_response_type",
                "Only the code flow (`response_type=code`) is supported.",
            );
        }
        if param(&params, "response_mode").is_some_and(|mode| mode != "query") {
            return refuse(&request, "invalid_request", "Only `response_mode=query` is supported.");
        }
        let Some(scope) = granted_scope(param(&params, "scope").unwrap_or("")) else {
            return refuse(&request, "invalid_scope", "The `openid` scope is required.");
        };
        request.scope = scope;
        match (request.code_challenge.as_deref(), param(&params, "code_challenge_method")) {
            (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {}
            (Some(_), Some("S256")) => {
                return refuse(&request, "invalid_request", "`code_challenge` is not an S256 challenge.")
            }
            (Some(_), _) => {
                return refuse(&request, "invalid_request", "Only `code_challenge_method=S256` is supported.")
            }
            (None, Some(_)) => {
                return refuse(&request, "invalid_request", "`code_challenge_method` without a `code_challenge`.")
            }
            (None, None) if request.app.is_public() => {
                return refuse(
                    &request,
                    "invalid_request",
                    "A public client must use PKCE (`code_challenge` with S256).",
                )
            }
            (None, None) => {}
        }
        if request.prompts("none") && request.prompt.len() > 1 {
            return refuse(&request, "invalid_request", "`prompt=none` cannot be combined with other values.");
        }
        if let Some(max_age) = param(&params, "max_age") {
            match max_age.parse::<i64>() {
                Ok(secs) if secs >= 0 => request.max_age = Some(secs),
                _ => return refuse(&request, "invalid_request", "`max_age` must be a number of seconds."),
            }
        }
        // Notion sign-in turned off: nothing is issued, whatever session the person has.
        match self.enabled_connection().await {
            Ok(_) => {}
            Err(Failure::StorageUnavailable) => return Err(storage_page(())),
            Err(_) => {
                return refuse(
                    &request,
                    "temporarily_unavailable",
                    "Sign in with Notion is turned off on this Latchkey.",
                )
            }
        }
        Ok(Ok(request))
    }

    /// A new grant and its code, and back to the app with it.
    async fn issue_code(
        &self,
        request: &Request,
        auth: &Authenticated,
        consented: bool,
    ) -> Result<AuthorizeStep, AuthorizeRefusal> {
        let now = self.now();
        let code = random_token(32);
        let grant = OAuthGrantRow {
            id: random_id("ogr"),
            application_id: request.app.id.clone(),
            user_id: auth.user.id.clone(),
            session_id: auth.session.id.clone(),
            scope: request.scope.clone(),
            auth_time: auth.session.created_at,
            created_at: now,
            revoked_at: None,
        };
        let code_row = OAuthCodeRow {
            code_hash: TokenHash::of(&code),
            grant_id: grant.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            expires_at: now + CODE_LIFETIME,
        };
        self.store.insert_authorization(&grant, &code_row, consented).await.map_err(storage_page)?;
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            params.push(("state", state));
        }
        Ok(AuthorizeStep::Redirect(back_to(&request.redirect_uri, &self.config.issuer(), &params)))
    }
}

fn storage_page<E>(_: E) -> AuthorizeRefusal {
    page(Failure::StorageUnavailable.title(), Failure::StorageUnavailable.message())
}
