//! The `settings` table: instance settings by key, memoized on SQLite.

use super::{Store, StoreResult};
use crate::time::Millis;

impl Store {
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.read_instance_row(
            |memo| &memo.settings,
            |shared| &shared.settings,
            key,
            || {
                let (reads, key) = (self.reads.clone(), key.to_string());
                async move {
                    Ok(sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(&reads)
                        .await?)
                }
            },
        )
        .await
    }

    pub async fn set_setting(&self, key: &str, value: &str, now: Millis) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            key,
            value,
            now,
        ))
        .await?;
        if let Some(memo) = self.memo() {
            memo.settings.set(key.to_string(), Some(value.to_string()));
        }
        Ok(())
    }
}
