//! The Notion sandbox of development instances: Notion's OAuth, played by Latchkey itself.
//!
//! It validates what Notion validates — the client id and secret, the exact redirect URI, single
//! use of codes — and answers in Notion's wire format, so the flow cannot tell it from Notion.
//! Codes live in this process only: the sandbox is a development tool, like Notion's own state
//! is Notion's. The HTTP endpoints are in the server crate; this is what they mean.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::crypto::{constant_time_eq, random_token, token_hash};
use crate::secret::Secret;
use crate::time::{Millis, MINUTE};

pub const SANDBOX_CLIENT_ID: &str = "latchkey-sandbox";
const CODE_LIFETIME: Millis = 10 * MINUTE;
const MAX_SANDBOX_GRANTS: usize = 10_000;

/// A sample Notion person the consent page offers.
#[derive(Debug, Clone, Copy)]
pub struct SamplePerson {
    pub key: &'static str,
    pub name: &'static str,
    pub email: &'static str,
}

pub const SAMPLE_PEOPLE: [SamplePerson; 3] = [
    SamplePerson { key: "ada", name: "Ada Lovelace", email: "ada@example.com" },
    SamplePerson { key: "grace", name: "Grace Hopper", email: "grace@example.com" },
    SamplePerson { key: "katherine", name: "Katherine Johnson", email: "katherine@example.com" },
];

pub const SAMPLE_WORKSPACES: [(&str, &str); 2] = [("Acme Corp", "🚀"), ("Analytical Engines", "⚙️")];

/// How the sandbox should answer, to let developers see the unusual cases too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quirk {
    /// A person with an email, as a modern public integration answers.
    #[default]
    None,
    /// `person: {}`: the integration lacks the email capability.
    NoEmail,
    /// `owner: {"type": "workspace"}`: a legacy workspace-level authorization.
    WorkspaceOwner,
}

/// What the person chose on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub name: String,
    pub email: String,
    pub workspace_name: String,
    pub workspace_icon: Option<String>,
    pub quirk: Quirk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAction {
    Introspect,
    Revoke,
}

/// What the authorize page checks before it shows consent, as Notion does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeProblem {
    /// Notion shows its own page and does not redirect.
    InvalidRedirectUri,
    InvalidClient,
    /// Redirected back with `error=invalid_request`.
    InvalidRequest(&'static str),
}

struct PendingCode {
    consent: Consent,
    redirect_uri: String,
    expires_at: Millis,
}

pub struct Sandbox {
    client_secret: Secret<String>,
    redirect_uri: String,
    codes: Mutex<HashMap<String, PendingCode>>,
    /// Tokens handed out: access tokens that are active, refresh tokens and what they renew.
    tokens: Mutex<Tokens>,
}

#[derive(Default)]
struct Tokens {
    /// Active access tokens and the bot user each one is (what `/v1/users/me` answers).
    active_access: HashMap<String, Value>,
    refresh: HashMap<String, (Consent, String)>,
}

impl Sandbox {
    /// `client_secret` is the sandbox client's secret; `redirect_uri` the one URI registered.
    pub fn new(client_secret: Secret<String>, redirect_uri: String) -> Self {
        Sandbox {
            client_secret,
            redirect_uri,
            codes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(Tokens::default()),
        }
    }

    pub fn client_secret(&self) -> &Secret<String> {
        &self.client_secret
    }

