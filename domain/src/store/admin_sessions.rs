//! The `admin_sessions` and `admin_sign_in_failures` tables: the dashboard's sign-ins.

use super::{Store, StoreResult};
use crate::ids::TokenHash;
use crate::time::Millis;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminSessionRow {
    pub id: String,
    pub created_at: Millis,
    pub last_active_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

impl Store {
    pub async fn insert_admin_session(
        &self,
        id: &str,
        token_hash: &TokenHash,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO admin_sessions (id, token_hash, created_at, last_active_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
            id,
            token_hash,
            now,
            expires_at,
        ))
        .await?;
        Ok(())
    }

    pub async fn admin_session_by_token_hash(&self, token_hash: &TokenHash) -> StoreResult<Option<AdminSessionRow>> {
        Ok(sqlx::query_as::<_, AdminSessionRow>(
            "SELECT id, created_at, last_active_at, expires_at, revoked_at FROM admin_sessions WHERE token_hash = $1",
        )
        .bind(token_hash.as_str())
        .fetch_optional(&self.reads)
        .await?)
    }

    pub async fn touch_admin_session(&self, id: &str, now: Millis) -> StoreResult<()> {
        self.execute(sql!("UPDATE admin_sessions SET last_active_at = $1 WHERE id = $2", now, id)).await?;
        Ok(())
    }

    pub async fn revoke_admin_session(&self, token_hash: &TokenHash, now: Millis) -> StoreResult<()> {
        self.execute(sql!(
            "UPDATE admin_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            now,
            token_hash,
        ))
        .await?;
        Ok(())
    }

    /// Ends every live admin session (the password changed). Returns how many.
    pub async fn revoke_all_admin_sessions(&self, now: Millis) -> StoreResult<u64> {
        self.execute(sql!("UPDATE admin_sessions SET revoked_at = $1 WHERE revoked_at IS NULL", now)).await
    }

    pub async fn record_admin_failure(&self, id: &str, client: &str, now: Millis) -> StoreResult<()> {
        self.execute(sql!("INSERT INTO admin_sign_in_failures (id, client, at) VALUES ($1, $2, $3)", id, client, now))
            .await?;
        Ok(())
    }

    /// Forgets one recorded attempt (one refused before its password was checked).
    pub async fn delete_admin_failure(&self, id: &str) -> StoreResult<()> {
        self.execute(sql!("DELETE FROM admin_sign_in_failures WHERE id = $1", id)).await?;
        Ok(())
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

    /// Forgets every failed admin sign-in (a new password makes the old guesses moot).
    pub async fn clear_all_admin_failures(&self) -> StoreResult<()> {
        self.execute(sql!("DELETE FROM admin_sign_in_failures")).await?;
        Ok(())
    }

    pub async fn clear_admin_failures(&self, client: &str) -> StoreResult<()> {
        self.execute(sql!("DELETE FROM admin_sign_in_failures WHERE client = $1", client)).await?;
        Ok(())
    }
}
