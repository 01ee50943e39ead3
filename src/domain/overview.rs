//! The figures on the home page.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub identities_total: i64,
    /// (status, count)
    pub identities_by_status: Vec<(String, i64)>,
    /// (kind, count) of identities that are not retired.
    pub identities_by_kind: Vec<(String, i64)>,
    pub services_active: i64,
    pub roles_active: i64,
    pub audit_events: i64,
    pub pending_approvals: i64,
    /// Open hygiene findings (privileged holders are shown on the hygiene page, not counted).
    pub open_findings: i64,
    /// (role id, slug, live holders), most held first.
    pub top_roles: Vec<(String, String, i64)>,
    /// (day, open findings) over the last 30 days, as the scheduler recorded them.
    pub findings_trend: Vec<(String, i64)>,
    /// Live credentials expiring per week ahead: (week starting, count), 8 weeks.
    pub expiries_ahead: Vec<(String, i64)>,
}

/// How many of `expiries` fall into each of `weeks` weeks from `start`.
pub fn per_week(start: super::Timestamp, weeks: i64, expiries: &[super::Timestamp]) -> Vec<(String, i64)> {
    (0..weeks)
        .map(|w| {
            let (from, to) = (start.plus_days(7 * w), start.plus_days(7 * (w + 1)));
            (from.date(), expiries.iter().filter(|t| **t > from && **t <= to).count() as i64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn expiries_fall_into_their_week() {
        let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let times = [start.plus_days(1), start.plus_days(6), start.plus_days(8), start.plus_days(60)];
        let weeks = per_week(start, 8, &times);
        assert_eq!(weeks.len(), 8);
        assert_eq!(weeks[0], ("2026-11-01".to_owned(), 2));
        assert_eq!(weeks[1].1, 1);
        assert_eq!(weeks.iter().map(|w| w.1).sum::<i64>(), 3, "beyond eight weeks is not shown");
    }
}
