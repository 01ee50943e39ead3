//! Hygiene findings kept current. Every change that can open or close a finding calls `settle`
//! for the identities it touched, in its own transaction: the findings those identities should
//! have now are derived (SQL per kind, separation of duties by the domain rules) and compared
//! with the stored ones; the difference is written and counted. Writers take turns on both
//! backends (`Store::begin`), so nothing a change derives from is changed by another writer
//! before it commits, and settling needs no locks of its own. Time-based findings are moved
//! forward by the scheduler (`advance`) from indexed columns. `rebuild` and `check` walk the
//! whole ledger, for upgrades and for proof.

use crate::domain::Timestamp;
use crate::domain::escalation::graph::Graph;
use crate::domain::hygiene::{FindingKind, HygienePolicy};
use crate::domain::role::{Permission, Role, Sensitivity};
use crate::domain::scope::ScopePath;
use crate::domain::sod::{Holding, SodException, SodRule, conflicts};
use crate::error::AppError;
use crate::store::access::VersionCache;
use crate::store::findings::{self, Clock, Row, Stored};
use crate::store::hygiene::{self, Window};
use crate::store::{Identities, Store, access, sod};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, HashMap};

/// Identities settled per statement batch.
const BATCH: usize = 500;

/// Identities settled per batch when their ids are close together (read by id range): as many
/// as a rebuild's batch.
const RUN: usize = BATCH * 4;

/// Up to this many identities, a change's separation check reads their permissions joined to
/// their grants; more read each role version's permissions once (see `separation`).
const FEW: usize = 50;

