//! All SQL lives here. Functions are named after what they return or change; they take a
//! connection so the service layer decides the transaction. No business rules: those are in
//! `domain` and `service`.
//!
//! One code path serves both backends through sqlx's `Any` driver. The SQL is written in the
//! common dialect of SQLite and PostgreSQL (`$1` placeholders, `returning`, `on conflict`), and
//! values travel as text and 64-bit integers, which both backends store identically.
//! The one exception is the bulk read of a compliance export from SQLite (`export`), which
//! reads the file directly: see there why.

pub mod access;
pub mod assignments;
pub mod audit;
pub mod bench;
pub mod bootstrap;
pub mod changes;
pub mod credentials;
pub mod drift;
pub mod escalation;
pub mod export;
pub mod findings;
pub mod holder_cache;
pub mod hygiene;
pub mod identities;
pub mod jobs;
pub mod operators;
pub mod overview;
pub mod owners;
pub mod roles;
pub mod scopes;
pub mod services;
pub mod sessions;
pub mod sod;
pub mod sources;
mod sql;
pub mod templates;
pub mod throttle;
pub mod tokens;

pub use sql::{Identities, Sql};

use crate::domain::Timestamp;
use crate::error::AppError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The audit chain's anchor in this process (see `service::audit::verify_recent`).
#[derive(Debug, Default)]
struct ChainState {
    anchor: Option<crate::domain::audit::ChainAnchor>,
    clears: u64,
}

/// The database behind nhidb: a pool plus what is needed to open write transactions safely.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Writers take turns (see `begin`); this process's queue here (fairly, without polling)
    /// before they take a pooled connection, instead of in SQLite's busy handler or holding a
    /// connection while PostgreSQL makes them wait, which keeps latency flat under concurrent
    /// writes. On a SQLite file the turn also holds the one connection writes go through (see
    /// `Writer`).
    writer: Arc<Mutex<Writer>>,
    /// Shared by every clone of the store, like the pool.
    holders: Arc<holder_cache::HolderCache>,
    /// The escalation graph last built (see `escalation`), shared like the holder cache.
    escalation: Arc<escalation::GraphCache>,
    /// Where the last walk of the whole audit chain ended (see `service::audit::verify_recent`).
    chain_anchor: Arc<std::sync::Mutex<ChainState>>,
    /// The SQLite database file, for the export's direct reader; none for PostgreSQL and for
    /// in-memory databases, which a second connection could not see.
    sqlite_file: Option<std::path::PathBuf>,
    /// Direct readers of that file left idle by finished snapshots (see `export::Snapshot`).
    idle_readers: export::IdleReaders,
    /// Role versions' permissions, shared like the holder cache (see `access::VersionCache`).
    versions: Arc<access::VersionCache>,
    /// Whether the database answered the last attempt to get a connection (see `acquire`).
    outage: Arc<Outage>,
    /// For the probe that tells a database that is down from a pool that is busy.
    options: AnyConnectOptions,
}

/// How long a request waits for a pooled connection before it is told the database is not
/// answering. While connecting fails, sqlx keeps retrying until then.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// While the database is known not to answer, one request at most this often tries again
/// (briefly, `PROBE_TIMEOUT`); the others are answered 503 at once instead of each waiting out
/// `ACQUIRE_TIMEOUT` and holding a task, a socket and a client for it.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A request that has waited this long for a pooled connection has one connection opened
/// beside the pool (by one waiting request at a time): if that fails for want of a database,
/// every waiting request is answered 503 then, not after `ACQUIRE_TIMEOUT` (sqlx retries a
/// refused connection until then).
const PROBE_AFTER: Duration = Duration::from_millis(500);

/// Since when connections cannot be had, and when the last try was: a circuit breaker.
#[derive(Default)]
struct Outage {
    state: std::sync::Mutex<Option<(Instant, Instant)>>,
    probing: std::sync::atomic::AtomicBool,
}

/// What a request that needs a connection may do.
enum Attempt {
    /// The database answers: wait up to `ACQUIRE_TIMEOUT`, probing if it takes long.
    Wait,
    /// It did not: this request is the one a second that tries again, for `PROBE_TIMEOUT`.
    Retry,
}

