//! Sources, their imports, and the rows an import writes: a source's identities, roles,
//! versions and grants carry its id and the source's own reference. Writes are batched (one
//! statement per `CHUNK` rows): an import of a large cluster writes hundreds of thousands.

use super::{Sql, db_error, ts, ts_opt, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::labels::Labels;
use crate::domain::role::RoleDefinition;
use crate::domain::source::{ImportRecord, Source, SourceKind};
use crate::error::AppError;
use crate::sources::observation::ObservedGrant;
use crate::sources::reconcile::{Ledger, LedgerGrant, LedgerIdentity, LedgerRole, PlannedIdentity, PlannedRole};
use futures_util::TryStreamExt;
use sqlx::AnyConnection;

/// Rows per multi-row statement: well under both backends' limits on bound values.
const CHUNK: usize = 400;

#[derive(sqlx::FromRow)]
struct SourceRow {
    id: String,
    kind: String,
    name: String,
    owner_id: String,
    owner_name: String,
    created_at: String,
    open_dangling: i64,
}

const SELECT: &str = "select s.id, s.kind, s.name, s.owner_id, o.name as owner_name, s.created_at, \
    (select count(*) from source_dangling d where d.source_id = s.id and d.resolved_at is null) as open_dangling \
    from sources s join owners o on o.id = s.owner_id";

impl SourceRow {
    fn into_source(self, last_import: Option<ImportRecord>) -> Result<Source, AppError> {
        Ok(Source {
            id: self.id,
            kind: vocab(&self.kind, SourceKind::parse)?,
            name: self.name,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            created_at: ts(&self.created_at)?,
            last_import,
            open_dangling: self.open_dangling,
            drift: Default::default(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: String,
    source_id: String,
    source_name: String,
    actor: String,
    started_at: String,
    duration_ms: i64,
    input_hash: String,
    summary: String,
}

impl ImportRow {
    fn into_record(self) -> Result<ImportRecord, AppError> {
        Ok(ImportRecord {
            id: self.id,
            source_id: self.source_id,
            source_name: self.source_name,
            actor: self.actor,
            started_at: ts(&self.started_at)?,
            duration_ms: self.duration_ms,
            input_hash: self.input_hash,
            summary: serde_json::from_str(&self.summary).map_err(|e| AppError::internal("stored import summary", e))?,
        })
    }
}

pub async fn by_kind_name(conn: &mut AnyConnection, kind: SourceKind, name: &str) -> Result<Option<Source>, AppError> {
    let row = sqlx::query_as::<_, SourceRow>(&format!("{SELECT} where s.kind = $1 and s.name = $2"))
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error("source by name"))?;
    match row {
        Some(row) => Ok(Some(complete(conn, row).await?)),
        None => Ok(None),
    }
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Source>, AppError> {
    let row =
        sqlx::query_as::<_, SourceRow>(&format!("{SELECT} where s.id = $1")).bind(id).fetch_optional(&mut *conn).await.map_err(db_error("source by id"))?;
    match row {
        Some(row) => Ok(Some(complete(conn, row).await?)),
        None => Ok(None),
    }
}

/// Every source with its last import (there are few sources: clusters, accounts, projects).
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Source>, AppError> {
    let rows = sqlx::query_as::<_, SourceRow>(&format!("{SELECT} order by s.kind, s.name")).fetch_all(&mut *conn).await.map_err(db_error("sources"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(complete(conn, row).await?);
    }
    Ok(out)
}

/// A source with its last import and its open drift.
async fn complete(conn: &mut AnyConnection, row: SourceRow) -> Result<Source, AppError> {
    let last = last_import(conn, &row.id).await?;
    let drift = super::drift::counts(conn, Some(&row.id)).await?;
    Ok(Source { drift, ..row.into_source(last)? })
}

pub async fn insert(conn: &mut AnyConnection, id: &str, kind: SourceKind, name: &str, owner_id: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("insert into sources (id, kind, name, owner_id, created_at) values ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(kind.as_str())
        .bind(name)
        .bind(owner_id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("insert source", || AppError::conflict(Some("name"), format!("A {} source named \"{name}\" already exists.", kind.label()))))?;
    Ok(())
}

const SELECT_IMPORT: &str = "select i.id, i.source_id, s.name as source_name, i.actor, i.started_at, i.duration_ms, i.input_hash, i.summary \
    from source_imports i join sources s on s.id = i.source_id";

async fn last_import(conn: &mut AnyConnection, source_id: &str) -> Result<Option<ImportRecord>, AppError> {
    sqlx::query_as::<_, ImportRow>(&format!("{SELECT_IMPORT} where i.source_id = $1 order by i.started_at desc, i.id desc limit 1"))
        .bind(source_id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("last import"))?
        .map(ImportRow::into_record)
        .transpose()
}

/// A source's imports, newest first.
pub async fn imports(conn: &mut AnyConnection, source_id: &str, limit: i64) -> Result<Vec<ImportRecord>, AppError> {
    sqlx::query_as::<_, ImportRow>(&format!("{SELECT_IMPORT} where i.source_id = $1 order by i.started_at desc, i.id desc limit $2"))
        .bind(source_id)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("imports"))?
        .into_iter()
        .map(ImportRow::into_record)
        .collect()
}

pub async fn record_import(conn: &mut AnyConnection, record: &ImportRecord) -> Result<(), AppError> {
    let summary = serde_json::to_string(&record.summary).map_err(|e| AppError::internal("encode import summary", e))?;
    sqlx::query("insert into source_imports (id, source_id, actor, started_at, duration_ms, input_hash, summary) values ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&record.id)
        .bind(&record.source_id)
        .bind(&record.actor)
        .bind(record.started_at.to_rfc3339())
        .bind(record.duration_ms)
        .bind(&record.input_hash)
        .bind(summary)
        .execute(conn)
        .await
        .map_err(db_error("record import"))?;
    Ok(())
}

/// The source's live rows, as reconciliation compares them with an observation.
pub async fn ledger(conn: &mut AnyConnection, source_id: &str) -> Result<Ledger, AppError> {
    let mut ledger = Ledger::default();
    // Rows are taken one by one as they are read: a large cluster's rows collected first would
    // be held twice, as rows and as the maps built from them.
    let mut identities = sqlx::query_as::<_, (String, String, String, String, Option<String>, Option<String>)>(
        "select id, source_ref, name, labels, source_detail, last_seen_at from identities where source_id = $1 and status <> 'retired'",
    )
    .bind(source_id)
    .fetch(&mut *conn);
    while let Some((id, source_ref, name, labels, detail, last_seen_at)) = identities.try_next().await.map_err(db_error("source identities"))? {
        let detail = detail.map(|d| serde_json::from_str(&d)).transpose().map_err(|e| AppError::internal("stored source detail", e))?.unwrap_or_default();
        ledger
            .identities
            .insert(source_ref, LedgerIdentity { id, name, labels: Labels::from_json(&labels), detail, last_seen_at: ts_opt(last_seen_at.as_deref())? });
    }
    drop(identities);
    let mut roles = sqlx::query_as::<_, (String, String, String, i64, String, String)>(
        "select r.id, r.source_ref, r.slug, r.current_version, v.definition, r.sensitivity from roles r \
         join role_versions v on v.role_id = r.id and v.version = r.current_version \
         where r.source_id = $1 and r.status = 'active'",
    )
    .bind(source_id)
    .fetch(&mut *conn);
    while let Some((id, source_ref, slug, current_version, definition, sensitivity)) = roles.try_next().await.map_err(db_error("source roles"))? {
        let definition: RoleDefinition = serde_json::from_str(&definition).map_err(|e| AppError::internal("stored role definition", e))?;
        let sensitivity = vocab(&sensitivity, crate::domain::role::Sensitivity::parse)?;
        let role = LedgerRole { id, slug, current_version, sensitivity, max_version: current_version, definition, source_versions: Default::default() };
        ledger.roles.insert(source_ref, role);
    }
    drop(roles);
    let mut versions = sqlx::query_as::<_, (String, i64, Option<String>)>(
        "select r.source_ref, v.version, v.source_version from role_versions v join roles r on r.id = v.role_id \
         where r.source_id = $1 and r.status = 'active'",
    )
    .bind(source_id)
    .fetch(&mut *conn);
    while let Some((source_ref, version, source_version)) = versions.try_next().await.map_err(db_error("source role versions"))? {
        if let Some(role) = ledger.roles.get_mut(&source_ref) {
            role.max_version = role.max_version.max(version);
            if let Some(id) = source_version {
                role.source_versions.insert(id, version);
            }
        }
    }
    drop(versions);
    let mut grants = sqlx::query_as::<_, (String, String, String, String, String)>(
        "select a.id, a.source_ref, a.identity_id, a.role_id, sc.path from assignments a join scopes sc on sc.id = a.scope_id \
         where a.source_id = $1 and a.revoked_at is null",
    )
    .bind(source_id)
    .fetch(&mut *conn);
    while let Some((id, source_ref, identity_id, role_id, scope)) = grants.try_next().await.map_err(db_error("source grants"))? {
        ledger.grants.insert(source_ref, LedgerGrant { id, identity_id, role_id, scope });
    }
    drop(grants);
    let dangling: Vec<String> = sqlx::query_scalar("select source_ref from source_dangling where source_id = $1 and resolved_at is null")
        .bind(source_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error("source dangling"))?;
    ledger.dangling = dangling.into_iter().collect();
    Ok(ledger)
}

/// Of `slugs`, those any stored role holds (of any source, retired or not: slugs are never reused).
pub async fn slugs_taken(conn: &mut AnyConnection, slugs: &[String]) -> Result<Vec<String>, AppError> {
    let mut taken = Vec::new();
    for chunk in slugs.chunks(CHUNK * 10) {
        let mut sql = Sql::new("select slug from roles where slug in ");
        sql.bind_rows(chunk);
        let (text, args) = sql.into_parts(conn);
        let found: Vec<String> = sqlx::query_scalar_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("taken slugs"))?;
        taken.extend(found);
    }
    Ok(taken)
}

/// New identities of the source, owned by its owner, with their labels.
pub async fn insert_identities(
    conn: &mut AnyConnection,
    source_id: &str,
    owner_id: &str,
    rows: &[(String, &PlannedIdentity)],
    at: Timestamp,
) -> Result<(), AppError> {
    let at_text = at.to_rfc3339();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "insert into identities (id, name, kind, owner_id, service_id, status, description, labels, created_at, updated_at, last_seen_at, source_id, source_ref, source_detail) values ",
        );
        for (i, (id, p)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(id.clone()).push(", ").bind(p.name.as_str().to_owned()).push(", ").bind(p.kind.as_str().to_owned()).push(", ").bind(owner_id.to_owned());
            sql.push(", null, 'active', ")
                .bind(p.description.clone())
                .push(", ")
                .bind(p.labels.to_json())
                .push(", ")
                .bind(at_text.clone())
                .push(", ")
                .bind(at_text.clone());
            sql.push(", ").bind(p.last_seen_at.map(|t| t.to_rfc3339())).push(", ").bind(source_id.to_owned()).push(", ").bind(p.source_ref.clone());
            sql.push(", ").bind(detail_json(&p.detail)).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(unique_or("insert imported identities", || {
            AppError::conflict(Some("name"), "Two objects of this source fold to the same identity name; nothing was imported.")
        }))?;
    }
    let labels: Vec<(&String, &String, &String)> = rows.iter().flat_map(|(id, p)| p.labels.iter().map(move |(k, v)| (id, k, v))).collect();
    insert_label_rows(conn, &labels).await
}

async fn insert_label_rows(conn: &mut AnyConnection, labels: &[(&String, &String, &String)]) -> Result<(), AppError> {
    for chunk in labels.chunks(CHUNK) {
        let mut sql = Sql::new("insert into identity_labels (identity_id, key, value) values ");
        for (i, (id, key, value)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind((*id).clone()).push(", ").bind((*key).clone()).push(", ").bind((*value).clone()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("insert imported labels"))?;
    }
    Ok(())
}

fn detail_json(detail: &std::collections::BTreeMap<String, String>) -> Option<String> {
    (!detail.is_empty()).then(|| serde_json::to_string(detail).unwrap_or_default())
}

/// Replaces the labels and detail of identities whose labels or detail changed in the source.
pub async fn relabel(conn: &mut AnyConnection, rows: &[(String, Labels, std::collections::BTreeMap<String, String>)], at: Timestamp) -> Result<(), AppError> {
    for (id, labels, detail) in rows {
        sqlx::query("update identities set labels = $2, source_detail = $3, updated_at = $4 where id = $1")
            .bind(id)
            .bind(labels.to_json())
            .bind(detail_json(detail))
            .bind(at.to_rfc3339())
            .execute(&mut *conn)
            .await
            .map_err(db_error("relabel identity"))?;
        sqlx::query("delete from identity_labels where identity_id = $1").bind(id).execute(&mut *conn).await.map_err(db_error("relabel identity"))?;
    }
    let labels: Vec<(&String, &String, &String)> = rows.iter().flat_map(|(id, l, _)| l.iter().map(move |(k, v)| (id, k, v))).collect();
    insert_label_rows(conn, &labels).await
}

/// Marks identities retired, in batches.
pub async fn retire_identities(conn: &mut AnyConnection, ids: &[String], at: Timestamp) -> Result<(), AppError> {
    for chunk in ids.chunks(CHUNK * 10) {
        let mut sql = Sql::new("update identities set status = 'retired', retired_at = ");
        sql.bind(at.to_rfc3339()).push(", updated_at = ").bind(at.to_rfc3339()).push(" where id in ").bind_rows(chunk);
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("retire imported identities"))?;
    }
    Ok(())
}

/// New roles of the source; each gets its first version from `insert_versions`.
pub async fn insert_roles(conn: &mut AnyConnection, source_id: &str, rows: &[(String, &PlannedRole)], at: Timestamp) -> Result<(), AppError> {
    let at_text = at.to_rfc3339();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "insert into roles (id, slug, display_name, description, sensitivity, status, current_version, created_at, updated_at, source_id, source_ref) values ",
        );
        for (i, (id, r)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(id.clone())
                .push(", ")
                .bind(r.slug.as_str().to_owned())
                .push(", ")
                .bind(r.display_name.clone())
                .push(", ")
                .bind(r.definition.description.clone());
            sql.push(", ").bind(r.sensitivity.as_str().to_owned()).push(", 'active', 1, ").bind(at_text.clone()).push(", ").bind(at_text.clone());
            sql.push(", ").bind(source_id.to_owned()).push(", ").bind(r.source_ref.clone()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(unique_or("insert imported roles", || {
            AppError::conflict(Some("slug"), "An imported role's slug is already taken; nothing was imported.")
        }))?;
    }
    Ok(())
}

pub struct NewVersion<'a> {
    pub role_id: &'a str,
    pub version: i64,
    pub scope_id: &'a str,
    pub definition: &'a RoleDefinition,
    /// The source's own id for the version (an AWS policy's `v2`), when it has one.
    pub source_version: Option<&'a str>,
}

/// Role versions observed in the source, with their permission rows; authored by the import.
pub async fn insert_versions(conn: &mut AnyConnection, rows: &[NewVersion<'_>], author: &str, at: Timestamp) -> Result<(), AppError> {
    let at_text = at.to_rfc3339();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "insert into role_versions (role_id, version, scope_id, description, definition, justification, content_hash, author, change_request_id, created_at, source_version) values ",
        );
        for (i, v) in chunk.iter().enumerate() {
            let json = serde_json::to_string(v.definition).map_err(|e| AppError::internal("encode role definition", e))?;
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(v.role_id.to_owned()).push(", ").bind(v.version).push(", ").bind(v.scope_id.to_owned()).push(", ").bind(v.definition.description.clone());
            sql.push(", ").bind(json).push(", null, ").bind(v.definition.content_hash()).push(", ").bind(author.to_owned());
            sql.push(", null, ").bind(at_text.clone()).push(", ").bind(v.source_version.map(str::to_owned)).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("insert imported role versions"))?;
    }
    let permissions: Vec<(&str, i64, &crate::domain::role::Permission)> =
        rows.iter().flat_map(|v| v.definition.permissions.iter().map(move |p| (v.role_id, v.version, p))).collect();
    for chunk in permissions.chunks(CHUNK) {
        let mut sql = Sql::new("insert into role_version_permissions (role_id, version, action, resource, action_class) values ");
        for (i, (role_id, version, p)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind((*role_id).to_owned()).push(", ").bind(*version).push(", ").bind(p.action.clone()).push(", ").bind(p.resource.clone());
            sql.push(", ").bind(p.class().as_str().to_owned()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("insert imported permissions"))?;
    }
    Ok(())
}

/// Moves roles to their new current version (the source changed them).
pub async fn set_current_versions(conn: &mut AnyConnection, rows: &[(String, i64)], at: Timestamp) -> Result<(), AppError> {
    for (role_id, version) in rows {
        super::roles::set_current_version(conn, role_id, *version, at).await?;
    }
    Ok(())
}

/// Sets the sensitivity of roles whose new current version changes it.
pub async fn set_sensitivity(conn: &mut AnyConnection, rows: &[(String, crate::domain::role::Sensitivity)], at: Timestamp) -> Result<(), AppError> {
    for (role_id, sensitivity) in rows {
        sqlx::query("update roles set sensitivity = $2, updated_at = $3 where id = $1")
            .bind(role_id)
            .bind(sensitivity.as_str())
            .bind(at.to_rfc3339())
            .execute(&mut *conn)
            .await
            .map_err(db_error("set role sensitivity"))?;
    }
    Ok(())
}

/// Retires roles gone from the source.
pub async fn retire_roles(conn: &mut AnyConnection, ids: &[String], at: Timestamp) -> Result<(), AppError> {
    for id in ids {
        super::roles::set_status(conn, id, crate::domain::role::RoleStatus::Retired, at).await?;
    }
    Ok(())
}

/// Borrows from the import's plan: a large cluster's grants are not copied again to be written.
pub struct NewGrant<'a> {
    pub id: String,
    pub identity_id: &'a str,
    pub role_id: &'a str,
    pub role_version: i64,
    pub scope_id: &'a str,
    pub source_ref: &'a str,
    pub condition: Option<&'a str>,
}

/// Grants observed in the source.
pub async fn insert_grants(conn: &mut AnyConnection, source_id: &str, granted_by: &str, rows: &[NewGrant<'_>], at: Timestamp) -> Result<(), AppError> {
    let at_text = at.to_rfc3339();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, granted_at, source_id, source_ref, source_condition) values ",
        );
        for (i, g) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(g.id.clone()).push(", ").bind(g.identity_id.to_owned()).push(", ").bind(g.role_id.to_owned()).push(", ").bind(g.role_version);
            sql.push(", ").bind(g.scope_id.to_owned()).push(", ").bind(granted_by.to_owned()).push(", ").bind(at_text.clone());
            sql.push(", ").bind(source_id.to_owned()).push(", ").bind(g.source_ref.to_owned()).push(", ").bind(g.condition.map(str::to_owned)).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("insert imported grants"))?;
    }
    Ok(())
}

