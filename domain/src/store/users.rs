//! The `users` table, with the accounts and workspace grants a user object carries: memoized
//! by id on SQLite. Users are written by the sign-in (sign_in.rs) and deleted here.

use std::sync::Arc;

use super::engine::Db;
use super::rows::{AccountRow, GrantSummaryRow, UserRow};
use super::webhooks::record_event;
use super::{Store, StoreResult};
use crate::ids::UserId;
use crate::model::{self, WebhookEvent};
use crate::time::Millis;

const USER: &str = "SELECT id, email, name, image_url, created_at, last_sign_in_at FROM users WHERE id = $1";
const ACCOUNTS: &str = "SELECT id, provider, provider_user_id, email, name, avatar_url FROM external_accounts
                        WHERE user_id = $1 ORDER BY created_at, id";
const GRANTS: &str = "SELECT g.external_account_id, g.workspace_id, g.workspace_name, g.workspace_icon, g.bot_id
                      FROM workspace_grants g JOIN external_accounts a ON a.id = g.external_account_id
                      WHERE a.user_id = $1 ORDER BY g.created_at, g.bot_id";

/// The user as a write sees it, inside its transaction (the same statements as the reads).
pub(crate) async fn user_in(tx: &mut impl Db, id: &UserId) -> StoreResult<Option<model::User>> {
    let Some(user) = tx.optional::<UserRow>(sql!(USER, id)).await? else {
        return Ok(None);
    };
    let accounts = tx.all::<AccountRow>(sql!(ACCOUNTS, id)).await?;
    let grants = tx.all::<GrantSummaryRow>(sql!(GRANTS, id)).await?;
    Ok(Some(user.into_model(accounts, grants)))
}

impl Store {
    pub async fn user(&self, id: &UserId) -> StoreResult<Option<model::User>> {
        Ok(self.shared_user(id).await?.map(Arc::unwrap_or_clone))
    }

    /// [`Store::user`], shared rather than copied (from the memo, on SQLite).
    pub async fn shared_user(&self, id: &UserId) -> StoreResult<Option<Arc<model::User>>> {
        self.read_through(|memo| &memo.users, id, false, self.load_user(id)).await
    }

    async fn load_user(&self, id: &UserId) -> StoreResult<Option<Arc<model::User>>> {
        let Some(user) = sqlx::query_as::<_, UserRow>(USER).bind(id.as_str()).fetch_optional(&self.reads).await? else {
            return Ok(None);
        };
        let accounts = sqlx::query_as::<_, AccountRow>(ACCOUNTS).bind(id.as_str()).fetch_all(&self.reads).await?;
        let grants = sqlx::query_as::<_, GrantSummaryRow>(GRANTS).bind(id.as_str()).fetch_all(&self.reads).await?;
        Ok(Some(Arc::new(user.into_model(accounts, grants))))
    }

    /// A page of users, newest first, optionally matching `query` in name, email or id.
    pub async fn users(&self, query: Option<&str>, limit: i64, offset: i64) -> StoreResult<(Vec<model::User>, i64)> {
        let pattern = query
            .map(|q| format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let pattern = pattern.unwrap_or_else(|| "%".to_string());
        const MATCHES: &str = "LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR id LIKE $1 ESCAPE '\\'";
        let ids: Vec<UserId> = sqlx::query_scalar(&format!(
            "SELECT id FROM users WHERE {MATCHES} ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {MATCHES}"))
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
    /// `user.deleted` carries the user as they were.
    pub async fn delete_user(&self, id: &UserId, now: Millis) -> StoreResult<bool> {
        let user_id = id.clone();
        let deleted = transaction!(self, |tx| async move {
            let Some(user) = user_in(tx, &user_id).await? else {
                return Ok(false);
            };
            // On PostgreSQL a concurrent delete of the same user may have read it too: only the
            // one whose delete removed the row reports it.
            if tx.execute(sql!("DELETE FROM users WHERE id = $1", &user_id)).await? == 0 {
                return Ok(false);
            }
            record_event(tx, WebhookEvent::UserDeleted, &user, now).await?;
            Ok(true)
        })?;
        self.user_deleted(id);
        Ok(deleted)
    }

    fn user_deleted(&self, id: &UserId) {
        if let Some(memo) = self.memo() {
            memo.users.forget(id);
            memo.sessions.forget_where(|row| row.as_ref().is_some_and(|row| row.user_id == *id));
        }
    }
}
