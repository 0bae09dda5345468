//! The public JSON objects of CONTRACT.md. Timestamps are Unix milliseconds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub image_url: Option<String>,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub external_accounts: Vec<ExternalAccount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalAccount {
    pub provider: String,
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
    pub id: String,
    pub user_id: String,
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
    pub id: String,
    pub provider: String,
    pub enabled: bool,
    pub use_custom_credentials: bool,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub redirect_uri: String,
    pub created_at: i64,
    pub updated_at: i64,
}
