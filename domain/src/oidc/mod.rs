//! Latchkey as an OpenID Provider in front of Notion: apps that speak OpenID Connect (Grafana,
//! Outline, Gitea, oauth2-proxy, Apache's `mod_auth_openidc` …) sign people in with Notion
//! through Latchkey, which Notion alone cannot offer (no discovery, no ID token, no userinfo).
//!
//! - `authorize.rs`: the authorization endpoint: the request's checks, sign-in first when
//!   needed, consent, the code.
//! - `token.rs`: the token endpoint (codes, refresh tokens with rotation), userinfo, revocation.
//! - here: the discovery document, scopes and the claims they open, RP-initiated logout.
//!
//! Every code and token is random, kept as its hash, and belongs to one *grant* (an app's
//! authorization by a person); a replayed code or refresh token revokes its grant. ID tokens
//! are RS256, signed by the same key ring as session tokens (`tokens.rs`).

mod authorize;
mod token;

pub use authorize::{AuthorizeRefusal, AuthorizeStep, ConsentPrompt, LOGIN_AFTER_PARAM};
pub use token::OAuthError;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use crate::config::origin_of;
use crate::store::StoreError;
use crate::time::{Millis, MINUTE, SECOND};
use crate::Latchkey;

/// Where each endpoint is, under the public URL.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const USERINFO_PATH: &str = "/oauth/userinfo";
pub const REVOKE_PATH: &str = "/oauth/revoke";
pub const LOGOUT_PATH: &str = "/oauth/logout";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A code must be exchanged this soon (RFC 6749 asks for at most 10 minutes).
pub const CODE_LIFETIME: Millis = 2 * MINUTE;
/// Access tokens and ID tokens live an hour; refresh tokens carry the sign-in on.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;
/// A refresh token not used for this long expires; each use gives a fresh one.
pub const REFRESH_TOKEN_LIFETIME: Millis = 30 * 24 * 60 * MINUTE;

/// The scopes Latchkey knows, and what each lets an app see (the consent page's words).
pub const SCOPES: [(&str, &str); 4] = [
    ("openid", "that you are the same person each time you sign in"),
    ("profile", "your name and profile picture from Notion"),
    ("email", "your email address"),
    ("offline_access", "stay signed in when you are not using it"),
];

/// The known scopes of a request, in a fixed order; unknown ones are ignored (OpenID Connect
/// Core 3.1.2.1). `None` when `openid` is missing: this is not an OpenID request.
pub fn granted_scope(requested: &str) -> Option<String> {
    let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return None;
    }
    let known: Vec<&str> = SCOPES.iter().map(|(name, _)| *name).filter(|name| asked.contains(name)).collect();
    Some(known.join(" "))
}

fn has_scope(scope: &str, name: &str) -> bool {
    scope.split(' ').any(|s| s == name)
}

/// What the ID token says about the person beyond the protocol's claims, and what userinfo
/// answers: per scope. `email_verified` is only what Notion says (see the README).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PersonClaims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

/// An ID token's claims (OpenID Connect Core 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The Latchkey session the person signed in with.
    pub sid: String,
    #[serde(flatten)]
    pub person: PersonClaims,
}

/// What a logout request asked, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logout {
    /// Where to send the browser afterwards (with `state`), when the app asked and may.
    pub redirect: Option<String>,
    /// The Latchkey session a valid `id_token_hint` was issued on (`sid`): when it is the
    /// browser's own, the app that sent the person here signed them in there, and signing out
    /// needs no confirmation. Any other hint (an ID token of someone else, put in a link) does.
    pub hinted_session: Option<String>,
    /// The app's name, for the confirmation page.
    pub app_name: Option<String>,
}

#[derive(Deserialize)]
struct HintClaims {
    aud: Value,
    #[serde(default)]
    sid: Option<String>,
}

impl Latchkey {
    /// `GET /.well-known/openid-configuration`.
    pub fn openid_configuration(&self) -> Value {
        let at = |path: &str| self.config.public_url_join(path);
        json!({
            "issuer": self.config.issuer(),
            "authorization_endpoint": at(AUTHORIZE_PATH),
            "token_endpoint": at(TOKEN_PATH),
            "userinfo_endpoint": at(USERINFO_PATH),
            "jwks_uri": at(JWKS_PATH),
            "revocation_endpoint": at(REVOKE_PATH),
            "end_session_endpoint": at(LOGOUT_PATH),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": SCOPES.map(|(name, _)| name),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "sid",
                "email", "email_verified", "name", "picture", "preferred_username",
            ],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
        })
    }

    /// The person's claims a grant of `scope` opens.
    pub(crate) async fn person_claims(
        &self,
        user_id: &crate::ids::UserId,
        scope: &str,
    ) -> Result<Option<PersonClaims>, StoreError> {
        let Some(user) = self.store.shared_user(user_id).await? else {
            return Ok(None);
        };
        let mut claims = PersonClaims { sub: user.id.to_string(), ..PersonClaims::default() };
        if has_scope(scope, "email") {
            if let Some(email) = &user.email {
                claims.email = Some(email.clone());
                claims.email_verified = Some(self.store.email_verified(user_id).await?);
            }
        }
        if has_scope(scope, "profile") {
            claims.name = user.name.clone();
            claims.picture = user.image_url.clone();
            claims.preferred_username = user.email.clone().or_else(|| user.name.clone());
        }
        Ok(Some(claims))
    }

    /// `GET|POST /oauth/logout` (RP-initiated logout 1.0), checked: `post_logout_redirect_uri`
    /// must be on the origin of one of the app's redirect URIs, and the app must say who it is
    /// (`id_token_hint` or `client_id`); otherwise the person stays on Latchkey's page.
    pub async fn check_logout(&self, params: &[(String, String)]) -> Result<Logout, String> {
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let mut client_id = get("client_id").map(str::to_string);
        let mut hinted_session = None;
        if let Some(hint) = get("id_token_hint") {
            let claims: HintClaims = self
                .verify_own_id_token(hint)
                .await
                .ok_or("This sign-out link carries an ID token this server did not issue.")?;
            let audience = match claims.aud {
                Value::String(aud) => Some(aud),
                Value::Array(list) => list.first().and_then(|v| v.as_str()).map(str::to_string),
                _ => None,
            };
            if client_id.is_some() && client_id != audience {
                return Err("This sign-out link names two different apps.".into());
            }
            client_id = audience;
            hinted_session = claims.sid;
        }
        let application = match &client_id {
            Some(id) => self.store.oauth_application_by_client_id(id).await.map_err(|error| {
                tracing::warn!(%error, "storage failed during a logout");
                crate::failure::Failure::StorageUnavailable.message().to_string()
            })?,
            None => None,
        };
        let redirect = match get("post_logout_redirect_uri") {
            None => None,
            Some(target) => {
                let app = application.as_ref().ok_or("This sign-out link does not say which app sent it.")?;
                let url = Url::parse(target).map_err(|_| "This sign-out link's return address is not a URL.")?;
                let allowed = app
                    .redirect_uri_list()
                    .iter()
                    .filter_map(|uri| Url::parse(uri).ok())
                    .any(|uri| origin_of(&uri) == origin_of(&url));
                if !allowed || url.fragment().is_some() {
                    return Err(format!("{} may not send you back to that address after signing out.", app.name));
                }
                let mut url = url;
                if let Some(state) = get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
        };
        Ok(Logout { redirect, hinted_session, app_name: application.map(|app| app.name) })
    }
}

/// Seconds since the epoch, for JWT claims.
fn secs(ms: Millis) -> i64 {
    ms / SECOND
}
