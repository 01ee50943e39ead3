//! The tables of a compliance export, streamed row by row from one read transaction (one
//! consistent moment), so memory stays flat however large the ledger is.

use super::{ReadTx, Store, db_error};
use crate::error::AppError;
use futures_util::TryStreamExt;
use rusqlite::OpenFlags;
use rusqlite::types::ValueRef;
use sqlx::Row;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// How a column travels in the JSON files (CSV is text either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
}

pub struct Table {
    /// File stem: `identities` → identities.csv + identities.ndjson.
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// Selects exactly `columns`, each as text (or null), in a stable order.
    pub sql: &'static str,
}

use Kind::{Int, Text};

pub const TABLES: &[Table] = &[
    Table {
        name: "identities",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("kind", Text),
            ("status", Text),
            ("owner_id", Text),
            ("owner", Text),
            ("service_id", Text),
            ("service", Text),
            ("description", Text),
            ("labels", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("last_seen_at", Text),
            ("retired_at", Text),
        ],
        sql: "select i.id, i.name, i.kind, i.status, i.owner_id, o.name, i.service_id, s.name, i.description, i.labels, i.created_at, \
              i.updated_at, i.last_seen_at, i.retired_at \
              from identities i join owners o on o.id = i.owner_id left join services s on s.id = i.service_id order by i.id",
    },
    Table {
        name: "credentials",
        columns: &[
            ("id", Text),
            ("identity_id", Text),
            ("assignment_id", Text),
            ("kind", Text),
            ("fingerprint", Text),
            ("description", Text),
            ("created_at", Text),
            ("rotated_at", Text),
            ("expires_at", Text),
            ("last_used_at", Text),
            ("revoked_at", Text),
            ("revoke_reason", Text),
        ],
        sql: "select id, identity_id, assignment_id, kind, fingerprint, description, created_at, rotated_at, expires_at, last_used_at, \
              revoked_at, revoke_reason from credentials order by id",
    },
    Table {
        name: "roles",
        columns: &[
            ("role_id", Text),
            ("slug", Text),
            ("display_name", Text),
            ("sensitivity", Text),
            ("status", Text),
            ("current_version", Int),
            ("version", Int),
            ("scope", Text),
            ("definition", Text),
            ("content_hash", Text),
            ("author", Text),
            ("change_request_id", Text),
            ("created_at", Text),
        ],
        sql: "select r.id, r.slug, r.display_name, r.sensitivity, r.status, cast(r.current_version as text), cast(v.version as text), \
              sc.path, v.definition, v.content_hash, v.author, v.change_request_id, v.created_at \
              from roles r join role_versions v on v.role_id = r.id join scopes sc on sc.id = v.scope_id order by r.id, v.version",
    },
    Table {
        name: "assignments",
        columns: &[
            ("id", Text),
            ("identity_id", Text),
            ("role_id", Text),
            ("role_version", Int),
            ("scope", Text),
            ("granted_by", Text),
            ("change_request_id", Text),
            ("approvers", Text),
            ("granted_at", Text),
            ("expires_at", Text),
            ("revoked_at", Text),
            ("revoked_by", Text),
            ("revoke_reason", Text),
        ],
        sql: "select a.id, a.identity_id, a.role_id, cast(a.role_version as text), sc.path, a.granted_by, a.change_request_id, \
              '', \
              a.granted_at, a.expires_at, a.revoked_at, a.revoked_by, a.revoke_reason \
              from assignments a join scopes sc on sc.id = a.scope_id order by a.id",
    },
    Table {
        name: "change_requests",
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("subject", Text),
            ("sensitivity", Text),
            ("state", Text),
            ("requester", Text),
            ("reason", Text),
            ("payload", Text),
            ("decisions", Text),
            ("created_at", Text),
            ("decided_at", Text),
            ("applied_at", Text),
        ],
        sql: "select c.id, c.kind, c.subject, c.sensitivity, c.state, c.requester_name, c.reason, c.payload, '', c.created_at, \
              c.decided_at, c.applied_at from change_requests c order by c.id",
    },
    Table {
        name: "sod_rules",
        columns: &[
            ("id", Text),
            ("kind", Text),
            ("description", Text),
            ("enabled", Int),
            ("role_a", Text),
            ("role_b", Text),
            ("created_by", Text),
            ("created_at", Text),
        ],
        sql: "select id, kind, description, cast(enabled as text), role_a, role_b, created_by, created_at from sod_rules order by id",
    },
    Table {
        name: "sod_exceptions",
        columns: &[
            ("id", Text),
            ("rule_id", Text),
            ("identity_id", Text),
            ("resource", Text),
            ("justification", Text),
            ("approved_by", Text),
            ("expires_at", Text),
            ("created_at", Text),
            ("revoked_at", Text),
        ],
        sql: "select id, rule_id, identity_id, resource, justification, approved_by, expires_at, created_at, revoked_at from sod_exceptions order by id",
    },
    Table {
        name: "audit",
        columns: &[
            ("seq", Int),
            ("at", Text),
            ("actor_kind", Text),
            ("actor_id", Text),
            ("actor_name", Text),
            ("action", Text),
            ("subject_type", Text),
            ("subject_id", Text),
            ("context_id", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        sql: "select cast(seq as text), at, actor_kind, actor_id, actor_name, action, subject_type, subject_id, context_id, detail, prev_hash, hash \
              from audit_events order by audit_events.seq",
    },
];

/// Rows read per batch by the SQLite reader thread, and batches in flight: enough that the
/// reader and the writer rarely wait for each other, few enough that memory stays flat.
const BATCH_ROWS: usize = 1024;
const BATCHES_IN_FLIGHT: usize = 4;

/// Every read of one export, as of one moment: a read transaction that all the tables, the
/// audit head and the lookups are read through.
///
/// PostgreSQL (and in-memory SQLite) read through the pool like everything else. A SQLite file
/// is read by its own connection on a blocking thread instead: sqlx's SQLite driver copies
/// every value of every row and converts it again for the `Any` driver, which made a million
/// assignments take 7.6 s; reading borrowed text straight off the statement, while the
/// caller formats and hashes the previous batch on another core, takes a fraction of that.
pub enum Snapshot {
    Pooled(ReadTx),
    Sqlite(Reader),
}

/// Direct readers of a SQLite file that finished snapshots left open for the next one.
pub type IdleReaders = std::sync::Arc<std::sync::Mutex<Vec<rusqlite::Connection>>>;

/// Readers kept idle: a CSV download reads a snapshot per page, and a fresh connection starts
/// with an empty page cache, so each page read the index pages of a million-row table from the
/// file again (the SoD download's 50 pages took 1.4 s where one connection took 0.5 s).
const IDLE_READERS: usize = 2;

/// A direct reader in its read transaction; back to the idle ones when dropped.
pub struct Reader {
    /// `None` only while a read has the connection on the reader thread.
    conn: Option<rusqlite::Connection>,
    idle: IdleReaders,
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // Ending a read transaction releases its WAL read mark only: no I/O, so it is done here.
        if conn.execute_batch("rollback").is_err() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

/// A connection that reads the store's file directly, for export snapshots.
fn open_reader(file: &Path) -> Result<rusqlite::Connection, AppError> {
    // Read-write without create: the file must be the store's, and a WAL database is only
    // readable by a connection that may maintain its shared-memory index.
    let conn = rusqlite::Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite_error("open export reader"))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite_error("export reader timeout"))?;
    conn.execute_batch("pragma query_only = on").map_err(sqlite_error("export reader"))?;
    Ok(conn)
}

