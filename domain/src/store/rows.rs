//! Rows as the database holds them, and the records the store writes.

use sqlx::FromRow;

use super::codec::IntFlag;
use crate::ids::{ConnectionId, Provider, SessionId, TokenHash, UserId};
use crate::model;
use crate::notion::Identity;
use crate::time::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct ConnectionRow {
    pub id: ConnectionId,
    pub provider: Provider,
    #[sqlx(try_from = "IntFlag")]
    pub enabled: bool,
    #[sqlx(try_from = "IntFlag")]
    pub use_custom_credentials: bool,
    pub client_id: Option<String>,
    pub client_secret_sealed: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl ConnectionRow {
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn uses_custom_credentials(&self) -> bool {
        self.use_custom_credentials
    }

    pub fn to_model(&self, redirect_uri: &str) -> model::Connection {
        model::Connection {
            id: self.id.clone(),
            provider: self.provider,
            enabled: self.is_enabled(),
            use_custom_credentials: self.uses_custom_credentials(),
            client_id: if self.uses_custom_credentials() { self.client_id.clone() } else { None },
            has_client_secret: self.client_secret_sealed.is_some(),
            redirect_uri: redirect_uri.to_string(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRow {
    pub state_hash: TokenHash,
    pub browser_hash: TokenHash,
    pub connection_id: ConnectionId,
    pub intent: String,
    pub redirect_url: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// The Account Portal's "sign-ups open" when the flow started.
    pub sign_ups_open: bool,
}

impl FlowRow {
    /// Whether the browser holding this flow cookie value (`None`: no cookie) started the flow.
    pub fn started_in(&self, browser_nonce: Option<&str>) -> bool {
        browser_nonce.is_some_and(|nonce| TokenHash::of(nonce) == self.browser_hash)
    }
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: Option<String>,
    pub created_at: Millis,
    pub last_active_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// Everything one successful callback writes.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    pub now: Millis,
    pub identity: Identity,
    /// Ids to use if the person is new.
    pub new_user_id: UserId,
    pub new_account_id: String,
    pub allow_sign_up: bool,
    pub grant: GrantRecord,
    pub session: NewSession,
    /// The hash of a session token this browser already held, to end with this sign-in.
    pub replaces_session_hash: Option<TokenHash>,
}

#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub bot_id: String,
    pub connection_id: ConnectionId,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub workspace_icon: Option<String>,
    pub access_token_sealed: String,
    pub refresh_token_sealed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub token_hash: TokenHash,
    pub user_agent: Option<String>,
    pub expires_at: Millis,
}

#[derive(Debug, FromRow)]
pub(super) struct UserRow {
    id: UserId,
    email: Option<String>,
    name: Option<String>,
    image_url: Option<String>,
    created_at: Millis,
    last_sign_in_at: Option<Millis>,
}

#[derive(Debug, FromRow)]
pub(super) struct AccountRow {
    id: String,
    provider: Provider,
    provider_user_id: String,
    email: Option<String>,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Debug, FromRow)]
pub(super) struct GrantSummaryRow {
    external_account_id: String,
    workspace_id: String,
    workspace_name: Option<String>,
    workspace_icon: Option<String>,
    bot_id: String,
}

impl UserRow {
    pub(super) fn into_model(self, accounts: Vec<AccountRow>, grants: Vec<GrantSummaryRow>) -> model::User {
        let external_accounts = accounts
            .into_iter()
            .map(|account| model::ExternalAccount {
                workspaces: grants
                    .iter()
                    .filter(|g| g.external_account_id == account.id)
                    .map(|g| model::Workspace {
                        workspace_id: g.workspace_id.clone(),
                        workspace_name: g.workspace_name.clone(),
                        workspace_icon: g.workspace_icon.clone(),
                        bot_id: g.bot_id.clone(),
                    })
                    .collect(),
                provider: account.provider,
                provider_user_id: account.provider_user_id,
                email: account.email,
                name: account.name,
                avatar_url: account.avatar_url,
            })
            .collect();
        model::User {
            id: self.id,
            email: self.email,
            name: self.name,
            image_url: self.image_url,
            created_at: self.created_at,
            last_sign_in_at: self.last_sign_in_at,
            external_accounts,
        }
    }
}

// Decoders for rows read back inside a write (see engine.rs); the columns in the order the
// statements that read them name them.

use super::engine::{Cells, FromCells};
use super::StoreResult;

/// `id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at`
impl FromCells for SessionRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(SessionRow {
            id: row.some_text(0)?.into(),
            user_id: row.some_text(1)?.into(),
            user_agent: row.text(2)?,
            created_at: row.some_int(3)?,
            last_active_at: row.some_int(4)?,
            expires_at: row.some_int(5)?,
            revoked_at: row.int(6)?,
        })
    }
}

/// `id, email, name, image_url, created_at, last_sign_in_at`
impl FromCells for UserRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(UserRow {
            id: row.some_text(0)?.into(),
            email: row.text(1)?,
            name: row.text(2)?,
            image_url: row.text(3)?,
            created_at: row.some_int(4)?,
            last_sign_in_at: row.int(5)?,
        })
    }
}

/// `id, provider, provider_user_id, email, name, avatar_url`
impl FromCells for AccountRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(AccountRow {
            id: row.some_text(0)?,
            provider: super::codec::provider(&row.some_text(1)?)?,
            provider_user_id: row.some_text(2)?,
            email: row.text(3)?,
            name: row.text(4)?,
            avatar_url: row.text(5)?,
        })
    }
}

/// `external_account_id, workspace_id, workspace_name, workspace_icon, bot_id`
impl FromCells for GrantSummaryRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(GrantSummaryRow {
            external_account_id: row.some_text(0)?,
            workspace_id: row.some_text(1)?,
            workspace_name: row.text(2)?,
            workspace_icon: row.text(3)?,
            bot_id: row.some_text(4)?,
        })
    }
}
