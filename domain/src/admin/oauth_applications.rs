//! OAuth applications (OpenID relying parties), for the dashboard and the backend API:
//! register, change, remove, rotate the client secret.

use serde::Deserialize;
use url::Url;

use super::{AdminError, AdminResult};
use crate::config::is_loopback_host;
use crate::crypto::{random_id, random_token, token_hash};
use crate::model::OAuthApplication;
use crate::store::OAuthApplicationRow;
use crate::Latchkey;

/// At most this many redirect URIs per app, each at most this long.
const MAX_REDIRECT_URIS: usize = 20;
const MAX_REDIRECT_URI_LEN: usize = 2048;
const MAX_NAME_CHARS: usize = 100;

/// `POST /v1/admin/oauth_applications`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthApplicationInput {
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub skip_consent: bool,
}

/// `PATCH /v1/admin/oauth_applications/{id}`: only the fields sent change. Whether an app is
/// public is fixed when it is made (its clients are built one way or the other).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthApplicationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub skip_consent: Option<bool>,
}

impl Latchkey {
    pub async fn list_oauth_applications(&self) -> AdminResult<Vec<OAuthApplication>> {
        Ok(self.store.oauth_applications().await?.iter().map(|row| to_model(row, None)).collect())
    }

    pub async fn get_oauth_application(&self, id: &str) -> AdminResult<OAuthApplication> {
        Ok(to_model(&self.oauth_application_row(id).await?, None))
    }

    /// Registers an app. A confidential one's answer carries its client secret, this once.
    pub async fn create_oauth_application(&self, input: OAuthApplicationInput) -> AdminResult<OAuthApplication> {
        let name = checked_name(&input.name)?;
        let redirect_uris = self.checked_redirect_uris(&input.redirect_uris)?;
        let secret = (!input.public).then(new_client_secret);
        let now = self.now();
        let row = OAuthApplicationRow {
            id: random_id("oapp"),
            name,
            client_id: random_token(18),
            client_secret_hash: secret.as_deref().map(token_hash),
            public: input.public,
            redirect_uris,
            skip_consent: input.skip_consent,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_oauth_application(&row).await?;
        Ok(to_model(&row, secret))
    }

    pub async fn update_oauth_application(
        &self,
        id: &str,
        patch: OAuthApplicationPatch,
    ) -> AdminResult<OAuthApplication> {
        let mut row = self.oauth_application_row(id).await?;
        if let Some(name) = &patch.name {
            row.name = checked_name(name)?;
        }
        if let Some(uris) = &patch.redirect_uris {
            row.redirect_uris = self.checked_redirect_uris(uris)?;
        }
        if let Some(skip) = patch.skip_consent {
            row.skip_consent = skip;
        }
        row.updated_at = self.now();
        if !self.store.update_oauth_application(&row).await? {
            return Err(AdminError::not_found("OAuth application"));
        }
        Ok(to_model(&row, None))
    }

    /// Removes an app: every code and token it holds stops working at once.
    pub async fn delete_oauth_application(&self, id: &str) -> AdminResult<()> {
        if !self.store.delete_oauth_application(id).await? {
            return Err(AdminError::not_found("OAuth application"));
        }
        Ok(())
    }

    /// A new client secret; the old one stops at once. Public apps have none to rotate.
    pub async fn rotate_oauth_client_secret(&self, id: &str) -> AdminResult<OAuthApplication> {
        let mut row = self.oauth_application_row(id).await?;
        if row.is_public() {
            return Err(AdminError::new(
                422,
                "public_client",
                "A public application has no client secret: it proves itself with PKCE.",
            ));
        }
        let secret = new_client_secret();
        let hash = token_hash(&secret);
        row.updated_at = self.now();
        if !self.store.set_oauth_client_secret_hash(id, &hash, row.updated_at).await? {
            return Err(AdminError::not_found("OAuth application"));
        }
        row.client_secret_hash = Some(hash);
        Ok(to_model(&row, Some(secret)))
    }

    async fn oauth_application_row(&self, id: &str) -> AdminResult<OAuthApplicationRow> {
        self.store.oauth_application(id).await?.ok_or_else(|| AdminError::not_found("OAuth application"))
    }

    /// The redirect URIs as stored (a JSON array), each an exact absolute URL: https, or http
    /// only to this machine in production (RFC 8252's loopback redirect for native apps).
    fn checked_redirect_uris(&self, uris: &[String]) -> AdminResult<String> {
        const FIELD: &str = "redirect_uris";
        if uris.is_empty() {
            return Err(AdminError::invalid(FIELD, "add at least one redirect URI"));
        }
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(AdminError::invalid(FIELD, &format!("at most {MAX_REDIRECT_URIS} redirect URIs")));
        }
        let mut checked: Vec<String> = Vec::new();
        for text in uris {
            let text = text.trim();
            let problem = |why: &str| AdminError::invalid(FIELD, &format!("`{text}` {why}"));
            if text.len() > MAX_REDIRECT_URI_LEN {
                return Err(problem("is too long"));
            }
            let url = Url::parse(text).map_err(|_| problem("is not an absolute URL"))?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err(problem("must be an https:// URL"));
            }
            if url.scheme() == "http" && self.config.is_production() && !is_loopback_host(&url) {
                return Err(problem("must use https:// in production (http:// only for localhost)"));
            }
            if url.fragment().is_some() {
                return Err(problem("must not have a #fragment"));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(problem("must not carry a user name or password"));
            }
            // Kept exactly as given: authorization requests are compared with it byte for byte.
            if !checked.iter().any(|known| known == text) {
                checked.push(text.to_string());
            }
        }
        Ok(serde_json::to_string(&checked).unwrap_or_else(|_| "[]".into()))
    }
}

fn checked_name(name: &str) -> AdminResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AdminError::invalid("name", "give the application a name people will recognise"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AdminError::invalid("name", &format!("at most {MAX_NAME_CHARS} characters, on one line")));
    }
    Ok(name.to_string())
}

/// 256 random bits, base64url.
fn new_client_secret() -> String {
    random_token(32)
}

pub(crate) fn to_model(row: &OAuthApplicationRow, client_secret: Option<String>) -> OAuthApplication {
    OAuthApplication {
        id: row.id.clone(),
        object: "oauth_application".into(),
        name: row.name.clone(),
        client_id: row.client_id.clone(),
        public: row.is_public(),
        redirect_uris: row.redirect_uri_list(),
        skip_consent: row.skips_consent(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        client_secret,
    }
}
