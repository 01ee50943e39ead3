//! Which server runs a scheduled job. Every server wakes on its own schedule; a job's runs are
//! numbered by period (time since the epoch divided by the job's interval), and the first server
//! to claim a period in the database runs it. So a job runs once per period however many servers
//! share the database, with no leader to elect or lose, and a server that stops simply stops
//! claiming.

use crate::domain::Timestamp;
use crate::error::AppError;
use crate::store::{Store, jobs};
use std::time::Duration;

/// How long claimed periods are remembered (the `job_runs` table is pruned past it).
const KEPT_DAYS: i64 = 7;

/// Whether `runner` should run `job` now, at most once per `every` across every server. The
/// interval is part of the job's key (`expiry/60s`): servers configured with different
/// intervals number their periods differently and would not keep each other out.
/// A period is claimed before its run: a server killed during a run loses that run, and the
/// next period makes up for it.
pub async fn claim(store: &Store, job: &str, every: Duration, runner: &str) -> Result<bool, AppError> {
    let now = Timestamp::now();
    let period = now.micros() / (every.as_micros().max(1) as i64);
    let key = format!("{job}/{}s", every.as_secs());
    let mut tx = store.begin().await?;
    let claimed = jobs::claim(tx.conn(), &key, period, runner, now).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Forgets claims older than a week.
pub async fn prune(store: &Store) -> Result<u64, AppError> {
    let mut tx = store.begin().await?;
    let pruned = jobs::prune(tx.conn(), Timestamp::now().plus_days(-KEPT_DAYS)).await?;
    tx.commit().await?;
    Ok(pruned)
}
