//! The instance's settings: the Account Portal's (allowed origins, where people go after
//! signing in) and its keys. The sign-in (`flow`) reads them and the dashboard (`admin`) changes
//! them; both depend on this module, and it on neither.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::config::origin_of;
use crate::crypto::{constant_time_eq, random_token, SealPurpose};
use crate::secret::Secret;
use crate::store::StoreError;
use crate::Latchkey;

const SECRET_KEY_SETTING: &str = "secret_key_sealed";
const PORTAL_SETTING: &str = "account_portal";

/// Clerk's form: `pk_test_`/`pk_live_` and base64 of the frontend API host followed by `$`.
pub fn publishable_key(production: bool, public_url: &url::Url) -> String {
    let host = match (public_url.host_str(), public_url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => String::new(),
    };
    let prefix = if production { "pk_live_" } else { "pk_test_" };
    format!("{prefix}{}", STANDARD.encode(format!("{host}$")))
}

/// What the admin sets on the Account Portal page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettings {
    /// Origins added to `LATCHKEY_ALLOWED_ORIGINS`.
    pub allowed_origins: Vec<String>,
    pub after_sign_in_url: Option<String>,
    pub after_sign_up_url: Option<String>,
    /// Whether someone Latchkey does not know yet becomes a user by signing in with Notion.
    /// Closed, only existing users sign in (an instance for a known team). Open unless closed,
    /// settings saved before it existed included.
    #[serde(default = "open")]
    pub sign_ups_open: bool,
}

fn open() -> bool {
    true
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            allowed_origins: Vec::new(),
            after_sign_in_url: None,
            after_sign_up_url: None,
            sign_ups_open: true,
        }
    }
}

/// Why a setting was not changed. The admin module words it for its readers (`AdminError`);
/// kept apart here so this module needs nothing of `admin`.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A refused value: the API's field name and what is wrong.
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    /// `LATCHKEY_SECRET_KEY` sets the secret key, so the dashboard cannot rotate it.
    #[error("the secret key is set by the environment")]
    SecretKeyPinned,
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Storage(#[from] StoreError),
}

fn invalid(field: &'static str, problem: String) -> SettingsError {
    SettingsError::Invalid { field, problem }
}

impl Latchkey {
    pub fn publishable_key(&self) -> String {
        publishable_key(self.config.is_production(), &self.config.public_url)
    }

    /// The secret key in force: rotated in the dashboard, else configured or generated.
    pub async fn secret_key(&self) -> Result<Option<Secret<String>>, StoreError> {
        if self.config.secret_key.is_none() {
            if let Some(sealed) = self.store.setting(SECRET_KEY_SETTING).await? {
                if let Ok(key) = self.sealer.open(SealPurpose::InstanceSecretKey, &sealed) {
                    return Ok(Some(key));
                }
            }
        }
        Ok(self.secret_key.clone())
    }

    /// True when `presented` is the instance's secret key.
    pub async fn secret_key_matches(&self, presented: &str) -> Result<bool, StoreError> {
        Ok(self.secret_key().await?.is_some_and(|key| constant_time_eq(key.expose().as_bytes(), presented.as_bytes())))
    }

    /// Makes a new secret key; the old one stops working at once.
    pub async fn rotate_secret_key(&self) -> Result<Secret<String>, SettingsError> {
        if self.config.secret_key.is_some() {
            return Err(SettingsError::SecretKeyPinned);
        }
        let prefix = if self.config.is_production() { "sk_live_" } else { "sk_test_" };
        let key = format!("{prefix}{}", random_token(24));
        self.store
            .set_setting(SECRET_KEY_SETTING, &self.sealer.seal(SealPurpose::InstanceSecretKey, &key), self.now())
            .await?;
        Ok(Secret::new(key))
    }

    pub async fn portal_settings(&self) -> Result<PortalSettings, StoreError> {
        Ok(match self.store.setting(PORTAL_SETTING).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => PortalSettings::default(),
        })
    }

    /// Checks and saves the Account Portal settings.
    pub async fn set_portal_settings(&self, settings: PortalSettings) -> Result<PortalSettings, SettingsError> {
        let mut origins = Vec::new();
        for origin in settings.allowed_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let url = url::Url::parse(origin).map_err(|_| {
                invalid("allowed_origins", format!("`{origin}` is not an origin such as https://app.example.com"))
            })?;
            if !matches!(url.scheme(), "http" | "https")
                || url.path() != "/"
                || url.query().is_some()
                || !url.username().is_empty()
            {
                return Err(invalid(
                    "allowed_origins",
                    format!("`{origin}` must be an origin only: scheme, host and port"),
                ));
            }
            if self.config.is_production() && url.scheme() != "https" && !crate::config::is_loopback_host(&url) {
                return Err(invalid("allowed_origins", format!("`{origin}` must use https in production")));
            }
            origins.push(origin_of(&url));
        }
        origins.dedup();
        let mut saved = PortalSettings {
            allowed_origins: origins,
            after_sign_in_url: None,
            after_sign_up_url: None,
            sign_ups_open: settings.sign_ups_open,
        };
        // The after-sign-in pages may be on the origins being saved.
        let allowed = self.allowed_origins_with(&saved);
        let check = |field: &'static str, value: Option<String>| -> Result<Option<String>, SettingsError> {
            match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => crate::redirect::check_redirect_url(&v, &self.config.public_url, &allowed)
                    .map(|u| Some(u.to_string()))
                    .ok_or_else(|| invalid(field, "must be a path here or a URL on an allowed origin".into())),
            }
        };
        saved.after_sign_in_url = check("after_sign_in_url", settings.after_sign_in_url)?;
        saved.after_sign_up_url = check("after_sign_up_url", settings.after_sign_up_url)?;
        let json = serde_json::to_string(&saved).map_err(|e| SettingsError::Internal(e.to_string()))?;
        self.store.set_setting(PORTAL_SETTING, &json, self.now()).await?;
        Ok(saved)
    }

    /// The origins an app may be on: the configured ones and the dashboard's.
    pub async fn allowed_origins(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.allowed_origins_with(&self.portal_settings().await?))
    }

    /// The one place the two lists are joined, for callers that already read the portal settings.
    pub(crate) fn allowed_origins_with(&self, portal: &PortalSettings) -> Vec<String> {
        let mut origins = self.config.allowed_origins.clone();
        origins.extend(portal.allowed_origins.iter().cloned());
        origins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishable_keys_encode_the_frontend_api_host() {
        let url = url::Url::parse("https://auth.example.com").expect("url");
        let key = publishable_key(true, &url);
        assert_eq!(key, format!("pk_live_{}", STANDARD.encode("auth.example.com$")));
        let local = url::Url::parse("http://127.0.0.1:3000").expect("url");
        assert_eq!(publishable_key(false, &local), format!("pk_test_{}", STANDARD.encode("127.0.0.1:3000$")));
    }
}
