//! Notion's token endpoint wire format, parsed tolerantly: every field Notion has been seen to
//! omit or null is optional, unknown fields are ignored, and both error shapes are read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::secret::Secret;

/// A 200 answer of `POST /v1/oauth/token`. The tokens are [`Secret`]s: a `Debug` of the answer
/// (a log line, a test failure) must not print them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: Secret<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    /// `null` for older integrations.
    #[serde(default)]
    pub refresh_token: Option<Secret<String>>,
    pub bot_id: String,
    pub workspace_id: String,
    #[serde(default)]
    pub workspace_name: Option<String>,
    /// A URL, an emoji, or null; anything else is dropped.
    #[serde(default, deserialize_with = "string_or_none")]
    pub workspace_icon: Option<String>,
    #[serde(default)]
    pub owner: Owner,
    #[serde(default)]
    pub duplicated_template_id: Option<String>,
}

/// Who authorized: a person, or (legacy integrations) the workspace itself.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    User {
        user: NotionUser,
    },
    Workspace,
    #[default]
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct NotionUser {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// `{}` when the integration lacks the email capability.
    #[serde(default)]
    pub person: Option<Person>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Person {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

/// The person a token response signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub notion_user_id: String,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub email: Option<String>,
    /// Notion emails are unverified unless Notion says otherwise; never link accounts by them.
    pub email_verified: bool,
}

/// Why a token response cannot sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityProblem {
    /// `owner.type` is `workspace` (or unknown): no person authorized.
    NoPerson,
}

impl TokenResponse {
    pub fn identity(&self) -> Result<Identity, IdentityProblem> {
        let Owner::User { user } = &self.owner else {
            return Err(IdentityProblem::NoPerson);
        };
        if user.id.trim().is_empty() {
            return Err(IdentityProblem::NoPerson);
        }
        let person = user.person.clone().unwrap_or_default();
        let email = person.email.map(|e| e.trim().to_string()).filter(|e| e.contains('@'));
        Ok(Identity {
            notion_user_id: user.id.clone(),
            name: user.name.clone().filter(|n| !n.trim().is_empty()),
            avatar_url: user.avatar_url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            email,
            email_verified: person.email_verified.or(user.email_verified).unwrap_or(false),
        })
    }
}

/// An error body, in either of Notion's shapes:
/// RFC 6749 `{"error", "error_description"}` or Notion's `{"object": "error", "code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> Option<ErrorBody> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let code = text("error").or_else(|| text("code"))?;
        Some(ErrorBody { code, message: text("error_description").or_else(|| text("message")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = r#"{
        "access_token": "ntn_abc", "token_type": "bearer", "refresh_token": "nrt_def",
        "bot_id": "b0b", "workspace_id": "w1", "workspace_name": "Acme", "workspace_icon": "🚀",
        "owner": {"type": "user", "user": {"object": "user", "id": "u1", "name": "Ada",
                  "avatar_url": "https://img.example/ada.png", "type": "person",
                  "person": {"email": "ada@example.org"}}},
        "duplicated_template_id": null, "request_id": "r1"
    }"#;

    fn parse(json: &str) -> TokenResponse {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn documented_response_gives_the_person() {
        let token = parse(DOCUMENTED);
        assert_eq!(token.refresh_token.as_ref().map(|t| t.expose().as_str()), Some("nrt_def"));
        assert_eq!(token.workspace_icon.as_deref(), Some("🚀"));
        let who = token.identity().expect("a person");
        assert_eq!(who.notion_user_id, "u1");
        assert_eq!(who.email.as_deref(), Some("ada@example.org"));
        assert_eq!(who.name.as_deref(), Some("Ada"));
        assert!(!who.email_verified, "unverified unless Notion says so");
    }

    #[test]
    fn nulls_and_missing_optional_fields_are_tolerated() {
        let token = parse(
            r#"{"access_token": "ntn", "refresh_token": null, "bot_id": "b", "workspace_id": "w",
            "workspace_name": null, "workspace_icon": null, "some_future_field": {"x": 1},
            "owner": {"type": "user", "user": {"id": "u", "name": null, "avatar_url": null, "person": {}}}}"#,
        );
        assert_eq!(token.refresh_token, None);
        assert_eq!(token.token_type, None);
        assert_eq!(token.workspace_name, None);
        let who = token.identity().expect("a person");
        assert_eq!(who.email, None);
        assert_eq!(who.name, None);
    }

    #[test]
    fn odd_icons_and_avatars_are_dropped_not_fatal() {
        let token = parse(
            r#"{"access_token": "a", "bot_id": "b", "workspace_id": "w",
            "workspace_icon": {"type": "emoji"}, "owner": {"type": "user", "user": {"id": "u",
            "avatar_url": "javascript:alert(1)", "person": {"email": "not-an-email"}}}}"#,
        );
        assert_eq!(token.workspace_icon, None);
        let who = token.identity().expect("a person");
        assert_eq!(who.avatar_url, None);
        assert_eq!(who.email, None);
    }

    #[test]
    fn legacy_workspace_owner_is_not_a_person() {
        let token = parse(
            r#"{"access_token": "a", "bot_id": "b", "workspace_id": "w", "owner": {"type": "workspace", "workspace": true}}"#,
        );
        assert_eq!(token.identity(), Err(IdentityProblem::NoPerson));
        let token = parse(r#"{"access_token": "a", "bot_id": "b", "workspace_id": "w"}"#);
        assert_eq!(token.identity(), Err(IdentityProblem::NoPerson));
        let token = parse(r#"{"access_token": "a", "bot_id": "b", "workspace_id": "w", "owner": {"type": "bot"}}"#);
        assert_eq!(token.identity(), Err(IdentityProblem::NoPerson));
    }

    #[test]
    fn verified_flag_is_read_where_present() {
        let token = parse(
            r#"{"access_token": "a", "bot_id": "b", "workspace_id": "w", "owner": {"type": "user",
            "user": {"id": "u", "person": {"email": "a@b.c", "email_verified": true}}}}"#,
        );
        assert!(token.identity().expect("person").email_verified);
    }

    #[test]
    fn missing_required_fields_are_malformed() {
        assert!(serde_json::from_str::<TokenResponse>(r#"{"bot_id": "b", "workspace_id": "w"}"#).is_err());
        assert!(serde_json::from_str::<TokenResponse>(r#"{"access_token": "a", "workspace_id": "w"}"#).is_err());
    }

    #[test]
    fn both_error_shapes_are_read() {
        let rfc = ErrorBody::parse(br#"{"error": "invalid_grant", "error_description": "Code used"}"#).expect("rfc");
        assert_eq!(rfc, ErrorBody { code: "invalid_grant".into(), message: Some("Code used".into()) });
        let notion =
            ErrorBody::parse(br#"{"object": "error", "status": 401, "code": "invalid_client", "message": "Bad"}"#)
                .expect("notion");
        assert_eq!(notion, ErrorBody { code: "invalid_client".into(), message: Some("Bad".into()) });
        assert_eq!(ErrorBody::parse(b"<html>502 Bad Gateway</html>"), None);
        assert_eq!(ErrorBody::parse(b"{\"unexpected\": 1}"), None);
    }
}