fn sqlite_error(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AppError {
    move |e| AppError::internal(context, e)
}

impl Snapshot {
    pub async fn begin(store: &Store) -> Result<Snapshot, AppError> {
        let Some(file) = store.sqlite_file().map(Path::to_owned) else {
            return Ok(Snapshot::Pooled(store.begin_read().await?));
        };
        let idle = store.idle_readers().clone();
        let kept = idle.lock().map_err(|_| AppError::internal("export reader", "idle readers poisoned"))?.pop();
        let conn = tokio::task::spawn_blocking(move || -> Result<rusqlite::Connection, AppError> {
            let conn = match kept {
                Some(conn) => conn,
                None => open_reader(&file)?,
            };
            // Deferred: the snapshot is taken at the first read and kept for every later one.
            conn.execute_batch("begin deferred").map_err(sqlite_error("begin export read"))?;
            Ok(conn)
        })
        .await
        .map_err(|e| AppError::internal("export reader", e))??;
        Ok(Snapshot::Sqlite(Reader { conn: Some(conn), idle }))
    }

    /// Streams the rows of `sql` (at most `limit`) to `each`, in order, every column as text or
    /// null; returns how many rows there were.
    pub async fn rows(&mut self, sql: &str, limit: Option<u64>, each: impl FnMut(&[Option<&str>]) -> Result<(), AppError>) -> Result<u64, AppError> {
        let sql = match limit {
            Some(n) => format!("{sql} limit {n}"),
            None => sql.to_owned(),
        };
        self.rows_bound(&sql, Vec::new(), each).await
    }

    /// `rows` of a statement whose `$1`, `$2`, … are bound to `params`, in order.
    pub async fn rows_bound(&mut self, sql: &str, params: Vec<String>, mut each: impl FnMut(&[Option<&str>]) -> Result<(), AppError>) -> Result<u64, AppError> {
        let sql = sql.to_owned();
        match self {
            Snapshot::Pooled(tx) => {
                let mut query = sqlx::query(&sql);
                for param in &params {
                    query = query.bind(param.as_str());
                }
                let mut rows = query.fetch(tx.conn());
                let mut n = 0;
                while let Some(row) = rows.try_next().await.map_err(db_error("export rows"))? {
                    let mut values: Vec<Option<&str>> = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        values.push(row.try_get::<Option<&str>, _>(i).map_err(db_error("export column"))?);
                    }
                    each(&values)?;
                    n += 1;
                }
                Ok(n)
            }
            Snapshot::Sqlite(Reader { conn: slot, .. }) => {
                let conn = slot.take().ok_or_else(|| AppError::internal("export reader", "an earlier read failed"))?;
                let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
                let reader = tokio::task::spawn_blocking(move || {
                    let read = read_batches(&conn, &sql, &params, &sender);
                    (conn, read)
                });
                let mut written = 0;
                let mut failed = None;
                while let Some(batch) = receiver.recv().await {
                    match batch.each_row(&mut each) {
                        Ok(rows) => written += rows,
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                // Dropping the receiver stops the reader at its next batch (after a failed write).
                drop(receiver);
                let (conn, read) = reader.await.map_err(|e| AppError::internal("export reader", e))?;
                *slot = Some(conn);
                if let Some(e) = failed {
                    return Err(e);
                }
                read?;
                Ok(written)
            }
        }
    }

    /// The audit chain head as of this snapshot.
    pub async fn audit_head(&mut self) -> Result<(i64, String), AppError> {
        let mut head = None;
        self.rows("select cast(seq as text), hash from audit_head where id = 1", None, |v| {
            let seq = v[0].and_then(|s| s.parse().ok()).ok_or_else(|| AppError::internal("audit head", "no sequence"))?;
            head = Some((seq, v[1].unwrap_or_default().to_owned()));
            Ok(())
        })
        .await?;
        head.ok_or_else(|| AppError::internal("audit head", "missing"))
    }

    /// The approvers of each change request, "name, name".
    pub async fn approvers(&mut self) -> Result<HashMap<String, String>, AppError> {
        let sql = "select request_id, approver_name from change_decisions where verdict = 'approve' order by request_id, at";
        self.grouped(sql, ", ", |v| v[1].unwrap_or_default().to_owned()).await
    }

    /// Every decision of each change request, "verdict by name at time: comment" per line.
    pub async fn decisions(&mut self) -> Result<HashMap<String, String>, AppError> {
        let sql = "select request_id, verdict, approver_name, at, comment from change_decisions order by request_id, at";
        self.grouped(sql, "\n", |v| {
            let text = |i: usize| v[i].unwrap_or_default();
            format!("{} by {} at {}: {}", text(1), text(2), text(3), text(4))
        })
        .await
    }

    /// `text` of each row of `sql`, joined by `separator` per value of the first column.
    async fn grouped(&mut self, sql: &str, separator: &str, text: impl Fn(&[Option<&str>]) -> String) -> Result<HashMap<String, String>, AppError> {
        let mut out: HashMap<String, String> = HashMap::new();
        self.rows(sql, None, |v| {
            let entry = out.entry(v[0].unwrap_or_default().to_owned()).or_default();
            if !entry.is_empty() {
                entry.push_str(separator);
            }
            entry.push_str(&text(v));
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

/// Rows packed into one string: each cell a byte range of `text`, or null.
struct Batch {
    width: usize,
    text: String,
    cells: Vec<Option<(usize, usize)>>,
}

impl Batch {
    fn each_row(&self, each: &mut impl FnMut(&[Option<&str>]) -> Result<(), AppError>) -> Result<u64, AppError> {
        let mut values: Vec<Option<&str>> = Vec::with_capacity(self.width);
        let mut n = 0;
        for row in self.cells.chunks(self.width.max(1)) {
            values.clear();
            values.extend(row.iter().map(|cell| cell.map(|(from, to)| &self.text[from..to])));
            each(&values)?;
            n += 1;
        }
        Ok(n)
    }
}

/// The reader thread: steps the statement and sends its rows in batches until done, or until
/// the receiver is gone.
fn read_batches(conn: &rusqlite::Connection, sql: &str, params: &[String], sender: &tokio::sync::mpsc::Sender<Batch>) -> Result<(), AppError> {
    let mut statement = conn.prepare(sql).map_err(sqlite_error("export query"))?;
    let width = statement.column_count();
    // `$n` placeholders are numbered in order of first use, so binding by position matches.
    let mut rows = statement.query(rusqlite::params_from_iter(params.iter())).map_err(sqlite_error("export rows"))?;
    let new_batch = || Batch { width, text: String::with_capacity(BATCH_ROWS * 256), cells: Vec::with_capacity(BATCH_ROWS * width) };
    let mut batch = new_batch();
    while let Some(row) = rows.next().map_err(sqlite_error("export rows"))? {
        for i in 0..width {
            let from = batch.text.len();
            match row.get_ref(i).map_err(sqlite_error("export column"))? {
                ValueRef::Null => {
                    batch.cells.push(None);
                    continue;
                }
                ValueRef::Text(bytes) => batch.text.push_str(std::str::from_utf8(bytes).map_err(|e| AppError::internal("export column", e))?),
                ValueRef::Integer(n) => batch.text.push_str(&n.to_string()),
                ValueRef::Real(x) => batch.text.push_str(&x.to_string()),
                ValueRef::Blob(_) => return Err(AppError::internal("export column", "a blob where text was expected")),
            }
            batch.cells.push(Some((from, batch.text.len())));
        }
        if batch.cells.len() >= BATCH_ROWS * width {
            if sender.blocking_send(std::mem::replace(&mut batch, new_batch())).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.cells.is_empty() {
        let _ = sender.blocking_send(batch);
    }
    Ok(())
}
