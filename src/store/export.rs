//! The tables of a compliance export, streamed row by row from one read transaction (one
//! consistent moment), so memory stays flat however large the ledger is.

use super::db_error;
use crate::error::AppError;
use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Row};

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

/// Streams `table`'s rows (at most `limit`) to `each`, in order; returns how many.
pub async fn stream(
    conn: &mut AnyConnection,
    table: &Table,
    limit: Option<u64>,
    mut each: impl FnMut(&[Option<String>]) -> Result<(), AppError>,
) -> Result<u64, AppError> {
    let sql = match limit {
        Some(n) => format!("{} limit {n}", table.sql),
        None => table.sql.to_owned(),
    };
    let mut rows = sqlx::query(&sql).fetch(conn);
    let mut values: Vec<Option<String>> = Vec::with_capacity(table.columns.len());
    let mut n = 0;
    while let Some(row) = rows.try_next().await.map_err(db_error("export rows"))? {
        values.clear();
        for i in 0..table.columns.len() {
            values.push(row.try_get::<Option<String>, _>(i).map_err(db_error("export column"))?);
        }
        each(&values)?;
        n += 1;
    }
    Ok(n)
}

/// The approvers of each change request, "name, name".
pub async fn approvers(conn: &mut AnyConnection) -> Result<std::collections::HashMap<String, String>, AppError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select request_id, approver_name from change_decisions where verdict = 'approve' order by request_id, at")
            .fetch_all(conn)
            .await
            .map_err(db_error("export approvers"))?;
    let mut out: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (request, name) in rows {
        let entry = out.entry(request).or_default();
        if !entry.is_empty() {
            entry.push_str(", ");
        }
        entry.push_str(&name);
    }
    Ok(out)
}

/// Every decision of each change request, "verdict by name at time: comment" per line.
pub async fn decisions(conn: &mut AnyConnection) -> Result<std::collections::HashMap<String, String>, AppError> {
    let rows: Vec<(String, String, String, String, String)> =
        sqlx::query_as("select request_id, verdict, approver_name, at, comment from change_decisions order by request_id, at")
            .fetch_all(conn)
            .await
            .map_err(db_error("export decisions"))?;
    let mut out: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (request, verdict, name, at, comment) in rows {
        let entry = out.entry(request).or_default();
        if !entry.is_empty() {
            entry.push('\n');
        }
        entry.push_str(&format!("{verdict} by {name} at {at}: {comment}"));
    }
    Ok(out)
}
