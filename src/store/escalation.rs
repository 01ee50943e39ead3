//! What the escalation graph is built from: imported identities (with AWS trust policies),
//! the grants in force of imported identities and of imported roles, and the versions they
//! hold — plus every imported role's current version, which a `bind` may name though no one
//! holds it yet. Native roles carry no source rules, so they only count when privileged.

use super::export::Snapshot;
use super::{Sql, count, db_error, split_page};
use crate::domain::Timestamp;
use crate::domain::escalation::graph::{Grant, Graph, Ledger, Principal, SourceOf, Version};
use crate::domain::escalation::{PathRow, within_of};
use crate::domain::hygiene::FindingKind;
use crate::domain::page::Page;
use crate::domain::role::Sensitivity;
use crate::domain::scope::ScopePath;
use crate::domain::source::SourceKind;
use crate::error::AppError;
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};

fn source_of(id: Option<String>, kind: Option<String>, name: Option<String>) -> Option<SourceOf> {
    Some(SourceOf { id: id?, kind: SourceKind::parse(&kind?).ok()?, name: name? })
}

/// What moves when the graph may have changed: grants of the roles it reads (each role's
/// `holders_stamp`, moved by triggers), role versions, identities created, imports (trust
/// policies, sensitivity). Reading it costs a few aggregates, so a cached graph is checked on
/// every query.
const STAMP: &str = "select cast((select sum(holders_stamp) from roles where source_id is not null or sensitivity = 'privileged') as text), \
     cast((select count(*) from role_versions) as text), (select max(id) from identities), (select max(id) from source_imports)";

fn stamp_text(v: [Option<&str>; 4]) -> String {
    format!("{}/{}/{}/{}", v[0].unwrap_or("0"), v[1].unwrap_or("0"), v[2].unwrap_or_default(), v[3].unwrap_or_default())
}

pub async fn stamp(conn: &mut AnyConnection) -> Result<String, AppError> {
    let row: (Option<String>, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as(STAMP).fetch_one(&mut *conn).await.map_err(db_error("escalation stamp"))?;
    Ok(stamp_text([row.0.as_deref(), row.1.as_deref(), row.2.as_deref(), row.3.as_deref()]))
}

/// The stamp as of `snapshot`.
async fn stamp_in(snapshot: &mut Snapshot) -> Result<String, AppError> {
    let mut stamp = None;
    snapshot
        .rows(STAMP, None, |v| {
            stamp = Some(stamp_text([v[0], v[1], v[2], v[3]]));
            Ok(())
        })
        .await?;
    stamp.ok_or_else(|| AppError::internal("escalation stamp", "no row"))
}

/// A column the query always fills.
fn cell<'a>(v: &[Option<&'a str>], i: usize) -> Result<&'a str, AppError> {
    v[i].ok_or_else(|| AppError::internal("escalation ledger", format!("column {i} is null")))
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

/// An imported role's rules, without the permissions derived from them (not needed here, and
/// most of the cost of reading a definition).
#[derive(serde::Deserialize)]
struct Rules {
    #[serde(default)]
    rules: Vec<crate::domain::source::SourceRule>,
}

/// The ledger as of `snapshot`, with grants in force at `now`. The rows are read as text off
/// the snapshot (on SQLite straight off the statement, on a thread of its own, see
/// `export::Snapshot`): through sqlx's `Any` driver the 400,000 rows of the bench import took
/// longer to read than the graph takes to build.
pub async fn ledger(snapshot: &mut Snapshot, now: Timestamp) -> Result<Ledger, AppError> {
    Ok(ledger_until(snapshot, now).await?.0)
}