/// Whether changes maintain findings. Always true, except while `nhidb bench` measures what
/// maintaining them costs (the same run, with and without).
static MAINTAINED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Time spent per phase of settling (the derived and stored rows by SQL, separation of duties,
/// writes),
/// in microseconds: a rebuild logs them, so that its time can be explained.
static PHASES: [std::sync::atomic::AtomicU64; 3] = [const { std::sync::atomic::AtomicU64::new(0) }; 3];

fn timed(phase: usize, since: std::time::Instant) {
    PHASES[phase].fetch_add(since.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
}

fn take_phases() -> [u64; 3] {
    std::array::from_fn(|i| PHASES[i].swap(0, std::sync::atomic::Ordering::Relaxed))
}

/// The time settling has spent per phase, in microseconds (SQL, separation of duties, writes):
/// a large import logs the difference over its settling. Counted across the process (concurrent
/// changes' settling adds in, a rebuild starts it again), so it is a diagnostic only.
pub fn phase_times_us() -> [u64; 3] {
    std::array::from_fn(|i| PHASES[i].load(std::sync::atomic::Ordering::Relaxed))
}

#[doc(hidden)]
pub fn set_maintained_for_benchmark(on: bool) {
    MAINTAINED.store(on, std::sync::atomic::Ordering::SeqCst);
}

/// Which kinds a change can affect; settling fewer kinds is cheaper, never different in effect
/// for a change that cannot touch the others.
#[derive(Debug, Clone, Copy)]
pub enum Touches {
    /// Anything about the identity (status, owner, service).
    Everything,
    /// A new identity, with the grants it was created with: its owner and service were checked
    /// active, it was seen just now, holds no credential yet and is pinned to current versions,
    /// so only these kinds can apply, and nothing is stored about it yet.
    Created,
    /// Identities retired in this transaction, their grants and credentials ended with them:
    /// nothing can be found about them any more, so their open findings close without a query.
    Retired,
    /// Grants: held roles, their versions, separation of duties, and the credentials a revoked
    /// grant takes with it.
    Grants,
    /// Grants only, none ended: no credential goes with them, so only what the identity holds
    /// and what that allows can change (and the hygiene windows need not be read).
    Granted,
    /// Credentials of the identity.
    Credentials,
    /// Reported use: last seen, credentials used.
    Usage,
    /// A role's new version: who is behind it, and what its holders (moved or not) may do.
    Versions,
    /// Separation-of-duty rules and exceptions.
    Separation,
}

/// Every kind derived per identity: all but escalation paths (see `settle_escalation`).
const PER_IDENTITY: &[FindingKind] = {
    use FindingKind::*;
    &[
        OrphanOwner,
        OrphanService,
        Unassigned,
        Dormant,
        CredentialExpired,
        CredentialExpiring,
        CredentialUnrotated,
        CredentialUnused,
        SodViolation,
        PrivilegedHolder,
        OutdatedVersion,
    ]
};

impl Touches {
    fn kinds(self) -> &'static [FindingKind] {
        use FindingKind::*;
        match self {
            Touches::Everything | Touches::Retired => PER_IDENTITY,
            Touches::Created => &[Unassigned, PrivilegedHolder, SodViolation],
            Touches::Grants => {
                &[Unassigned, SodViolation, PrivilegedHolder, OutdatedVersion, CredentialExpired, CredentialExpiring, CredentialUnrotated, CredentialUnused]
            }
            Touches::Granted => &[Unassigned, SodViolation, PrivilegedHolder, OutdatedVersion],
            Touches::Credentials => &[CredentialExpired, CredentialExpiring, CredentialUnrotated, CredentialUnused],
            Touches::Usage => &[Dormant, CredentialUnused],
            Touches::Versions => &[SodViolation, PrivilegedHolder, OutdatedVersion],
            Touches::Separation => &[SodViolation],
        }
    }
}

/// The windows stored findings are computed with: the ones recorded by the last rebuild, or
/// the defaults before the first.
async fn policy(conn: &mut AnyConnection) -> Result<HygienePolicy, AppError> {
    Ok(findings::clock(conn).await?.map(|c| c.policy).unwrap_or_default())
}

/// The windows of the stored findings (the defaults before the first rebuild).
pub async fn policy_in_effect(store: &Store) -> Result<HygienePolicy, AppError> {
    policy(&mut *store.read().await?).await
}

/// Brings the stored findings of `ids` in line with the ledger as of `now`, within the caller's
/// transaction.
pub async fn settle(conn: &mut AnyConnection, ids: &[String], touches: Touches, now: Timestamp) -> Result<(), AppError> {
    settle_under(conn, ids, touches, None, now).await
}

/// What a change already read in its transaction that settling would read again: an approval
/// checks separation of duties before it applies, under the rules, from each identity's
/// holdings before the change plus what it grants.
pub struct Known<'a> {
    pub rules: &'a [SodRule],
    /// Every live holding of each identity settled, as the ledger holds them now (assignment
    /// ids included, in id order, as `access::holdings` reads them); `None` when the change did
    /// not leave them exactly as it proposed (a grant already held, a revocation).
    pub holdings: Option<&'a [(String, Vec<Holding>)]>,
}

/// `settle`, with what the caller read in this transaction when it has it: a round trip fewer
/// per change for each.
pub async fn settle_under(conn: &mut AnyConnection, ids: &[String], touches: Touches, known: Option<&Known<'_>>, now: Timestamp) -> Result<(), AppError> {
    if !MAINTAINED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut versions = VersionPermissions::default();
    for run in ids.chunks(RUN) {
        // A run few other identities' ids fall between (an import's new identities: their ids
        // were made one after another) is read by id range, like a rebuild's batch; others as
        // lists. Which one is chosen changes the statements' cost only, never their effect:
        // rows of identities the range holds but the run does not are left alone.
        let (first, last) = (&run[0], &run[run.len() - 1]);
        let dense = (run.len() + run.len() / 4) as i64;
        if run.len() > BATCH && crate::store::identities::count_between(conn, first, last, dense + 1).await? <= dense {
            settle_batch(conn, Identities::Between { first, last }, run, touches, known, &mut versions, now).await?;
            continue;
        }
        for batch in run.chunks(BATCH) {
            settle_batch(conn, Identities::Listed(batch), batch, touches, known, &mut versions, now).await?;
        }
    }
    Ok(())
}

