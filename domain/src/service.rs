//! `Latchkey`: the domain assembled — configuration, storage, sealing, Notion — and its start-up.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use url::Url;

use crate::config::{Config, NotionApi};
use crate::crypto::{random_token, KeyPurpose, MasterKey, Sealer};
use crate::ids::{ConnectionId, Provider};
use crate::notion::sandbox::{Sandbox, SANDBOX_CLIENT_ID};
use crate::notion::{ClientCredentials, NotionClient, RefreshLocks};
use crate::secret::Secret;
use crate::store::{ConnectionRow, Store, StoreError};
use crate::time::{Clock, SystemClock};

/// The domain, assembled. Its parts are the crate's own: the server reads the configuration and
/// calls methods; it never reaches into the store.
pub struct Latchkey {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) sealer: Sealer,
    pub(crate) notion: NotionClient,
    /// The built-in Notion sandbox; `Some` only in a development instance without shared credentials.
    pub(crate) sandbox: Option<Sandbox>,
    pub(crate) secret_key: Option<Secret<String>>,
    pub(crate) admin_password: Option<Secret<String>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) refresh_locks: RefreshLocks,
    /// The session-token signing keys this process last read (see tokens.rs).
    pub(crate) key_ring: crate::key_ring::KeyRing,
    /// The client webhook deliveries go through (see webhooks.rs).
    pub(crate) webhook_http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Storage(#[from] StoreError),
    #[error("LATCHKEY_DATA_DIR: {0}")]
    DataDir(String),
    #[error("HTTP client: {0}")]
    Http(String),
    #[error("LATCHKEY_ADMIN_PASSWORD: {0}")]
    AdminPassword(String),
}

/// What a start generated, to print once for the operator.
#[derive(Debug, Default)]
pub struct Generated {
    pub lines: Vec<String>,
}

impl Latchkey {
    pub async fn start(config: Config) -> Result<(Latchkey, Generated), StartError> {
        let mut generated = Generated::default();
        let dev_keys = if config.is_production() {
            None
        } else {
            Some(DevKeys::load_or_create(&config.data_dir, &mut generated)?)
        };

        let master_key = match (&config.master_key, &dev_keys) {
            (Some(key), _) => key.clone(),
            (None, Some(keys)) => keys.master_key.clone(),
            // Config refuses production without a master key; this arm is unreachable there.
            (None, None) => return Err(StartError::DataDir("no master key".into())),
        };
        if config.database_url.starts_with("sqlite:") {
            if let Some(dir) = sqlite_parent_dir(&config.database_url) {
                create_private_dir(&dir)?;
            }
        }
        let store = Store::open(&config.database_url).await?;
        let sealer = Sealer::with_previous(&master_key, &config.previous_master_keys);
        let notion = NotionClient::new().map_err(|e| StartError::Http(e.to_string()))?;
        let webhook_http = crate::outbound::http_client(&config).map_err(|e| StartError::Http(e.to_string()))?;
        let sandbox = (config.notion_api == NotionApi::Sandbox).then(|| {
            Sandbox::new(
                Secret::new(URL_SAFE_NO_PAD.encode(master_key.derive(KeyPurpose::SandboxClientSecret))),
                config.redirect_uri(),
            )
        });
        let secret_key = config.secret_key.clone().or_else(|| dev_keys.as_ref().map(|k| k.secret_key.clone()));
        let admin_password =
            config.admin_password.clone().or_else(|| dev_keys.as_ref().map(|k| k.admin_password.clone()));

        let latchkey = Latchkey {
            config,
            store,
            sealer,
            notion,
            sandbox,
            secret_key,
            admin_password,
            clock: Arc::new(SystemClock),
            refresh_locks: Default::default(),
            key_ring: Default::default(),
            webhook_http,
        };
        latchkey.ensure_development_connection().await?;
        let sealing = latchkey.reseal_under_current_key().await?;
        if sealing.resealed > 0 {
            tracing::info!(
                resealed = sealing.resealed,
                "re-sealed values under the current master key; once every replica has started like this, LATCHKEY_PREVIOUS_MASTER_KEYS may be removed"
            );
        }
        if sealing.unreadable > 0 {
            tracing::warn!(
                unreadable = sealing.unreadable,
                "values in the database are sealed under a master key this instance was not given: add that key to LATCHKEY_PREVIOUS_MASTER_KEYS"
            );
        }
        latchkey.sync_admin_password().await.map_err(|e| StartError::AdminPassword(e.message))?;
        Ok((latchkey, generated))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The configuration this instance started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The built-in Notion sandbox, in a development instance without shared credentials.
    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// Whether the database answers (`/readyz`).
    pub async fn database_reachable(&self) -> bool {
        self.store.ping().await
    }

    /// Deletes what has expired (sessions, flows, codes…): the periodic clean-up.
    pub async fn prune_expired(&self) -> Result<(), StoreError> {
        self.store.prune_expired(self.now()).await.map(|_| ())
    }

    /// Closes the database connections, at shutdown.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// The Notion connection's switch: `Some(enabled)`, or `None` when there is no connection.
    pub async fn notion_connection_enabled(&self) -> Result<Option<bool>, StoreError> {
        Ok(self.store.connection_by_provider(Provider::Notion).await?.map(|c| c.is_enabled()))
    }

    /// A development instance starts with Notion on, through shared credentials, so the first
    /// run ends in a working sign-in. Only when there is no connection at all: an admin's
    /// choices are never overwritten.
    async fn ensure_development_connection(&self) -> Result<(), StoreError> {
        if self.config.is_production() || self.store.connection_count().await? > 0 {
            return Ok(());
        }
        let now = self.now();
        let row = ConnectionRow {
            id: ConnectionId::generate(),
            provider: Provider::Notion,
            enabled: true,
            use_custom_credentials: false,
            client_id: None,
            client_secret_sealed: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_connection(&row).await
    }

    /// The shared credentials of a development instance and where they are used.
    pub fn shared_credentials(&self) -> Option<(ClientCredentials, NotionEndpoints)> {
        if self.config.is_production() {
            return None;
        }
        if let Some(sandbox) = &self.sandbox {
            let credentials = ClientCredentials {
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: sandbox.client_secret().clone(),
            };
            return Some((credentials, self.sandbox_endpoints()));
        }
        let shared = self.config.shared_credentials.as_ref()?;
        let credentials =
            ClientCredentials { client_id: shared.client_id.clone(), client_secret: shared.client_secret.clone() };
        Some((credentials, self.notion_endpoints()))
    }

    /// Real Notion (or `NOTION_API_BASE`), for custom credentials.
    pub fn notion_endpoints(&self) -> NotionEndpoints {
        let base = match &self.config.notion_api {
            NotionApi::At(url) => url.clone(),
            NotionApi::Sandbox => {
                Url::parse(crate::config::DEFAULT_NOTION_API).unwrap_or_else(|_| self.config.public_url.clone())
            }
        };
        NotionEndpoints { browser: base.clone(), server: base }
    }

    /// The sandbox: the browser reaches it at the public URL, the server on its own listen address.
    fn sandbox_endpoints(&self) -> NotionEndpoints {
        let browser = Url::parse(&self.config.public_url_join("/sandbox/notion"))
            .unwrap_or_else(|_| self.config.public_url.clone());
        let addr = self.config.site_addr;
        let host = if addr.ip().is_unspecified() { format!("127.0.0.1:{}", addr.port()) } else { addr.to_string() };
        let server = Url::parse(&format!("http://{host}/sandbox/notion")).unwrap_or_else(|_| browser.clone());
        NotionEndpoints { browser, server }
    }
}

/// Notion's API base as the browser must see it (authorize) and as the server calls it (token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotionEndpoints {
    pub browser: Url,
    pub server: Url,
}

fn sqlite_parent_dir(database_url: &str) -> Option<std::path::PathBuf> {
    let path = database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Path::new(path).parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty())
}