impl Outage {
    /// `None` to fail at once.
    fn attempt(&self) -> Option<Attempt> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.as_mut() {
            None => Some(Attempt::Wait),
            Some((_, last)) if last.elapsed() < PROBE_EVERY => None,
            Some((_, last)) => {
                *last = Instant::now();
                Some(Attempt::Retry)
            }
        }
    }

    fn failed(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            tracing::error!("the database is not answering; requests are refused with 503 until it does");
            *state = Some((Instant::now(), Instant::now()));
        }
    }

    fn answered(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((since, _)) = state.take() {
            tracing::warn!(seconds = since.elapsed().as_secs_f64(), "the database answers again");
        }
    }

    fn is_down(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// The writers' turn, and (on a SQLite file and on PostgreSQL) the connection every write goes
/// through. SQLite drops a connection's page cache when another connection has written since
/// its last transaction, so writes spread over the pool re-read the index pages they touch
/// every time: a small write took about half as long again that way on the bench ledger.
/// PostgreSQL prepares and plans each statement per connection, and plans it afresh for its
/// first five runs there: spread over the pool, a write's statements were almost never past
/// that (settling an approved grant took 0.8–1.9 ms instead of 0.2 ms, most of it planning).
/// One kept connection keeps both warm. It is detached from the pool, so readers keep all of
/// theirs.
#[derive(Default)]
struct Writer {
    kept: Option<AnyConnection>,
    /// When the kept connection was opened and last handed back (PostgreSQL replaces it when
    /// either is old, see `KEPT_IDLE`).
    opened: Option<Instant>,
    used: Option<Instant>,
}

impl Writer {
    fn keep(&mut self, conn: AnyConnection) {
        self.kept = Some(conn);
        self.used = Some(Instant::now());
    }
}

/// A kept PostgreSQL writer connection idle longer than this, or older than `KEPT_LIFETIME`,
/// is replaced by one from the pool (which checks it is alive) rather than reused: a connection
/// a failover or a firewall dropped silently would otherwise hold the writers' turn until the
/// kernel gave up on its socket, and one that lived for ever would keep statements prepared
/// before another server changed the schema. A busy server keeps its connection warm.
const KEPT_IDLE: Duration = Duration::from_secs(60);
const KEPT_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// An error that says the connection itself is gone (rather than the statement refused): a
/// broken socket or protocol, or PostgreSQL's connection-exception and shutdown codes.
fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}

/// A write transaction. Dropping it without `commit` rolls back.
pub struct WriteTx {
    conn: TxConn,
    writer: Option<OwnedMutexGuard<Writer>>,
}

enum TxConn {
    Pooled(Transaction<'static, Any>),
    /// The writer's kept connection, inside `begin immediate`; taken out by commit or drop.
    Kept(Option<AnyConnection>),
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            TxConn::Pooled(tx) => tx,
            TxConn::Kept(conn) => conn.as_mut().expect("a write transaction's connection is present until it ends"),
        }
    }

    pub async fn commit(mut self) -> Result<(), AppError> {
        match &mut self.conn {
            TxConn::Pooled(_) => {
                let TxConn::Pooled(tx) = std::mem::replace(&mut self.conn, TxConn::Kept(None)) else { unreachable!() };
                tx.commit().await.map_err(db_error("commit"))
            }
            TxConn::Kept(conn) => {
                let mut conn = conn.take().expect("a write transaction's connection is present until it ends");
                match run_raw(&mut conn, "commit").await {
                    Ok(_) => {
                        if let Some(writer) = self.writer.as_mut() {
                            writer.keep(conn);
                        }
                        Ok(())
                    }
                    // Whatever state the failed commit left, closing the connection rolls it
                    // back; the next writer opens another.
                    Err(e) => Err(db_error("commit")(e)),
                }
            }
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let TxConn::Kept(conn) = &mut self.conn else { return };
        let (Some(conn), Some(writer)) = (conn.take(), self.writer.take()) else { return };
        // Abandoned (an error, or a request cancelled): roll back before the next writer's turn,
        // which stays taken until then. Without a runtime the connection is closed instead,
        // which rolls back too.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(rollback_kept(conn, writer));
        }
    }
}

/// Runs one statement through `Executor::execute`, whose boxed future is `Send`: the future of
/// `RawSql::execute` is not provably so for every lifetime, which the server functions'
/// futures need.
async fn run_raw(conn: &mut AnyConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql(sql)).await.map(|_| ())
}

async fn rollback_kept(mut conn: AnyConnection, mut writer: OwnedMutexGuard<Writer>) {
    match run_raw(&mut conn, "rollback").await {
        Ok(_) => writer.keep(conn),
        Err(e) => tracing::warn!(error = %e, "rolling back an abandoned write failed; its connection is closed"),
    }
}

