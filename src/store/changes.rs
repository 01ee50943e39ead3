use super::{Sql, db_error, split_page, ts, ts_opt, vocab};
use crate::domain::Timestamp;
use crate::domain::change::{ApprovalPolicy, ChangeKind, ChangePayload, ChangeRequest, ChangeState, Decision, Verdict};
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::Sensitivity;
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    kind: String,
    subject: String,
    subject_id: Option<String>,
    sensitivity: String,
    payload: String,
    requester_id: String,
    requester_name: String,
    reason: String,
    state: String,
    created_at: String,
    expires_at: String,
    decided_at: Option<String>,
    applied_at: Option<String>,
}

impl RequestRow {
    fn into_request(self, decisions: Vec<Decision>) -> Result<ChangeRequest, AppError> {
        Ok(ChangeRequest {
            id: self.id,
            kind: vocab(&self.kind, ChangeKind::parse)?,
            payload: serde_json::from_str(&self.payload).map_err(|e| AppError::internal("stored change payload", e))?,
            subject: self.subject,
            subject_id: self.subject_id,
            sensitivity: vocab(&self.sensitivity, Sensitivity::parse)?,
            requester_id: self.requester_id,
            requester_name: self.requester_name,
            reason: self.reason,
            state: vocab(&self.state, ChangeState::parse)?,
            created_at: ts(&self.created_at)?,
            expires_at: ts(&self.expires_at)?,
            decided_at: ts_opt(self.decided_at.as_deref())?,
            applied_at: ts_opt(self.applied_at.as_deref())?,
            decisions,
        })
    }
}

const SELECT: &str = "select id, kind, subject, subject_id, sensitivity, payload, requester_id, requester_name, reason, \
    state, created_at, expires_at, decided_at, applied_at from change_requests";

pub struct NewRequest<'a> {
    pub id: &'a str,
    pub payload: &'a ChangePayload,
    pub subject: &'a str,
    pub subject_id: Option<&'a str>,
    pub sensitivity: Sensitivity,
    pub requester_kind: &'a str,
    pub requester_id: &'a str,
    pub requester_name: &'a str,
    pub reason: &'a str,
    pub expires_at: Timestamp,
}

pub async fn insert(conn: &mut AnyConnection, new: &NewRequest<'_>, at: Timestamp) -> Result<(), AppError> {
    let payload = serde_json::to_string(new.payload).map_err(|e| AppError::internal("encode change payload", e))?;
    sqlx::query(
        "insert into change_requests (id, kind, subject, subject_id, sensitivity, payload, requester_kind, requester_id, \
         requester_name, reason, state, created_at, updated_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $11, $12)",
    )
    .bind(new.id)
    .bind(new.payload.kind().as_str())
    .bind(new.subject)
    .bind(new.subject_id)
    .bind(new.sensitivity.as_str())
    .bind(payload)
    .bind(new.requester_kind)
    .bind(new.requester_id)
    .bind(new.requester_name)
    .bind(new.reason)
    .bind(at.to_rfc3339())
    .bind(new.expires_at.to_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(db_error("insert change request"))?;
    for identity_id in new.payload.identities() {
        sqlx::query("insert into change_request_identities (request_id, identity_id) values ($1, $2)")
            .bind(new.id)
            .bind(identity_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error("link change request to identity"))?;
    }
    Ok(())
}

/// Pending requests that would change the identity (grants and revocations waiting).
pub async fn pending_for_identity(conn: &mut AnyConnection, identity_id: &str) -> Result<Vec<ChangeRequest>, AppError> {
    let rows = sqlx::query_as::<_, RequestRow>(&format!(
        "{SELECT} where state = 'pending' and id in (select request_id from change_request_identities where identity_id = $1) order by created_at"
    ))
    .bind(identity_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error("pending requests for identity"))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let decisions = decisions(conn, &row.id).await?;
        items.push(row.into_request(decisions)?);
    }
    Ok(items)
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    approver_id: String,
    approver_name: String,
    verdict: String,
    comment: String,
    at: String,
}

