//! What the admin and the app's servers may do: dashboard sign-in, connections, settings,
//! keys, users and their Notion tokens. Used by the dashboard's server functions and by the
//! backend API alike, so both follow the same rules.

mod audit;
mod auth;
mod connections;
mod oauth_applications;
mod users;
mod webhooks;

pub use audit::AuditRecord;
pub use auth::{admin_cookie, admin_cookie_name};
pub use auth::{AdminSession, ADMIN_USERNAME, MIN_PASSWORD_CHARS};
pub use connections::{ConnectionAdded, ConnectionInput, ConnectionPatch};
pub use oauth_applications::{OAuthApplicationInput, OAuthApplicationPatch};
pub use users::NotionTokenEntry;
pub use webhooks::{WebhookInput, WebhookPatch};

use crate::settings::SettingsError;
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
    /// For `invalid_field`: which field and what is wrong, kept apart so each reader gets its
    /// own wording (see [`AdminError::for_people`]).
    pub invalid: Option<InvalidField>,
}

/// A refused value: the API's field name, and the problem in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    pub field: String,
    pub problem: String,
}

impl AdminError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        AdminError { status, code, message: message.into(), retry_after: None, invalid: None }
    }

    pub fn not_found(what: &str) -> Self {
        AdminError::new(404, "not_found", format!("No {what} with that id."))
    }

    /// A refused value: `field: what is wrong`, the API's field name first (the backend API's
    /// readers are programs and their developers).
    pub fn invalid(field: &str, message: &str) -> Self {
        AdminError {
            invalid: Some(InvalidField { field: field.to_string(), problem: message.to_string() }),
            ..AdminError::new(422, "invalid_field", format!("{field}: {message}"))
        }
    }

    /// The message for a person at a form (the dashboard): the field as the form names it and
    /// their text in quotes (“not a url” is not…), never code-like `allowed_origins: \`not a url\``.
    pub fn for_people(&self) -> String {
        match &self.invalid {
            Some(InvalidField { field, problem }) => format!("{}: {}", field_label(field), quoted(problem)),
            None => self.message.clone(),
        }
    }
}

/// The name a form gives a field of the API.
fn field_label(field: &str) -> &str {
    match field {
        "allowed_origins" => "Allowed origins",
        "after_sign_in_url" => "After sign-in, go to",
        "after_sign_up_url" => "After sign-up, go to",
        "url" => "Endpoint URL",
        "events" => "Events",
        "redirect_uris" => "Redirect URIs",
        "name" => "Name",
        "password" => "Password",
        "client_id" => "OAuth Client ID",
        "client_secret" => "OAuth Client Secret",
        "provider" => "Provider",
        other => other,
    }
}

/// `text` in backticks becomes “text”.
fn quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 4);
    let mut open = true;
    for c in message.chars() {
        if c == '`' {
            out.push(if open { '“' } else { '”' });
            open = !open;
        } else {
            out.push(c);
        }
    }
    out
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "storage failed");
        AdminError::new(503, "storage_unavailable", crate::failure::STORAGE_UNAVAILABLE)
    }
}

impl From<SettingsError> for AdminError {
    fn from(error: SettingsError) -> Self {
        match error {
            SettingsError::Invalid { field, problem } => AdminError::invalid(field, &problem),
            SettingsError::SecretKeyPinned => AdminError::new(
                409,
                "secret_key_pinned",
                "The secret key is set by LATCHKEY_SECRET_KEY: change it there and restart.",
            ),
            SettingsError::Internal(message) => AdminError::new(500, "internal", message),
            SettingsError::Storage(error) => error.into(),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

#[cfg(test)]
mod wording_tests {
    use super::*;

    #[test]
    fn refusals_read_as_sentences_not_code() {
        let error =
            AdminError::invalid("allowed_origins", "`not a url` is not an origin such as https://app.example.com");
        assert_eq!(error.for_people(), "Allowed origins: “not a url” is not an origin such as https://app.example.com");
        assert_eq!(error.message, "allowed_origins: `not a url` is not an origin such as https://app.example.com");
        assert_eq!(error.status, 422);
        assert_eq!(AdminError::invalid("something_new", "is wrong").for_people(), "something_new: is wrong");
        let other = AdminError::new(409, "connection_exists", "There is already one: change it.");
        assert_eq!(other.for_people(), "There is already one: change it.");
    }
}
