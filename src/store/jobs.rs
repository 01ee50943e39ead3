//! The scheduler's claims on its jobs' periods (see migration `0014_job_runs.sql`).

use super::db_error;
use crate::domain::Timestamp;
use crate::error::AppError;
use sqlx::AnyConnection;

/// Claims `period` of `job` for `runner`; false when another server (or this one) already has.
pub async fn claim(conn: &mut AnyConnection, job: &str, period: i64, runner: &str, now: Timestamp) -> Result<bool, AppError> {
    let inserted = sqlx::query("insert into job_runs (job, period, runner, started_at) values ($1, $2, $3, $4) on conflict (job, period) do nothing")
        .bind(job)
        .bind(period)
        .bind(runner)
        .bind(now.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("claim job"))?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets runs started before `before`.
pub async fn prune(conn: &mut AnyConnection, before: Timestamp) -> Result<u64, AppError> {
    let pruned = sqlx::query("delete from job_runs where started_at < $1").bind(before.to_rfc3339()).execute(conn).await.map_err(db_error("prune job runs"))?;
    Ok(pruned.rows_affected())
}