pub async fn decisions(conn: &mut AnyConnection, request_id: &str) -> Result<Vec<Decision>, AppError> {
    sqlx::query_as::<_, DecisionRow>(
        "select approver_id, approver_name, verdict, comment, at from change_decisions where request_id = $1 order by at, approver_id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await
    .map_err(db_error("change decisions"))?
    .into_iter()
    .map(|d| {
        Ok(Decision {
            approver_id: d.approver_id,
            approver_name: d.approver_name,
            verdict: vocab(&d.verdict, Verdict::parse)?,
            comment: d.comment,
            at: ts(&d.at)?,
        })
    })
    .collect()
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<ChangeRequest>, AppError> {
    let Some(row) = sqlx::query_as::<_, RequestRow>(&format!("{SELECT} where id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error("change request by id"))?
    else {
        return Ok(None);
    };
    let decisions = decisions(conn, id).await?;
    row.into_request(decisions).map(Some)
}

/// Takes the request's row lock inside the caller's transaction (a harmless write, portable to
/// both backends), so concurrent deciders of one request queue up and each sees the last one's
/// outcome.
pub async fn lock(conn: &mut AnyConnection, id: &str, at: Timestamp) -> Result<bool, AppError> {
    let done = sqlx::query("update change_requests set updated_at = $2 where id = $1")
        .bind(id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("lock change request"))?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_decision(conn: &mut AnyConnection, request_id: &str, decision: &Decision) -> Result<(), AppError> {
    sqlx::query("insert into change_decisions (request_id, approver_id, approver_name, verdict, comment, at) values ($1, $2, $3, $4, $5, $6)")
        .bind(request_id)
        .bind(&decision.approver_id)
        .bind(&decision.approver_name)
        .bind(decision.verdict.as_str())
        .bind(&decision.comment)
        .bind(decision.at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(super::unique_or("insert decision", || {
            AppError::conflict(None, "You have already decided this request; an approval counts once per approver.")
        }))?;
    Ok(())
}

/// Moves a pending request to `state`; false when it was no longer pending (someone else got
/// there first), which callers treat as a conflict.
pub async fn finish(conn: &mut AnyConnection, id: &str, state: ChangeState, at: Timestamp) -> Result<bool, AppError> {
    let applied = if state == ChangeState::Applied { Some(at.to_rfc3339()) } else { None };
    let done = sqlx::query("update change_requests set state = $2, decided_at = $3, applied_at = $4, updated_at = $3 where id = $1 and state = 'pending'")
        .bind(id)
        .bind(state.as_str())
        .bind(at.to_rfc3339())
        .bind(applied)
        .execute(conn)
        .await
        .map_err(db_error("finish change request"))?;
    Ok(done.rows_affected() == 1)
}

/// Ids of pending requests whose time ran out at `now`.
pub async fn due_for_expiry(conn: &mut AnyConnection, now: Timestamp, limit: i64) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar("select id from change_requests where state = 'pending' and expires_at <= $1 order by expires_at limit $2")
        .bind(now.to_rfc3339())
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("requests due for expiry"))
}

/// Moves a pending request's expiry (demo data ages one; nothing else does).
pub async fn set_expiry(conn: &mut AnyConnection, id: &str, expires_at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update change_requests set expires_at = $2 where id = $1 and state = 'pending'")
        .bind(id)
        .bind(expires_at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set request expiry"))?;
    Ok(())
}

/// Which requests a list shows.
pub enum ChangeView<'a> {
    All,
    RequestedBy(&'a str),
    /// Pending, not requested by this approver, not yet decided by them.
    ToReview(&'a str),
}

/// Requests newest first, a page at a time. A pending request whose time ran out counts as
/// expired (the scheduler records the expiry; reads do not write).
pub async fn list(
    conn: &mut AnyConnection,
    view: ChangeView<'_>,
    state: Option<ChangeState>,
    page: &PageRequest,
    now: Timestamp,
) -> Result<Page<ChangeRequest>, AppError> {
    let size = page.size();
    let mut sql = Sql::new(SELECT);
    let mut count_sql = Sql::new("select count(*) from change_requests");
    for q in [&mut sql, &mut count_sql] {
        q.push(" where 1 = 1");
        match &view {
            ChangeView::All => {}
            ChangeView::RequestedBy(who) => {
                q.push(" and requester_id = ").bind((*who).to_owned());
            }
            ChangeView::ToReview(who) => {
                q.push(" and state = 'pending' and expires_at > ").bind(now.to_rfc3339()).push(" and requester_id <> ").bind((*who).to_owned());
                q.push(" and not exists (select 1 from change_decisions d where d.request_id = change_requests.id and d.approver_id = ")
                    .bind((*who).to_owned())
                    .push(")");
            }
        }
        match state {
            Some(ChangeState::Pending) => {
                q.push(" and state = 'pending' and expires_at > ").bind(now.to_rfc3339());
            }
            Some(ChangeState::Expired) => {
                q.push(" and (state = 'expired' or (state = 'pending' and expires_at <= ").bind(now.to_rfc3339()).push("))");
            }
            Some(state) => {
                q.push(" and state = ").bind(state.as_str());
            }
            None => {}
        }
    }
    if let Some(after) = &page.after {
        sql.push(" and (created_at, id) < (select created_at, id from change_requests where id = ").bind(after.clone()).push(")");
    }
    sql.push(" order by created_at desc, id desc limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, RequestRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("list change requests"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| r.id.clone());
    let total = super::count(conn, count_sql, "count change requests").await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let decisions = decisions(conn, &row.id).await?;
        items.push(row.into_request(decisions)?.as_seen_at(now));
    }
    Ok(Page { items, next_cursor, total })
}

/// Change requests about one subject (a role), newest first.
pub async fn about(conn: &mut AnyConnection, subject_id: &str, limit: i64) -> Result<Vec<ChangeRequest>, AppError> {
    let rows = sqlx::query_as::<_, RequestRow>(&format!("{SELECT} where subject_id = $1 order by created_at desc limit $2"))
        .bind(subject_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error("change requests about"))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let decisions = decisions(conn, &row.id).await?;
        items.push(row.into_request(decisions)?);
    }
    Ok(items)
}

pub async fn policy(conn: &mut AnyConnection) -> Result<ApprovalPolicy, AppError> {
    let stored: Option<String> =
        sqlx::query_scalar("select policy from approval_policy where id = 1").fetch_optional(conn).await.map_err(db_error("approval policy"))?;
    match stored {
        Some(json) => serde_json::from_str(&json).map_err(|e| AppError::internal("stored approval policy", e)),
        None => Ok(ApprovalPolicy::default()),
    }
}

pub async fn set_policy(conn: &mut AnyConnection, policy: &ApprovalPolicy, by: &str, at: Timestamp) -> Result<(), AppError> {
    let json = serde_json::to_string(policy).map_err(|e| AppError::internal("encode approval policy", e))?;
    sqlx::query(
        "insert into approval_policy (id, policy, updated_at, updated_by) values (1, $1, $2, $3) \
         on conflict (id) do update set policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(json)
    .bind(at.to_rfc3339())
    .bind(by)
    .execute(conn)
    .await
    .map_err(db_error("set approval policy"))?;
    Ok(())
}
