//! Storage: one interface, two engines (SQLite embedded, PostgreSQL for replicas).
//!
//! Every statement is written once, in SQL both engines run, with `$n` placeholders. Reads go
//! through sqlx's pool on both engines; writes through `engine.rs`, which on SQLite runs each
//! write whole on the one writer thread. One file per table (or group of tables written
//! together), each keeping the memo's invalidation beside its writes.

#[macro_use]
mod engine;
mod admin_sessions;
mod audit;
mod codec;
mod connections;
mod flows;
mod grants;
mod memo;
mod oauth;
mod rows;
mod sealed;
mod sessions;
mod settings;
mod shared_reads;
mod sign_in;
mod signing_keys;
mod users;
mod webhooks;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use admin_sessions::AdminSessionRow;
use engine::{Db, FromCells, PostgresTx, SqliteTx, SqliteWriter, Statement};
pub use grants::GrantTokensRow;
use memo::{Memo, Table};
pub use oauth::{OAuthApplicationRow, OAuthCodeRow, OAuthGrantRow, OAuthTokenRow, Redemption, TokenKind};
pub use rows::*;
pub use sealed::SealedColumn;
use shared_reads::{SharedReads, SharedRows};
pub use sign_in::{SignInRefused, SignInWritten};
pub use signing_keys::SigningKeyRow;
pub use webhooks::{events_column, AttemptOutcome, ClaimedDelivery, DeliveryRow, WebhookEndpointRow};

