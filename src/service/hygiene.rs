//! Hygiene reports: what should not be left as it is, per kind, with the action that fits. The
//! findings are stored and kept current by the changes that open and close them (see
//! `findings`); reading a report is reading rows, never a walk of the ledger.

use super::limits::HYGIENE;
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::hygiene::{Finding, FindingKind, FindingQuery, HygienePolicy, HygieneSummary, KindCount};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use crate::store::Store;
use crate::store::findings;

fn kind(text: &str) -> Result<FindingKind, AppError> {
    FindingKind::parse(text).map_err(|e| AppError::invalid("kind", e))
}

/// Open findings per kind, from the counters; `policy` and `as_of` say what they were computed
/// with (the windows of the last rebuild, and the scheduler's last step for the time-based ones).
pub async fn summary(store: &Store, actor: &Actor, policy: &HygienePolicy) -> Result<HygieneSummary, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let counts: std::collections::BTreeMap<String, i64> = findings::counts(&mut conn).await?.into_iter().collect();
    let clock = findings::clock(&mut conn).await?;
    Ok(HygieneSummary {
        counts: FindingKind::ALL
            .iter()
            .map(|kind| KindCount { kind: *kind, label: kind.label().to_owned(), count: counts.get(kind.as_str()).copied().unwrap_or(0) })
            .collect(),
        policy: clock.map(|c| c.policy).unwrap_or(*policy),
        as_of: clock.map(|c| c.refreshed_at).unwrap_or_else(Timestamp::now),
        drift: crate::store::drift::counts(&mut conn, None).await?,
    })
}

/// One page of one report.
pub async fn report(store: &Store, actor: &Actor, kind_text: &str, query: &FindingQuery, _policy: &HygienePolicy) -> Result<Page<Finding>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = kind(kind_text)?;
    let page = PageRequest { after: None, limit: query.limit };
    findings::page(&mut *store.read().await?, kind, query.cursor().as_ref(), &page).await
}

/// A walk through every finding of one report, a page at a time (CSV downloads stream it). Each
/// page's query takes a turn of the hygiene work limit, so a client reading slowly holds none.
pub struct Walk {
    kind: FindingKind,
    after: Option<(String, String)>,
    done: bool,
}

/// Rows per page of a walk: large enough that a million rows take a few hundred statements.
const WALK_PAGE: u32 = 5_000;

pub async fn walk(actor: &Actor, kind_text: &str) -> Result<Walk, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = kind(kind_text)?;
    Ok(Walk { kind, after: None, done: false })
}

impl Walk {
    pub fn kind(&self) -> FindingKind {
        self.kind
    }

    /// The next page, or `None` after the last.
    pub async fn next(&mut self, store: &Store) -> Result<Option<Vec<Finding>>, AppError> {
        if self.done {
            return Ok(None);
        }
        let found = {
            let _turn = HYGIENE.turn().await?;
            findings::page_rows(&mut *store.read().await?, self.kind, self.after.as_ref(), WALK_PAGE).await?
        };
        match found.items.last() {
            Some(last) if found.next_cursor.is_some() => self.after = Some((last.identity_id.clone(), last.subject_id.clone().unwrap_or_default())),
            _ => self.done = true,
        }
        Ok(Some(found.items).filter(|items| !items.is_empty()))
    }

    /// The next page as CSV rows (`CSV_HEADER` order) appended to `out`, read as text straight
    /// off the database like `csv_rows` (no findings built, no timestamps parsed and printed
    /// again), each page in its own short read; `false` after the last page.
    pub async fn next_csv(&mut self, store: &Store, out: &mut Vec<u8>) -> Result<bool, AppError> {
        if self.done {
            return Ok(false);
        }
        let kind = self.kind;
        let (sql, params) = findings::csv_page(kind, self.after.as_ref(), Some(WALK_PAGE + 1));
        let mut rows = 0;
        let mut last = None;
        {
            let _turn = HYGIENE.turn().await?;
            let mut snapshot = crate::store::export::Snapshot::begin(store).await?;
            let mut writer = crate::domain::csv::Writer::continuing(out);
            snapshot
                .rows_bound(&sql, params, |cells| {
                    rows += 1;
                    // One row more than a page says whether another follows.
                    if rows <= WALK_PAGE {
                        csv_cells(kind, cells, |row| writer.row(row));
                        last = Some((cell(cells, 1).to_owned(), cell(cells, 5).to_owned()));
                    }
                    Ok(())
                })
                .await?;
        }
        match last {
            Some(last) if rows > WALK_PAGE => self.after = Some(last),
            _ => self.done = true,
        }
        Ok(rows > 0)
    }
}

fn cell<'a>(cells: &[Option<&'a str>], i: usize) -> &'a str {
    cells.get(i).copied().flatten().unwrap_or("")
}

/// One finding's CSV row from the cells of `findings::csv_page` (the sentence made from the raw
/// detail, the action added).
fn csv_cells(kind: FindingKind, cells: &[Option<&str>], each: impl FnOnce(&[&str])) {
    let sentence = findings::sentence(kind, cell(cells, 7));
    let c = |i| cell(cells, i);
    each(&[c(0), c(1), c(2), c(3), c(4), c(5), c(6), &sentence, c(8), kind.action().as_str()]);
}

/// Every finding of a report as CSV rows (`CSV_HEADER` order) from one read snapshot, streamed
/// straight off the database (a million rows in seconds, memory flat); `each` gets the cells.
pub async fn csv_rows(store: &Store, actor: &Actor, kind_text: &str, mut each: impl FnMut(&[&str])) -> Result<u64, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = kind(kind_text)?;
    let _turn = HYGIENE.turn().await?;
    let mut snapshot = crate::store::export::Snapshot::begin(store).await?;
    snapshot
        .rows(&findings::csv_query(kind), None, |cells| {
            csv_cells(kind, cells, &mut each);
            Ok(())
        })
        .await
}

/// Every finding of a report (exports).
pub async fn all(store: &Store, actor: &Actor, kind_text: &str, mut each: impl FnMut(&Finding)) -> Result<u64, AppError> {
    let mut walk = walk(actor, kind_text).await?;
    let mut rows = 0;
    while let Some(page) = walk.next(store).await? {
        for finding in &page {
            each(finding);
            rows += 1;
        }
    }
    Ok(rows)
}

/// The scheduler's run: time-based findings moved forward to now, counters folded.
pub async fn record(store: &Store, policy: &HygienePolicy) -> Result<usize, AppError> {
    super::findings::advance(store, policy, Timestamp::now()).await
}

/// Open findings (of problem kinds) at the end of each of the last `days` days on which any
/// opened or closed, oldest first: the findings' own history, read from the counters.
pub async fn trend(store: &Store, actor: &Actor, days: i64) -> Result<Vec<(String, i64)>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let since = Timestamp::now().plus_days(-days).date();
    let mut open = 0;
    let mut out = Vec::new();
    for (day, opened, closed) in findings::movements(&mut *store.read().await?).await? {
        open += opened - closed;
        if day >= since {
            out.push((day, open));
        }
    }
    Ok(out)
}
