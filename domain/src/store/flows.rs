//! The `sign_in_flows` table: sign-ins between the redirect to Notion and its callback.

use super::engine::{Cells, FromCells};
use super::{FlowRow, Store, StoreResult};
use crate::ids::TokenHash;

impl FromCells for FlowRow {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok(FlowRow {
            state_hash: TokenHash::from_stored(row.some_text(0)?),
            browser_hash: TokenHash::from_stored(row.some_text(1)?),
            connection_id: row.some_text(2)?.into(),
            intent: row.some_text(3)?,
            redirect_url: row.some_text(4)?,
            created_at: row.some_int(5)?,
            expires_at: row.some_int(6)?,
            sign_ups_open: row.some_int(7)? != 0,
        })
    }
}

impl Store {
    pub async fn insert_flow(&self, flow: &FlowRow) -> StoreResult<()> {
        self.execute(sql!(
            "INSERT INTO sign_in_flows (state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at, sign_ups_open)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &flow.state_hash,
            &flow.browser_hash,
            &flow.connection_id,
            &flow.intent,
            &flow.redirect_url,
            flow.created_at,
            flow.expires_at,
            flow.sign_ups_open,
        ))
        .await?;
        Ok(())
    }

    /// Removes and returns the flow with this state hash: a state can be taken once only.
    pub async fn take_flow(&self, state_hash: &TokenHash) -> StoreResult<Option<FlowRow>> {
        self.execute_returning(sql!(
            "DELETE FROM sign_in_flows WHERE state_hash = $1
             RETURNING state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at, sign_ups_open",
            state_hash,
        ))
        .await
    }
}
