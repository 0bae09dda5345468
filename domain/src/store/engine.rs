//! The seam between the store and its two engines: every write is written once.
//!
//! A statement is SQL both engines run, with `$n` placeholders, and its arguments ([`sql!`]).
//! A write is an `async fn` over [`Db`]; it runs
//! - on **PostgreSQL** through sqlx, on a pooled connection ([`PostgresTx`]);
//! - on **SQLite** whole on the store's one writer thread, on a synchronous rusqlite connection
//!   ([`SqliteTx`], whose futures are ready when first polled). sqlx would make each statement
//!   a round trip between the asking task and its connection thread; with one writer, every
//!   sign-in would wait for the others' round trips. One hand-off per write instead.
//!
//! SQLite numbers named parameters in the order they first appear, so `$n` is bound by name to
//! the n-th argument, never by position.

use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};

use rusqlite::{Connection, ToSql};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::{StoreError, StoreResult, SQLITE_PRAGMAS};

/// A value bound to a `$n`. NULLs carry their type: PostgreSQL checks a parameter's type
/// against its column's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<bool> for Arg {
    fn from(value: bool) -> Self {
        Arg::Int(i64::from(value))
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_string())
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Arg::NullText, Arg::from)
    }
}

impl From<&Option<String>> for Arg {
    fn from(value: &Option<String>) -> Self {
        Arg::from(value.as_deref())
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        value.map_or(Arg::NullText, Arg::Text)
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Arg::NullInt, Arg::Int)
    }
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Arg::Int(value) => ToSqlOutput::Owned(Value::Integer(*value)),
            Arg::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
            Arg::NullInt | Arg::NullText => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// One statement and what its `$n` stand for. The text is a literal, except where the store
/// names a table from its own fixed list (see `sealed.rs`).
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: std::borrow::Cow<'static, str>,
    pub args: Vec<Arg>,
}

/// `sql!("… $1 … $2", a, b)`: a [`Statement`].
macro_rules! sql {
    ($text:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::engine::Statement {
            sql: std::borrow::Cow::from($text),
            args: vec![$($crate::store::engine::Arg::from($arg)),*],
        }
    };
}

/// Runs a write made of several statements in one transaction, committed when it returns `Ok`
/// and rolled back otherwise: `transaction!(store, |tx| some_write(tx, &owned_args))`. The body
/// is written once and compiled for each engine; on SQLite it moves to the writer thread, so
/// it captures owned values.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let store: &$crate::store::Store = &$store;
        match &store.sqlite_writer {
            Some(writer) => {
                writer
                    .run(move |conn| {
                        let t = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                        let result = {
                            let mut sqlite = $crate::store::engine::SqliteTx(&t);
                            let $tx = &mut sqlite;
                            $crate::store::engine::ready($body)
                        };
                        if result.is_ok() {
                            t.commit()?;
                        }
                        result
                    })
                    .await
            }
            None => {
                let mut conn = store.reads.acquire().await?;
                let mut t = sqlx::Connection::begin(&mut *conn).await?;
                let result = {
                    let mut postgres = $crate::store::engine::PostgresTx(&mut *t);
                    let $tx = &mut postgres;
                    $body.await
                };
                if result.is_ok() {
                    t.commit().await?;
                }
                result
            }
        }
    }};
}

/// What a row offers: its cells by position.
pub(crate) trait Cells {
    fn int(&self, index: usize) -> StoreResult<Option<i64>>;
    fn text(&self, index: usize) -> StoreResult<Option<String>>;

    fn some_int(&self, index: usize) -> StoreResult<i64> {
        self.int(index)?.ok_or_else(|| null_cell(index))
    }

    fn some_text(&self, index: usize) -> StoreResult<String> {
        self.text(index)?.ok_or_else(|| null_cell(index))
    }
}

fn null_cell(index: usize) -> StoreError {
    StoreError::Database(format!("column {index} is unexpectedly NULL"))
}

/// A value a write reads back (`RETURNING`, or a read inside its transaction).
pub(crate) trait FromCells: Sized {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self>;
}

impl FromCells for String {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        row.some_text(0)
    }
}

impl FromCells for i64 {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        row.some_int(0)
    }
}

impl FromCells for (String, String) {
    fn from_cells(row: &dyn Cells) -> StoreResult<Self> {
        Ok((row.some_text(0)?, row.some_text(1)?))
    }
}

impl Cells for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(index)?)
    }

    fn text(&self, index: usize) -> StoreResult<Option<String>> {
        Ok(self.get(index)?)
    }
}

impl Cells for AnyRow {
    fn int(&self, index: usize) -> StoreResult<Option<i64>> {
        Ok(self.try_get(index)?)
    }

    fn text(&self, index: usize) -> StoreResult<Option<String>> {
        Ok(self.try_get(index)?)
    }
}

