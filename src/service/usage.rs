//! Usage reports from pipelines and agents: when credentials and identities were last used.
//! This is what makes dormant identities and never-used credentials findable.

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::credential::{Fingerprint, FingerprintError};
use crate::error::{AppError, Problems};
use crate::store::{Store, audit, credentials, identities};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Largest batch one call takes.
pub const MAX_ENTRIES: usize = 50_000;
/// Reports from clocks running this far ahead are still accepted (and clamped to now).
const CLOCK_SKEW_SECONDS: i64 = 300;

/// One observation: a credential (by fingerprint) or an identity (by id) was used at a time.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageEntry {
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub identity_id: Option<String>,
    /// RFC 3339, e.g. `2026-11-29T08:00:00Z`.
    pub last_used_at: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    pub entries: Vec<UsageEntry>,
}

/// What a report changed, and what it named that the ledger does not know.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageOutcome {
    pub received: usize,
    pub credentials_updated: usize,
    pub identities_updated: usize,
    pub unknown_fingerprints: Vec<String>,
    pub unknown_identities: Vec<String>,
}

/// Parsed entries: the latest time per fingerprint and per identity.
struct Observations {
    fingerprints: BTreeMap<String, Timestamp>,
    identities: BTreeMap<String, Timestamp>,
}

fn latest(map: &mut BTreeMap<String, Timestamp>, key: String, at: Timestamp) {
    let slot = map.entry(key).or_insert(at);
    if *slot < at {
        *slot = at;
    }
}

/// Every entry is checked and every problem reported (the first 50), so a pipeline can fix its
/// report in one go; nothing is recorded unless the whole report is valid.
fn parse(report: &UsageReport, now: Timestamp) -> Result<Observations, AppError> {
    if report.entries.is_empty() {
        return Err(AppError::invalid("entries", "The report has no entries."));
    }
    if report.entries.len() > MAX_ENTRIES {
        return Err(AppError::invalid("entries", format!("A report has at most {MAX_ENTRIES} entries; this one has {}. Split it.", report.entries.len())));
    }
    let mut problems = Problems::new();
    let mut reported = 0;
    let mut report_problem = |problems: &mut Problems, field: String, message: String| {
        reported += 1;
        if reported <= 50 {
            problems.add(&field, message);
        }
    };
    let latest_allowed = now.plus_seconds(CLOCK_SKEW_SECONDS);
    let mut observations = Observations { fingerprints: BTreeMap::new(), identities: BTreeMap::new() };
    for (i, entry) in report.entries.iter().enumerate() {
        let at = match entry.last_used_at.trim().parse::<Timestamp>() {
            Ok(at) if at > latest_allowed => {
                report_problem(&mut problems, format!("entries[{i}].last_used_at"), "This time lies in the future.".to_owned());
                continue;
            }
            // 2000-01-01T00:00:00Z: earlier times are clock or encoding mistakes.
            Ok(at) if at.micros() < 946_684_800_000_000 => {
                report_problem(&mut problems, format!("entries[{i}].last_used_at"), "This time is before the year 2000.".to_owned());
                continue;
            }
            Ok(at) => at.min(now),
            Err(e) => {
                report_problem(&mut problems, format!("entries[{i}].last_used_at"), e);
                continue;
            }
        };
        match (entry.fingerprint.as_deref().map(str::trim).filter(|f| !f.is_empty()), entry.identity_id.as_deref().map(str::trim).filter(|f| !f.is_empty())) {
            (Some(fingerprint), None) => match Fingerprint::parse(fingerprint) {
                Ok(fingerprint) => latest(&mut observations.fingerprints, fingerprint.as_str().to_owned(), at),
                Err(FingerprintError::Malformed(message) | FingerprintError::SecretMaterial(message)) => {
                    report_problem(&mut problems, format!("entries[{i}].fingerprint"), message)
                }
            },
            (None, Some(identity)) => latest(&mut observations.identities, identity.to_owned(), at),
            _ => report_problem(&mut problems, format!("entries[{i}]"), "Give either a fingerprint or an identity_id.".to_owned()),
        }
    }
    if reported > 50 {
        problems.add("entries", format!("… and {} more problems.", reported - 50));
    }
    problems.into_result()?;
    Ok(observations)
}

