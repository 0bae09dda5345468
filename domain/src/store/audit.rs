//! The `audit_log` table: one row per admin action (see the migration).

use super::{Store, StoreResult};
use crate::model::AuditEntry;

#[derive(Debug, Clone, sqlx::FromRow)]
struct AuditRow {
    id: String,
    at: i64,
    actor: String,
    client: String,
    action: String,
    target: Option<String>,
    status: i64,
}

impl Store {
    pub async fn insert_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO audit_log (id, at, actor, client, action, target, status) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &entry.id,
            entry.at,
            &entry.actor,
            &entry.client,
            &entry.action,
            &entry.target,
            entry.status,
        ))
        .await?;
        Ok(())
    }

    /// Newest first; and how many there are.
    pub async fn audit_entries(&self, limit: i64, offset: i64) -> StoreResult<(Vec<AuditEntry>, i64)> {
        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at, actor, client, action, target, status FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.reads)
        .await?;
        let total = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log").fetch_one(&self.reads).await?;
        let entries = rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                client: r.client,
                action: r.action,
                target: r.target,
                status: r.status,
            })
            .collect();
        Ok((entries, total))
    }
}
