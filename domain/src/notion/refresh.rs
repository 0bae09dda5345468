//! One Notion token refresh at a time per grant, in this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-grant locks: one refresh at a time per grant in this process (the database's
/// compare-and-swap covers other replicas). Kept with the Notion client because a refresh
/// token is single use at Notion: two concurrent refreshes of one grant would lose it.
#[derive(Default)]
pub struct RefreshLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl RefreshLocks {
    pub(crate) fn lock_for(&self, bot_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(bot_id.to_string()).or_default().clone()
    }
}
