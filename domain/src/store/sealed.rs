//! Every column that holds a value sealed under the master key, found and replaced in place:
//! what a master-key rotation re-seals.

use std::borrow::Cow;

use super::engine::Statement;
use super::{Store, StoreResult};

/// A sealed column: its table, the table's key, and (for `settings`) which rows.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    /// An extra condition (SQL, from this crate only), or "".
    pub only: &'static str,
}

impl Store {
    /// `(key, sealed value)` of the rows whose value is not sealed under `key_id`.
    pub async fn sealed_under_other_keys(
        &self,
        place: SealedColumn,
        key_id: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let SealedColumn { table, key, column, only } = place;
        Ok(sqlx::query_as::<_, (String, String)>(&format!(
            "SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE $1 {only}"
        ))
        .bind(format!("{key_id}.%"))
        .fetch_all(&self.reads)
        .await?)
    }

    /// Replaces one sealed value, only if it is still `old` (a replica may have got there
    /// first). True when this write did it.
    pub async fn replace_sealed(&self, place: SealedColumn, key: &str, old: &str, new: &str) -> StoreResult<bool> {
        let SealedColumn { table, key: key_column, column, .. } = place;
        let statement = Statement {
            sql: Cow::Owned(format!("UPDATE {table} SET {column} = $1 WHERE {key_column} = $2 AND {column} = $3")),
            args: vec![new.into(), key.into(), old.into()],
        };
        let changed = self.execute(statement).await? == 1;
        if let Some(memo) = self.memo() {
            // The memo holds connections and settings, sealed values among them.
            memo.connections.clear();
            memo.settings.clear();
        }
        Ok(changed)
    }
}
