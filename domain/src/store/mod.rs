//! Storage: one interface, two engines (SQLite embedded, PostgreSQL for replicas), through sqlx.
//!
//! Every query is written in SQL both engines run, with `$n` placeholders; on SQLite the writes
//! every sign-in makes run through `sqlite_writer.rs`, the same statements with `?n`.

mod admin;
mod memo;
mod rows;
mod signing_keys;
mod sqlite_writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};

pub use admin::{AdminSessionRow, GrantTokensRow};
use memo::Memo;
pub use rows::*;
pub use signing_keys::SigningKeyRow;
use sqlite_writer::SqliteWriter;

use crate::model;
use crate::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(error.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// Reads go here: several connections (under WAL, readers never wait for the writer).
    /// On PostgreSQL, writes too.
    reads: AnyPool,
    /// SQLite: the connection the other writes go through, kept for the store's life. Writers
    /// take turns on the mutex, in order, each turn as short as its statements; otherwise
    /// each would hold a connection and poll SQLite's busy handler, which sleeps up to 100 ms
    /// a turn, and pay a pool round (acquire, release task) per statement.
    writer: Option<Arc<tokio::sync::Mutex<AnyConnection>>>,
    /// SQLite: the thread that runs the writes every sign-in makes, each whole (see
    /// sqlite_writer.rs).
    sign_in_writer: Option<Arc<SqliteWriter>>,
    engine: Engine,
    /// SQLite only: the rows every request reads, kept exact by the writes below (see memo.rs).
    memo: Option<Arc<Memo>>,
    /// SQLite only: held while the store lives, so no second process opens the same file.
    _owner: Option<Arc<std::fs::File>>,
}

/// What a completed sign-in wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInWritten {
    pub user_id: String,
    pub session_id: String,
    /// The person had no account: this sign-in was a sign-up.
    pub created_user: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefused {
    SignUpsClosed,
}