/// A read-only snapshot; dropping it ends it.
pub struct ReadTx {
    tx: Transaction<'static, Any>,
}

impl ReadTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A new time-ordered id (ULID): sortable, unguessable enough for URLs, never reused.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// Stored timestamps were written by nhidb; one that does not parse means the row was damaged.
pub fn ts(text: &str) -> Result<Timestamp, AppError> {
    text.parse().map_err(|e: String| AppError::internal("stored timestamp", e))
}

pub fn ts_opt(text: Option<&str>) -> Result<Option<Timestamp>, AppError> {
    text.map(ts).transpose()
}

/// Stored vocabulary values were written by nhidb; see `ts`.
pub fn vocab<T>(text: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, AppError> {
    parse(text).map_err(|e| AppError::internal("stored value", e))
}

pub(crate) fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// A `like ... escape '\'` pattern matching lower-cased `text` anywhere.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}

/// A `like ... escape '\'` pattern matching the paths below `prefix`.
pub fn below_pattern(prefix: &str) -> String {
    format!("{}/%", escape_like(prefix))
}

/// Lists fetch one row more than the page size: if it comes back there is a next page, whose
/// cursor is the last row kept.
pub fn split_page<R>(mut rows: Vec<R>, size: u32, cursor_of: impl Fn(&R) -> String) -> (Vec<R>, Option<String>) {
    if rows.len() > size as usize {
        rows.truncate(size as usize);
        let cursor = rows.last().map(cursor_of);
        (rows, cursor)
    } else {
        (rows, None)
    }
}

/// Appends `(select column1 as KEY, column2 as at from (values ($1, $2), …) as vals) as v`: a
/// batch of (key, time) pairs to join an update against. Both backends name VALUES columns
/// column1, column2; neither lets the alias rename them portably.
pub fn push_timed_values(sql: &mut Sql, key: &str, rows: &[(String, Timestamp)]) {
    sql.push(&format!("(select column1 as {key}, column2 as at from (values "));
    for (i, (value, at)) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(").bind(value.clone()).push(", ").bind(at.to_rfc3339()).push(")");
    }
    sql.push(") as vals) as v");
}

/// Runs a `select count(*) ...` built with `Sql`.
pub async fn count(conn: &mut AnyConnection, sql: Sql, context: &'static str) -> Result<i64, AppError> {
    let (text, args) = sql.into_parts(conn);
    sqlx::query_scalar_with(&text, args).fetch_one(conn).await.map_err(db_error(context))
}

/// Whether the connection is to PostgreSQL (some statements have a dialect of their own).
pub(crate) fn is_postgres(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("postgresql")
}

/// Turns a database error into the safe internal error, logging the cause with `context`.
pub fn db_error(context: &'static str) -> impl FnOnce(sqlx::Error) -> AppError {
    move |e| {
        if is_disk_full(&e) {
            tracing::error!(context, error = %e, "the database's disk is full; writes are refused until space is freed");
            AppError::StorageFull { retry_after_seconds: 60 }
        } else if is_unreachable(&e) {
            tracing::warn!(context, error = %e, "the database is not answering");
            AppError::Unavailable { retry_after_seconds: RETRY_AFTER_SECONDS }
        } else {
            AppError::internal(context, e)
        }
    }
}

/// What a client told the database is not answering should wait before it tries again.
const RETRY_AFTER_SECONDS: i64 = 5;

/// The disk under the database is full: SQLite's `SQLITE_FULL` (13, also what a failed write to
/// the WAL becomes) or PostgreSQL's `disk_full` (53100).
fn is_disk_full(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "13" || c == "53100")
}

/// A connection that is gone, or none to be had in time: the database is down or out of reach
/// (503 and `Retry-After`, not a 500 with a request id).
fn is_unreachable(e: &sqlx::Error) -> bool {
    is_connection_error(e) || matches!(e, sqlx::Error::PoolTimedOut)
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// Maps a unique violation to `conflict`, anything else as `db_error` does.
pub fn unique_or(context: &'static str, conflict: impl FnOnce() -> AppError) -> impl FnOnce(sqlx::Error) -> AppError {
    move |e| if is_unique_violation(&e) { conflict() } else { db_error(context)(e) }
}

fn backend_of(url: &str) -> Result<Backend, String> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(format!("Unsupported database URL \"{url}\": use sqlite://FILE or postgres://USER@HOST/DB."))
    }
}

/// SQLite files are created on first use; an explicit `mode=` in the URL wins.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

