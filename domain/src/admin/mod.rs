//! What the admin and the app's servers may do: dashboard sign-in, connections, settings,
//! keys, users and their Notion tokens. Used by the dashboard's server functions and by the
//! backend API alike, so both follow the same rules.

mod audit;
mod auth;
mod connections;
mod keys;
mod oauth_applications;
mod users;
mod webhooks;

pub use audit::AuditRecord;
pub use auth::{admin_cookie, admin_cookie_name};
pub use auth::{AdminSession, ADMIN_USERNAME, MIN_PASSWORD_CHARS};
pub use connections::{ConnectionInput, ConnectionPatch};
pub use keys::{publishable_key, PortalSettings};
pub use oauth_applications::{OAuthApplicationInput, OAuthApplicationPatch};
pub use users::{NotionTokenEntry, RefreshLocks};
pub use webhooks::{WebhookInput, WebhookPatch};

use crate::store::StoreError;

/// An error the dashboard and the backend API show: the contract's code, status and a message
/// a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// For 429: seconds until trying again makes sense.
    pub retry_after: Option<i64>,
}

impl AdminError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        AdminError { status, code, message: message.into(), retry_after: None }
    }

    pub fn not_found(what: &str) -> Self {
        AdminError::new(404, "not_found", format!("No {what} with that id."))
    }

    pub fn invalid(field: &str, message: &str) -> Self {
        AdminError::new(422, "invalid_field", format!("{field}: {message}"))
    }
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "storage failed");
        AdminError::new(503, "storage_unavailable", "We could not reach our database. Try again in a moment.")
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
