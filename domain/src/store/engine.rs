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
//!
//! On PostgreSQL every statement is a round trip, and the database shares the machine's cores:
//! a transaction holds back what it can. A write whose answer nobody reads ([`Db::write`]) waits
//! to go out with the next statement, all of them one statement (`WITH w0 AS (…), w1 AS (…) …`,
//! see [`fuse`]); a read before the first write ([`Db::read`]) runs before `BEGIN`, which goes
//! out only when a second statement follows a write. A sign-in of someone known is a read and one
//! statement, no `BEGIN` or `COMMIT`. On SQLite each statement runs when asked, in turn.
//! The writer thread commits the writes that queued meanwhile together, each in a savepoint
//! (see [`SqliteWriter`]).

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
                // Atomic there: the writer runs each job in a savepoint of its batch.
                writer
                    .run(move |conn| {
                        let mut sqlite = $crate::store::engine::SqliteTx(conn);
                        let $tx = &mut sqlite;
                        $crate::store::engine::ready($body)
                    })
                    .await
            }
            None => {
                let mut conn = store.reads.acquire().await?;
                let mut postgres = $crate::store::engine::PostgresTx::transaction(&mut *conn);
                let result = {
                    let $tx = &mut postgres;
                    $body.await
                };
                // Rolled back when dropped (sqlx's transaction), unless committed.
                match result {
                    Ok(value) => postgres.commit().await.map(|()| value),
                    Err(error) => Err(error),
                }
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
    /// True when each statement runs as it comes, in this process (SQLite on its one writer
    /// thread): a read costs no round trip there, so a write may look before it writes.
    const RUNS_AT_ONCE: bool;
    /// Runs a statement; how many rows it changed.
    async fn execute(&mut self, statement: Statement) -> StoreResult<u64>;
    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>>;
    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>>;
    /// A write whose count and rows nobody reads. PostgreSQL holds it back to send it with the
    /// next statement (or the commit) as one: its errors (a [`StoreError::Conflict`]…) may come
    /// from that later call. SQLite runs it at once.
    async fn write(&mut self, statement: Statement) -> StoreResult<()>;
    /// A read that takes no lock (no `FOR UPDATE`), at most a row. Before the transaction has
    /// written anything, PostgreSQL runs it without beginning the transaction: under READ
    /// COMMITTED a statement sees the same inside and outside one.
    async fn read<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>>;
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
    const RUNS_AT_ONCE: bool = true;

    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        Ok(self.prepared(&statement)?.raw_execute()? as u64)
    }

    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        Ok(self.rows(&statement, 1)?.pop())
    }

    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>> {
        self.rows(&statement, usize::MAX)
    }

    async fn write(&mut self, statement: Statement) -> StoreResult<()> {
        self.prepared(&statement)?.raw_execute()?;
        Ok(())
    }

    async fn read<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        Ok(self.rows(&statement, 1)?.pop())
    }
}

/// PostgreSQL, on a connection of the pool: one statement on its own, or a transaction that
/// begins when it must (see the module's notes).
pub(crate) struct PostgresTx<'c> {
    link: Link<'c>,
    /// Writes held back, in order, to go out as one statement before the next one.
    held: Vec<Statement>,
}

