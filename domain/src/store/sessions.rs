//! The `sessions` table: users' sessions, memoized by token hash on SQLite.

use super::engine::Db;
use super::oauth::revoke_grants_of_session_in;
use super::webhooks::record_event;
use super::{SessionRow, Store, StoreResult};
use crate::ids::{SessionId, TokenHash, UserId};
use crate::model::WebhookEvent;
use crate::time::Millis;

const COLUMNS: &str = "id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at";

impl Store {
    pub async fn session_by_token_hash(&self, token_hash: &TokenHash) -> StoreResult<Option<SessionRow>> {
        self.read_through(|memo| &memo.sessions, token_hash, false, async {
            Ok(sqlx::query_as::<_, SessionRow>(&format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1"))
                .bind(token_hash.as_str())
                .fetch_optional(&self.reads)
                .await?)
        })
        .await
    }

    pub async fn session(&self, id: &SessionId) -> StoreResult<Option<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.reads)
            .await?)
    }

    /// Marks the session with this token hash used at `now`.
    pub async fn touch_session(&self, token_hash: &TokenHash, now: Millis) -> StoreResult<()> {
        self.execute(sql!(
            "UPDATE sessions SET last_active_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            now,
            token_hash,
        ))
        .await?;
        if let Some(memo) = self.memo() {
            memo.sessions.update(token_hash, |row| {
                if let Some(row) = row {
                    row.last_active_at = now;
                }
            });
        }
        Ok(())
    }

    /// Ends a session; with `user_id`, only if it is that user's. True when one was ended.
    /// `how` is the event it makes: `SessionEnded` (the person) or `SessionRevoked` (the admin).
    pub async fn revoke_session(
        &self,
        id: &SessionId,
        user_id: Option<&UserId>,
        how: WebhookEvent,
        now: Millis,
    ) -> StoreResult<bool> {
        let (session_id, user_id) = (id.clone(), user_id.cloned());
        let ended = transaction!(self, |tx| async move {
            let ended: Option<SessionRow> = tx
                .optional(sql!(
                    "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND ($3 IS NULL OR user_id = $3) AND revoked_at IS NULL
                     RETURNING id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at",
                    now,
                    &session_id,
                    &user_id,
                ))
                .await?;
            if let Some(session) = &ended {
                record_event(tx, how, &session.to_model(), now).await?;
                // What apps were given through this session (OpenID Connect) ends with it.
                revoke_grants_of_session_in(tx, session.id.as_str(), now).await?;
            }
            Ok(ended.is_some())
        })?;
        if let Some(memo) = self.memo() {
            memo.sessions.forget_where(|row| row.as_ref().is_some_and(|row| row.id == *id));
        }
        Ok(ended)
    }

    /// A user's live sessions, newest first.
    pub async fn sessions_of_user(&self, user_id: &UserId) -> StoreResult<Vec<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
        ))
        .bind(user_id.as_str())
        .fetch_all(&self.reads)
        .await?)
    }

    /// Live sessions, newest first, of one user or of everyone; and how many there are.
    pub async fn sessions(
        &self,
        user_id: Option<&UserId>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<SessionRow>, i64)> {
        let user_id = user_id.map(UserId::as_str);
        let rows = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE ($1 IS NULL OR user_id = $1) AND revoked_at IS NULL
             ORDER BY created_at DESC LIMIT $2 OFFSET $3"
        ))
        .bind(user_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        let total = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sessions WHERE ($1 IS NULL OR user_id = $1) AND revoked_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.reads)
        .await?;
        Ok((rows, total))
    }

    /// Sessions that would authenticate at `now`: not revoked, not expired, and used since
    /// `idle_since` (the session rules are the domain's, `session.rs`).
    pub async fn live_session_count(&self, now: Millis, idle_since: Millis) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 AND last_active_at > $2",
        )
        .bind(now)
        .bind(idle_since)
        .fetch_one(&self.reads)
        .await?)
    }
}