impl Store {
    /// Opens (and for SQLite, creates) the database and brings its schema up to date.
    pub async fn open(database_url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let engine = if database_url.starts_with("sqlite:") { Engine::Sqlite } else { Engine::Postgres };
        let url = match engine {
            Engine::Sqlite if !database_url.contains('?') => format!("{database_url}?mode=rwc"),
            _ => database_url.to_string(),
        };
        let file = match engine {
            Engine::Sqlite => sqlite_file(database_url),
            Engine::Postgres => None,
        };
        let owner = file.as_deref().map(take_ownership).transpose()?.map(Arc::new);
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(5))
                // A dead connection shows up as an error on use; pinging before every use doubles
                // the round trips of each query.
                .test_before_acquire(false)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if engine == Engine::Sqlite {
                            conn.execute(SQLITE_PRAGMAS).await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let mut store = match engine {
            Engine::Sqlite => {
                // The writer first: it creates the file and switches it to WAL.
                let mut writer = options.connect().await?;
                writer.execute(SQLITE_PRAGMAS).await?;
                let reads = pool(4).await?;
                let writer = Some(Arc::new(tokio::sync::Mutex::new(writer)));
                Store { reads, writer, sign_in_writer: None, engine, memo: Some(Arc::new(Memo::new())), _owner: owner }
            }
            Engine::Postgres => {
                Store { reads: pool(16).await?, writer: None, sign_in_writer: None, engine, memo: None, _owner: None }
            }
        };
        store.migrate().await?;
        // After the migrations: it writes to the tables they make.
        if let Some(file) = &file {
            store.sign_in_writer = Some(Arc::new(SqliteWriter::open(file)?));
        }
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.writer().await?;
        let result = match self.engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&mut *conn).await,
            Engine::Postgres => sqlx::migrate!("./migrations/postgres").run(&mut *conn).await,
        };
        result.map_err(|e| StoreError::Database(format!("migration failed: {e}")))
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Readiness: the database answers a query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reads).await.is_ok()
    }

    /// Closes the pool (the SQLite writer closes when the last clone of the store goes).
    pub async fn close(&self) {
        self.reads.close().await;
    }

    /// A connection to write with: SQLite's one writer, in turn; on PostgreSQL any of the pool.
    async fn writer(&self) -> Result<WriteConnection<'_>, sqlx::Error> {
        Ok(match &self.writer {
            Some(one) => WriteConnection::Owned(one.lock().await),
            None => WriteConnection::Pooled(self.reads.acquire().await?),
        })
    }

    // ----- connections -------------------------------------------------------------------

    pub async fn connection_by_provider(&self, provider: &str) -> StoreResult<Option<ConnectionRow>> {
        if let Some(known) = self.memo().and_then(|m| m.connections.get(provider)) {
            return Ok(known);
        }
        let ticket = self.memo().map(|m| m.connections.ticket());
        let row = sqlx::query_as::<_, ConnectionRow>(
            "SELECT id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at
             FROM connections WHERE provider = $1",
        )
        .bind(provider)
        .fetch_optional(&self.reads)
        .await?;
        if let (Some(memo), Some(ticket)) = (self.memo(), ticket) {
            memo.connections.put(ticket, provider.to_string(), row.clone());
        }
        Ok(row)
    }

    /// The memo, on SQLite (see memo.rs).
    fn memo(&self) -> Option<&Memo> {
        self.memo.as_deref()
    }

    /// After any write to `connections`.
    fn connections_changed(&self) {
        if let Some(memo) = self.memo() {
            memo.connections.clear();
        }
    }

    pub async fn connection_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM connections").fetch_one(&self.reads).await?)
    }

    pub async fn insert_connection(&self, row: &ConnectionRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connections (id, provider, enabled, use_custom_credentials, client_id, client_secret_sealed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.id)
        .bind(&row.provider)
        .bind(row.enabled)
        .bind(row.use_custom_credentials)
        .bind(&row.client_id)
        .bind(&row.client_secret_sealed)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&mut *self.writer().await?)
        .await?;
        self.connections_changed();
        Ok(())
    }

    pub async fn set_connection_enabled(&self, id: &str, enabled: bool, now: Millis) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE connections SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(enabled))
            .bind(now)
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?;
        self.connections_changed();
        Ok(done.rows_affected() == 1)
    }

    // ----- sign-ins in progress ----------------------------------------------------------

    pub async fn insert_flow(&self, flow: &FlowRow) -> StoreResult<()> {
        if let Some(writer) = &self.sign_in_writer {
            let flow = flow.clone();
            return writer.run(move |conn| sqlite_writer::insert_flow(conn, &flow)).await;
        }
        sqlx::query(
            "INSERT INTO sign_in_flows (state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&flow.state_hash)
        .bind(&flow.browser_hash)
        .bind(&flow.connection_id)
        .bind(&flow.intent)
        .bind(&flow.redirect_url)
        .bind(flow.created_at)
        .bind(flow.expires_at)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Removes and returns the flow with this state hash: a state can be taken once only.
    pub async fn take_flow(&self, state_hash: &str) -> StoreResult<Option<FlowRow>> {
        if let Some(writer) = &self.sign_in_writer {
            let state_hash = state_hash.to_string();
            return writer.run(move |conn| sqlite_writer::take_flow(conn, &state_hash)).await;
        }
        Ok(sqlx::query_as::<_, FlowRow>(
            "DELETE FROM sign_in_flows WHERE state_hash = $1
             RETURNING state_hash, browser_hash, connection_id, intent, redirect_url, created_at, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&mut *self.writer().await?)
        .await?)
    }

    /// Deletes sign-ins never finished and sessions long dead. Returns how many rows went.
    pub async fn prune_expired(&self, now: Millis) -> StoreResult<u64> {
        let flows = sqlx::query("DELETE FROM sign_in_flows WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *self.writer().await?)
            .await?;
        // Keep ended sessions a day so a profile can still say "signed out"; then forget them.
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(now - crate::time::DAY)
            .execute(&mut *self.writer().await?)
            .await?;
        if let Some(memo) = self.memo() {
            memo.sessions.clear();
        }
        Ok(flows.rows_affected() + sessions.rows_affected())
    }

    // ----- completing a sign-in ----------------------------------------------------------

    /// Finds or creates the user, their Notion account and workspace grant, and starts the
    /// session, all in one transaction: a failure leaves nothing behind, and concurrent first
    /// sign-ins of one person make one user.
    pub async fn complete_sign_in(&self, record: &SignInRecord) -> StoreResult<Result<SignInWritten, SignInRefused>> {
        let outcome = match &self.sign_in_writer {
            Some(writer) => {
                let record = record.clone();
                writer.run(move |conn| sqlite_writer::complete_sign_in(conn, &record)).await?
            }
            None => self.complete_sign_in_statement_by_statement(record).await?,
        };
        if let (Ok(written), Some(memo)) = (&outcome, self.memo()) {
            // The profile, accounts and grants may have changed (a grant may even have moved
            // from another person's account); the browser's earlier session has ended.
            let bot = &record.grant.bot_id;
            memo.users.forget_where(|user| {
                user.id == written.user_id
                    || user.external_accounts.iter().flat_map(|a| &a.workspaces).any(|w| &w.bot_id == bot)
            });
            if let Some(previous) = &record.replaces_session_hash {
                memo.sessions.forget(previous);
            }
        }
        Ok(outcome)
    }

    async fn complete_sign_in_statement_by_statement(
        &self,
        record: &SignInRecord,
    ) -> StoreResult<Result<SignInWritten, SignInRefused>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_complete_sign_in(record).await {
                Err(TxError::Sql(error)) if attempt < 4 && is_unique_violation(&error) => {
                    // Another sign-in of the same person created the account between our
                    // look-up and our insert (PostgreSQL); the next attempt finds it.
                    continue;
                }
                Err(TxError::Sql(error)) => return Err(error.into()),
                Err(TxError::Refused(refused)) => return Ok(Err(refused)),
                Ok(written) => return Ok(Ok(written)),
            }
        }
    }

    async fn try_complete_sign_in(&self, r: &SignInRecord) -> Result<SignInWritten, TxError> {
        let mut conn = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let who = &r.identity;
        let existing: Option<(String, String)> = sqlx::query_as(
            "UPDATE external_accounts SET email = $1, email_verified = $2, name = $3, avatar_url = $4, updated_at = $5
             WHERE provider = 'notion' AND provider_user_id = $6
             RETURNING user_id, id",
        )
        .bind(&who.email)
        .bind(i64::from(who.email_verified))
        .bind(&who.name)
        .bind(&who.avatar_url)
        .bind(r.now)
        .bind(&who.notion_user_id)
        .fetch_optional(&mut *tx)
        .await?;

        let (user_id, account_id, created_user) = match existing {
            Some((user_id, account_id)) => {
                sqlx::query("UPDATE users SET email = $1, name = $2, image_url = $3, updated_at = $4, last_sign_in_at = $4 WHERE id = $5")
                    .bind(&who.email)
                    .bind(&who.name)
                    .bind(&who.avatar_url)
                    .bind(r.now)
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await?;
                (user_id, account_id, false)
            }
            None => {
                if !r.allow_sign_up {
                    return Err(TxError::Refused(SignInRefused::SignUpsClosed));
                }
                sqlx::query(
                    "INSERT INTO users (id, email, name, image_url, created_at, updated_at, last_sign_in_at)
                     VALUES ($1, $2, $3, $4, $5, $5, $5)",
                )
                .bind(&r.new_user_id)
                .bind(&who.email)
                .bind(&who.name)
                .bind(&who.avatar_url)
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO external_accounts (id, user_id, provider, provider_user_id, email, email_verified, name, avatar_url, created_at, updated_at)
                     VALUES ($1, $2, 'notion', $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&r.new_account_id)
                .bind(&r.new_user_id)
                .bind(&who.notion_user_id)
                .bind(&who.email)
                .bind(i64::from(who.email_verified))
                .bind(&who.name)
                .bind(&who.avatar_url)
                .bind(r.now)
                .execute(&mut *tx)
                .await?;
                (r.new_user_id.clone(), r.new_account_id.clone(), true)
            }
        };

        // Notion may hand out a fresh token pair at every authorization: replace both at once.
        let g = &r.grant;
        sqlx::query(
            "INSERT INTO workspace_grants (bot_id, external_account_id, connection_id, workspace_id, workspace_name, workspace_icon,
                                           access_token_sealed, refresh_token_sealed, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (bot_id) DO UPDATE SET
                 external_account_id = excluded.external_account_id, connection_id = excluded.connection_id,
                 workspace_id = excluded.workspace_id, workspace_name = excluded.workspace_name,
                 workspace_icon = excluded.workspace_icon, access_token_sealed = excluded.access_token_sealed,
                 refresh_token_sealed = excluded.refresh_token_sealed, updated_at = excluded.updated_at",
        )
        .bind(&g.bot_id)
        .bind(&account_id)
        .bind(&g.connection_id)
        .bind(&g.workspace_id)
        .bind(&g.workspace_name)
        .bind(&g.workspace_icon)
        .bind(&g.access_token_sealed)
        .bind(&g.refresh_token_sealed)
        .bind(r.now)
        .execute(&mut *tx)
        .await?;

        let s = &r.session;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, user_agent, created_at, last_active_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(&s.id)
        .bind(&user_id)
        .bind(&s.token_hash)
        .bind(&s.user_agent)
        .bind(r.now)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await?;

        if let Some(previous) = &r.replaces_session_hash {
            // The browser's earlier session ends with this sign-in (no two live sessions per device).
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                .bind(r.now)
                .bind(previous)
                .execute(&mut *tx)
                .await?;
        }

        tx.commit().await?;
        Ok(SignInWritten { user_id, session_id: s.id.clone(), created_user })
    }

    // ----- sessions ----------------------------------------------------------------------

    pub async fn session_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        if let Some(known) = self.memo().and_then(|m| m.sessions.get(token_hash)) {
            return Ok(Some(known));
        }
        let ticket = self.memo().map(|m| m.sessions.ticket());
        let row = sqlx::query_as::<_, SessionRow>(
            "SELECT id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.reads)
        .await?;
        if let (Some(memo), Some(ticket), Some(row)) = (self.memo(), ticket, &row) {
            memo.sessions.put(ticket, token_hash.to_string(), row.clone());
        }
        Ok(row)
    }

    /// Marks the session with this token hash used at `now`.
    pub async fn touch_session(&self, token_hash: &str, now: Millis) -> StoreResult<()> {
        if let Some(writer) = &self.sign_in_writer {
            let hash = token_hash.to_string();
            writer.run(move |conn| sqlite_writer::touch_session(conn, &hash, now)).await?;
        } else {
            sqlx::query("UPDATE sessions SET last_active_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(token_hash)
                .execute(&mut *self.writer().await?)
                .await?;
        }
        if let Some(memo) = self.memo() {
            memo.sessions.update(token_hash, |row| row.last_active_at = now);
        }
        Ok(())
    }

    /// Ends a session; with `user_id`, only if it is that user's. True when one was ended.
    pub async fn revoke_session(&self, id: &str, user_id: Option<&str>, now: Millis) -> StoreResult<bool> {
        let done = match user_id {
            Some(user_id) => {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .bind(user_id)
                    .execute(&mut *self.writer().await?)
                    .await?
            }
            None => {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *self.writer().await?)
                    .await?
            }
        };
        if let Some(memo) = self.memo() {
            memo.sessions.forget_where(|row| row.id == id);
        }
        Ok(done.rows_affected() == 1)
    }

    pub async fn sessions_of_user(&self, user_id: &str) -> StoreResult<Vec<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(
            "SELECT id, user_id, user_agent, created_at, last_active_at, expires_at, revoked_at
             FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&self.reads)
        .await?)
    }

    // ----- users -------------------------------------------------------------------------

    pub async fn user(&self, id: &str) -> StoreResult<Option<model::User>> {
        Ok(self.shared_user(id).await?.map(Arc::unwrap_or_clone))
    }

    /// [`Store::user`], shared rather than copied (from the memo, on SQLite).
    pub async fn shared_user(&self, id: &str) -> StoreResult<Option<Arc<model::User>>> {
        if let Some(known) = self.memo().and_then(|m| m.users.get(id)) {
            return Ok(Some(known));
        }
        let ticket = self.memo().map(|m| m.users.ticket());
        let Some(user) = sqlx::query_as::<_, UserRow>(
            "SELECT id, email, name, image_url, created_at, last_sign_in_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reads)
        .await?
        else {
            return Ok(None);
        };
        let accounts = sqlx::query_as::<_, AccountRow>(
            "SELECT id, provider, provider_user_id, email, name, avatar_url FROM external_accounts WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(id)
        .fetch_all(&self.reads)
        .await?;
        let grants = sqlx::query_as::<_, GrantSummaryRow>(
            "SELECT g.external_account_id, g.workspace_id, g.workspace_name, g.workspace_icon, g.bot_id
             FROM workspace_grants g JOIN external_accounts a ON a.id = g.external_account_id
             WHERE a.user_id = $1 ORDER BY g.created_at",
        )
        .bind(id)
        .fetch_all(&self.reads)
        .await?;
        let user = Arc::new(user.into_model(accounts, grants));
        if let (Some(memo), Some(ticket)) = (self.memo(), ticket) {
            memo.users.put(ticket, id.to_string(), user.clone());
        }
        Ok(Some(user))
    }
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest).split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Locks `<database>.lock` for as long as this process runs (the system lets go when it ends,
/// even by `kill -9`): SQLite is for one process, and the memo relies on seeing every write.
fn take_ownership(database: &Path) -> StoreResult<std::fs::File> {
    let mut path = database.as_os_str().to_owned();
    path.push(".lock");
    let unusable =
        |e: std::io::Error| StoreError::Unavailable(format!("cannot lock {}: {e}", Path::new(&path).display()));
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(unusable)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "another Latchkey process is using the SQLite database {}; SQLite serves one process (run replicas on PostgreSQL)",
            database.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(unusable(e)),
    }
}

/// WAL lets readers proceed while the writer writes (and NORMAL syncs at checkpoints, not at
/// every commit: a power cut may lose the last commits, never corrupt); foreign keys enforce
/// the cascades; the busy timeout covers checkpoints.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// See [`Store::writer`].
enum WriteConnection<'a> {
    Owned(tokio::sync::MutexGuard<'a, AnyConnection>),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for WriteConnection<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConnection::Owned(guard) => guard,
            WriteConnection::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for WriteConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConnection::Owned(guard) => guard,
            WriteConnection::Pooled(conn) => conn,
        }
    }
}

enum TxError {
    Sql(sqlx::Error),
    Refused(SignInRefused),
}

impl From<sqlx::Error> for TxError {
    fn from(error: sqlx::Error) -> Self {
        TxError::Sql(error)
    }
}

/// A consistent copy of the SQLite database at `database_url` into `destination`, taken while
/// the server may be running: `VACUUM INTO` reads one snapshot (WAL: it waits for no writer and
/// blocks none) and writes a compact, self-contained database file. Does not take the process
/// lock: copying is a reader's job. `Err` is a sentence for the operator.
pub fn backup_sqlite(database_url: &str, destination: &Path) -> Result<(), String> {
    let Some(source) = sqlite_file(database_url) else {
        return Err("DATABASE_URL does not name a SQLite file".into());
    };
    if !source.exists() {
        return Err(format!("there is no database at {}", source.display()));
    }
    if destination.exists() {
        return Err(format!("{} exists already; choose a new file", destination.display()));
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(&source, flags)
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let target = destination.to_str().ok_or("the backup path must be valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(|e| format!("copying into {target} failed: {e}"))?;
    Ok(())
}