/// `ledger`, with the moment it stops being so by itself: the earliest expiry of a grant it
/// holds (RFC 3339, compared as the database compares it), if any.
async fn ledger_until(snapshot: &mut Snapshot, now: Timestamp) -> Result<(Ledger, Option<String>), AppError> {
    let mut ledger = Ledger::default();
    let mut valid_until: Option<String> = None;
    let mut seen: HashSet<String> = HashSet::new();
    snapshot
        .rows(
            "select i.id, i.name, i.source_id, s.kind, s.name, i.source_ref, i.source_detail from identities i join sources s on s.id = i.source_id \
             where i.source_id is not null and i.status <> 'retired'",
            None,
            |v| {
                // Only AWS roles carry a trust policy; most details need no parsing.
                let trust_policy = v[6]
                    .filter(|d| d.contains("\"trust_policy\""))
                    .and_then(|d| serde_json::from_str::<HashMap<String, String>>(d).ok())
                    .and_then(|mut d| d.remove("trust_policy"));
                let id = cell(v, 0)?.to_owned();
                seen.insert(id.clone());
                ledger.principals.push(Principal {
                    id,
                    name: cell(v, 1)?.to_owned(),
                    source: source_of(owned(v[2]), owned(v[3]), owned(v[4])),
                    source_ref: owned(v[5]),
                    trust_policy,
                });
                Ok(())
            },
        )
        .await?;

    // Grants of imported identities, then imported roles granted to native identities (in
    // nhidb). Native identities are never reached (no rule leads to one), so their grants of
    // native roles cannot be on a path.
    let live = "a.revoked_at is null and (a.expires_at is null or a.expires_at > $1)";
    let statements = [
        format!(
            "select a.id, a.identity_id, i.name, a.role_id, cast(a.role_version as text), sc.path, a.source_ref, a.expires_at from identities i \
             join assignments a on a.identity_id = i.id join scopes sc on sc.id = a.scope_id \
             where i.source_id is not null and i.status <> 'retired' and {live}"
        ),
        format!(
            "select a.id, a.identity_id, i.name, a.role_id, cast(a.role_version as text), sc.path, a.source_ref, a.expires_at from roles r \
             join assignments a on a.role_id = r.id join identities i on i.id = a.identity_id join scopes sc on sc.id = a.scope_id \
             where r.source_id is not null and i.source_id is null and {live}"
        ),
    ];
    let mut held: HashSet<(String, i64)> = HashSet::new();
    // Grants share few scopes (a cluster's namespaces): each is parsed once.
    let mut scopes: HashMap<String, ScopePath> = HashMap::new();
    for sql in &statements {
        snapshot
            .rows_bound(sql, vec![now.to_rfc3339()], |v| {
                let identity_id = cell(v, 1)?;
                if !seen.contains(identity_id) {
                    seen.insert(identity_id.to_owned());
                    ledger.principals.push(Principal {
                        id: identity_id.to_owned(),
                        name: cell(v, 2)?.to_owned(),
                        source: None,
                        source_ref: None,
                        trust_policy: None,
                    });
                }
                if let Some(at) = v[7]
                    && valid_until.as_deref().is_none_or(|until| at < until)
                {
                    valid_until = Some(at.to_owned());
                }
                let path = cell(v, 5)?;
                let scope = match scopes.get(path) {
                    Some(scope) => scope.clone(),
                    None => {
                        let scope = ScopePath::parse(path).map_err(|e| AppError::internal("stored scope", e))?;
                        scopes.insert(path.to_owned(), scope.clone());
                        scope
                    }
                };
                let (role_id, version) = (cell(v, 3)?.to_owned(), cell(v, 4)?.parse::<i64>().map_err(|e| AppError::internal("stored role version", e))?);
                held.insert((role_id.clone(), version));
                ledger.grants.push(Grant {
                    assignment_id: cell(v, 0)?.to_owned(),
                    identity_id: identity_id.to_owned(),
                    role_id,
                    version,
                    scope,
                    source_ref: owned(v[6]),
                });
                Ok(())
            })
            .await?;
    }

    snapshot
        .rows(
            "select r.id, r.slug, cast(v.version as text), cast(r.current_version as text), r.sensitivity, r.source_id, s.kind, s.name, r.source_ref, v.definition \
             from roles r join role_versions v on v.role_id = r.id left join sources s on s.id = r.source_id \
             where r.status = 'active' and (r.source_id is not null or r.sensitivity = 'privileged')",
            None,
            |v| {
                let number = |i: usize| cell(v, i)?.parse::<i64>().map_err(|e| AppError::internal("stored role version", e));
                let (role_id, version) = (cell(v, 0)?, number(2)?);
                if version != number(3)? && !held.contains(&(role_id.to_owned(), version)) {
                    return Ok(());
                }
                let definition: Rules = serde_json::from_str(cell(v, 9)?).map_err(|e| AppError::internal("stored role definition", e))?;
                ledger.versions.push(Version {
                    role_id: role_id.to_owned(),
                    slug: cell(v, 1)?.to_owned(),
                    version,
                    privileged: cell(v, 4)? == Sensitivity::Privileged.as_str(),
                    source: source_of(owned(v[5]), owned(v[6]), owned(v[7])),
                    source_ref: owned(v[8]),
                    rules: definition.rules,
                });
                Ok(())
            },
        )
        .await?;
    Ok((ledger, valid_until))
}

