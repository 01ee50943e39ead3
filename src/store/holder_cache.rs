//! Snapshots of each role's holders, kept in memory and checked against the role's
//! `holders_stamp` (moved by triggers on every grant, revocation or holder rename) on each read.
//! "Who holds R" then costs one indexed lookup of the stamp plus a walk over memory, at any
//! ledger size, and stays exact for every process sharing the database: a stale snapshot is
//! never served, only reloaded. Memory is bounded by a budget of holders across all roles; a
//! role bigger than the whole budget is paged in SQL instead.

use super::access::load_holders;
use super::db_error;
use crate::domain::discovery::HolderSnapshot;
use crate::error::AppError;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Holders kept across all roles: about 300 bytes each, so ~60 MB at most.
pub const DEFAULT_BUDGET: usize = 200_000;

pub struct HolderCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    roles: HashMap<String, Entry>,
    held: usize,
    clock: u64,
}

struct Entry {
    stamp: i64,
    snapshot: Arc<HolderSnapshot>,
    used: u64,
}

impl HolderCache {
    pub fn new(budget: usize) -> HolderCache {
        HolderCache { budget, state: Mutex::new(State::default()) }
    }

    /// The role's current snapshot, or `None` when the role has more unrevoked grants than the
    /// whole budget (the caller pages those in SQL).
    pub async fn snapshot(&self, conn: &mut AnyConnection, role_id: &str) -> Result<Option<Arc<HolderSnapshot>>, AppError> {
        // The stamp is read before the holders: a write landing in between leaves a snapshot
        // tagged with the older stamp, which the next read replaces. The reverse order could
        // tag old holders with the new stamp and serve them indefinitely.
        let stamp: Option<i64> = sqlx::query_scalar("select holders_stamp from roles where id = $1")
            .bind(role_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error("holders stamp"))?;
        let Some(stamp) = stamp else {
            return Ok(Some(Arc::default()));
        };
        if let Some(hit) = self.fresh(role_id, stamp) {
            return Ok(Some(hit));
        }
        let count: i64 = sqlx::query_scalar("select count(*) from assignments where role_id = $1 and revoked_at is null")
            .bind(role_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error("count holders"))?;
        if count as usize > self.budget {
            return Ok(None);
        }
        let snapshot = Arc::new(HolderSnapshot::new(load_holders(conn, role_id).await?));
        self.keep(role_id, stamp, Arc::clone(&snapshot));
        Ok(Some(snapshot))
    }

    fn fresh(&self, role_id: &str, stamp: i64) -> Option<Arc<HolderSnapshot>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.clock += 1;
        let clock = state.clock;
        let entry = state.roles.get_mut(role_id).filter(|e| e.stamp == stamp)?;
        entry.used = clock;
        Some(Arc::clone(&entry.snapshot))
    }

    /// Stores a snapshot, evicting the least recently used ones until the budget holds.
    fn keep(&self, role_id: &str, stamp: i64, snapshot: Arc<HolderSnapshot>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = state.roles.remove(role_id) {
            state.held -= old.snapshot.len();
        }
        while state.held + snapshot.len() > self.budget {
            let Some(oldest) = state.roles.iter().min_by_key(|(_, e)| e.used).map(|(id, _)| id.clone()) else {
                break;
            };
            if let Some(gone) = state.roles.remove(&oldest) {
                state.held -= gone.snapshot.len();
            }
        }
        state.clock += 1;
        let used = state.clock;
        state.held += snapshot.len();
        state.roles.insert(role_id.to_owned(), Entry { stamp, snapshot, used });
    }

    /// Holders currently kept, across roles (for tests and diagnostics).
    pub fn held(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).held
    }
}