    pub fn registered_redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn check_authorize(
        &self,
        client_id: Option<&str>,
        redirect_uri: Option<&str>,
        response_type: Option<&str>,
        owner: Option<&str>,
    ) -> Result<(), AuthorizeProblem> {
        if client_id != Some(SANDBOX_CLIENT_ID) {
            return Err(AuthorizeProblem::InvalidClient);
        }
        if redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(AuthorizeProblem::InvalidRedirectUri);
        }
        if response_type != Some("code") {
            return Err(AuthorizeProblem::InvalidRequest("response_type must be code"));
        }
        if owner != Some("user") {
            return Err(AuthorizeProblem::InvalidRequest("owner must be user"));
        }
        Ok(())
    }

    /// Issues a single-use code for this consent.
    pub fn issue_code(&self, consent: Consent, redirect_uri: &str, now: Millis) -> String {
        let code = random_token(24);
        let mut codes = self.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        codes.retain(|_, pending| pending.expires_at > now);
        codes.insert(
            code.clone(),
            PendingCode { consent, redirect_uri: redirect_uri.to_string(), expires_at: now + CODE_LIFETIME },
        );
        code
    }

    /// `POST /v1/oauth/token`: the status and JSON body Notion would answer.
    /// `body` is the request body, JSON (as documented) or form-encoded (as libraries send).
    pub fn token(
        &self,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
        now: Millis,
    ) -> (u16, Value) {
        if !self.client_authenticated(authorization) {
            return error(401, "invalid_client", "Invalid client credentials.");
        }
        let Some(request) = parse_token_request(content_type, body) else {
            return error(400, "invalid_request", "Body failed validation.");
        };
        let field = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_string);
        match field("grant_type").as_deref() {
            Some("authorization_code") => {}
            Some("refresh_token") => return self.refresh(field("refresh_token")),
            Some(_) => return error(400, "unsupported_grant_type", "Unsupported grant type."),
            None => return error(400, "invalid_request", "body.grant_type should be defined."),
        }
        let (Some(code), Some(redirect_uri)) = (field("code"), field("redirect_uri")) else {
            return error(400, "invalid_request", "body.code and body.redirect_uri should be defined.");
        };
        // Taken out whatever happens next: a code is good for one attempt only.
        let pending = self.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&code);
        let Some(pending) = pending.filter(|p| p.expires_at > now) else {
            return error(400, "invalid_grant", "Invalid code.");
        };
        if pending.redirect_uri != redirect_uri {
            return error(400, "invalid_grant", "Invalid redirect_uri.");
        }
        (200, self.issue_tokens(&pending.consent))
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn issue_tokens(&self, consent: &Consent) -> Value {
        let body = token_body(consent);
        let access = body["access_token"].as_str().unwrap_or_default().to_string();
        let refresh = body["refresh_token"].as_str().unwrap_or_default().to_string();
        let mut tokens = self.tokens();
        // A development tool's memory stays bounded: past this many grants, start afresh (older
        // tokens then read as inactive, as revoked ones at Notion do).
        if tokens.refresh.len() >= MAX_SANDBOX_GRANTS {
            *tokens = Tokens::default();
        }
        tokens.active_access.insert(access.clone(), bot_user(&body));
        tokens.refresh.insert(refresh, (consent.clone(), access));
        body
    }

    /// `grant_type=refresh_token`: a new pair; the old refresh and access tokens die.
    fn refresh(&self, refresh_token: Option<String>) -> (u16, Value) {
        let Some(refresh_token) = refresh_token else {
            return error(400, "invalid_request", "body.refresh_token should be defined.");
        };
        let old = {
            let mut tokens = self.tokens();
            let old = tokens.refresh.remove(&refresh_token);
            if let Some((_, access)) = &old {
                tokens.active_access.remove(access);
            }
            old
        };
        match old {
            Some((consent, _)) => (200, self.issue_tokens(&consent)),
            None => error(400, "invalid_grant", "Invalid refresh token."),
        }
    }

    /// `POST /v1/oauth/introspect` and `/v1/oauth/revoke`, with `{"token": …}`.
    pub fn token_admin(&self, action: TokenAction, authorization: Option<&str>, body: &[u8]) -> (u16, Value) {
        if !self.client_authenticated(authorization) {
            return error(401, "invalid_client", "Invalid client credentials.");
        }
        let Some(token) = parse_token_request(Some("application/json"), body)
            .and_then(|b| b.get("token").and_then(Value::as_str).map(str::to_string))
        else {
            return error(400, "invalid_request", "body.token should be defined.");
        };
        let mut tokens = self.tokens();
        match action {
            TokenAction::Introspect => (200, json!({"active": tokens.active_access.contains_key(&token)})),
            TokenAction::Revoke => {
                tokens.active_access.remove(&token);
                tokens.refresh.retain(|refresh, (_, access)| *refresh != token && *access != token);
                (200, json!({}))
            }
        }
    }

    /// `GET /v1/users/me` with `Authorization: Bearer <access token>`: the integration's bot
    /// user in that workspace, with the person who granted it, as Notion answers. Notion insists
    /// on a `Notion-Version` header here.
    pub fn users_me(&self, authorization: Option<&str>, notion_version: Option<&str>) -> (u16, Value) {
        if notion_version.is_none_or(|v| v.trim().is_empty()) {
            return error(400, "missing_version", "Notion-Version header failed validation.");
        }
        let token = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
        match self.tokens().active_access.get(token) {
            Some(user) => (200, user.clone()),
            None => error(401, "unauthorized", "API token is invalid."),
        }
    }

    fn client_authenticated(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|h| h.strip_prefix("Basic ")) else {
            return false;
        };
        let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!("{SANDBOX_CLIENT_ID}:{}", self.client_secret.expose());
        constant_time_eq(&decoded, expected.as_bytes())
    }
}

