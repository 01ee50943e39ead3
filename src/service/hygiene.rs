//! Hygiene reports: what should not be left as it is, per kind, with the action that fits; the
//! scheduler's daily counts behind the dashboard's trend.

use super::limits::HYGIENE;
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::hygiene::{Finding, FindingKind, FindingQuery, HygienePolicy, HygieneSummary, KindCount};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::store::hygiene::{self, Window};
use crate::store::{Store, identities};

/// Identities whose separation-of-duty conflicts are evaluated per call when walking the rules.
const SOD_BATCH: i64 = 500;

fn kind(text: &str) -> Result<FindingKind, AppError> {
    FindingKind::parse(text).map_err(|e| AppError::invalid("kind", e))
}

pub async fn summary(store: &Store, actor: &Actor, policy: &HygienePolicy) -> Result<HygieneSummary, AppError> {
    require(actor, Capability::ReadLedger)?;
    let _turn = HYGIENE.turn().await?;
    let now = Timestamp::now();
    let counts = counts(store, actor, policy, now).await?;
    Ok(HygieneSummary {
        counts: counts.into_iter().map(|(kind, count)| KindCount { kind, label: kind.label().to_owned(), count }).collect(),
        policy: *policy,
        as_of: now,
    })
}

async fn counts(store: &Store, actor: &Actor, policy: &HygienePolicy, now: Timestamp) -> Result<Vec<(FindingKind, i64)>, AppError> {
    let window = Window::new(policy, now);
    let mut out = Vec::with_capacity(FindingKind::ALL.len());
    for kind in FindingKind::ALL {
        let count = if *kind == FindingKind::SodViolation {
            sod_count(store, actor).await?
        } else {
            hygiene::count_of(&mut *store.read().await?, *kind, &window).await?
        };
        out.push((*kind, count));
    }
    Ok(out)
}

/// Blocking separation-of-duty conflicts across the ledger (excepted ones are not findings).
async fn sod_count(store: &Store, actor: &Actor) -> Result<i64, AppError> {
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let page = super::access::violations(store, actor, after.as_deref(), SOD_BATCH).await?;
        total += page.findings.iter().filter(|(_, _, f)| f.blocks()).count() as i64;
        match page.next_cursor {
            Some(next) => after = Some(next),
            None => return Ok(total),
        }
    }
}

/// One page of one report. Separation-of-duty pages count every finding of the ledger, so they
/// take a turn of the hygiene work limit.
pub async fn report(store: &Store, actor: &Actor, kind_text: &str, query: &FindingQuery, policy: &HygienePolicy) -> Result<Page<Finding>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = kind(kind_text)?;
    let _turn = if kind == FindingKind::SodViolation { Some(HYGIENE.turn().await?) } else { None };
    page_of(store, actor, kind, query, policy).await
}

async fn page_of(store: &Store, actor: &Actor, kind: FindingKind, query: &FindingQuery, policy: &HygienePolicy) -> Result<Page<Finding>, AppError> {
    let page = PageRequest { after: None, limit: query.limit };
    if kind == FindingKind::SodViolation {
        return sod_page(store, actor, query, &page).await;
    }
    let window = Window::new(policy, Timestamp::now());
    hygiene::findings(&mut *store.read().await?, kind, &window, query.cursor().as_ref(), &page).await
}

/// SoD findings, paged by identity (an identity's conflicts stay on one page).
async fn sod_page(store: &Store, actor: &Actor, query: &FindingQuery, page: &PageRequest) -> Result<Page<Finding>, AppError> {
    let after = query.cursor().map(|(identity, _)| identity);
    let found = super::access::violations(store, actor, after.as_deref(), i64::from(page.size())).await?;
    let mut conn = store.read().await?;
    let mut items = Vec::new();
    for (identity_id, name, finding) in found.findings.into_iter().filter(|(_, _, f)| f.blocks()) {
        let identity = identities::by_id(&mut conn, &identity_id).await?;
        items.push(Finding {
            kind: FindingKind::SodViolation,
            service_name: identity.as_ref().and_then(|i| i.service_name.clone()),
            owner_name: identity.map(|i| i.owner_name).unwrap_or_default(),
            identity_id,
            identity_name: name,
            subject_id: None,
            subject: format!("{} + {}", finding.roles.0, finding.roles.1),
            detail: finding.message,
            since: None,
            action: FindingKind::SodViolation.action(),
        });
    }
    let total = if found.next_cursor.is_none() && after.is_none() { items.len() as i64 } else { sod_count(store, actor).await? };
    Ok(Page { items, next_cursor: found.next_cursor, total })
}

/// Every finding of a report, a page at a time, for CSV downloads and exports.
pub async fn all(store: &Store, actor: &Actor, kind_text: &str, policy: &HygienePolicy, mut each: impl FnMut(&Finding)) -> Result<u64, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = kind(kind_text)?;
    let _turn = HYGIENE.turn().await?;
    let mut query = FindingQuery { after: None, limit: Some(crate::domain::page::MAX_PAGE_SIZE) };
    let mut rows = 0;
    loop {
        let page = page_of(store, actor, kind, &query, policy).await?;
        for finding in &page.items {
            each(finding);
            rows += 1;
        }
        match page.next_cursor {
            Some(next) => query.after = Some(next),
            None => return Ok(rows),
        }
    }
}

/// The scheduler's run: today's counts per kind, kept for the trend.
pub async fn record(store: &Store, policy: &HygienePolicy) -> Result<Vec<(FindingKind, i64)>, AppError> {
    let actor = Actor::system("hygiene scheduler");
    let _turn = HYGIENE.wait_turn().await?;
    let now = Timestamp::now();
    let counts = counts(store, &actor, policy, now).await?;
    let mut tx = store.begin().await?;
    hygiene::record_counts(tx.conn(), &now.date(), &counts, now).await?;
    tx.commit().await?;
    Ok(counts)
}

/// Open findings per day over the last `days` days, oldest first.
pub async fn trend(store: &Store, actor: &Actor, days: i64) -> Result<Vec<(String, i64)>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let since = Timestamp::now().plus_days(-days).date();
    hygiene::history(&mut *store.read().await?, &since).await
}