/// Records a batch of usage in one transaction: credentials' `last_used_at` and their
/// identities' `last_seen_at` move forward (never back), named identities likewise.
pub async fn report(store: &Store, actor: &Actor, report: &UsageReport) -> Result<UsageOutcome, AppError> {
    require(actor, Capability::ReportUsage)?;
    let now = Timestamp::now();
    let observations = parse(report, now)?;
    let uses: Vec<(String, Timestamp)> = observations.fingerprints.iter().map(|(f, t)| (f.clone(), *t)).collect();
    let mut tx = store.begin().await?;
    let matched = credentials::record_usage(tx.conn(), &uses).await?;
    let known: BTreeSet<&str> = matched.iter().map(|(f, _, _)| f.as_str()).collect();
    let unknown_fingerprints: Vec<String> = observations.fingerprints.keys().filter(|f| !known.contains(f.as_str())).cloned().collect();

    let mut seen = observations.identities.clone();
    for (_, identity_id, at) in &matched {
        latest(&mut seen, identity_id.clone(), *at);
    }
    let seen: Vec<(String, Timestamp)> = seen.into_iter().collect();
    let found: BTreeSet<String> = identities::record_seen(tx.conn(), &seen).await?.into_iter().collect();
    let unknown_identities: Vec<String> = observations.identities.keys().filter(|id| !found.contains(*id)).cloned().collect();
    let touched: Vec<String> = found.iter().cloned().collect();
    super::findings::settle(tx.conn(), &touched, super::findings::Touches::Usage, now).await?;
    let outcome = UsageOutcome {
        received: report.entries.len(),
        credentials_updated: matched.len(),
        identities_updated: found.len(),
        unknown_fingerprints,
        unknown_identities,
    };
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(
            "usage.report",
            "usage",
            &actor.id,
            json!({
                "received": outcome.received, "credentials_updated": outcome.credentials_updated,
                "identities_updated": outcome.identities_updated,
                "unknown_fingerprints": outcome.unknown_fingerprints.len(), "unknown_identities": outcome.unknown_identities.len(),
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fingerprint: Option<&str>, identity: Option<&str>, at: &str) -> UsageEntry {
        UsageEntry { fingerprint: fingerprint.map(Into::into), identity_id: identity.map(Into::into), last_used_at: at.into() }
    }

    const FP: &str = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8";

    #[test]
    fn the_latest_report_per_fingerprint_wins() {
        let now: Timestamp = "2026-11-29T10:00:00Z".parse().unwrap();
        let report = UsageReport { entries: vec![entry(Some(FP), None, "2026-11-29T09:00:00Z"), entry(Some(FP), None, "2026-11-28T09:00:00Z")] };
        let parsed = parse(&report, now).unwrap();
        assert_eq!(parsed.fingerprints[FP].to_rfc3339(), "2026-11-29T09:00:00.000000Z");
    }

    #[test]
    fn every_bad_entry_is_named_and_nothing_is_kept() {
        let now: Timestamp = "2026-11-29T10:00:00Z".parse().unwrap();
        let report = UsageReport {
            entries: vec![
                entry(Some(FP), None, "yesterday"),
                entry(None, None, "2026-11-29T09:00:00Z"),
                entry(Some(FP), Some("x"), "2026-11-29T09:00:00Z"),
                entry(None, Some("01J"), "2027-01-01T00:00:00Z"),
                entry(Some("ghp_abcdefghijklmnopqrstuvwxyz0123456789"), None, "2026-11-29T09:00:00Z"),
            ],
        };
        let Err(AppError::Validation { errors }) = parse(&report, now) else { panic!("expected problems") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["entries[0].last_used_at", "entries[1]", "entries[2]", "entries[3].last_used_at", "entries[4].fingerprint"]);
        assert!(errors[4].message.contains("GitHub"));
    }

    #[test]
    fn a_slightly_fast_clock_is_clamped_to_now() {
        let now: Timestamp = "2026-11-29T10:00:00Z".parse().unwrap();
        let report = UsageReport { entries: vec![entry(None, Some("01J"), "2026-11-29T10:02:00Z")] };
        assert_eq!(parse(&report, now).unwrap().identities["01J"], now);
    }
}
