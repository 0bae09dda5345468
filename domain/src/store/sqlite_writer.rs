//! The writes every sign-in makes, on SQLite: run whole on a thread of their own.
//!
//! sqlx runs each SQLite statement as a round trip between the asking task and the connection's
//! thread; with one writer, every sign-in waited for the other sign-ins' round trips (and for
//! their tasks' turns on the busy server threads in between). Measured: the writer was busy
//! 80% of the time, ~0.55 ms per sign-in, mostly waiting. Here each operation (a statement, or
//! the whole sign-in transaction) is one hand-off to a thread that runs it straight through on
//! a synchronous connection (rusqlite, over the same SQLite library sqlx links).
//!
//! The statements are the same as the PostgreSQL versions in `mod.rs` (with `?n` parameters);
//! the integration suite runs against both. Rarer writes (dashboard, pruning) stay on sqlx's
//! writer connection; SQLite's own lock orders the two.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{FlowRow, SignInRecord, SignInRefused, SignInWritten, StoreError, SQLITE_PRAGMAS};
use crate::time::Millis;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens a connection to the (already migrated) database and starts its thread, which ends
    /// when the writer is dropped.
    pub fn open(database: &Path) -> Result<SqliteWriter, StoreError> {
        let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("SQLite writer: {e}"));
        let mut conn = Connection::open(database).map_err(|e| unavailable(&e))?;
        conn.execute_batch(SQLITE_PRAGMAS).map_err(|e| unavailable(&e))?;
        conn.set_prepared_statement_cache_capacity(32);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    job(&mut conn);
                }
            })
            .map_err(|e| unavailable(&e))?;
        Ok(SqliteWriter { jobs })
    }

    /// Runs `job` on the writer's thread, after the jobs queued before it.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = answer.send(job(conn));
            }))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        let result = answered.await.map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        result.map_err(|e| match e {
            rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DatabaseBusy => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(other.to_string()),
        })
    }
}

pub(crate) fn insert_flow(conn: &mut Connection, flow: &FlowRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sign_in_flows (state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        flow.state_hash,
        flow.browser_hash,
        flow.connection_id,
        flow.intent,
        flow.redirect_url,
        flow.created_at,
        flow.expires_at
    ])?;
    Ok(())
}

pub(crate) fn take_flow(conn: &mut Connection, state_hash: &str) -> rusqlite::Result<Option<FlowRow>> {
    conn.prepare_cached(
        "DELETE FROM sign_in_flows WHERE state_hash = ?1
         RETURNING state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at",
    )?
    .query_row([state_hash], |row| {
        Ok(FlowRow {
            state_hash: row.get(0)?,
            browser_hash: row.get(1)?,
            connection_id: row.get(2)?,
            intent: row.get(3)?,
            redirect_url: row.get(4)?,
            created_at: row.get(5)?,
            expires_at: row.get(6)?,
        })
    })
    .optional()
}

pub(crate) fn touch_session(conn: &mut Connection, token_hash: &str, now: Millis) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_active_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL")?
        .execute(params![now, token_hash])?;
    Ok(())
}

/// See [`super::Store::complete_sign_in`]: one transaction, the same statements.
pub(crate) fn complete_sign_in(
    conn: &mut Connection,
    r: &SignInRecord,
) -> rusqlite::Result<Result<SignInWritten, SignInRefused>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let who = &r.identity;
    let existing: Option<(String, String)> = tx
        .prepare_cached(
            "UPDATE external_accounts SET email = ?1, email_verified = ?2, name = ?3, avatar_url = ?4, updated_at = ?5
             WHERE provider = 'notion' AND provider_user_id = ?6
             RETURNING user_id, id",
        )?
        .query_row(
            params![who.email, i64::from(who.email_verified), who.name, who.avatar_url, r.now, who.notion_user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (user_id, account_id, created_user) = match existing {
        Some((user_id, account_id)) => {
            tx.prepare_cached(
                "UPDATE users SET email = ?1, name = ?2, image_url = ?3, updated_at = ?4, last_sign_in_at = ?4 WHERE id = ?5",
            )?
            .execute(params![who.email, who.name, who.avatar_url, r.now, user_id])?;
            (user_id, account_id, false)
        }
        None => {
            if !r.allow_sign_up {
                return Ok(Err(SignInRefused::SignUpsClosed));
            }
            tx.prepare_cached(
                "INSERT INTO users (id, email, name, image_url, created_at, updated_at, last_sign_in_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)",
            )?
            .execute(params![r.new_user_id, who.email, who.name, who.avatar_url, r.now])?;
            tx.prepare_cached(
                "INSERT INTO external_accounts (id, user_id, provider, provider_user_id, email, email_verified, name, avatar_url, created_at, updated_at)
                 VALUES (?1, ?2, 'notion', ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                r.new_account_id,
                r.new_user_id,
                who.notion_user_id,
                who.email,
                i64::from(who.email_verified),
                who.name,
                who.avatar_url,
                r.now
            ])?;
            (r.new_user_id.clone(), r.new_account_id.clone(), true)
        }
    };
    let g = &r.grant;
    tx.prepare_cached(
        "INSERT INTO workspace_grants (bot_id, external_account_id, connection_id, workspace_id, workspace_name, workspace_icon,
                                       access_token_sealed, refresh_token_sealed, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
         ON CONFLICT (bot_id) DO UPDATE SET
             external_account_id = excluded.external_account_id, connection_id = excluded.connection_id,
             workspace_id = excluded.workspace_id, workspace_name = excluded.workspace_name,
             workspace_icon = excluded.workspace_icon, access_token_sealed = excluded.access_token_sealed,
             refresh_token_sealed = excluded.refresh_token_sealed, updated_at = excluded.updated_at",
    )?
    .execute(params![
        g.bot_id,
        account_id,
        g.connection_id,
        g.workspace_id,
        g.workspace_name,
        g.workspace_icon,
        g.access_token_sealed,
        g.refresh_token_sealed,
        r.now
    ])?;
    let s = &r.session;
    tx.prepare_cached(
        "INSERT INTO sessions (id, user_id, token_hash, user_agent, created_at, last_active_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    )?
    .execute(params![s.id, user_id, s.token_hash, s.user_agent, r.now, s.expires_at])?;
    if let Some(previous) = &r.replaces_session_hash {
        tx.prepare_cached("UPDATE sessions SET revoked_at = ?1 WHERE token_hash = ?2 AND revoked_at IS NULL")?
            .execute(params![r.now, previous])?;
    }
    tx.commit()?;
    Ok(Ok(SignInWritten { user_id, session_id: s.id.clone(), created_user }))
}
