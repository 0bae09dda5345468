//! The token endpoint (RFC 6749 3.2, 4.1.3, 6; RFC 7636 4.6; RFC 9700 2.2.2), userinfo
//! (OpenID Connect Core 5.3) and revocation (RFC 7009).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{granted_scope, has_scope, secs, IdTokenClaims, ACCESS_TOKEN_LIFETIME_SECS, REFRESH_TOKEN_LIFETIME};
use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::ids::TokenHash;
use crate::store::{OAuthApplicationRow, OAuthGrantRow, OAuthTokenRow, Redemption, StoreError, TokenKind};
use crate::time::SECOND;
use crate::Latchkey;

/// An OAuth error answer: `{"error", "error_description"}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    /// 401 to a client that authenticated with HTTP Basic: answer with `WWW-Authenticate`.
    pub challenge: Option<&'static str>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into(), challenge: None }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::new(400, "invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        OAuthError::new(400, "invalid_grant", description)
    }

    fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        OAuthError {
            challenge: basic.then_some("Basic realm=\"latchkey\""),
            ..OAuthError::new(401, "invalid_client", description)
        }
    }

    fn invalid_token(description: impl Into<String>) -> Self {
        OAuthError {
            challenge: Some("Bearer error=\"invalid_token\""),
            ..OAuthError::new(401, "invalid_token", description)
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "storage failed");
        OAuthError::new(503, "temporarily_unavailable", crate::failure::STORAGE_UNAVAILABLE)
    }
}

