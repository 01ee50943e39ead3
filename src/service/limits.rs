//! Bounds on expensive work, for the whole process: password hashing (argon2id takes 19 MiB and
//! tens of milliseconds per call, and sign-in must hash for unknown accounts too), ledger-wide
//! hygiene computations and compliance exports. Excess work waits briefly for a turn and is then
//! refused with `Busy` (503 and `Retry-After`), so a flood of requests slows nobody else down
//! and cannot exhaust memory.

use crate::error::AppError;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct Limit {
    permits: Semaphore,
    capacity: u32,
    /// How long a call waits for a turn before it is refused.
    wait: Duration,
    /// What the refusal tells the client to wait.
    retry_after_seconds: i64,
}

impl Limit {
    const fn new(capacity: u32, wait: Duration, retry_after_seconds: i64) -> Self {
        Limit { permits: Semaphore::const_new(capacity as usize), capacity, wait, retry_after_seconds }
    }

    /// A turn, or `Busy` when none comes free in time. The turn ends when the permit drops.
    pub async fn turn(&'static self) -> Result<SemaphorePermit<'static>, AppError> {
        match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::Busy { retry_after_seconds: self.retry_after_seconds }),
        }
    }

    /// A turn, however long it takes: for the scheduler, which has nobody waiting on it.
    pub async fn wait_turn(&'static self) -> Result<SemaphorePermit<'static>, AppError> {
        self.permits.acquire().await.map_err(|e| AppError::internal("work limit", e))
    }

    /// Takes every turn, so that nothing else of this kind runs while the permit lives (tests use
    /// it to prove where work is refused before it is done).
    pub async fn take_all(&'static self) -> SemaphorePermit<'static> {
        self.permits.acquire_many(self.capacity).await.expect("work limits are never closed")
    }
}

/// Password hashes and checks at once: four keep both cores busy; a burst of a few hundred
/// sign-ins drains within the wait.
pub static HASHING: Limit = Limit::new(4, Duration::from_secs(5), 5);
/// Hygiene summaries, separation-of-duty walks and report downloads over the whole ledger.
pub static HYGIENE: Limit = Limit::new(2, Duration::from_secs(10), 30);
/// Compliance exports: one at a time; another waits a moment, then is told to come back.
pub static EXPORTS: Limit = Limit::new(1, Duration::from_secs(1), 60);