/// The last graph built, with the stamp it was built at: shared by every clone of the store,
/// rebuilt only when the stamp moved. Queries wait for one rebuild rather than each making one.
#[derive(Default)]
pub struct GraphCache {
    state: tokio::sync::Mutex<Option<(String, std::sync::Arc<Built>)>>,
    /// The stamp of the graph whose escalation findings were last stored; held while they are
    /// settled, so that settling runs one at a time and a later graph is never overwritten by
    /// an earlier one.
    pub settled: tokio::sync::Mutex<Option<(String, Option<String>)>>,
    /// Settlings started after a commit and not finished yet (`findings::check` waits for them).
    pub pending: std::sync::atomic::AtomicUsize,
}

/// A graph and the ledger it was built from (a change's graph is built from the ledger with
/// the change applied).
pub struct Built {
    pub ledger: Ledger,
    pub graph: Graph,
    /// The ledger's stamp when it was read.
    pub stamp: String,
    /// How long reading the ledger and building the graph took (`nhidb bench` prints both).
    pub took: (std::time::Duration, std::time::Duration),
    /// When the first grant in it runs out: from then on the graph is out of date although no
    /// write moved the stamp.
    pub valid_until: Option<String>,
}

impl Built {
    /// What the graph was built from: the stamp, and the expiry it stays good until (settling
    /// compares both, so a graph rebuilt because a grant ran out is settled too).
    pub fn key(&self) -> (String, Option<String>) {
        (self.stamp.clone(), self.valid_until.clone())
    }
}

impl GraphCache {
    /// The graph of the committed ledger. Never called inside a write transaction: a graph
    /// built from uncommitted rows could be kept under a stamp a rollback leaves behind.
    pub async fn graph(&self, store: &super::Store, now: Timestamp) -> Result<std::sync::Arc<Built>, AppError> {
        let mut conn = store.read().await?;
        let current = stamp(&mut conn).await?;
        let mut state = self.state.lock().await;
        if let Some((built, graph)) = state.as_ref()
            && *built == current
            && graph.valid_until.as_ref().is_none_or(|until| now.to_rfc3339() < *until)
        {
            return Ok(graph.clone());
        }
        drop(conn);
        // The stamp the graph is kept under is read in the same snapshot as the ledger: the
        // graph is exactly the ledger of its stamp.
        let reading = std::time::Instant::now();
        let mut snapshot = Snapshot::begin(store).await?;
        let stamp = stamp_in(&mut snapshot).await?;
        let (ledger, valid_until) = ledger_until(&mut snapshot, now).await?;
        drop(snapshot);
        let read = reading.elapsed();
        let current = stamp.clone();
        let built = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let graph = Graph::build(&ledger);
            Built { graph, ledger, stamp, took: (read, started.elapsed()), valid_until }
        })
        .await
        .map_err(|e| AppError::internal("escalation graph", e))?;
        let graph = &built.graph;
        let (read, build) = built.took;
        tracing::debug!(
            nodes = graph.node_count(),
            edges = graph.edge_count(),
            read_ms = read.as_millis() as u64,
            build_ms = build.as_millis() as u64,
            "escalation graph built"
        );
        let built = std::sync::Arc::new(built);
        *state = Some((current, built.clone()));
        Ok(built)
    }
}

