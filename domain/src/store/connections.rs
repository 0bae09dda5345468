//! The `connections` table: the SSO connections (Notion), memoized by provider on SQLite.

use super::{ConnectionRow, Store, StoreResult};
use crate::ids::{ConnectionId, Provider};
use crate::time::Millis;

const COLUMNS: &str =
    "id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at";

impl Store {
    pub async fn connection_by_provider(&self, provider: Provider) -> StoreResult<Option<ConnectionRow>> {
        self.read_instance_row(
            |memo| &memo.connections,
            |shared| &shared.connections,
            &provider,
            || {
                let reads = self.reads.clone();
                async move {
                    Ok(sqlx::query_as::<_, ConnectionRow>(&format!(
                        "SELECT {COLUMNS} FROM connections WHERE provider = $1"
                    ))
                    .bind(provider.as_str())
                    .fetch_optional(&reads)
                    .await?)
                }
            },
        )
        .await
    }

    pub async fn connections(&self) -> StoreResult<Vec<ConnectionRow>> {
        Ok(sqlx::query_as::<_, ConnectionRow>(&format!("SELECT {COLUMNS} FROM connections ORDER BY created_at"))
            .fetch_all(&self.reads)
            .await?)
    }

    pub async fn connection(&self, id: &ConnectionId) -> StoreResult<Option<ConnectionRow>> {
        Ok(sqlx::query_as::<_, ConnectionRow>(&format!("SELECT {COLUMNS} FROM connections WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.reads)
            .await?)
    }

    pub async fn connection_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM connections").fetch_one(&self.reads).await?)
    }

    pub async fn insert_connection(&self, row: &ConnectionRow) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO connections (id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &row.id,
            row.provider,
            row.enabled,
            row.use_custom_credentials,
            &row.client_id,
            &row.client_secret_sealed,
            row.created_at,
            row.updated_at,
        ))
        .await?;
        self.connections_changed();
        Ok(())
    }

    pub async fn set_connection_enabled(&self, id: &ConnectionId, enabled: bool, now: Millis) -> StoreResult<bool> {
        let changed = self
            .execute(sql!("UPDATE connections SET enabled = $1, updated_at = $2 WHERE id = $3", enabled, now, id))
            .await?;
        self.connections_changed();
        Ok(changed == 1)
    }

    /// Writes every field of the connection. False when it no longer exists.
    pub async fn update_connection(&self, row: &ConnectionRow) -> StoreResult<bool> {
        let changed = self
            .execute(sql!(
                "UPDATE connections SET enabled = $1, use_custom_credentials = $2, client_id = $3, client_secret_sealed = $4, updated_at = $5
                 WHERE id = $6",
                row.enabled,
                row.use_custom_credentials,
                &row.client_id,
                &row.client_secret_sealed,
                row.updated_at,
                &row.id,
            ))
            .await?;
        self.connections_changed();
        Ok(changed == 1)
    }

    pub async fn delete_connection(&self, id: &ConnectionId) -> StoreResult<bool> {
        let changed = self.execute(sql!("DELETE FROM connections WHERE id = $1", id)).await?;
        self.connections_changed();
        Ok(changed == 1)
    }

    /// After any write to `connections`.
    fn connections_changed(&self) {
        if let Some(memo) = self.memo() {
            memo.connections.clear();
        }
    }
}
