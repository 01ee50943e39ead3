//! The rules of console access that do not need a database: session timeouts, sign-in
//! throttling and constant-time comparison of secrets.

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// Failed sign-ins allowed per key within a window before the key is locked for a while.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottlePolicy {
    pub max_failures: i64,
    pub window_seconds: i64,
    pub lock_seconds: i64,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// A session unused this long ends.
    pub session_idle_seconds: i64,
    /// A session ends this long after sign-in, used or not.
    pub session_absolute_seconds: i64,
    /// Per account (e-mail address, whether or not it exists) *and* client address: a stranger's
    /// guesses lock the stranger out of that account, not its owner signing in from elsewhere.
    pub client_throttle: ThrottlePolicy,
    /// Per account from all addresses together: a much higher ceiling, against guessing spread
    /// over many addresses.
    pub account_throttle: ThrottlePolicy,
    /// Per client address: catches one client guessing across many accounts.
    pub address_throttle: ThrottlePolicy,
    /// How long the printed first-run URL works.
    pub bootstrap_seconds: i64,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy {
            session_idle_seconds: 30 * 60,
            session_absolute_seconds: 12 * 60 * 60,
            client_throttle: ThrottlePolicy { max_failures: 5, window_seconds: 15 * 60, lock_seconds: 15 * 60 },
            account_throttle: ThrottlePolicy { max_failures: 100, window_seconds: 15 * 60, lock_seconds: 15 * 60 },
            address_throttle: ThrottlePolicy { max_failures: 50, window_seconds: 15 * 60, lock_seconds: 15 * 60 },
            bootstrap_seconds: 60 * 60,
        }
    }
}

/// Failures recorded against a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i64,
    pub window_started_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

/// Seconds left on a lock, if the key is locked at `now`.
pub fn locked_for(state: Option<&ThrottleState>, now: Timestamp) -> Option<i64> {
    let until = state?.locked_until?;
    (until > now).then(|| ((until.micros() - now.micros()) / 1_000_000).max(1))
}

/// The state after one more failure: failures count within a window; reaching the limit locks.
pub fn after_failure(state: Option<ThrottleState>, now: Timestamp, policy: ThrottlePolicy) -> ThrottleState {
    let fresh = ThrottleState { failures: 0, window_started_at: now, locked_until: None };
    let current = match state {
        // A key that was locked starts afresh once the lock is over.
        Some(s) if s.locked_until.is_none() && s.window_started_at.plus_seconds(policy.window_seconds) > now => s,
        _ => fresh,
    };
    let failures = current.failures + 1;
    let locked_until = (failures >= policy.max_failures).then(|| now.plus_seconds(policy.lock_seconds));
    ThrottleState { failures, window_started_at: current.window_started_at, locked_until }
}

/// The state after an attempt counted by `after_failure` turned out to be the right password:
/// the attempt no longer counts, and a lock it set (by reaching the limit) is lifted.
pub fn after_success(state: ThrottleState, policy: ThrottlePolicy) -> ThrottleState {
    let failures = (state.failures - 1).max(0);
    let locked_until = if failures < policy.max_failures { None } else { state.locked_until };
    ThrottleState { failures, window_started_at: state.window_started_at, locked_until }
}

/// How long to hold back the answer to a failed sign-in: growing with each failure, capped, so
/// guessing is slow long before the lock.
pub fn failure_delay_ms(failures: i64) -> u64 {
    (failures.max(0) as u64 * 250).min(2_000)
}

/// Why a session is no longer valid at `now`, if it is not.
pub fn session_expiry(last_seen_at: Timestamp, expires_at: Timestamp, now: Timestamp, policy: &AccessPolicy) -> Option<&'static str> {
    if expires_at <= now {
        Some("absolute timeout")
    } else if last_seen_at.plus_seconds(policy.session_idle_seconds) <= now {
        Some("idle timeout")
    } else {
        None
    }
}

/// Compares secrets without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy { max_failures: 3, window_seconds: 60, lock_seconds: 30 };

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_micros(1_800_000_000_000_000 + seconds * 1_000_000)
    }

    #[test]
    fn the_third_failure_in_a_window_locks_the_key() {
        let s1 = after_failure(None, t(0), POLICY);
        let s2 = after_failure(Some(s1), t(1), POLICY);
        assert_eq!(locked_for(Some(&s2), t(1)), None);
        let s3 = after_failure(Some(s2), t(2), POLICY);
        assert_eq!(locked_for(Some(&s3), t(2)), Some(30));
        assert_eq!(locked_for(Some(&s3), t(33)), None, "the lock ends");
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let s1 = after_failure(None, t(0), POLICY);
        let s2 = after_failure(Some(s1), t(1), POLICY);
        let s3 = after_failure(Some(s2), t(100), POLICY);
        assert_eq!(s3.failures, 1);
    }

    #[test]
    fn after_a_lock_ends_counting_starts_afresh() {
        let mut s = None;
        for i in 0..3 {
            s = Some(after_failure(s, t(i), POLICY));
        }
        let next = after_failure(s, t(40), POLICY);
        assert_eq!(next.failures, 1);
        assert_eq!(next.locked_until, None);
    }

    #[test]
    fn a_counted_attempt_that_succeeds_is_taken_back() {
        let mut s = None;
        for i in 0..2 {
            s = Some(after_failure(s, t(i), POLICY));
        }
        let reserved = after_failure(s, t(2), POLICY);
        assert!(locked_for(Some(&reserved), t(2)).is_some(), "the third attempt reaches the limit while it is evaluated");
        let released = after_success(reserved, POLICY);
        assert_eq!(released.failures, 2);
        assert_eq!(locked_for(Some(&released), t(2)), None, "the right password does not leave the key locked");
    }

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(failure_delay_ms(1), 250);
        assert_eq!(failure_delay_ms(100), 2_000);
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let policy = AccessPolicy { session_idle_seconds: 10, session_absolute_seconds: 100, ..Default::default() };
        assert_eq!(session_expiry(t(0), t(100), t(5), &policy), None);
        assert_eq!(session_expiry(t(0), t(100), t(10), &policy), Some("idle timeout"));
        assert_eq!(session_expiry(t(95), t(100), t(100), &policy), Some("absolute timeout"));
    }

    #[test]
    fn constant_time_comparison_is_still_a_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
