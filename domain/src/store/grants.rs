//! The `workspace_grants` table's Notion tokens (sealed), for apps that call Notion on a
//! user's behalf. Grants are written by the sign-in (sign_in.rs); their tokens rotate here.

use super::engine::Db;
use super::webhooks::record_event;
use super::{Store, StoreResult};
use crate::ids::{ConnectionId, UserId};
use crate::model::WebhookEvent;
use crate::time::Millis;

/// One Notion grant with its sealed tokens.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantTokensRow {
    pub bot_id: String,
    pub connection_id: ConnectionId,
    pub workspace_id: String,
    pub workspace_name: Option<String>,
    pub access_token_sealed: String,
    pub refresh_token_sealed: Option<String>,
}

impl Store {
    pub async fn grant_tokens_of_user(&self, user_id: &UserId) -> StoreResult<Vec<GrantTokensRow>> {
        Ok(sqlx::query_as::<_, GrantTokensRow>(
            "SELECT g.bot_id, g.connection_id, g.workspace_id, g.workspace_name, g.access_token_sealed, g.refresh_token_sealed
             FROM workspace_grants g JOIN external_accounts a ON a.id = g.external_account_id
             WHERE a.user_id = $1 ORDER BY g.created_at",
        )
        .bind(user_id.as_str())
        .fetch_all(&self.reads)
        .await?)
    }

    pub async fn grant_tokens_of_user_by_bot(&self, bot_id: &str) -> StoreResult<Option<GrantTokensRow>> {
        Ok(sqlx::query_as::<_, GrantTokensRow>(
            "SELECT bot_id, connection_id, workspace_id, workspace_name, access_token_sealed, refresh_token_sealed
             FROM workspace_grants WHERE bot_id = $1",
        )
        .bind(bot_id)
        .fetch_optional(&self.reads)
        .await?)
    }

    /// Replaces a grant's token pair, only if its refresh token is still `expected_refresh`
    /// (another replica may have rotated it first). True when this write won; then
    /// `notion_token.refreshed` tells the app (never the tokens themselves).
    pub async fn rotate_grant_tokens(
        &self,
        bot_id: &str,
        expected_refresh: &str,
        access_sealed: &str,
        refresh_sealed: Option<&str>,
        now: Millis,
    ) -> StoreResult<bool> {
        let (bot_id, expected_refresh) = (bot_id.to_string(), expected_refresh.to_string());
        let (access_sealed, refresh_sealed) = (access_sealed.to_string(), refresh_sealed.map(str::to_string));
        transaction!(self, |tx| async move {
            let changed = tx
                .execute(sql!(
                    "UPDATE workspace_grants SET access_token_sealed = $1, refresh_token_sealed = $2, updated_at = $3
                     WHERE bot_id = $4 AND refresh_token_sealed = $5",
                    &access_sealed,
                    &refresh_sealed,
                    now,
                    &bot_id,
                    &expected_refresh,
                ))
                .await?;
            if changed != 1 {
                return Ok(false);
            }
            let owner: Option<(String, String)> = tx
                .optional(sql!(
                    "SELECT a.user_id, g.workspace_id FROM workspace_grants g JOIN external_accounts a ON a.id = g.external_account_id
                     WHERE g.bot_id = $1",
                    &bot_id,
                ))
                .await?;
            if let Some((user_id, workspace_id)) = owner {
                let data = serde_json::json!({"user_id": user_id, "bot_id": bot_id, "workspace_id": workspace_id});
                record_event(tx, WebhookEvent::NotionTokenRefreshed, &data, now).await?;
            }
            Ok(true)
        })
    }
}