enum Link<'c> {
    /// Each statement on its own (a write made of one statement).
    Alone(&'c mut AnyConnection),
    /// A transaction whose `BEGIN` has not been needed yet.
    NotBegun(&'c mut AnyConnection),
    Begun(sqlx::Transaction<'c, sqlx::Any>),
    /// `BEGIN` failed.
    Lost,
}

impl<'c> PostgresTx<'c> {
    /// Statements each on its own, outside any transaction.
    pub fn alone(conn: &'c mut AnyConnection) -> Self {
        PostgresTx { link: Link::Alone(conn), held: Vec::new() }
    }

    /// A transaction, committed by [`PostgresTx::commit`] and rolled back when dropped.
    pub fn transaction(conn: &'c mut AnyConnection) -> Self {
        PostgresTx { link: Link::NotBegun(conn), held: Vec::new() }
    }

    fn connection(&mut self) -> StoreResult<&mut AnyConnection> {
        match &mut self.link {
            Link::Alone(conn) | Link::NotBegun(conn) => Ok(conn),
            Link::Begun(transaction) => Ok(&mut **transaction),
            Link::Lost => Err(StoreError::Unavailable("the transaction could not begin".into())),
        }
    }

    /// Before a statement whose answer the write reads: `BEGIN` if it has not gone out, then
    /// the writes held back.
    async fn flushed(&mut self) -> StoreResult<&mut AnyConnection> {
        if matches!(self.link, Link::NotBegun(_)) {
            if let Link::NotBegun(conn) = std::mem::replace(&mut self.link, Link::Lost) {
                self.link = Link::Begun(sqlx::Connection::begin(conn).await?);
            }
        }
        if !self.held.is_empty() {
            let held = fuse(std::mem::take(&mut self.held));
            bound(&held).execute(&mut *self.connection()?).await?;
        }
        self.connection()
    }

    /// Sends what is held back and commits. A transaction that never needed `BEGIN` sends its
    /// held writes as one statement, atomic on its own.
    pub async fn commit(mut self) -> StoreResult<()> {
        let held = (!self.held.is_empty()).then(|| fuse(std::mem::take(&mut self.held)));
        match self.link {
            Link::Alone(conn) | Link::NotBegun(conn) => {
                if let Some(held) = held {
                    bound(&held).execute(conn).await?;
                }
            }
            Link::Begun(mut transaction) => {
                if let Some(held) = held {
                    bound(&held).execute(&mut *transaction).await?;
                }
                transaction.commit().await?;
            }
            Link::Lost => return Err(StoreError::Unavailable("the transaction could not begin".into())),
        }
        Ok(())
    }
}

/// Several writes as one PostgreSQL statement: each but the last a data-modifying `WITH` of the
/// last. They run on one snapshot, so none may need another's effect (or change a row another
/// changes); foreign keys are checked at the end of the statement, so a row and the rows that
/// refer to it may go together. Their `$n` are renumbered after the ones before.
fn fuse(mut statements: Vec<Statement>) -> Statement {
    if statements.len() == 1 {
        if let Some(statement) = statements.pop() {
            return statement;
        }
    }
    let mut args = Vec::new();
    let mut texts = Vec::with_capacity(statements.len());
    for statement in statements {
        texts.push(renumbered(&statement.sql, args.len()));
        args.extend(statement.args);
    }
    let sql = match texts.split_last() {
        Some((main, before)) => {
            let before: Vec<String> = before.iter().enumerate().map(|(i, text)| format!("w{i} AS ({text})")).collect();
            format!("WITH {} {main}", before.join(", "))
        }
        None => String::new(),
    };
    Statement { sql: sql.into(), args }
}

/// `text` with each `$n` (outside quotes) made `$(n + offset)`.
fn renumbered(text: &str, offset: usize) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\'' {
            quoted = !quoted;
        } else if c == '$' && !quoted {
            let mut number = String::new();
            while let Some(digit) = chars.next_if(char::is_ascii_digit) {
                number.push(digit);
            }
            match number.parse::<usize>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&number),
            }
        }
    }
    out
}

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
    const RUNS_AT_ONCE: bool = false;

    async fn execute(&mut self, statement: Statement) -> StoreResult<u64> {
        Ok(bound(&statement).execute(self.flushed().await?).await?.rows_affected())
    }

    async fn optional<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        let row = bound(&statement).fetch_optional(self.flushed().await?).await?;
        row.map(|row| T::from_cells(&row)).transpose()
    }

    async fn all<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Vec<T>> {
        let rows = bound(&statement).fetch_all(self.flushed().await?).await?;
        rows.iter().map(|row| T::from_cells(row)).collect()
    }

    async fn write(&mut self, statement: Statement) -> StoreResult<()> {
        match self.link {
            Link::Alone(_) => self.execute(statement).await.map(|_| ()),
            _ => {
                self.held.push(statement);
                Ok(())
            }
        }
    }

    async fn read<T: FromCells>(&mut self, statement: Statement) -> StoreResult<Option<T>> {
        let before_any_write = matches!(self.link, Link::NotBegun(_)) && self.held.is_empty();
        let conn = if before_any_write { self.connection()? } else { self.flushed().await? };
        let row = bound(&statement).fetch_optional(conn).await?;
        row.map(|row| T::from_cells(&row)).transpose()
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

/// A write queued for the writer thread. Its caller is answered only once the batch it ran in
/// is committed (or not).
trait Write: Send {
    fn run(self: Box<Self>, conn: &Connection) -> Ran;
    /// It could not run (its transaction could not begin): answers why.
    fn refuse(self: Box<Self>, why: &StoreError);
}

type Job = Box<dyn Write>;

/// Answers a write's caller; given the commit's error when the commit failed.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

struct Ran {
    /// The write succeeded: its statements stay in the batch.
    ok: bool,
    /// Answers the caller: with the write's own result once the batch is committed, or with the
    /// commit's error.
    answer: Answer,
}

struct Queued<F, T> {
    job: F,
    answer: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Write for Queued<F, T>
where
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Ran {
        let Queued { job, answer } = *self;
        let result = job(conn);
        Ran {
            ok: result.is_ok(),
            answer: Box::new(move |commit_failed| {
                let answered = match (commit_failed, result) {
                    (Some(error), Ok(_)) => Err(StoreError::Unavailable(format!("not committed: {error}"))),
                    (_, result) => result,
                };
                let _ = answer.send(answered);
            }),
        }
    }

    fn refuse(self: Box<Self>, why: &StoreError) {
        let _ = self.answer.send(Err(StoreError::Unavailable(format!("the write could not begin: {why}"))));
    }
}

/// How many queued writes one commit takes at most: enough to share a commit among the sign-ins
/// that pile up under load, few enough that the first of them does not wait long for the last.
const MOST_WRITES_PER_COMMIT: usize = 32;

/// SQLite's one writer: a thread with its own connection that runs writes in the order asked.
///
/// Group commit: the writes that queued while the previous commit ran go into one transaction,
/// each in its own savepoint (a failed write is rolled back alone; the others stand), and are
/// answered after the one `COMMIT`. Every commit writes each page it changed to the WAL, and the
/// writes of concurrent sign-ins change the same pages (the sessions table and its indexes, the
/// flows), so a shared commit writes them once. An idle writer commits each write on its own.
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens a connection to the (already migrated) database and starts its thread, which ends
    /// when the writer is dropped.
    pub fn open(database: &Path) -> StoreResult<SqliteWriter> {
        let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("SQLite writer: {e}"));
        let conn = Connection::open(database).map_err(|e| unavailable(&e))?;
        conn.execute_batch(SQLITE_PRAGMAS).map_err(|e| unavailable(&e))?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MOST_WRITES_PER_COMMIT {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    commit_together(&conn, batch);
                }
            })
            .map_err(|e| unavailable(&e))?;
        Ok(SqliteWriter { jobs })
    }

    /// Runs `job` on the writer's thread, after the jobs queued before it, atomically: its
    /// statements all stand or, when it fails, none does.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let stopped = || StoreError::Unavailable("the SQLite writer has stopped".into());
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs.send(Box::new(Queued { job, answer })).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// A transaction's own statement, prepared once (several per batch: parsing each anew showed in
/// the writer thread's profile).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// One transaction for a batch of writes, each in a savepoint, then one `COMMIT`; every caller
/// is answered after it.
fn commit_together(conn: &Connection, batch: Vec<Job>) {
    let mut waiting: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut begun = false;
    for job in batch {
        if !begun {
            if let Err(error) = control(conn, "BEGIN IMMEDIATE") {
                job.refuse(&StoreError::from(error));
                continue;
            }
            begun = true;
        }
        if let Err(error) = control(conn, "SAVEPOINT write") {
            job.refuse(&StoreError::from(error));
            continue;
        }
        let ran = job.run(conn);
        let rolled_back = if ran.ok { Ok(()) } else { control(conn, "ROLLBACK TO write") };
        let ended = rolled_back.and_then(|()| control(conn, "RELEASE write"));
        if conn.is_autocommit() {
            // SQLite gave up the whole transaction (a full disk, an I/O error): the writes
            // before this one went with it. The rest begin anew.
            let lost = StoreError::Unavailable(format!(
                "SQLite rolled the transaction back{}",
                ended.err().map(|e| format!(": {e}")).unwrap_or_default()
            ));
            for earlier in waiting.drain(..) {
                (earlier.answer)(Some(&lost));
            }
            (ran.answer)(if ran.ok { Some(&lost) } else { None });
            begun = false;
            continue;
        }
        waiting.push(ran);
    }
    if !begun {
        return;
    }
    let committed = control(conn, "COMMIT").map_err(StoreError::from);
    if committed.is_err() && !conn.is_autocommit() {
        let _ = control(conn, "ROLLBACK");
    }
    for ran in waiting {
        (ran.answer)(committed.as_ref().err());
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
    fn fused_writes_number_their_parameters_one_after_another() {
        let fused = fuse(vec![
            sql!("INSERT INTO a (x, y) VALUES ($1, $2)", 1_i64, "two"),
            sql!("UPDATE b SET s = '$1' || $1 WHERE t = $2", "three", 4_i64),
            sql!("DELETE FROM c WHERE z = $1 OR z = $1", 5_i64),
        ]);
        assert_eq!(
            fused.sql,
            "WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), w1 AS (UPDATE b SET s = '$1' || $3 WHERE t = $4) \
             DELETE FROM c WHERE z = $5 OR z = $5"
        );
        assert_eq!(fused.args, vec![Arg::Int(1), Arg::from("two"), Arg::from("three"), Arg::Int(4), Arg::Int(5)]);
        let one = fuse(vec![sql!("DELETE FROM c WHERE z = $1", 5_i64)]);
        assert_eq!(one.sql, "DELETE FROM c WHERE z = $1");
    }

    /// A write for [`commit_together`], and where its answer arrives.
    fn write<T: Send + 'static>(
        job: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> (Job, tokio::sync::oneshot::Receiver<StoreResult<T>>) {
        let (answer, answered) = tokio::sync::oneshot::channel();
        (Box::new(Queued { job, answer }), answered)
    }

    fn rows(conn: &Connection, table: &str) -> Vec<String> {
        let mut statement = conn.prepare(&format!("SELECT a FROM {table} ORDER BY a")).unwrap();
        statement.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn writes_share_a_commit_and_a_failed_one_leaves_the_others_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writes.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (a TEXT PRIMARY KEY)").unwrap();
        let reader = Connection::open(&path).unwrap();
        let insert = |value: &'static str| {
            move |conn: &Connection| ready(SqliteTx(conn).execute(sql!("INSERT INTO t (a) VALUES ($1)", value)))
        };
        let (first, first_answer) = write(insert("a"));
        // Half done, then a conflict: its first row must go too.
        let (second, second_answer) = write(move |conn: &Connection| {
            insert("b")(conn)?;
            insert("a")(conn)
        });
        // Runs after the first, in the same transaction: another connection does not see the
        // first's row yet.
        let (third, third_answer) = write(move |conn: &Connection| {
            let seen_elsewhere = rows(&reader, "t");
            insert("c")(conn).map(|_| seen_elsewhere)
        });
        commit_together(&conn, vec![first, second, third]);

        assert_eq!(rows(&conn, "t"), ["a", "c"]);
        assert!(matches!(first_answer.blocking_recv().unwrap(), Ok(1)));
        let refused = second_answer.blocking_recv().unwrap();
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(third_answer.blocking_recv().unwrap().unwrap(), Vec::<String>::new(), "one commit for the three");
        assert!(conn.is_autocommit(), "the batch's transaction is over");
    }

    #[test]
    fn when_the_shared_commit_fails_every_write_in_it_hears_so_and_none_stands() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("writes.db")).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (a TEXT PRIMARY KEY);
             CREATE TABLE child (a TEXT REFERENCES parent (a) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let (parent, parent_answer) =
            write(|conn: &Connection| ready(SqliteTx(conn).execute(sql!("INSERT INTO parent (a) VALUES ('x')"))));
        // Checked only at COMMIT (a deferred key): the statement succeeds, the commit fails.
        let (orphan, orphan_answer) =
            write(|conn: &Connection| ready(SqliteTx(conn).execute(sql!("INSERT INTO child (a) VALUES ('nobody')"))));
        commit_together(&conn, vec![parent, orphan]);

        for answer in [parent_answer, orphan_answer] {
            let answer = answer.blocking_recv().unwrap();
            assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
        }
        assert_eq!(rows(&conn, "parent"), Vec::<String>::new());
        assert!(conn.is_autocommit(), "rolled back, ready for the next batch");
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