fn parse_token_request(content_type: Option<&str>, body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    if content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        let pairs = url::form_urlencoded::parse(body).into_owned().map(|(k, v)| (k, Value::String(v)));
        return Some(pairs.collect());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    // Notion's token endpoint carries both shapes' fields.
    (
        status,
        json!({"object": "error", "status": status, "code": code, "message": message, "error": code, "error_description": message}),
    )
}

/// A stable UUID-looking id derived from `seed`, so the same sample person is the same Notion user.
fn stable_uuid(seed: &str) -> String {
    let h = token_hash(seed);
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// The bot user a token answer stands for, in Notion's `/v1/users/me` shape.
fn bot_user(token: &Value) -> Value {
    json!({
        "object": "user",
        "id": token["bot_id"],
        "name": "Latchkey sandbox integration",
        "avatar_url": null,
        "type": "bot",
        "bot": {"owner": token["owner"], "workspace_name": token["workspace_name"]},
        "request_id": stable_uuid(&random_token(16)),
    })
}

fn token_body(consent: &Consent) -> Value {
    let person_key = consent.email.trim().to_lowercase();
    let person_key = if person_key.is_empty() { consent.name.trim().to_lowercase() } else { person_key };
    let user_id = stable_uuid(&format!("sandbox-person:{person_key}"));
    let workspace_id = stable_uuid(&format!("sandbox-workspace:{}", consent.workspace_name.trim().to_lowercase()));
    let bot_id = stable_uuid(&format!("sandbox-bot:{user_id}:{workspace_id}"));
    let person = match consent.quirk {
        Quirk::NoEmail => json!({}),
        _ => json!({"email": consent.email}),
    };
    let owner = match consent.quirk {
        Quirk::WorkspaceOwner => json!({"type": "workspace", "workspace": true}),
        _ => json!({"type": "user", "user": {"object": "user", "id": user_id, "name": consent.name,
                    "avatar_url": null, "type": "person", "person": person}}),
    };
    json!({
        "access_token": format!("ntn_sandbox_{}", random_token(24)),
        "token_type": "bearer",
        "refresh_token": format!("nrt_sandbox_{}", random_token(24)),
        "bot_id": bot_id,
        "workspace_id": workspace_id,
        "workspace_name": consent.workspace_name,
        "workspace_icon": consent.workspace_icon,
        "owner": owner,
        "duplicated_template_id": null,
        "request_id": stable_uuid(&random_token(16)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notion::TokenResponse;

    #[test]
    fn users_me_answers_the_bot_of_an_active_token_and_wants_a_version() {
        let sandbox = sandbox();
        let body = sandbox.issue_tokens(&ada(Quirk::None));
        let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
        let (status, me) = sandbox.users_me(Some(&bearer), Some("2022-06-28"));
        assert_eq!(status, 200);
        assert_eq!((me["type"].as_str(), &me["id"]), (Some("bot"), &body["bot_id"]));
        assert_eq!(me["bot"]["owner"]["user"]["person"]["email"], "ada@example.com");
        assert_eq!(me["bot"]["workspace_name"], body["workspace_name"]);
        assert_eq!(sandbox.users_me(Some(&bearer), None).0, 400, "Notion-Version is required");
        assert_eq!(sandbox.users_me(Some("Bearer ntn_unknown"), Some("2022-06-28")).0, 401);
    }

    const REDIRECT: &str = "http://127.0.0.1:3000/v1/oauth_callback";

    fn sandbox() -> Sandbox {
        Sandbox::new(Secret::new("s3cret".into()), REDIRECT.into())
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn ada(quirk: Quirk) -> Consent {
        Consent {
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            workspace_name: "Acme".into(),
            workspace_icon: None,
            quirk,
        }
    }

    fn exchange(sandbox: &Sandbox, code: &str, redirect_uri: &str) -> (u16, Value) {
        let body = json!({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}).to_string();
        sandbox.token(Some(&basic(SANDBOX_CLIENT_ID, "s3cret")), Some("application/json"), body.as_bytes(), 0)
    }

    #[test]
    fn authorize_checks_client_and_exact_redirect_uri() {
        let s = sandbox();
        assert_eq!(s.check_authorize(Some(SANDBOX_CLIENT_ID), Some(REDIRECT), Some("code"), Some("user")), Ok(()));
        assert_eq!(
            s.check_authorize(Some("other"), Some(REDIRECT), Some("code"), Some("user")),
            Err(AuthorizeProblem::InvalidClient)
        );
        assert_eq!(
            s.check_authorize(
                Some(SANDBOX_CLIENT_ID),
                Some("http://127.0.0.1:3000/v1/oauth_callback/"),
                Some("code"),
                Some("user")
            ),
            Err(AuthorizeProblem::InvalidRedirectUri)
        );
        assert!(matches!(
            s.check_authorize(Some(SANDBOX_CLIENT_ID), Some(REDIRECT), Some("token"), Some("user")),
            Err(AuthorizeProblem::InvalidRequest(_))
        ));
    }

    #[test]
    fn a_code_exchanges_once_in_notions_format() {
        let s = sandbox();
        let code = s.issue_code(ada(Quirk::None), REDIRECT, 0);
        let (status, body) = exchange(&s, &code, REDIRECT);
        assert_eq!(status, 200);
        let token: TokenResponse = serde_json::from_value(body).expect("Notion's shape");
        let who = token.identity().expect("a person");
        assert_eq!(who.email.as_deref(), Some("ada@example.com"));
        assert_eq!(token.workspace_name.as_deref(), Some("Acme"));
        let (again, body) = exchange(&s, &code, REDIRECT);
        assert_eq!((again, body["error"].as_str()), (400, Some("invalid_grant")));
    }

    #[test]
    fn the_same_person_is_the_same_notion_user_with_fresh_tokens() {
        let s = sandbox();
        let first = exchange(&s, &s.issue_code(ada(Quirk::None), REDIRECT, 0), REDIRECT).1;
        let second = exchange(&s, &s.issue_code(ada(Quirk::None), REDIRECT, 0), REDIRECT).1;
        assert_eq!(first["owner"]["user"]["id"], second["owner"]["user"]["id"]);
        assert_eq!(first["bot_id"], second["bot_id"]);
        assert_ne!(first["access_token"], second["access_token"]);
    }

    #[test]
    fn token_endpoint_refuses_what_notion_refuses() {
        let s = sandbox();
        let code = s.issue_code(ada(Quirk::None), REDIRECT, 0);
        let body = json!({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).to_string();
        let wrong_secret =
            s.token(Some(&basic(SANDBOX_CLIENT_ID, "nope")), Some("application/json"), body.as_bytes(), 0);
        assert_eq!((wrong_secret.0, wrong_secret.1["error"].as_str()), (401, Some("invalid_client")));
        assert_eq!(s.token(None, Some("application/json"), body.as_bytes(), 0).0, 401);
        // The wrong redirect URI burns the code, as a failed attempt at Notion does.
        assert_eq!(exchange(&s, &code, "http://localhost:3000/v1/oauth_callback").0, 400);
        assert_eq!(exchange(&s, &code, REDIRECT).0, 400);
        // Expired.
        let late = s.issue_code(ada(Quirk::None), REDIRECT, 0);
        let late_body = json!({"grant_type": "authorization_code", "code": late, "redirect_uri": REDIRECT}).to_string();
        let expired = s.token(
            Some(&basic(SANDBOX_CLIENT_ID, "s3cret")),
            Some("application/json"),
            late_body.as_bytes(),
            CODE_LIFETIME + 1,
        );
        assert_eq!(expired.1["error"].as_str(), Some("invalid_grant"));
        let unsupported = s.token(
            Some(&basic(SANDBOX_CLIENT_ID, "s3cret")),
            Some("application/json"),
            br#"{"grant_type": "password"}"#,
            0,
        );
        assert_eq!(unsupported.1["code"].as_str(), Some("unsupported_grant_type"));
    }

    #[test]
    fn refresh_rotates_and_revoke_ends_tokens() {
        let s = sandbox();
        let auth = basic(SANDBOX_CLIENT_ID, "s3cret");
        let first = exchange(&s, &s.issue_code(ada(Quirk::None), REDIRECT, 0), REDIRECT).1;
        let access = first["access_token"].as_str().expect("access").to_string();
        let introspect = |token: &str| {
            s.token_admin(TokenAction::Introspect, Some(&auth), json!({"token": token}).to_string().as_bytes()).1
                ["active"]
                .clone()
        };
        assert_eq!(introspect(&access), json!(true));
        let body = json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).to_string();
        let (status, second) = s.token(Some(&auth), Some("application/json"), body.as_bytes(), 0);
        assert_eq!(status, 200);
        assert_eq!(introspect(&access), json!(false), "the old access token died");
        assert_eq!(
            s.token(Some(&auth), Some("application/json"), body.as_bytes(), 0).0,
            400,
            "the old refresh token died"
        );
        let new_access = second["access_token"].as_str().expect("access").to_string();
        assert_eq!(introspect(&new_access), json!(true));
        s.token_admin(TokenAction::Revoke, Some(&auth), json!({"token": new_access}).to_string().as_bytes());
        assert_eq!(introspect(&new_access), json!(false));
    }

    #[test]
    fn form_encoded_bodies_are_accepted_too() {
        let s = sandbox();
        let code = s.issue_code(ada(Quirk::None), REDIRECT, 0);
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
        );
        let (status, _) = s.token(
            Some(&basic(SANDBOX_CLIENT_ID, "s3cret")),
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
            0,
        );
        assert_eq!(status, 200);
    }

    #[test]
    fn quirks_reproduce_notions_odd_answers() {
        let s = sandbox();
        let no_email = exchange(&s, &s.issue_code(ada(Quirk::NoEmail), REDIRECT, 0), REDIRECT).1;
        assert_eq!(no_email["owner"]["user"]["person"], json!({}));
        let workspace = exchange(&s, &s.issue_code(ada(Quirk::WorkspaceOwner), REDIRECT, 0), REDIRECT).1;
        assert_eq!(workspace["owner"]["type"], "workspace");
    }
}
