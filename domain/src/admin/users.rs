//! Users, their sessions and their Notion tokens, for the dashboard and the backend API.

use serde::Serialize;

use super::{AdminError, AdminResult};
use crate::crypto::SealPurpose;
use crate::ids::{Provider, SessionId, SessionToken, UserId};
use crate::model::{Session, User};
use crate::notion::{NotionError, RefreshLocks};
use crate::session::Authenticated;
use crate::store::GrantTokensRow;
use crate::Latchkey;

/// One entry of `GET /v1/admin/users/{id}/oauth_access_tokens/notion`. A grant whose token
/// could not be renewed carries `error` instead of failing the whole answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotionTokenEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub bot_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Latchkey {
    pub async fn list_users(&self, query: Option<&str>, limit: i64, offset: i64) -> AdminResult<(Vec<User>, i64)> {
        if !(1..=500).contains(&limit) {
            return Err(AdminError::new(400, "invalid_limit", "limit must be between 1 and 500."));
        }
        if offset < 0 {
            return Err(AdminError::new(400, "invalid_offset", "offset must not be negative."));
        }
        Ok(self.store.users(query.map(str::trim).filter(|q| !q.is_empty()), limit, offset).await?)
    }

    pub async fn get_user(&self, id: &UserId) -> AdminResult<User> {
        self.store.user(id).await?.ok_or_else(|| AdminError::not_found("user"))
    }

    /// Deletes a user: their sessions end, and their Notion grants are revoked at Notion
    /// (best effort: Notion being down does not keep a user the admin wants gone).
    pub async fn delete_user(&self, id: &UserId) -> AdminResult<()> {
        let grants = self.store.grant_tokens_of_user(id).await?;
        if !self.store.delete_user(id, self.now()).await? {
            return Err(AdminError::not_found("user"));
        }
        for grant in grants {
            if let Err(error) = self.revoke_grant_at_notion(&grant).await {
                tracing::warn!(bot_id = %grant.bot_id, %error, "could not revoke a deleted user's Notion grant");
            }
        }
        Ok(())
    }

    async fn revoke_grant_at_notion(&self, grant: &GrantTokensRow) -> Result<(), NotionError> {
        // The connection the grant was made through; if it was deleted since (and added again,
        // under a new id), the Notion connection there is now: the same integration, in practice.
        let connection = match self.store.connection(&grant.connection_id).await.ok().flatten() {
            Some(connection) => Some(connection),
            None => self.store.connection_by_provider(Provider::Notion).await.ok().flatten(),
        };
        let skipped = |why: &str| {
            tracing::warn!(bot_id = %grant.bot_id, "a deleted user's Notion grant was not revoked: {why}");
            Ok(())
        };
        let Some(connection) = connection else {
            return skipped("no Notion connection to revoke it with");
        };
        let Ok((credentials, endpoints)) = self.credentials_for(&connection) else {
            return skipped("the connection's credentials cannot be used");
        };
        let Ok(access) = self.sealer.open(SealPurpose::NotionAccessToken, &grant.access_token_sealed) else {
            return skipped("its token cannot be opened with this master key");
        };
        self.notion.revoke(&endpoints.server, &credentials, access.expose()).await
    }

    /// How many sessions would authenticate now (the `latchkey_sessions_active` gauge).
    pub async fn live_session_count(&self) -> AdminResult<i64> {
        let now = self.now();
        Ok(self.store.live_session_count(now, now - crate::session::IDLE_TIMEOUT).await?)
    }

    pub async fn list_sessions(
        &self,
        user_id: Option<&UserId>,
        limit: i64,
        offset: i64,
    ) -> AdminResult<(Vec<Session>, i64)> {
        let now = self.now();
        let (rows, total) = self.store.sessions(user_id, limit.clamp(1, 500), offset.max(0)).await?;
        Ok((rows.into_iter().filter(|r| r.is_live(now)).map(|r| r.to_model()).collect(), total))
    }

    pub async fn revoke_session(&self, id: &SessionId) -> AdminResult<Session> {
        let row = self.store.session(id).await?.ok_or_else(|| AdminError::not_found("session"))?;
        self.store.revoke_session(id, None, crate::model::WebhookEvent::SessionRevoked, self.now()).await?;
        Ok(row.to_model())
    }

    /// `POST /v1/admin/sessions/verify`: the session and user a cookie value belongs to.
    pub async fn verify_session(&self, token: &SessionToken) -> AdminResult<Authenticated> {
        self.authenticate(token).await?.ok_or_else(|| {
            AdminError::new(401, "session_invalid", "That session is not active: signed out, expired or unknown.")
        })
    }

    /// Each grant's current Notion access token. A token Notion reports inactive is renewed
    /// once (one refresh at a time per grant) and the new pair stored before answering.
    pub async fn notion_tokens(&self, user_id: &UserId) -> AdminResult<Vec<NotionTokenEntry>> {
        let locks = &self.refresh_locks;
        if self.store.user(user_id).await?.is_none() {
            return Err(AdminError::not_found("user"));
        }
        let mut entries = Vec::new();
        for grant in self.store.grant_tokens_of_user(user_id).await? {
            let outcome = self.current_token(&grant, locks).await;
            entries.push(NotionTokenEntry {
                token: outcome.as_ref().ok().cloned(),
                workspace_id: grant.workspace_id.clone(),
                workspace_name: grant.workspace_name.clone(),
                bot_id: grant.bot_id.clone(),
                error: outcome.err(),
            });
        }
        Ok(entries)
    }

    async fn current_token(&self, grant: &GrantTokensRow, locks: &RefreshLocks) -> Result<String, String> {
        let connection = self
            .store
            .connection(&grant.connection_id)
            .await
            .ok()
            .flatten()
            .ok_or("the connection that granted this token is gone")?;
        let (credentials, endpoints) = self.credentials_for(&connection).map_err(|f| f.title().to_string())?;
        let access =
            self.sealer.open(SealPurpose::NotionAccessToken, &grant.access_token_sealed).map_err(|e| e.to_string())?;
        match self.notion.introspect(&endpoints.server, &credentials, access.expose()).await {
            Ok(true) => return Ok(access.expose().clone()),
            Ok(false) => {}
            Err(error) => return Err(format!("Notion could not be asked about this token: {error}")),
        }
        // Inactive: refresh, one at a time per grant.
        let lock = locks.lock_for(&grant.bot_id);
        let _held = lock.lock().await;
        // Someone may have refreshed while we waited: read the grant again.
        let fresh = self
            .store
            .grant_tokens_of_user_by_bot(&grant.bot_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the grant was removed")?;
        if fresh.access_token_sealed != grant.access_token_sealed {
            return self
                .sealer
                .open(SealPurpose::NotionAccessToken, &fresh.access_token_sealed)
                .map(|t| t.expose().clone())
                .map_err(|e| e.to_string());
        }
        let Some(refresh_sealed) = fresh.refresh_token_sealed.clone() else {
            return Err(
                "Notion reports the token inactive and this grant has no refresh token: the user must sign in again"
                    .into(),
            );
        };
        let refresh = self.sealer.open(SealPurpose::NotionRefreshToken, &refresh_sealed).map_err(|e| e.to_string())?;
        let renewed = self
            .notion
            .refresh(&endpoints.server, &credentials, refresh.expose())
            .await
            .map_err(|e| format!("Notion refused to renew the token ({e}): the user must sign in again"))?;
        let access_sealed = self.sealer.seal(SealPurpose::NotionAccessToken, renewed.access_token.expose());
        let new_refresh =
            renewed.refresh_token.as_ref().map(|t| self.sealer.seal(SealPurpose::NotionRefreshToken, t.expose()));
        let won = self
            .store
            .rotate_grant_tokens(&grant.bot_id, &refresh_sealed, &access_sealed, new_refresh.as_deref(), self.now())
            .await
            .map_err(|e| e.to_string())?;
        if !won {
            return Err("another server renewed this token at the same moment: ask again".into());
        }
        Ok(renewed.access_token.expose().clone())
    }
}