/// The keys a development instance makes for itself at first start and keeps in its data dir.
struct DevKeys {
    master_key: MasterKey,
    secret_key: Secret<String>,
    admin_password: Secret<String>,
}

/// The data directory (and any parent it needs), readable by its owner only when created here:
/// it holds the database and, in development, the generated keys. One that exists is left as it is.
fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| StartError::DataDir(format!("cannot create {}: {e}", dir.display())))
}

impl DevKeys {
    fn load_or_create(dir: &Path, generated: &mut Generated) -> Result<DevKeys, StartError> {
        create_private_dir(dir)?;
        let master = read_or_create(dir, "master.key", generated, || MasterKey::generate().to_base64(), false)?;
        let master_key = MasterKey::from_base64(&master).map_err(|e| StartError::DataDir(format!("master.key {e}")))?;
        let secret_key =
            read_or_create(dir, "secret_key", generated, || format!("sk_test_{}", random_token(24)), true)?;
        let admin_password = read_or_create(dir, "admin_password", generated, || random_token(15), true)?;
        Ok(DevKeys { master_key, secret_key: Secret::new(secret_key), admin_password: Secret::new(admin_password) })
    }
}

fn read_or_create(
    dir: &Path,
    name: &str,
    generated: &mut Generated,
    make: impl FnOnce() -> String,
    announce: bool,
) -> Result<String, StartError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = make();
            write_private(&path, &value)
                .map_err(|e| StartError::DataDir(format!("cannot write {}: {e}", path.display())))?;
            if announce {
                generated.lines.push(format!("generated {name} (kept in {}): {value}", path.display()));
            }
            Ok(value)
        }
        Err(e) => Err(StartError::DataDir(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(value.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_dir_is_found_in_the_url() {
        assert_eq!(sqlite_parent_dir("sqlite://./data/latchkey.db"), Some("./data".into()));
        assert_eq!(sqlite_parent_dir("sqlite:///var/lib/lk/db.sqlite?mode=rwc"), Some("/var/lib/lk".into()));
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_data_directory_made_here_is_its_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("var").join("latchkey");
        create_private_dir(&dir).expect("created");
        let mode = std::fs::metadata(&dir).expect("there").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        create_private_dir(&dir).expect("one that exists is fine");
    }
}