impl Store {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite => with_create_mode(url),
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| format!("Invalid database URL: {e}"))?;
        let probe_options = options.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; synchronous=FULL makes every
                        // acknowledged commit durable across a crash or power loss.
                        conn.execute(sqlx::raw_sql(
                            "pragma journal_mode = wal; pragma synchronous = full; \
                             pragma foreign_keys = on; pragma busy_timeout = 10000;",
                        ))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| format!("Cannot open the {} database: {e}", backend.name()))?;
        let sqlite_file = match backend {
            Backend::Sqlite if !url.contains(":memory:") && !url.contains("mode=memory") => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url).map_err(|e| format!("Invalid database URL: {e}"))?;
                Some(options.get_filename().to_owned())
            }
            _ => None,
        };
        Ok(Store {
            pool,
            backend,
            writer: Arc::new(Mutex::new(Writer::default())),
            holders: Arc::new(holder_cache::HolderCache::new(holder_cache::DEFAULT_BUDGET)),
            escalation: Arc::default(),
            chain_anchor: Arc::default(),
            sqlite_file,
            idle_readers: Arc::default(),
            versions: Arc::default(),
            outage: Arc::default(),
            options: probe_options,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database file, when there is one a second connection can open.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref()
    }

    pub(crate) fn idle_readers(&self) -> &export::IdleReaders {
        &self.idle_readers
    }

    pub fn version_cache(&self) -> &access::VersionCache {
        &self.versions
    }

    /// The same database with its own holder cache of `budget` holders (tests use a tiny one to
    /// exercise the SQL paging that roles bigger than the budget take).
    pub fn with_holder_budget(mut self, budget: usize) -> Store {
        self.holders = Arc::new(holder_cache::HolderCache::new(budget));
        self
    }

    /// The escalation graph, rebuilt when the ledger moved (see `escalation`).
    pub fn escalation_graph(&self) -> &escalation::GraphCache {
        &self.escalation
    }

    /// Where the last walk of the whole audit chain ended in this process, if it verified.
    pub fn chain_anchor(&self) -> Option<crate::domain::audit::ChainAnchor> {
        self.chain_anchor.lock().map(|s| s.anchor.clone()).unwrap_or_default()
    }

    /// How many times the anchor was dropped (a break, or a walk that failed): a whole walk takes
    /// this before it starts and hands it to `keep_walked_anchor`.
    pub fn chain_clears(&self) -> u64 {
        self.chain_anchor.lock().map(|s| s.clears).unwrap_or_default()
    }

    /// Drops the anchor: the chain did not verify (or could not be read), so views walk it all
    /// until a walk that started after this verifies it again.
    pub fn clear_chain_anchor(&self) {
        if let Ok(mut state) = self.chain_anchor.lock() {
            state.anchor = None;
            state.clears += 1;
        }
    }

    /// Keeps the anchor of a whole walk that verified, unless the anchor was dropped after the walk
    /// started (a walk that began before an edit must not hide the break found since) or a walk
    /// that started later already left its own.
    pub fn keep_walked_anchor(&self, clears_at_start: u64, anchor: crate::domain::audit::ChainAnchor) {
        if let Ok(mut state) = self.chain_anchor.lock()
            && state.clears == clears_at_start
            && state.anchor.as_ref().is_none_or(|a| a.whole_walk_at <= anchor.whole_walk_at)
        {
            state.anchor = Some(anchor);
        }
    }

    /// Moves the anchor forward after a resumed check, only if it is still the one the check
    /// started from (compare and set: a break recorded meanwhile stays recorded).
    pub fn advance_chain_anchor(&self, from: &crate::domain::audit::ChainAnchor, to: crate::domain::audit::ChainAnchor) {
        if let Ok(mut state) = self.chain_anchor.lock()
            && state.anchor.as_ref() == Some(from)
        {
            state.anchor = Some(to);
        }
    }

    /// The in-memory snapshots of roles' holders (see `holder_cache`).
    pub fn holder_cache(&self) -> &holder_cache::HolderCache {
        &self.holders
    }

    pub async fn migrate(&self) -> Result<(), String> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.map_err(|e| format!("Migration failed: {e}"))
    }

    /// A pooled connection for reads (each statement sees committed data).
    pub async fn read(&self) -> Result<PoolConnection<Any>, AppError> {
        self.acquire().await
    }

    /// A pooled connection, or 503 at once while the database is known not to answer (see
    /// `Outage`).
    async fn acquire(&self) -> Result<PoolConnection<Any>, AppError> {
        let unavailable = AppError::Unavailable { retry_after_seconds: RETRY_AFTER_SECONDS };
        let Some(attempt) = self.outage.attempt() else { return Err(unavailable) };
        let waited = crate::metrics::METRICS.acquire_seconds.start_timer();
        let acquired = match attempt {
            Attempt::Wait => tokio::select! {
                acquired = tokio::time::timeout(ACQUIRE_TIMEOUT, self.pool.acquire()) => acquired,
                () = self.found_down() => return Err(unavailable),
            },
            Attempt::Retry => tokio::time::timeout(PROBE_TIMEOUT, self.pool.acquire()).await,
        };
        waited.observe_duration();
        match acquired {
            Ok(Ok(conn)) => {
                self.outage.answered();
                Ok(conn)
            }
            Ok(Err(e)) => {
                // A pool with every connection busy for the whole wait is not an outage.
                if is_connection_error(&e) {
                    self.outage.failed();
                }
                Err(db_error("acquire connection")(e))
            }
            Err(_) => Err(unavailable),
        }
    }

    /// Resolves once the database is found not to answer while this request waits for a
    /// connection (see `PROBE_AFTER`); never while it answers.
    async fn found_down(&self) {
        use std::sync::atomic::Ordering;
        tokio::time::sleep(PROBE_AFTER).await;
        loop {
            if self.outage.is_down() {
                return;
            }
            if !self.outage.probing.swap(true, Ordering::AcqRel) {
                // Cleared however the probe ends: this future is dropped when the pool hands
                // the request a connection first.
                struct Probing<'a>(&'a std::sync::atomic::AtomicBool);
                impl Drop for Probing<'_> {
                    fn drop(&mut self) {
                        self.0.store(false, std::sync::atomic::Ordering::Release);
                    }
                }
                let _probing = Probing(&self.outage.probing);
                let probe = tokio::time::timeout(PROBE_TIMEOUT, AnyConnection::connect_with(&self.options)).await;
                match probe {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                    }
                    Ok(Err(e)) if !is_unreachable(&e) => {}
                    Ok(Err(_)) | Err(_) => {
                        self.outage.failed();
                        return;
                    }
                }
            }
            tokio::time::sleep(PROBE_AFTER).await;
        }
    }

    /// Connections the pool holds, and how many of them are idle (for `/metrics`).
    pub fn pool_connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Whether the last attempt to get a connection failed (`/healthz` says not ready).
    pub fn database_down(&self) -> bool {
        self.outage.is_down()
    }

    /// Opens a write transaction, whose turn among writers is taken up front. On SQLite that is
    /// the write lock (`begin immediate`), so a transaction never fails half-way because another
    /// writer got there first. On PostgreSQL it is the head of the audit chain, which every
    /// mutation appends to in its transaction and which therefore already serialised writers
    /// from their first event on: taken first, it cannot be part of a deadlock (locks taken
    /// before the first event, then the head, against the head, then those locks), and what a
    /// change reads to derive findings or check rules is not changed by another writer before it
    /// commits, as on SQLite. The lock is its own statement inside the transaction, so that a
    /// failed or abandoned wait rolls back like any other. On both backends this process's
    /// writers queue on a mutex first, so that waiting writers do not hold pooled connections
    /// that readers need.
    pub async fn begin(&self) -> Result<WriteTx, AppError> {
        let mut guard = self.writer.clone().lock_owned().await;
        match self.backend {
            // An in-memory database lives in its pooled connections; one detached would take
            // it away from readers.
            Backend::Sqlite if self.sqlite_file.is_none() => {
                let tx = self.pool.begin_with("begin immediate").await.map_err(db_error("begin"))?;
                Ok(WriteTx { conn: TxConn::Pooled(tx), writer: Some(guard) })
            }
            Backend::Sqlite => {
                let mut conn = match guard.kept.take() {
                    Some(conn) => conn,
                    None => {
                        let mut conn = self.acquire().await?.detach();
                        // The one writer gets a larger page cache than SQLite's 2 MB: a large
                        // import (hundreds of thousands of rows in one transaction, into
                        // indexes in random order) otherwise spills pages to the WAL and reads
                        // them back, which cost it a third of its time.
                        // Checkpoints every 4,000 pages (16 MB of WAL) rather than 1,000: the
                        // pages every commit touches (the audit tail, counters, index tails) are
                        // copied back once per checkpoint, so fewer checkpoints copy less; a
                        // provisioning run spent a fifth of its commit time in them.
                        run_raw(&mut conn, "pragma cache_size = -65536; pragma wal_autocheckpoint = 4000").await.map_err(db_error("writer cache"))?;
                        conn
                    }
                };
                if let Err(e) = run_raw(&mut conn, "begin immediate").await {
                    guard.kept = Some(conn);
                    return Err(db_error("begin")(e));
                }
                Ok(WriteTx { conn: TxConn::Kept(Some(conn)), writer: Some(guard) })
            }
            Backend::Postgres => {
                // The turn across servers is the audit head's row lock, taken in the same round
                // trip as `begin`. A kept connection the database has closed since (a restart)
                // fails here; one fresh connection is tried before the write fails. Any other
                // failure is the write's: the connection is closed (which ends what `begin`
                // started) and the error returned, not waited for twice.
                const BEGIN: &str = "begin; select seq from audit_head where id = 1 for update";
                let fresh = guard.opened.is_some_and(|at| at.elapsed() < KEPT_LIFETIME) && guard.used.is_some_and(|at| at.elapsed() < KEPT_IDLE);
                if let Some(mut conn) = guard.kept.take().filter(|_| fresh) {
                    // Bounded: a connection whose peer vanished without a word (a host gone,
                    // packets dropped) would otherwise hold the writers' turn until the kernel
                    // gave up on it. Dropped unfinished, it is closed, which ends its `begin`.
                    match tokio::time::timeout(ACQUIRE_TIMEOUT, run_raw(&mut conn, BEGIN)).await {
                        Ok(Ok(())) => return Ok(WriteTx { conn: TxConn::Kept(Some(conn)), writer: Some(guard) }),
                        Ok(Err(e)) if !is_connection_error(&e) => return Err(db_error("take the writers' turn")(e)),
                        Ok(Err(e)) => tracing::info!(error = %e, "the writers' connection failed; opening another"),
                        Err(_) => tracing::warn!("the writers' connection did not answer within 10 s; opening another"),
                    }
                }
                let mut conn = self.acquire().await?.detach();
                guard.opened = Some(Instant::now());
                run_raw(&mut conn, BEGIN).await.map_err(db_error("take the writers' turn"))?;
                Ok(WriteTx { conn: TxConn::Kept(Some(conn)), writer: Some(guard) })
            }
        }
    }

    /// A read-only transaction seeing one consistent moment of the database (long exports):
    /// SQLite's deferred transaction keeps its WAL snapshot; PostgreSQL gets repeatable read.
    /// Writers are not blocked by it on either backend.
    pub async fn begin_read(&self) -> Result<ReadTx, AppError> {
        let begin = match self.backend {
            Backend::Sqlite => "begin deferred",
            Backend::Postgres => "begin isolation level repeatable read, read only",
        };
        let tx = self.pool.begin_with(begin).await.map_err(db_error("begin read"))?;
        Ok(ReadTx { tx })
    }

    /// The durability settings a connection actually runs with (SQLite only; PostgreSQL's are
    /// the server's), so operators and tests can see them rather than trust them.
    pub async fn durability(&self) -> Result<Vec<(String, String)>, AppError> {
        if self.backend != Backend::Sqlite {
            return Ok(vec![]);
        }
        let mut conn = self.read().await?;
        let journal: String = sqlx::query_scalar("pragma journal_mode").fetch_one(&mut *conn).await.map_err(db_error("pragma"))?;
        let synchronous: i64 = sqlx::query_scalar("pragma synchronous").fetch_one(&mut *conn).await.map_err(db_error("pragma"))?;
        let foreign_keys: i64 = sqlx::query_scalar("pragma foreign_keys").fetch_one(&mut *conn).await.map_err(db_error("pragma"))?;
        let synchronous = match synchronous {
            0 => "off",
            1 => "normal",
            2 => "full",
            3 => "extra",
            _ => "unknown",
        };
        Ok(vec![
            ("journal_mode".to_owned(), journal),
            ("synchronous".to_owned(), synchronous.to_owned()),
            ("foreign_keys".to_owned(), if foreign_keys == 1 { "on" } else { "off" }.to_owned()),
        ])
    }

    pub async fn ping(&self) -> Result<(), AppError> {
        self.read().await?.ping().await.map_err(db_error("ping"))
    }

    pub async fn close(&self) {
        if let Some(conn) = self.writer.lock().await.kept.take() {
            let _ = conn.close().await;
        }
        self.pool.close().await;
    }
}
