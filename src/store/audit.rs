use super::{db_error, ts};
use crate::domain::Timestamp;
use crate::domain::actor::Actor;
use crate::domain::audit::{AuditEntry, AuditEvent};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    at: String,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    action: String,
    subject_type: String,
    subject_id: String,
    context_id: Option<String>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl EventRow {
    fn into_event(self) -> Result<AuditEvent, AppError> {
        Ok(AuditEvent {
            seq: self.seq,
            at: ts(&self.at)?,
            actor_kind: self.actor_kind,
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            action: self.action,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            context_id: self.context_id,
            detail: self.detail,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

const SELECT: &str = "select seq, at, actor_kind, actor_id, actor_name, action, subject_type, subject_id, context_id, \
    detail, prev_hash, hash from audit_events";

/// Appends an event to the chain inside the caller's transaction. The head row is locked by
/// then (`Store::begin` takes it first on PostgreSQL; SQLite has one writer), so concurrent
/// appends queue instead of linking to the same previous hash.
pub async fn append(conn: &mut AnyConnection, actor: &Actor, entry: AuditEntry) -> Result<AuditEvent, AppError> {
    let (seq, prev_hash): (i64, String) = sqlx::query_as("update audit_head set seq = seq + 1 where id = 1 returning seq, hash")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error("advance audit head"))?;
    let mut event = AuditEvent {
        seq,
        at: Timestamp::now(),
        actor_kind: actor.kind.as_str().to_owned(),
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        action: entry.action,
        subject_type: entry.subject_type,
        subject_id: entry.subject_id,
        context_id: entry.context_id,
        detail: entry.detail.to_string(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = event.expected_hash();
    sqlx::query(
        "insert into audit_events (seq, at, actor_kind, actor_id, actor_name, action, subject_type, subject_id, \
         context_id, detail, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(event.seq)
    .bind(event.at.to_rfc3339())
    .bind(&event.actor_kind)
    .bind(&event.actor_id)
    .bind(&event.actor_name)
    .bind(&event.action)
    .bind(&event.subject_type)
    .bind(&event.subject_id)
    .bind(&event.context_id)
    .bind(&event.detail)
    .bind(&event.prev_hash)
    .bind(&event.hash)
    .execute(&mut *conn)
    .await
    .map_err(db_error("insert audit event"))?;
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(&event.hash).execute(&mut *conn).await.map_err(db_error("update audit head"))?;
    Ok(event)
}

/// Appends several events as one link-by-link run of the chain, with three statements however
/// many there are (one head bump, one multi-row insert per 500 events, one head update). For
/// use cases that write many events in one transaction (provisioning a service writes ten).
pub async fn append_all(conn: &mut AnyConnection, actor: &Actor, entries: Vec<AuditEntry>) -> Result<Vec<AuditEvent>, AppError> {
    if entries.is_empty() {
        return Ok(vec![]);
    }
    let n = entries.len() as i64;
    let (last_seq, mut prev_hash): (i64, String) = sqlx::query_as("update audit_head set seq = seq + $1 where id = 1 returning seq, hash")
        .bind(n)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error("advance audit head"))?;
    let at = Timestamp::now();
    let mut events = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let mut event = AuditEvent {
            seq: last_seq - n + 1 + i as i64,
            at,
            actor_kind: actor.kind.as_str().to_owned(),
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            action: entry.action,
            subject_type: entry.subject_type,
            subject_id: entry.subject_id,
            context_id: entry.context_id,
            detail: entry.detail.to_string(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        event.hash = event.expected_hash();
        prev_hash = event.hash.clone();
        events.push(event);
    }
    for chunk in events.chunks(500) {
        let mut sql = super::Sql::new(
            "insert into audit_events (seq, at, actor_kind, actor_id, actor_name, action, subject_type, subject_id, context_id, detail, prev_hash, hash) values ",
        );
        for (i, e) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(e.seq).push(", ").bind(e.at.to_rfc3339()).push(", ").bind(e.actor_kind.clone()).push(", ").bind(e.actor_id.clone());
            sql.push(", ").bind(e.actor_name.clone()).push(", ").bind(e.action.clone()).push(", ").bind(e.subject_type.clone());
            sql.push(", ").bind(e.subject_id.clone()).push(", ").bind(e.context_id.clone()).push(", ").bind(e.detail.clone());
            sql.push(", ").bind(e.prev_hash.clone()).push(", ").bind(e.hash.clone()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("insert audit events"))?;
    }
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(&prev_hash).execute(&mut *conn).await.map_err(db_error("update audit head"))?;
    Ok(events)
}

/// The recorded head of the chain: (last sequence, its hash).
pub async fn head(conn: &mut AnyConnection) -> Result<(i64, String), AppError> {
    sqlx::query_as("select seq, hash from audit_head where id = 1").fetch_one(conn).await.map_err(db_error("audit head"))
}

/// Events after `after_seq` in sequence order, at most `limit`: the chain is walked in batches
/// so verification needs constant memory however long the log grows.
pub async fn batch_after(conn: &mut AnyConnection, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>, AppError> {
    sqlx::query_as::<_, EventRow>(&format!("{SELECT} where seq > $1 order by seq limit $2"))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("audit batch"))?
        .into_iter()
        .map(EventRow::into_event)
        .collect()
}

/// The latest events about `id`, as subject or as context (an identity's credentials, say).
pub async fn about(conn: &mut AnyConnection, id: &str, limit: i64) -> Result<Vec<AuditEvent>, AppError> {
    sqlx::query_as::<_, EventRow>(&format!(
        "{SELECT} where seq in (select seq from audit_events where subject_id = $1 \
         union select seq from audit_events where context_id = $1) order by seq desc limit $2"
    ))
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error("audit events about"))?
    .into_iter()
    .map(EventRow::into_event)
    .collect()
}

/// Events matching `filter`, newest first, a page at a time (`before`: a sequence number).
pub async fn search(
    conn: &mut AnyConnection,
    filter: &crate::domain::audit::AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, AppError> {
    let mut sql = super::Sql::new(SELECT);
    sql.push(" where 1 = 1");
    if let Some(actor) = &filter.actor {
        let pattern = super::contains_pattern(actor);
        sql.push(" and (lower(actor_name) like ").bind(pattern).push(" escape '\\' or actor_id = ").bind(actor.clone()).push(")");
    }
    if let Some(action) = &filter.action {
        // "role" finds role.create, role.version, …; "role.create" just that.
        sql.push(" and (action = ").bind(action.clone()).push(" or action like ").bind(format!("{}.%", action.replace(['%', '_'], ""))).push(")");
    }
    if let Some(subject) = &filter.subject {
        sql.push(" and (subject_id = ").bind(subject.clone()).push(" or context_id = ").bind(subject.clone()).push(")");
    }
    if let Some(from) = &filter.from {
        sql.push(" and at >= ").bind(from.to_rfc3339());
    }
    if let Some(to) = &filter.to {
        sql.push(" and at <= ").bind(to.to_rfc3339());
    }
    if let Some(before) = before {
        sql.push(" and seq < ").bind(before);
    }
    sql.push(" order by seq desc limit ").bind(limit);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, EventRow, _>(&text, args)
        .fetch_all(conn)
        .await
        .map_err(db_error("search audit events"))?
        .into_iter()
        .map(EventRow::into_event)
        .collect()
}
