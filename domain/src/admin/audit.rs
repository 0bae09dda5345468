//! The audit log of admin actions: written by the server's edge (it sees who, from where and
//! how it ended), read by the dashboard and the backend API.

use super::{AdminError, AdminResult};
use crate::model::AuditEntry;
use crate::Latchkey;

/// What the edge knows of an action.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor: &'static str,
    pub client: String,
    pub action: String,
    pub target: Option<String>,
    pub status: u16,
}

impl Latchkey {
    /// Records an action. A failure to record is logged, never the admin's problem.
    pub async fn audit(&self, record: AuditRecord) {
        let now = self.now();
        let entry = AuditEntry {
            // Time first, so ids sort as the entries happened.
            id: format!("aud_{now:012x}{}", &crate::crypto::random_id("")[1..13]),
            at: now,
            actor: record.actor.to_string(),
            client: record.client,
            action: record.action,
            target: record.target,
            status: i64::from(record.status),
        };
        if let Err(error) = self.store.insert_audit_entry(&entry).await {
            tracing::error!(%error, action = %entry.action, "an admin action could not be written to the audit log");
        }
    }

    pub async fn audit_log(&self, limit: i64, offset: i64) -> AdminResult<(Vec<AuditEntry>, i64)> {
        if !(1..=500).contains(&limit) {
            return Err(AdminError::new(400, "invalid_limit", "limit must be between 1 and 500."));
        }
        Ok(self.store.audit_entries(limit, offset.max(0)).await?)
    }
}