/// Where a write's statements run: a transaction (or one statement) on either engine.
#[allow(async_fn_in_trait)] // crate-private; the callers know the concrete types
pub(crate) trait Db {
    /// Runs a statement; how many rows it changed.
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64>;
    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>>;
    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>>;
}

/// SQLite, on the writer thread.
pub(crate) struct SqliteTx<'c>(pub &'c Connection);

impl SqliteTx<'_> {
    fn prepared(&self, statement: &Statement) -> StoreResult<rusqlite::CachedStatement<'_>> {
        let mut prepared = self.0.prepare_cached(&statement.sql)?;
        for index in 1..=prepared.parameter_count() {
            let position = prepared
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| StoreError::Database(format!("parameter {index} of a statement is not $n")))?;
            let arg = statement
                .args
                .get(position - 1)
                .ok_or_else(|| StoreError::Database(format!("no argument for ${position}")))?;
            prepared.raw_bind_parameter(index, arg)?;
        }
        Ok(prepared)
    }

    fn rows<T: FromCells>(&self, statement: &Statement, limit: usize) -> StoreResult<Vec<T>> {
        let mut prepared = self.prepared(statement)?;
        let mut rows = prepared.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            found.push(T::from_cells(row)?);
            if found.len() == limit {
                break;
            }
        }
        Ok(found)
    }
}

impl Db for SqliteTx<'_> {
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        Ok(self.prepared(&statement)?.raw_execute()? as u64)
    }

    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        Ok(self.rows(&statement, 1)?.pop())
    }

    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>> {
        self.rows(&statement, usize::MAX)
    }
}

/// PostgreSQL, on a connection of the pool (in a transaction or not).
pub(crate) struct PostgresTx<'c>(pub &'c mut AnyConnection);

fn bound(statement: &Statement) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    let mut query = sqlx::query(&statement.sql);
    for arg in &statement.args {
        query = match arg {
            Arg::Int(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.as_str()),
            Arg::NullInt => query.bind(None::<i64>),
            Arg::NullText => query.bind(None::<String>),
        };
    }
    query
}

impl Db for PostgresTx<'_> {
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        Ok(bound(&statement).execute(&mut *self.0).await?.rows_affected())
    }

    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        let row = bound(&statement).fetch_optional(&mut *self.0).await?;
        row.map(|row| T::from_cells(&row)).transpose()
    }

    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>> {
        let rows = bound(&statement).fetch_all(&mut *self.0).await?;
        rows.iter().map(|row| T::from_cells(row)).collect()
    }
}

/// The answer of a write run on SQLite's writer thread: its statements are synchronous, so its
/// future is ready at the first poll.
pub(crate) fn ready<T>(write: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut write = std::pin::pin!(write);
    match write.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => answer,
        Poll::Pending => Err(StoreError::Database("a SQLite write waited for something other than SQLite".into())),
    }
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// SQLite's one writer: a thread with its own connection that runs writes in the order asked.
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens a connection to the (already migrated) database and starts its thread, which ends
    /// when the writer is dropped.
    pub fn open(database: &Path) -> StoreResult<SqliteWriter> {
        let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("SQLite writer: {e}"));
        let mut conn = Connection::open(database).map_err(|e| unavailable(&e))?;
        conn.execute_batch(SQLITE_PRAGMAS).map_err(|e| unavailable(&e))?;
        conn.set_prepared_statement_cache_capacity(64);
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
        job: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let stopped = || StoreError::Unavailable("the SQLite writer has stopped".into());
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = answer.send(job(conn));
            }))
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(error.to_string())
            }
            Some(rusqlite::ErrorCode::ConstraintViolation) if matches!(&error, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                StoreError::Conflict(error.to_string())
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_binds_dollar_n_by_number_not_by_position() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT, b INTEGER)").unwrap();
        let mut tx = SqliteTx(&conn);
        // $2 appears first: SQLite calls it parameter 1.
        ready(tx.execute(sql!("INSERT INTO t (b, a) VALUES ($2, $1)", "first", 7_i64))).unwrap();
        let row: Option<(String, String)> =
            ready(tx.optional(sql!("SELECT a, CAST(b AS TEXT) FROM t WHERE a = $1", "first"))).unwrap();
        assert_eq!(row, Some(("first".to_string(), "7".to_string())));
        let missing = ready(tx.execute(sql!("INSERT INTO t (a) VALUES ($2)", "only one")));
        assert!(matches!(missing, Err(StoreError::Database(_))), "{missing:?}");
    }

    #[test]
    fn a_unique_violation_is_a_conflict() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT PRIMARY KEY)").unwrap();
        let mut tx = SqliteTx(&conn);
        ready(tx.execute(sql!("INSERT INTO t (a) VALUES ($1)", "x"))).unwrap();
        let again = ready(tx.execute(sql!("INSERT INTO t (a) VALUES ($1)", "x")));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    }
}