/// A form body's fields, each at most once.
fn form_fields(body: &str) -> Result<Vec<(String, String)>, OAuthError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        if fields.iter().any(|(k, _)| k == &name) {
            return Err(OAuthError::invalid_request(format!("`{name}` was sent more than once.")));
        }
        fields.push((name.into_owned(), value.into_owned()));
    }
    Ok(fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// `Authorization: Basic` as RFC 6749 2.3.1 has it: each half form-urlencoded.
fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization.strip_prefix("Basic ").or_else(|| authorization.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// One form-urlencoded value (`+` is a space, `%xx` a byte), decoded as the form parser does.
fn form_decode(text: &str) -> Option<String> {
    let pairs = format!("x={}", text.replace('&', "%26").replace('=', "%3D"));
    url::form_urlencoded::parse(pairs.as_bytes()).next().map(|(_, v)| v.into_owned())
}

/// RFC 7636 4.1: 43–128 unreserved characters.
fn is_code_verifier(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Latchkey {
    /// `POST /oauth/token`: a form body and the request's `Authorization` header.
    pub async fn token_endpoint(&self, body: &str, authorization: Option<&str>) -> Result<Value, OAuthError> {
        let fields = form_fields(body)?;
        let app = self.authenticate_client(&fields, authorization).await?;
        let (grant, answer) = match field(&fields, "grant_type") {
            Some("authorization_code") => ("authorization_code", self.exchange_code(&app, &fields).await),
            Some("refresh_token") => ("refresh_token", self.refresh(&app, &fields).await),
            Some(other) => {
                return Err(OAuthError::new(
                    400,
                    "unsupported_grant_type",
                    format!("`{other}` is not supported: use authorization_code or refresh_token."),
                ))
            }
            None => return Err(OAuthError::invalid_request("`grant_type` is missing.")),
        };
        let outcome = if answer.is_ok() { "issued" } else { "refused" };
        metrics::counter!("latchkey_oidc_token_requests_total", "grant" => grant, "outcome" => outcome).increment(1);
        answer
    }

    /// The client, by `client_secret_basic`, `client_secret_post`, or (public clients) its
    /// `client_id` alone.
    async fn authenticate_client(
        &self,
        fields: &[(String, String)],
        authorization: Option<&str>,
    ) -> Result<OAuthApplicationRow, OAuthError> {
        let basic = match authorization {
            Some(header) => Some(basic_credentials(header).ok_or_else(|| {
                OAuthError::invalid_client("The Authorization header is not HTTP Basic client credentials.", true)
            })?),
            None => None,
        };
        let used_basic = basic.is_some();
        let (client_id, secret) = match (basic, field(fields, "client_secret")) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "Authenticate the client one way: HTTP Basic or the form, not both.",
                ))
            }
            (Some((id, secret)), None) => {
                if field(fields, "client_id").is_some_and(|form_id| form_id != id) {
                    return Err(OAuthError::invalid_request("`client_id` differs from the HTTP Basic credentials."));
                }
                (Some(id), Some(secret))
            }
            (None, secret) => (field(fields, "client_id").map(str::to_string), secret.map(str::to_string)),
        };
        let Some(client_id) = client_id else {
            return Err(OAuthError::invalid_client("The client did not say who it is (`client_id`).", used_basic));
        };
        let app = self
            .store
            .oauth_application_by_client_id(&client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("No application has that client_id.", used_basic))?;
        match (&app.client_secret_hash, secret) {
            (Some(expected), Some(secret)) if constant_time_eq(expected.as_bytes(), token_hash(&secret).as_bytes()) => {
                Ok(app)
            }
            (Some(_), Some(_)) => Err(OAuthError::invalid_client("Wrong client secret.", used_basic)),
            (Some(_), None) => Err(OAuthError::invalid_client("This client must send its client secret.", used_basic)),
            (None, None) => Ok(app),
            (None, Some(_)) => Err(OAuthError::invalid_client("A public client has no secret to send.", used_basic)),
        }
    }

    async fn exchange_code(&self, app: &OAuthApplicationRow, fields: &[(String, String)]) -> Result<Value, OAuthError> {
        let code = field(fields, "code").ok_or_else(|| OAuthError::invalid_request("`code` is missing."))?;
        let now = self.now();
        let (code, grant) = match self.store.redeem_code(&TokenHash::of(code), now).await? {
            Redemption::Spent(code, grant) => (code, grant),
            Redemption::Replayed => {
                return Err(OAuthError::invalid_grant("This code was already used; everything it issued is revoked."))
            }
            Redemption::Unknown => return Err(OAuthError::invalid_grant("This code is not known (or has expired).")),
        };
        if grant.application_id != app.id {
            return Err(OAuthError::invalid_grant("This code was issued to another client."));
        }
        if code.expires_at <= now {
            return Err(OAuthError::invalid_grant("This code has expired: sign in again."));
        }
        if field(fields, "redirect_uri") != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant("`redirect_uri` is not the one the code was issued for."));
        }
        match (code.code_challenge.as_deref(), field(fields, "code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                if !is_code_verifier(verifier) || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes()) {
                    return Err(OAuthError::invalid_grant("`code_verifier` does not match the code challenge."));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("`code_verifier` is missing (PKCE).")),
            // A verifier for a code without a challenge is a downgrade attempt (RFC 9700 2.1.1).
            (None, Some(_)) => return Err(OAuthError::invalid_grant("This code was issued without a code challenge.")),
            (None, None) if app.is_public() => return Err(OAuthError::invalid_grant("A public client must use PKCE.")),
            (None, None) => {}
        }
        self.issue_tokens(app, &grant, code.nonce).await
    }

    async fn refresh(&self, app: &OAuthApplicationRow, fields: &[(String, String)]) -> Result<Value, OAuthError> {
        let token =
            field(fields, "refresh_token").ok_or_else(|| OAuthError::invalid_request("`refresh_token` is missing."))?;
        let now = self.now();
        let grant = match self.store.redeem_refresh_token(&TokenHash::of(token), now).await? {
            Redemption::Spent(_, grant) => grant,
            Redemption::Replayed => {
                return Err(OAuthError::invalid_grant(
                    "This refresh token was already used; the sign-in it belonged to is revoked.",
                ))
            }
            Redemption::Unknown => {
                return Err(OAuthError::invalid_grant("This refresh token is not known, expired or revoked."))
            }
        };
        if grant.application_id != app.id {
            // Spent by the wrong client: whoever holds it should not, so nobody keeps it.
            self.store.revoke_oauth_grant(&grant.id, now).await?;
            return Err(OAuthError::invalid_grant("This refresh token was issued to another client."));
        }
        // A refresh token ends with the Latchkey session it came from: signed out, revoked,
        // pruned, or past its absolute lifetime (30 days). Not its idle limit: an app refreshing
        // every day is the person using it, though they never open a Latchkey page.
        let session = self.store.session(&grant.session_id).await?;
        if !session.is_some_and(|session| session.revoked_at.is_none() && now < session.expires_at) {
            self.store.revoke_oauth_grant(&grant.id, now).await?;
            return Err(OAuthError::invalid_grant("The Latchkey session this refresh token came from has ended."));
        }
        if let Some(asked) = field(fields, "scope") {
            let asked = granted_scope(asked).unwrap_or_default();
            if !asked.split(' ').all(|s| has_scope(&grant.scope, s)) {
                return Err(OAuthError::new(400, "invalid_scope", "A refresh cannot add scopes."));
            }
        }
        self.issue_tokens(app, &grant, None).await
    }

    /// A fresh access token, refresh token and ID token under `grant`.
    async fn issue_tokens(
        &self,
        app: &OAuthApplicationRow,
        grant: &OAuthGrantRow,
        nonce: Option<String>,
    ) -> Result<Value, OAuthError> {
        if self.enabled_connection().await.is_err() {
            return Err(OAuthError::invalid_grant("Sign in with Notion is turned off on this Latchkey."));
        }
        let person = self
            .person_claims(&grant.user_id, &grant.scope)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("This person's account was deleted."))?;
        let now = self.now();
        let iat = secs(now);
        let claims = IdTokenClaims {
            iss: self.config.issuer(),
            aud: app.client_id.clone(),
            azp: app.client_id.clone(),
            exp: iat + ACCESS_TOKEN_LIFETIME_SECS,
            iat,
            auth_time: secs(grant.auth_time),
            nonce,
            sid: grant.session_id.to_string(),
            person,
        };
        let id_token = self.sign_for_relying_party(&claims).await.map_err(|e| {
            tracing::error!("ID token: {e}");
            OAuthError::new(500, "server_error", "We could not sign an ID token.")
        })?;
        // A refresh token only when the app asked for one (`offline_access`); it still ends
        // with the Latchkey session it came from (see `refresh`).
        let access = random_token(32);
        let refresh = has_scope(&grant.scope, "offline_access").then(|| random_token(32));
        let mut tokens = vec![OAuthTokenRow {
            token_hash: TokenHash::of(&access),
            kind: TokenKind::Access,
            created_at: now,
            expires_at: now + ACCESS_TOKEN_LIFETIME_SECS * SECOND,
        }];
        if let Some(refresh) = &refresh {
            tokens.push(OAuthTokenRow {
                token_hash: TokenHash::of(refresh),
                kind: TokenKind::Refresh,
                created_at: now,
                expires_at: now + REFRESH_TOKEN_LIFETIME,
            });
        }
        if !self.store.insert_oauth_tokens(&grant.id, &tokens).await? {
            return Err(OAuthError::invalid_grant("This sign-in was revoked."));
        }
        let mut answer = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
            "id_token": id_token,
            "scope": grant.scope,
        });
        if let Some(refresh) = refresh {
            answer["refresh_token"] = json!(refresh);
        }
        Ok(answer)
    }

    /// `GET|POST /oauth/userinfo` with `Authorization: Bearer <access token>`.
    pub async fn userinfo(&self, access_token: Option<&str>) -> Result<Value, OAuthError> {
        let token = access_token.ok_or_else(|| OAuthError {
            challenge: Some("Bearer"),
            ..OAuthError::new(401, "invalid_token", "Send the access token as `Authorization: Bearer …`.")
        })?;
        let grant = self
            .store
            .grant_of_token(&TokenHash::of(token), TokenKind::Access, self.now())
            .await?
            .ok_or_else(|| OAuthError::invalid_token("The access token is not valid (expired or revoked)."))?;
        let person = self
            .person_claims(&grant.user_id, &grant.scope)
            .await?
            .ok_or_else(|| OAuthError::invalid_token("This person's account was deleted."))?;
        Ok(serde_json::to_value(person).unwrap_or_default())
    }

    /// `POST /oauth/revoke`: a refresh token ends its whole grant, an access token itself.
    /// Unknown tokens, or another client's, are answered the same (RFC 7009 2.2).
    pub async fn revoke_endpoint(&self, body: &str, authorization: Option<&str>) -> Result<(), OAuthError> {
        let fields = form_fields(body)?;
        let app = self.authenticate_client(&fields, authorization).await?;
        let token = field(&fields, "token").ok_or_else(|| OAuthError::invalid_request("`token` is missing."))?;
        let hash = TokenHash::of(token);
        let now = self.now();
        if let Some(grant) = self.store.grant_of_token(&hash, TokenKind::Refresh, now).await? {
            if grant.application_id == app.id {
                self.store.revoke_oauth_grant(&grant.id, now).await?;
            }
        } else if let Some(grant) = self.store.grant_of_token(&hash, TokenKind::Access, now).await? {
            if grant.application_id == app.id {
                self.store.delete_oauth_token(&hash).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret+x"));
        assert_eq!(basic_credentials(&header), Some(("my app".into(), "s:cret x".into())));
        assert_eq!(basic_credentials("Bearer abc"), None);
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_code_verifier(verifier));
        assert_eq!(s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!is_code_verifier("short"));
    }
}
