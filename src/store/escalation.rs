//! What the escalation graph is built from: imported identities (with AWS trust policies),
//! the grants in force of imported identities and of imported roles, and the versions they
//! hold — plus every imported role's current version, which a `bind` may name though no one
//! holds it yet. Native roles carry no source rules, so they only count when privileged.

use super::{Sql, count, db_error, split_page};
use crate::domain::Timestamp;
use crate::domain::escalation::graph::{Grant, Graph, Ledger, Principal, SourceOf, Version};
use crate::domain::escalation::{PathRow, within_of};
use crate::domain::hygiene::FindingKind;
use crate::domain::page::Page;
use crate::domain::role::{RoleDefinition, Sensitivity};
use crate::domain::scope::ScopePath;
use crate::domain::source::SourceKind;
use crate::error::AppError;
use futures_util::TryStreamExt;
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};

fn source_of(id: Option<String>, kind: Option<String>, name: Option<String>) -> Option<SourceOf> {
    Some(SourceOf { id: id?, kind: SourceKind::parse(&kind?).ok()?, name: name? })
}

/// What moves when the graph may have changed: grants of the roles it reads (each role's
/// `holders_stamp`, moved by triggers), role versions, identities created, imports (trust
/// policies, sensitivity). Reading it costs a few aggregates, so a cached graph is checked on
/// every query.
pub async fn stamp(conn: &mut AnyConnection) -> Result<String, AppError> {
    let (grants, versions, identity, import): (Option<i64>, i64, Option<String>, Option<String>) = sqlx::query_as(
        "select (select cast(sum(holders_stamp) as bigint) from roles where source_id is not null or sensitivity = 'privileged'), \
         (select count(*) from role_versions), \
         (select max(id) from identities), (select max(id) from source_imports)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error("escalation stamp"))?;
    Ok(format!("{}/{versions}/{}/{}", grants.unwrap_or(0), identity.unwrap_or_default(), import.unwrap_or_default()))
}

pub async fn ledger(conn: &mut AnyConnection, now: Timestamp) -> Result<Ledger, AppError> {
    Ok(ledger_until(conn, now).await?.0)
}

/// The ledger as of `now`, with the moment it stops being so by itself: the earliest expiry of
/// a grant it holds (RFC 3339, compared as the database compares it), if any.
async fn ledger_until(conn: &mut AnyConnection, now: Timestamp) -> Result<(Ledger, Option<String>), AppError> {
    let mut ledger = Ledger::default();
    let mut valid_until: Option<String> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut principals = sqlx::query_as::<_, (String, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>)>(
        "select i.id, i.name, i.source_id, s.kind, s.name, i.source_ref, i.source_detail from identities i join sources s on s.id = i.source_id \
         where i.source_id is not null and i.status <> 'retired'",
    )
    .fetch(&mut *conn);
    while let Some((id, name, source_id, kind, source_name, source_ref, detail)) = principals.try_next().await.map_err(db_error("escalation identities"))? {
        let trust_policy = detail.as_deref().and_then(|d| serde_json::from_str::<HashMap<String, String>>(d).ok()).and_then(|mut d| d.remove("trust_policy"));
        seen.insert(id.clone());
        ledger.principals.push(Principal { id, name, source: source_of(source_id, kind, source_name), source_ref, trust_policy });
    }
    drop(principals);

    // Grants of imported identities, then imported roles granted to native identities (in
    // nhidb). Native identities are never reached (no rule leads to one), so their grants of
    // native roles cannot be on a path.
    let now = now.to_rfc3339();
    let live = "a.revoked_at is null and (a.expires_at is null or a.expires_at > $1)";
    let statements = [
        format!(
            "select a.id, a.identity_id, i.name, a.role_id, a.role_version, sc.path, a.source_ref, a.expires_at from identities i \
             join assignments a on a.identity_id = i.id join scopes sc on sc.id = a.scope_id \
             where i.source_id is not null and i.status <> 'retired' and {live}"
        ),
        format!(
            "select a.id, a.identity_id, i.name, a.role_id, a.role_version, sc.path, a.source_ref, a.expires_at from roles r \
             join assignments a on a.role_id = r.id join identities i on i.id = a.identity_id join scopes sc on sc.id = a.scope_id \
             where r.source_id is not null and i.source_id is null and {live}"
        ),
    ];
    let mut held: HashSet<(String, i64)> = HashSet::new();
    for sql in &statements {
        let mut grants = sqlx::query_as::<_, (String, String, String, String, i64, String, Option<String>, Option<String>)>(sql).bind(&now).fetch(&mut *conn);
        while let Some((assignment_id, identity_id, name, role_id, version, scope, source_ref, expires_at)) =
            grants.try_next().await.map_err(db_error("escalation grants"))?
        {
            if let Some(at) = expires_at
                && valid_until.as_ref().is_none_or(|until| at < *until)
            {
                valid_until = Some(at);
            }
            if seen.insert(identity_id.clone()) {
                ledger.principals.push(Principal { id: identity_id.clone(), name, source: None, source_ref: None, trust_policy: None });
            }
            let scope = ScopePath::parse(&scope).map_err(|e| AppError::internal("stored scope", e))?;
            held.insert((role_id.clone(), version));
            ledger.grants.push(Grant { assignment_id, identity_id, role_id, version, scope, source_ref });
        }
    }

    let mut versions = sqlx::query_as::<_, (String, String, i64, i64, String, Option<String>, Option<String>, Option<String>, Option<String>, String)>(
        "select r.id, r.slug, v.version, r.current_version, r.sensitivity, r.source_id, s.kind, s.name, r.source_ref, v.definition \
         from roles r join role_versions v on v.role_id = r.id left join sources s on s.id = r.source_id \
         where r.status = 'active' and (r.source_id is not null or r.sensitivity = 'privileged')",
    )
    .fetch(&mut *conn);
    while let Some((role_id, slug, version, current, sensitivity, source_id, kind, source_name, source_ref, definition)) =
        versions.try_next().await.map_err(db_error("escalation role versions"))?
    {
        if version != current && !held.contains(&(role_id.clone(), version)) {
            continue;
        }
        let definition: RoleDefinition = serde_json::from_str(&definition).map_err(|e| AppError::internal("stored role definition", e))?;
        ledger.versions.push(Version {
            role_id,
            slug,
            version,
            privileged: sensitivity == Sensitivity::Privileged.as_str(),
            source: source_of(source_id, kind, source_name),
            source_ref,
            rules: definition.rules,
        });
    }
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
        let reading = std::time::Instant::now();
        let (ledger, valid_until) = ledger_until(&mut conn, now).await?;
        drop(conn);
        let read = reading.elapsed();
        let stamp = current.clone();
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
