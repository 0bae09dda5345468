//! The backend API client: your server asks Latchkey about a user with the secret key.

use serde::Deserialize;

use crate::Latchkey;

/// A user, as the backend API describes them (the fields most apps show).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct User {
    /// `user_…`
    pub id: String,
    /// As Notion gave it; Notion does not say it was verified.
    pub email: Option<String>,
    /// The person's name in Notion.
    pub name: Option<String>,
    /// Their Notion avatar.
    pub image_url: Option<String>,
}

/// One of the user's Notion grants: a token for calling Notion on their behalf.
#[derive(Clone, Deserialize)]
pub struct NotionToken {
    /// The access token (`Authorization: Bearer …` to Notion's API). Never logged by `Debug`.
    pub token: String,
    /// The workspace it opens.
    pub workspace_id: String,
    /// Its name, if Notion gave one.
    pub workspace_name: Option<String>,
    /// The integration's bot in that workspace.
    pub bot_id: String,
}

impl std::fmt::Debug for NotionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionToken")
            .field("token", &"[redacted]")
            .field("workspace_id", &self.workspace_id)
            .field("workspace_name", &self.workspace_name)
            .field("bot_id", &self.bot_id)
            .finish()
    }
}

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No secret key was configured.
    #[error("no secret key configured (Builder::secret_key)")]
    NoSecretKey,
    /// Latchkey answered with an error (`{"error": {"code", "message"}}`).
    #[error("Latchkey answered {status}: {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// Latchkey could not be reached, or answered something unreadable.
    #[error("Latchkey could not be reached: {0}")]
    Unreachable(String),
}

/// Calls the backend API (`/v1/admin/…`) with the instance's secret key.
#[derive(Clone)]
pub struct BackendApi {
    latchkey: Latchkey,
}

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

impl BackendApi {
    pub(crate) fn new(latchkey: Latchkey) -> Self {
        BackendApi { latchkey }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, BackendError> {
        let inner = &self.latchkey.inner;
        let key = inner.secret_key.as_deref().ok_or(BackendError::NoSecretKey)?;
        let unreachable = |e: reqwest::Error| BackendError::Unreachable(e.to_string());
        let response =
            inner.http.get(format!("{}{path}", inner.issuer)).bearer_auth(key).send().await.map_err(unreachable)?;
        let status = response.status();
        if status.is_success() {
            return response.json::<T>().await.map_err(unreachable);
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let text = |field: &str| body["error"][field].as_str().unwrap_or("").to_string();
        Err(BackendError::Api { status: status.as_u16(), code: text("code"), message: text("message") })
    }

    /// The user with this id (a token's `sub`).
    pub async fn user(&self, user_id: &str) -> Result<User, BackendError> {
        self.get(&format!("/v1/admin/users/{}", segment(user_id))).await
    }

    /// The user's Notion tokens, one per workspace they granted (refreshed by Latchkey as needed).
    pub async fn notion_tokens(&self, user_id: &str) -> Result<Vec<NotionToken>, BackendError> {
        let list: List<NotionToken> =
            self.get(&format!("/v1/admin/users/{}/oauth_access_tokens/notion", segment(user_id))).await?;
        Ok(list.data)
    }
}

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