/// The filters of the ledger-wide list, checked: `within` is a bare name (no pattern).
pub struct PathFilter<'a> {
    pub source: Option<&'a str>,
    pub within: Option<&'a str>,
    pub target: Option<&'a str>,
    pub max_hops: Option<u32>,
}

/// `like` patterns match `_` and `%` literally only escaped.
fn literal(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The stored escalation-path findings that `filter` selects, from `select`.
fn filtered(select: &str, filter: &PathFilter<'_>) -> Sql {
    let mut sql = Sql::new(select);
    sql.push(
        " from findings f join identities i on i.id = f.identity_id left join sources s on s.id = i.source_id \
         where f.closed_at is null and f.kind = ",
    )
    .bind(FindingKind::EscalationPath.as_str());
    if let Some(source) = filter.source {
        sql.push(" and s.name = ").bind(source.to_owned());
    }
    if let Some(within) = filter.within {
        // The namespace, account or project, where each source writes it in its references
        // (see `within_of`).
        let w = literal(within);
        sql.push(" and (i.source_ref like ")
            .bind(format!("ServiceAccount/{w}/%"))
            .push(" escape '\\' or i.source_ref like ")
            .bind(format!("arn:%:iam::{w}:%"))
            .push(" escape '\\' or i.source_ref like ")
            .bind(format!("%@{w}.iam.gserviceaccount.com"))
            .push(" escape '\\')");
    }
    if let Some(target) = filter.target {
        sql.push(" and (f.subject_id = ")
            .bind(target.to_owned())
            .push(" or lower(f.subject) like ")
            .bind(format!("%{}%", literal(&target.to_lowercase())))
            .push(" escape '\\')");
    }
    if let Some(hops) = filter.max_hops {
        sql.push(" and cast(f.detail as integer) <= ").bind(i64::from(hops));
    }
    sql
}

/// A page of the stored escalation paths `filter` selects, by identity and target, with how
/// many there are in all.
pub async fn paths_page(conn: &mut AnyConnection, filter: &PathFilter<'_>, after: Option<(String, String)>, size: u32) -> Result<Page<PathRow>, AppError> {
    let total = count(conn, filtered("select count(*)", filter), "count escalation paths").await?;
    let mut sql = filtered("select f.identity_id, i.name, s.name, i.source_ref, f.subject_id, f.subject, f.detail", filter);
    if let Some((identity, target)) = after {
        sql.push(" and (f.identity_id, f.subject_id) > (").bind(identity).push(", ").bind(target).push(")");
    }
    sql.push(" order by f.identity_id, f.subject_id limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows: Vec<(String, String, Option<String>, Option<String>, String, String, String)> =
        sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("escalation paths"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| format!("{} {}", r.0, r.4));
    let items = rows
        .into_iter()
        .map(|(identity_id, identity_name, source_name, source_ref, target_id, target_label, hops)| PathRow {
            identity_id,
            identity_name,
            source_name,
            within: source_ref.as_deref().and_then(within_of),
            target_id,
            target_label,
            hops: hops.parse().unwrap_or(0),
        })
        .collect();
    Ok(Page { items, next_cursor, total })
}

/// How many identities imported from sources of `kind` have at least one stored escalation path.
pub async fn flagged_principals(conn: &mut AnyConnection, kind: &str) -> Result<i64, AppError> {
    let mut sql = Sql::new(
        "select count(distinct f.identity_id) from findings f join identities i on i.id = f.identity_id join sources s on s.id = i.source_id \
         where f.closed_at is null and f.kind = ",
    );
    sql.bind(FindingKind::EscalationPath.as_str()).push(" and s.kind = ").bind(kind.to_owned());
    count(conn, sql, "count flagged principals").await
}