/// Ends grants by id (live ones only); returns the identities they belonged to.
pub async fn end_grants(conn: &mut AnyConnection, ids: &[String], by: &str, reason: &str, at: Timestamp) -> Result<Vec<String>, AppError> {
    let mut holders = Vec::new();
    for chunk in ids.chunks(CHUNK * 10) {
        let mut sql = Sql::new("update assignments set revoked_at = ");
        sql.bind(at.to_rfc3339()).push(", revoked_by = ").bind(by.to_owned()).push(", revoke_reason = ").bind(reason.to_owned());
        sql.push(" where revoked_at is null and id in ").bind_rows(chunk).push(" returning identity_id");
        let (text, args) = sql.into_parts(conn);
        let ended: Vec<String> = sqlx::query_scalar_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("end imported grants"))?;
        holders.extend(ended);
    }
    Ok(holders)
}

/// Moves the source's live grants of `role_id` to `version`; returns their holders.
pub async fn move_grants(conn: &mut AnyConnection, source_id: &str, role_id: &str, version: i64) -> Result<Vec<String>, AppError> {
    // `coalesce` keeps the planner off the source's index (all its grants, for every role
    // moved): a 1 % change of a large cluster moved 220 roles in 54 s that way, not 0.1 s.
    sqlx::query_scalar(
        "update assignments set role_version = $3 where coalesce(source_id, '') = $1 and role_id = $2 and revoked_at is null returning identity_id",
    )
    .bind(source_id)
    .bind(role_id)
    .bind(version)
    .fetch_all(conn)
    .await
    .map_err(db_error("move imported grants"))
}