/// Settles the identities `ids` (sorted), which the statements select as `of`: the list itself,
/// or, for a rebuild, the id range they were read from. Rows of other identities a range
/// selects are left alone: one created after the batch's ids were read settled itself.
async fn settle_batch(
    conn: &mut AnyConnection,
    of: Identities<'_>,
    ids: &[String],
    touches: Touches,
    known: Option<&Known<'_>>,
    versions: &mut VersionPermissions,
    now: Timestamp,
) -> Result<(), AppError> {
    if of.is_empty() || ids.is_empty() {
        return Ok(());
    }
    let concerned = |identity_id: &str| ids.binary_search_by(|id| id.as_str().cmp(identity_id)).is_ok();
    let kinds = touches.kinds();
    let started = std::time::Instant::now();
    // Nothing can be found about retired identities: their open findings close.
    let separated = !matches!(touches, Touches::Retired) && kinds.contains(&FindingKind::SodViolation);
    let rules = match known {
        _ if !separated => None,
        Some(known) => Some(std::borrow::Cow::Borrowed(known.rules)),
        None => Some(std::borrow::Cow::Owned(sod::rules(conn).await?)),
    };
    // Each statement skipped is a round trip saved per change: the windows are read only for
    // the kinds that compare against them, and nothing is stored yet about identities created
    // in this transaction.
    let (mut should, stored) = match touches {
        Touches::Retired => (Vec::new(), findings::open_of(conn, of).await?),
        _ => {
            let windowed = kinds.iter().any(|k| matches!(k, FindingKind::Dormant | FindingKind::CredentialExpiring | FindingKind::CredentialUnrotated));
            let policy = if windowed { policy(conn).await? } else { HygienePolicy::default() };
            let window = Window::new(&policy, now);
            match touches {
                Touches::Created => (hygiene::derive(conn, kinds, of, &window).await?, Vec::new()),
                _ => hygiene::derive_with_stored(conn, kinds, of, &window).await?,
            }
        }
    };
    timed(0, started);
    if let Some(rules) = rules {
        let started = std::time::Instant::now();
        let held = known.and_then(|k| k.holdings).map(|held| held.iter().filter(|(id, _)| concerned(id)).cloned().collect());
        should.extend(separation(conn, of, held, &rules, versions, now).await?);
        timed(1, started);
    }
    should.retain(|r| concerned(&r.identity_id));
    let stored: Vec<Stored> = stored.into_iter().filter(|s| concerned(&s.row.identity_id) && kinds.iter().any(|k| k.as_str() == s.row.kind)).collect();
    let started = std::time::Instant::now();
    apply(conn, stored, should, now).await?;
    timed(2, started);
    Ok(())
}

/// A grant an identity was created with in this transaction: live, pinned to its role's current
/// version, on `scope`.
pub struct CreatedGrant<'a> {
    pub assignment_id: &'a str,
    pub role: &'a Role,
    pub scope: &'a ScopePath,
}

