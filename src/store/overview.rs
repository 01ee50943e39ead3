//! The dashboard's totals that live in different tables, read in one statement: each is a
//! cheap indexed count or counter, and a statement costs more than the work inside it here.

use super::db_error;
use crate::error::AppError;
use sqlx::AnyConnection;

pub struct Totals {
    pub services_active: i64,
    pub roles_active: i64,
    pub audit_events: i64,
    pub pending_approvals: i64,
}

pub async fn totals(conn: &mut AnyConnection) -> Result<Totals, AppError> {
    let (services_active, roles_active, audit_events, pending_approvals): (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from services where status = 'active'), \
                (select count(*) from roles where status = 'active'), \
                (select seq from audit_head where id = 1), \
                (select count(*) from change_requests where state = 'pending')",
    )
    .fetch_one(conn)
    .await
    .map_err(db_error("overview totals"))?;
    Ok(Totals { services_active, roles_active, audit_events, pending_approvals })
}