pub async fn open_dangling(conn: &mut AnyConnection, source_id: &str, grants: &[&ObservedGrant], at: Timestamp) -> Result<(), AppError> {
    for chunk in grants.chunks(CHUNK) {
        let mut sql = Sql::new("insert into source_dangling (source_id, source_ref, principal_ref, role_ref, scope, missing, first_seen_at) values ");
        for (i, g) in chunk.iter().enumerate() {
            let missing = match g.missing {
                Some(crate::sources::observation::Missing::Role) => "role",
                Some(crate::sources::observation::Missing::Principal) => "principal",
                _ => "both",
            };
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(source_id.to_owned()).push(", ").bind(g.source_ref.clone()).push(", ").bind(g.principal_ref.clone()).push(", ").bind(g.role_ref.clone());
            sql.push(", ").bind(g.scope.clone()).push(", ").bind(missing.to_owned()).push(", ").bind(at.to_rfc3339()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("open dangling grants"))?;
    }
    Ok(())
}

pub async fn resolve_dangling(conn: &mut AnyConnection, source_id: &str, refs: &[String], at: Timestamp) -> Result<(), AppError> {
    for chunk in refs.chunks(CHUNK * 10) {
        let mut sql = Sql::new("update source_dangling set resolved_at = ");
        sql.bind(at.to_rfc3339()).push(" where resolved_at is null and source_id = ").bind(source_id.to_owned()).push(" and source_ref in ").bind_rows(chunk);
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("resolve dangling grants"))?;
    }
    Ok(())
}

/// The open dangling grants of a source, for its page.
pub async fn dangling(conn: &mut AnyConnection, source_id: &str, limit: i64) -> Result<Vec<(String, String, String, String, String)>, AppError> {
    sqlx::query_as("select source_ref, principal_ref, role_ref, scope, missing from source_dangling where source_id = $1 and resolved_at is null order by source_ref limit $2")
        .bind(source_id)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("dangling grants"))
}
