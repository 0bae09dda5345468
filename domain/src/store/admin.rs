//! Storage for the dashboard and the backend API: connections, admin sessions, settings, users.

use super::{ConnectionRow, SessionRow, Store, StoreResult};
use crate::model;
use crate::time::Millis;

/// One Notion grant with its sealed tokens, for apps that call Notion on a user's behalf.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantTokensRow {
    pub bot_id: String,
    pub connection_id: String,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub access_token_sealed: String,
    pub refresh_token_sealed: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminSessionRow {
    pub id: String,
    pub created_at: Millis,
    pub last_active_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

impl Store {
    pub async fn connections(&self) -> StoreResult<Vec<ConnectionRow>> {
        Ok(sqlx::query_as::<_, ConnectionRow>(
            "SELECT id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at
             FROM connections ORDER BY created_at",
        )
        .fetch_all(&self.reads)
        .await?)
    }

    pub async fn connection(&self, id: &str) -> StoreResult<Option<ConnectionRow>> {
        Ok(sqlx::query_as::<_, ConnectionRow>(
            "SELECT id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at
             FROM connections WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reads)
        .await?)
    }

    /// Writes every field of the connection. False when it no longer exists.
    pub async fn update_connection(&self, row: &ConnectionRow) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE connections SET enabled = $1, use_custom_credentials = $2, client_id = $3, client_secret_sealed = $4, updated_at = $5
             WHERE id = $6",
        )
        .bind(row.enabled)
        .bind(row.use_custom_credentials)
        .bind(&row.client_id)
        .bind(&row.client_secret_sealed)
        .bind(row.updated_at)
        .bind(&row.id)
        .execute(&mut *self.writer().await?)
        .await?;
        self.connections_changed();
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_connection(&self, id: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM connections WHERE id = $1").bind(id).execute(&mut *self.writer().await?).await?;
        self.connections_changed();
        Ok(done.rows_affected() == 1)
    }

    // ----- admin sessions and sign-in failures --------------------------------------------

    pub async fn insert_admin_session(
        &self,
        id: &str,
        token_hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO admin_sessions (id, token_hash, created_at, last_active_at, expires_at) VALUES ($1, $2, $3, $3, $4)")
            .bind(id)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    pub async fn admin_session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AdminSessionRow>> {
        Ok(sqlx::query_as::<_, AdminSessionRow>(
            "SELECT id, created_at, last_active_at, expires_at, revoked_at FROM admin_sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.reads)
        .await?)
    }

    pub async fn touch_admin_session(&self, id: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE admin_sessions SET last_active_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    pub async fn revoke_admin_session(&self, token_hash: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("UPDATE admin_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    pub async fn record_admin_failure(&self, id: &str, client: &str, now: Millis) -> StoreResult<()> {
        sqlx::query("INSERT INTO admin_sign_in_failures (id, client, at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(client)
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Forgets one recorded attempt (one refused before its password was checked).
    pub async fn delete_admin_failure(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM admin_sign_in_failures WHERE id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// Ends every live admin session (the password changed). Returns how many.
    pub async fn revoke_all_admin_sessions(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE admin_sessions SET revoked_at = $1 WHERE revoked_at IS NULL")
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Failed admin sign-ins since `since`: from `client`, and from everyone; and the oldest
    /// of the client's (when its lock lifts).
    pub async fn admin_failures_since(&self, client: &str, since: Millis) -> StoreResult<(i64, i64, Option<Millis>)> {
        let (mine, oldest): (i64, Option<Millis>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at) FROM admin_sign_in_failures WHERE client = $1 AND at >= $2")
                .bind(client)
                .bind(since)
                .fetch_one(&self.reads)
                .await?;
        let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin_sign_in_failures WHERE at >= $1")
            .bind(since)
            .fetch_one(&self.reads)
            .await?;
        Ok((mine, all, oldest))
    }

    pub async fn clear_admin_failures(&self, client: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM admin_sign_in_failures WHERE client = $1")
            .bind(client)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    // ----- settings ------------------------------------------------------------------------

    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        if let Some(known) = self.memo().and_then(|m| m.settings.get(key)) {
            return Ok(known);
        }
        let ticket = self.memo().map(|m| m.settings.ticket());
        let value = sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.reads)
            .await?;
        if let (Some(memo), Some(ticket)) = (self.memo(), ticket) {
            memo.settings.put(ticket, key.to_string(), value.clone());
        }
        Ok(value)
    }

    pub async fn set_setting(&self, key: &str, value: &str, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?;
        if let Some(memo) = self.memo() {
            memo.settings.set(key.to_string(), Some(value.to_string()));
        }
        Ok(())
    }

    // ----- users ---------------------------------------------------------------------------

    /// A page of users, newest first, optionally matching `query` in name, email or id.
    pub async fn users(&self, query: Option<&str>, limit: i64, offset: i64) -> StoreResult<(Vec<model::User>, i64)> {
        let pattern = query
            .map(|q| format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let pattern = pattern.unwrap_or_else(|| "%".to_string());
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM users
             WHERE LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR id LIKE $1 ESCAPE '\\'
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users
             WHERE LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR id LIKE $1 ESCAPE '\\'",
        )
        .bind(&pattern)
        .fetch_one(&self.reads)
        .await?;
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(user) = self.user(&id).await? {
                users.push(user);
            }
        }
        Ok((users, total))
    }

    /// Deletes a user; their accounts, grants and sessions go with them (foreign keys cascade).
    pub async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *self.writer().await?).await?;
        if let Some(memo) = self.memo() {
            memo.users.forget(id);
            memo.sessions.forget_where(|row| row.user_id == id);
        }
        Ok(done.rows_affected() == 1)
    }

    pub async fn grant_tokens_of_user(&self, user_id: &str) -> StoreResult<Vec<GrantTokensRow>> {
        Ok(sqlx::query_as::<_, GrantTokensRow>(
            "SELECT g.bot_id, g.connection_id, g.workspace_id, g.workspace_name, g.access_token_sealed, g.refresh_token_sealed
             FROM workspace_grants g JOIN external_accounts a ON a.id = g.external_account_id
             WHERE a.user_id = $1 ORDER BY g.created_at",
        )
        .bind(user_id)
        .fetch_all(&self.reads)
        .await?)
    }

    /// Replaces a grant's token pair, only if its refresh token is still `expected_refresh`
    /// (another replica may have rotated it first). True when this write won.
    pub async fn rotate_grant_tokens(
        &self,
        bot_id: &str,
        expected_refresh: &str,
        access_sealed: &str,
        refresh_sealed: Option<&str>,
        now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE workspace_grants SET access_token_sealed = $1, refresh_token_sealed = $2, updated_at = $3
             WHERE bot_id = $4 AND refresh_token_sealed = $5",
        )
        .bind(access_sealed)
        .bind(refresh_sealed)
        .bind(now)
        .bind(bot_id)
        .bind(expected_refresh)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(
            "SELECT id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reads)
        .await?)
    }

    /// Live-or-not sessions, newest first, of one user or of everyone.
    pub async fn sessions(
        &self,
        user_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<SessionRow>, i64)> {
        let (rows, total) = match user_id {
            Some(user_id) => (
                sqlx::query_as::<_, SessionRow>(
                    "SELECT id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at FROM sessions
                     WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT $2 OFFSET $3",
                )
                .bind(user_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reads)
                .await?,
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(user_id)
                    .fetch_one(&self.reads)
                    .await?,
            ),
            None => (
                sqlx::query_as::<_, SessionRow>(
                    "SELECT id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at FROM sessions
                     WHERE revoked_at IS NULL ORDER BY created_at DESC LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reads)
                .await?,
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
                    .fetch_one(&self.reads)
                    .await?,
            ),
        };
        Ok((rows, total))
    }
}

impl Store {
    pub async fn grant_tokens_of_user_by_bot(&self, bot_id: &str) -> StoreResult<Option<GrantTokensRow>> {
        Ok(sqlx::query_as::<_, GrantTokensRow>(
            "SELECT bot_id, connection_id, workspace_id, workspace_name, access_token_sealed, refresh_token_sealed
             FROM workspace_grants WHERE bot_id = $1",
        )
        .bind(bot_id)
        .fetch_optional(&self.reads)
        .await?)
    }
}
