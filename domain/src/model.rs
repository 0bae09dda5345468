//! The public JSON objects of CONTRACT.md. Timestamps are Unix milliseconds.

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, Provider, SessionId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Option<String>,
    pub name: Option<String>,
    pub image_url: Option<String>,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub external_accounts: Vec<ExternalAccount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalAccount {
    pub provider: Provider,
    pub provider_user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub workspaces: Vec<Workspace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub workspace_icon: Option<String>,
    pub bot_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_active_at: i64,
    pub expires_at: i64,
}

/// A session as the profile page lists it: with the device it was made on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSession {
    #[serde(flatten)]
    pub session: Session,
    pub user_agent: Option<String>,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub provider: Provider,
    pub enabled: bool,
    pub use_custom_credentials: bool,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub redirect_uri: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The events webhooks deliver (CONTRACT.md, "Webhooks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "session.created")]
    SessionCreated,
    /// The person signed out (or ended one of their sessions themselves).
    #[serde(rename = "session.ended")]
    SessionEnded,
    /// The admin or the backend API ended it.
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    #[serde(rename = "notion_token.refreshed")]
    NotionTokenRefreshed,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 7] = [
        WebhookEvent::UserCreated,
        WebhookEvent::UserUpdated,
        WebhookEvent::UserDeleted,
        WebhookEvent::SessionCreated,
        WebhookEvent::SessionEnded,
        WebhookEvent::SessionRevoked,
        WebhookEvent::NotionTokenRefreshed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::UserCreated => "user.created",
            WebhookEvent::UserUpdated => "user.updated",
            WebhookEvent::UserDeleted => "user.deleted",
            WebhookEvent::SessionCreated => "session.created",
            WebhookEvent::SessionEnded => "session.ended",
            WebhookEvent::SessionRevoked => "session.revoked",
            WebhookEvent::NotionTokenRefreshed => "notion_token.refreshed",
        }
    }

    pub fn parse(name: &str) -> Option<WebhookEvent> {
        WebhookEvent::ALL.into_iter().find(|event| event.as_str() == name)
    }
}

/// A webhook endpoint as the backend API and the dashboard show it. The signing secret
/// appears only when it was just made (created or rotated) or asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub object: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One event's delivery to one endpoint, with how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One admin action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// Unix ms.
    pub at: i64,
    /// `admin` (the dashboard), `secret_key` (the backend API), `cli` (`latchkey admin …`) or
    /// `anonymous` (refused before anyone was known).
    pub actor: String,
    /// The client address (behind a trusted proxy, the real client's).
    pub client: String,
    /// `dashboard/<server function>` or `<METHOD> <route>`.
    pub action: String,
    /// The id the action was about, when it names one.
    pub target: Option<String>,
    /// The HTTP status it ended with.
    pub status: i64,
}

/// An app that signs people in through Latchkey with OpenID Connect. The client secret appears
/// only when it was just made (created or rotated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthApplication {
    pub id: String,
    pub object: String,
    pub name: String,
    pub client_id: String,
    /// A public client (a single-page or native app) has no secret and must use PKCE.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    /// Trusted first-party apps: people are not asked to consent.
    pub skip_consent: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}