use crate::time::Millis;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    /// A unique key is taken (a concurrent write got there first).
    #[error("already exists: {0}")]
    Conflict(String),
    /// PostgreSQL ended the transaction to break a deadlock (or a serialization failure) between
    /// concurrent writes: it changed nothing, and the same write may be tried again.
    #[error("ended by a concurrent write: {0}")]
    Contention(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.to_string()),
            // deadlock_detected, serialization_failure
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")) => {
                StoreError::Contention(db.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// Reads go here: several connections (under WAL, SQLite's readers never wait for the
    /// writer). On PostgreSQL, writes too.
    reads: AnyPool,
    /// SQLite: the one writer (see engine.rs). Every write goes through it, in turn.
    sqlite_writer: Option<Arc<SqliteWriter>>,
    engine: Engine,
    /// SQLite only: the rows every request reads, kept exact by the writes (see memo.rs).
    memo: Option<Arc<Memo>>,
    /// PostgreSQL only: the settings and connections every sign-in reads, one read for the
    /// requests that ask at once (see shared_reads.rs).
    shared: Option<Arc<SharedRows>>,
    /// SQLite only: held while the store lives, so no second process opens the same file.
    _owner: Option<Arc<std::fs::File>>,
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
        match engine {
            Engine::Sqlite => {
                let file = sqlite_file(database_url).ok_or_else(|| {
                    StoreError::Unavailable(
                        "DATABASE_URL must name a SQLite file (sqlite://path/to/latchkey.db)".into(),
                    )
                })?;
                let owner = Arc::new(take_ownership(&file)?);
                // Created for its owner only: it holds every user and the admin's password hash.
                // (SQLite gives its -wal and -shm files the database file's mode.) An empty file
                // is an empty database to SQLite.
                if !file.exists() {
                    private_file()
                        .write(true)
                        .create_new(true)
                        .open(&file)
                        .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", file.display())))?;
                }
                // A first connection creates the file, switches it to WAL and migrates it; then
                // the writer thread takes over every write.
                let mut first = options.connect().await?;
                first.execute(SQLITE_PRAGMAS).await?;
                sqlx::migrate!("./migrations/sqlite")
                    .run(&mut first)
                    .await
                    .map_err(|e| StoreError::Database(format!("migration failed: {e}")))?;
                sqlx::Connection::close(first).await?;
                let store = Store {
                    reads: pool(4).await?,
                    sqlite_writer: Some(Arc::new(SqliteWriter::open(&file)?)),
                    engine,
                    memo: Some(Arc::new(Memo::new())),
                    shared: None,
                    _owner: Some(owner),
                };
                store.release_webhook_leases().await?;
                Ok(store)
            }
            Engine::Postgres => {
                let reads = pool(16).await?;
                sqlx::migrate!("./migrations/postgres")
                    .run(&reads)
                    .await
                    .map_err(|e| StoreError::Database(format!("migration failed: {e}")))?;
                Ok(Store {
                    reads,
                    sqlite_writer: None,
                    engine,
                    memo: None,
                    shared: Some(Arc::new(SharedRows::new())),
                    _owner: None,
                })
            }
        }
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

    /// Runs one write statement (outside any transaction); how many rows it changed.
    async fn execute(&self, statement: Statement) -> StoreResult<u64> {
        match &self.sqlite_writer {
            Some(writer) => writer.run(move |conn| engine::ready(SqliteTx(conn).execute(statement))).await,
            None => PostgresTx::alone(&mut *self.reads.acquire().await?).execute(statement).await,
        }
    }

    /// Runs one write statement that returns at most a row (`… RETURNING`).
    async fn execute_returning<T: FromCells + Send + 'static>(&self, statement: Statement) -> StoreResult<Option<T>> {
        match &self.sqlite_writer {
            Some(writer) => writer.run(move |conn| engine::ready(SqliteTx(conn).optional(statement))).await,
            None => PostgresTx::alone(&mut *self.reads.acquire().await?).optional(statement).await,
        }
    }

    /// The memo, on SQLite (see memo.rs).
    fn memo(&self) -> Option<&Memo> {
        self.memo.as_deref()
    }

    /// Reads through the memo: the remembered answer, else `load`'s, which is remembered unless
    /// a write changed the table meanwhile. A `None` is remembered only with `remember_none`
    /// (a made-up session token should cost a read, never memory).
    async fn read_through<Q, K, V: Clone>(
        &self,
        table: impl Fn(&Memo) -> &Table<K, Option<V>>,
        key: &Q,
        remember_none: bool,
        load: impl Future<Output = StoreResult<Option<V>>>,
    ) -> StoreResult<Option<V>>
    where
        Q: ?Sized + Eq + std::hash::Hash + ToOwned<Owned = K>,
        K: Eq + std::hash::Hash + std::borrow::Borrow<Q>,
    {
        let Some(memo) = self.memo() else {
            return load.await;
        };
        if let Some(known) = table(memo).get(key) {
            return Ok(known);
        }
        let ticket = table(memo).ticket();
        let found = load.await?;
        if found.is_some() || remember_none {
            table(memo).put(ticket, key.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// A row every request reads, remembered even when absent: from the memo on SQLite, from a
    /// read shared with the requests asking at the same time on PostgreSQL (see
    /// shared_reads.rs). `load` makes the database read; it is called only when one is needed.
    async fn read_instance_row<Q, K, V, Load>(
        &self,
        memo: impl Fn(&Memo) -> &Table<K, Option<V>>,
        shared: impl Fn(&SharedRows) -> &SharedReads<K, Option<V>>,
        key: &Q,
        load: impl FnOnce() -> Load,
    ) -> StoreResult<Option<V>>
    where
        Q: ?Sized + Eq + std::hash::Hash + ToOwned<Owned = K>,
        K: Eq + std::hash::Hash + std::borrow::Borrow<Q>,
        V: Clone + Send + Sync + 'static,
        Load: Future<Output = StoreResult<Option<V>>> + Send + 'static,
    {
        match &self.shared {
            Some(rows) => shared(rows).read(key, load).await,
            None => self.read_through(memo, key, true, async { load().await }).await,
        }
    }

    /// Deletes sign-ins never finished and sessions long dead. Returns how many rows went.
    pub async fn prune_expired(&self, now: Millis) -> StoreResult<u64> {
        let flows = self.execute(sql!("DELETE FROM sign_in_flows WHERE expires_at < $1", now)).await?;
        // Keep ended sessions a day so a profile can still say "signed out"; then forget them.
        let sessions = self
            .execute(sql!("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1", now - crate::time::DAY))
            .await?;
        if let Some(memo) = self.memo() {
            memo.sessions.clear();
        }
        // Events stay a month (the dashboard shows their deliveries), unless still pending.
        let events = self.prune_webhook_events(now - 30 * crate::time::DAY).await?;
        let oauth = self.prune_oauth(now).await?;
        Ok(flows + sessions + events + oauth)
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
    let file = private_file().create(true).truncate(false).write(true).open(&path).map_err(unusable)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "another Latchkey process is using the SQLite database {}; SQLite serves one process (run replicas on PostgreSQL)",
            database.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(unusable(e)),
    }
}

/// Options for a file only its owner may read (mode 0600 on Unix).
fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// WAL lets readers proceed while the writer writes (and NORMAL syncs at checkpoints, not at
/// every commit: a power cut may lose the last commits, never corrupt); foreign keys enforce
/// the cascades; the busy timeout covers checkpoints.
const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

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
    // Created here, empty and for its owner only (the copy holds everything the database
    // does); SQLite fills an empty file. `create_new`: never a file or link that is there.
    private_file().write(true).create_new(true).open(destination).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!("{} exists already; choose a new file", destination.display()),
        _ => format!("cannot create {}: {e}", destination.display()),
    })?;
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(&source, flags)
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let target = destination.to_str().ok_or("the backup path must be valid UTF-8")?;
    if let Err(e) = conn.execute("VACUUM INTO ?1", [target]) {
        let _ = std::fs::remove_file(destination);
        return Err(format!("copying into {target} failed: {e}"));
    }
    Ok(())
}