/// `settle(…, Touches::Created, …)` for identities created in this transaction with every grant
/// they hold, derived from those grants instead of read back (the same rows the SQL of
/// `store::hygiene` gives for them): provisioning settles a service in three statements instead
/// of five. The consistency test provisions among its operations and holds the two equal.
pub async fn settle_created(
    conn: &mut AnyConnection,
    versions: &VersionCache,
    created: &[(String, Vec<CreatedGrant<'_>>)],
    now: Timestamp,
) -> Result<(), AppError> {
    if !MAINTAINED.load(std::sync::atomic::Ordering::Relaxed) || created.is_empty() {
        return Ok(());
    }
    let row = |kind: FindingKind, identity_id: &str, subject_id: &str, subject: String| Row {
        kind: kind.as_str().to_owned(),
        identity_id: identity_id.to_owned(),
        subject_id: subject_id.to_owned(),
        subject,
        detail: String::new(),
        // The identity's `created_at` and its grants' `granted_at` are both `now`.
        since: Some(now.to_rfc3339()),
    };
    let mut should = Vec::new();
    for (id, grants) in created {
        if grants.is_empty() {
            should.push(row(FindingKind::Unassigned, id, "", String::new()));
        }
        for grant in grants.iter().filter(|g| g.role.sensitivity == Sensitivity::Privileged) {
            let subject = format!("{} v{} on {}", grant.role.slug, grant.role.current_version, grant.scope);
            should.push(row(FindingKind::PrivilegedHolder, id, grant.assignment_id, subject));
        }
    }
    let rules = sod::rules(conn).await?;
    // Only identities with several grants can conflict.
    let several: Vec<&(String, Vec<CreatedGrant<'_>>)> = created.iter().filter(|(_, grants)| grants.len() >= 2).collect();
    if rules.iter().any(|r| r.enabled) && !several.is_empty() {
        let keys: Vec<(String, i64)> = several.iter().flat_map(|(_, grants)| grants.iter().map(|g| (g.role.id.clone(), g.role.current_version))).collect();
        let mut permissions = versions.permissions(conn, &keys).await?.into_iter();
        let mut held = Vec::with_capacity(several.len());
        for (id, grants) in several {
            let mut holdings: Vec<Holding> = grants
                .iter()
                .map(|g| Holding {
                    assignment_id: Some(g.assignment_id.to_owned()),
                    role_id: g.role.id.clone(),
                    role_slug: g.role.slug.clone(),
                    version: g.role.current_version,
                    scope: g.scope.clone(),
                    permissions: permissions.next().unwrap_or_default(),
                    expires_at: None,
                })
                .collect();
            // In the order the SQL reads them (`order by a.id`): which of two grants of a role
            // is met first decides the scopes a conflict's message names.
            holdings.sort_by(|a, b| a.assignment_id.cmp(&b.assignment_id));
            held.push((id.clone(), holdings));
        }
        let ids: Vec<String> = held.iter().map(|(id, _)| id.clone()).collect();
        should.extend(conflict_rows(conn, Identities::Listed(&ids), held, &rules, now).await?);
    }
    apply(conn, Vec::new(), should, now).await
}

/// Settles the live holders of `role_id`, and those whose grant of it this transaction ended
/// at `now`: a role's new version or its retirement concerns all of them.
pub async fn settle_holders_of_role(conn: &mut AnyConnection, role_id: &str, touches: Touches, now: Timestamp) -> Result<(), AppError> {
    let ids = findings::holders_of_role(conn, role_id, now).await?;
    settle(conn, &ids, touches, now).await
}

/// Settles separation of duties after `rule` was added, switched on or off. Switching off can
/// only close findings of that rule; a role pair concerns the holders of both roles; switching
/// the read/write rule on concerns every identity holding several roles (at a million
/// identities, as long as a rebuild's SoD part).
pub async fn settle_rule(conn: &mut AnyConnection, rule: &crate::domain::sod::SodRule, now: Timestamp) -> Result<(), AppError> {
    use crate::domain::sod::SodRuleKind;
    if !rule.enabled {
        let ids = findings::conflicted(conn, &rule.id).await?;
        return settle(conn, &ids, Touches::Separation, now).await;
    }
    if let SodRuleKind::RolePair { role_a, role_b } = &rule.kind {
        let ids = findings::holders_of_both(conn, role_a, role_b).await?;
        return settle(conn, &ids, Touches::Separation, now).await;
    }
    let mut after = String::new();
    loop {
        let ids = sod::multi_holders(conn, &after, BATCH as i64, now).await?;
        settle(conn, &ids, Touches::Separation, now).await?;
        match ids.last() {
            Some(last) if ids.len() == BATCH => after = last.clone(),
            _ => return Ok(()),
        }
    }
}

/// What `ids` should have now, for `kinds`.
async fn derive(
    conn: &mut AnyConnection,
    of: Identities<'_>,
    kinds: &[FindingKind],
    window: &Window,
    versions: &mut VersionPermissions,
    now: Timestamp,
) -> Result<Vec<Row>, AppError> {
    let mut rows = hygiene::derive(conn, kinds, of, window).await?;
    if kinds.contains(&FindingKind::SodViolation) {
        let rules = sod::rules(conn).await?;
        rows.extend(separation(conn, of, None, &rules, versions, now).await?);
    }
    Ok(rows)
}

/// The permissions of role versions read so far. Versions never change once written, so a
/// rebuild keeps one for its whole walk: a million identities hold a few thousand versions.
#[derive(Default)]
struct VersionPermissions(HashMap<(String, i64), Vec<Permission>>);

impl VersionPermissions {
    /// Fills in the permissions of `holdings`, reading the versions not read before.
    async fn fill(&mut self, conn: &mut AnyConnection, holdings: &mut [(String, Vec<Holding>)]) -> Result<(), AppError> {
        let mut missing: Vec<(String, i64)> =
            holdings.iter().flat_map(|(_, h)| h).map(|h| (h.role_id.clone(), h.version)).filter(|key| !self.0.contains_key(key)).collect();
        missing.sort();
        missing.dedup();
        for key in &missing {
            self.0.insert(key.clone(), Vec::new());
        }
        for (key, permission) in access::permissions_of_versions(conn, &missing).await? {
            self.0.entry(key).or_default().push(permission);
        }
        for holding in holdings.iter_mut().flat_map(|(_, h)| h.iter_mut()) {
            holding.permissions = self.0.get(&(holding.role_id.clone(), holding.version)).cloned().unwrap_or_default();
        }
        Ok(())
    }
}

/// Blocking separation-of-duty conflicts of `of` (an excepted conflict is not a finding).
async fn separation(
    conn: &mut AnyConnection,
    of: Identities<'_>,
    known: Option<Vec<(String, Vec<Holding>)>>,
    rules: &[SodRule],
    versions: &mut VersionPermissions,
    now: Timestamp,
) -> Result<Vec<Row>, AppError> {
    if !rules.iter().any(|r| r.enabled) {
        return Ok(Vec::new());
    }
    if let Some(held) = known {
        return conflict_rows(conn, of, held, rules, now).await;
    }
    // A change's few identities are read in one joined statement (a statement costs more than
    // its rows there); a rebuild's or a large import's batch reads grants and fills in
    // permissions from memory (joined, each grant's permissions would be read again, and an
    // import's 100,000 new identities held a few thousand role versions between them).
    let held = match of {
        Identities::Listed(ids) if ids.len() <= FEW => access::holdings_of_many(conn, of, now).await?,
        _ => {
            let mut held = access::grants_of_many(conn, of, now).await?;
            // Only identities with several grants can conflict.
            held.retain(|(_, holdings)| holdings.len() >= 2);
            versions.fill(conn, &mut held).await?;
            held
        }
    };
    conflict_rows(conn, of, held, rules, now).await
}

/// The blocking conflicts among the holdings `held` of the identities `of`.
async fn conflict_rows(
    conn: &mut AnyConnection,
    of: Identities<'_>,
    held: Vec<(String, Vec<Holding>)>,
    rules: &[SodRule],
    now: Timestamp,
) -> Result<Vec<Row>, AppError> {
    let mut rows = Vec::new();
    // Exceptions only decide whether a conflict blocks: read once, for the batch, if any conflicts.
    let mut exceptions: Option<Vec<SodException>> = None;
    for (id, holdings) in held.into_iter().filter(|(_, holdings)| holdings.len() >= 2) {
        if conflicts(&id, &holdings, rules, &[], now).is_empty() {
            continue;
        }
        if exceptions.is_none() {
            exceptions = Some(sod::exceptions_of_many(conn, of).await?);
        }
        let exceptions = exceptions.as_deref().unwrap_or_default();
        for finding in conflicts(&id, &holdings, rules, exceptions, now).into_iter().filter(|f| f.blocks()) {
            rows.push(Row {
                kind: FindingKind::SodViolation.as_str().to_owned(),
                subject_id: format!("{}/{}/{}/{}", finding.rule_id, finding.resource.as_deref().unwrap_or(""), finding.roles.0, finding.roles.1),
                subject: format!("{} + {}", finding.roles.0, finding.roles.1),
                detail: finding.message,
                since: None,
                identity_id: id.clone(),
            });
        }
    }
    Ok(rows)
}

/// Closes what is stored but no longer found, opens what is found but not stored (a finding
/// whose subject, detail or start changed is both), and counts both.
async fn apply(conn: &mut AnyConnection, stored: Vec<Stored>, should: Vec<Row>, now: Timestamp) -> Result<(), AppError> {
    let mut wanted: BTreeMap<(&str, &str, &str), &Row> = should.iter().map(|r| (r.key(), r)).collect();
    let mut close = Vec::new();
    let mut moves: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in &stored {
        match wanted.get(&s.row.key()) {
            Some(row) if **row == s.row => {
                wanted.remove(&s.row.key());
            }
            _ => {
                close.push(s.id.clone());
                moves.entry(s.row.kind.clone()).or_default().1 += 1;
            }
        }
    }
    let open: Vec<&Row> = wanted.into_values().collect();
    for row in &open {
        moves.entry(row.kind.clone()).or_default().0 += 1;
    }
    if close.is_empty() && open.is_empty() {
        return Ok(());
    }
    findings::close(conn, &close, now).await?;
    findings::open(conn, &open, now).await?;
    let moves: Vec<_> = moves.into_iter().map(|(kind, (opened, closed))| (kind, opened, closed)).collect();
    findings::add_to_counts(conn, &now.date(), &moves).await
}

/// The escalation-path findings a graph implies: one per identity and privileged target it can
/// reach through at least one escalation step, as its page's *Can become* lists them.
fn escalation_rows(graph: &Graph) -> Vec<Row> {
    graph
        .paths()
        .into_iter()
        .map(|(from, target, hops)| Row {
            kind: FindingKind::EscalationPath.as_str().to_owned(),
            identity_id: from.id,
            subject_id: target.id,
            subject: target.label,
            detail: hops.to_string(),
            since: None,
        })
        .collect()
}

/// Brings the stored escalation-path findings in line with the graph of the committed ledger.
/// They are not settled inside the change's transaction like the others: one grant can open
/// paths for identities it does not name, and the graph is only ever built from committed rows
/// (see `GraphCache`). So a change that can move the graph settles them right after it commits,
/// and the scheduler does at every tick whatever moved it (an expiry, another server's change).
/// Skipped when the graph is the one last settled, unless `force`d (a rebuild).
pub async fn settle_escalation(store: &Store, now: Timestamp, force: bool) -> Result<(), AppError> {
    if !MAINTAINED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let cache = store.escalation_graph();
    let mut settled = cache.settled.lock().await;
    let built = cache.graph(store, now).await?;
    if !force && settled.as_ref() == Some(&built.key()) {
        return Ok(());
    }
    let should = {
        let built = built.clone();
        tokio::task::spawn_blocking(move || escalation_rows(&built.graph)).await.map_err(|e| AppError::internal("escalation findings", e))?
    };
    let mut tx = store.begin().await?;
    let stored = findings::open_of_kind(tx.conn(), FindingKind::EscalationPath).await?;
    apply(tx.conn(), stored, should, now).await?;
    tx.commit().await?;
    *settled = Some(built.key());
    Ok(())
}

/// The time step of escalation paths: settles them when a grant of the graph last settled has
/// run out since and no write has moved the ledger (each change settles its own).
async fn settle_expired_paths(store: &Store, now: Timestamp) -> Result<(), AppError> {
    let settled = store.escalation_graph().settled.lock().await.clone();
    let Some((stamp, Some(until))) = settled else { return Ok(()) };
    if now.to_rfc3339() >= until && stamp == crate::store::escalation::stamp(&mut *store.read().await?).await? {
        settle_escalation(store, now, false).await?;
    }
    Ok(())
}

/// `settle_escalation` after a change commits, without making its caller wait: a failure is
/// logged, and the scheduler settles at its next tick.
pub fn settle_escalation_soon(store: &Store) {
    use std::sync::atomic::Ordering;
    let store = store.clone();
    store.escalation_graph().pending.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        if let Err(e) = settle_escalation(&store, Timestamp::now(), false).await {
            tracing::warn!(error = %e, "escalation findings not settled; the scheduler will retry");
        }
        store.escalation_graph().pending.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Waits (up to a minute) for the settlings started by changes already committed: what they
/// settle is part of the change, not a difference.
pub async fn escalation_settled(store: &Store) {
    let pending = &store.escalation_graph().pending;
    for _ in 0..6000 {
        if pending.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The scheduler's step: findings whose time window was crossed since the last step (a
/// credential expired, an identity went dormant, a grant or exception ran out) are settled;
/// then the clock moves to `now`. Without a clock (never built) or with other windows than
/// the stored findings', it rebuilds instead. Returns how many identities were settled.
pub async fn advance(store: &Store, configured: &HygienePolicy, now: Timestamp) -> Result<usize, AppError> {
    let clock = findings::clock(&mut *store.read().await?).await?;
    match clock.filter(|c| c.policy == *configured) {
        Some(clock) => step(store, clock, now).await,
        None => rebuild(store, configured, &|_, _| {}).await.map(|r| r.identities),
    }
}

/// Folds the counters' rows (the summary sums them), every minute whatever else runs.
pub async fn fold_counts(store: &Store) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    findings::fold_counts(tx.conn()).await?;
    tx.commit().await
}

/// Settles what crossed a time window between the clock and `now`, with the clock's windows.
async fn step(store: &Store, clock: Clock, now: Timestamp) -> Result<usize, AppError> {
    if now <= clock.refreshed_at {
        return Ok(0);
    }
    let crossed = findings::crossed(&mut *store.read().await?, &clock.policy, clock.refreshed_at, now).await?;
    for batch in crossed.chunks(BATCH) {
        let mut tx = store.begin().await?;
        settle(tx.conn(), batch, Touches::Everything, now).await?;
        tx.commit().await?;
    }
    let mut tx = store.begin().await?;
    findings::set_clock(tx.conn(), &Clock { refreshed_at: now, policy: clock.policy }).await?;
    findings::fold_counts(tx.conn()).await?;
    tx.commit().await?;
    Ok(crossed.len())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub identities: usize,
}

/// Recomputes every finding of every identity (in batches, each its own transaction, so the
/// server keeps serving), then resets the counters from the rows and sets the clock.
/// `progress(done, total)` is called after each batch.
pub async fn rebuild(store: &Store, policy: &HygienePolicy, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Rebuilt, AppError> {
    let now = Timestamp::now();
    {
        // Settling reads the windows from the clock: the new ones apply from the first batch.
        let mut tx = store.begin().await?;
        let since = findings::clock(tx.conn()).await?.map(|c| c.refreshed_at).unwrap_or(now);
        findings::set_clock(tx.conn(), &Clock { refreshed_at: since.min(now), policy: *policy }).await?;
        tx.commit().await?;
    }
    let total = crate::store::identities::count_all(&mut *store.read().await?).await? as u64;
    let mut after = String::new();
    let mut versions = VersionPermissions::default();
    let mut done = 0usize;
    take_phases();
    loop {
        let ids = findings::identity_batch(&mut *store.read().await?, &after, RUN as i64).await?;
        let Some(last) = ids.last().cloned() else { break };
        let mut tx = store.begin().await?;
        settle_batch(tx.conn(), Identities::Range { after: &after, last: &last }, &ids, Touches::Everything, None, &mut versions, now).await?;
        tx.commit().await?;
        done += ids.len();
        progress(done as u64, total.max(done as u64));
        after = last;
    }
    let [sql, separation, writes] = take_phases().map(|us| us / 1000);
    tracing::info!(identities = done, sql_ms = sql, separation_ms = separation, writes_ms = writes, "findings rebuilt");
    settle_escalation(store, now, true).await?;
    let mut tx = store.begin().await?;
    findings::recount(tx.conn()).await?;
    findings::set_clock(tx.conn(), &Clock { refreshed_at: now, policy: *policy }).await?;
    tx.commit().await?;
    Ok(Rebuilt { identities: done })
}

/// Adds the differences between what should be open and what is (both in any order).
fn compare(mut should: Vec<Row>, mut stored: Vec<Row>, out: &mut Vec<Difference>) {
    should.sort();
    stored.sort();
    let (mut i, mut j) = (0, 0);
    while i < should.len() || j < stored.len() {
        match (should.get(i), stored.get(j)) {
            (Some(a), Some(b)) if a == b => (i, j) = (i + 1, j + 1),
            (Some(a), Some(b)) if a < b => (out.push(Difference::Missing(a.clone())), i += 1).1,
            (Some(_), Some(b)) => (out.push(Difference::Extra(b.clone())), j += 1).1,
            (Some(a), None) => (out.push(Difference::Missing(a.clone())), i += 1).1,
            (None, Some(b)) => (out.push(Difference::Extra(b.clone())), j += 1).1,
            (None, None) => break,
        }
    }
}

/// A difference between the stored findings and a recompute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Found by the recompute, not stored as open.
    Missing(Row),
    /// Stored as open, not found by the recompute.
    Extra(Row),
    /// The counter of a kind disagrees with its open rows.
    Count { kind: String, counter: i64, rows: i64 },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row = |f: &mut std::fmt::Formatter<'_>, sign: &str, r: &Row| {
            write!(
                f,
                "{sign} {} identity {} subject {:?} ({}; {}; since {})",
                r.kind,
                r.identity_id,
                r.subject_id,
                r.subject,
                r.detail,
                r.since.as_deref().unwrap_or("-")
            )
        };
        match self {
            Difference::Missing(r) => row(f, "missing", r),
            Difference::Extra(r) => row(f, "extra  ", r),
            Difference::Count { kind, counter, rows } => write!(f, "count   {kind}: counter {counter}, open rows {rows}"),
        }
    }
}

/// Moves the time-based findings to now with the stored windows (as the scheduler would), then
/// compares every stored open finding and every counter with a recompute from scratch, in one
/// read snapshot. Changes nothing else; never rebuilds (that would hide what it should find).
pub async fn check(store: &Store, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<Vec<Difference>, AppError> {
    let now = Timestamp::now();
    let Some(clock) = findings::clock(&mut *store.read().await?).await? else {
        return Err(AppError::invalid_state("The findings were never built on this database: run `nhidb hygiene rebuild` first."));
    };
    step(store, clock, now).await?;
    escalation_settled(store).await;
    // The scheduler's escalation step too, when a grant ran out since the last settling (and
    // only then: a write not settled is a difference to show).
    settle_expired_paths(store, now).await?;
    let mut out = Vec::new();
    // One snapshot for the whole comparison, so that writes meanwhile cannot show as differences.
    let mut tx = store.begin_read().await?;
    let conn = tx.conn();
    let policy = clock.policy;
    let window = Window::new(&policy, now);
    let total = crate::store::identities::count_all(conn).await? as u64;
    let mut after = String::new();
    let mut versions = VersionPermissions::default();
    let mut done = 0u64;
    loop {
        let ids = findings::identity_batch(conn, &after, RUN as i64).await?;
        let Some(last) = ids.last().cloned() else { break };
        let of = Identities::Range { after: &after, last: &last };
        let should = derive(conn, of, PER_IDENTITY, &window, &mut versions, now).await?;
        let stored: Vec<Row> =
            findings::open_of(conn, of).await?.into_iter().map(|s| s.row).filter(|r| r.kind != FindingKind::EscalationPath.as_str()).collect();
        compare(should, stored, &mut out);
        done += ids.len() as u64;
        progress(done, total.max(done));
        after = last;
    }
    let stored = findings::open_of_kind(conn, FindingKind::EscalationPath).await?.into_iter().map(|s| s.row).collect();
    let counters: BTreeMap<String, i64> = findings::counts(conn).await?.into_iter().collect();
    let rows: BTreeMap<String, i64> = findings::counted(conn).await?.into_iter().collect();
    // Escalation paths against the graph of the same snapshot.
    let mut snapshot = crate::store::export::Snapshot::Pooled(tx);
    let graph = Graph::build(&crate::store::escalation::ledger(&mut snapshot, now).await?);
    compare(escalation_rows(&graph), stored, &mut out);
    for kind in FindingKind::ALL {
        let (counter, rows) = (counters.get(kind.as_str()).copied().unwrap_or(0), rows.get(kind.as_str()).copied().unwrap_or(0));
        if counter != rows {
            out.push(Difference::Count { kind: kind.as_str().to_owned(), counter, rows });
        }
    }
    Ok(out)
}
