use super::{Sql, contains_pattern, count, db_error, split_page, ts, ts_opt, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::identity::{Identity, IdentityDraft, IdentityFilter, IdentityKind, IdentityStatus};
use crate::domain::labels::Labels;
use crate::domain::page::{Page, PageRequest};
use crate::domain::source::ManagedBy;
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: String,
    name: String,
    kind: String,
    status: String,
    owner_id: String,
    owner_name: String,
    service_id: Option<String>,
    service_name: Option<String>,
    description: String,
    labels: String,
    created_at: String,
    updated_at: String,
    last_seen_at: Option<String>,
    source_kind: Option<String>,
    source_name: Option<String>,
    source_ref: Option<String>,
}

impl IdentityRow {
    fn into_identity(self) -> Result<Identity, AppError> {
        Ok(Identity {
            id: self.id,
            name: self.name,
            kind: vocab(&self.kind, IdentityKind::parse)?,
            status: vocab(&self.status, IdentityStatus::parse)?,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            service_id: self.service_id,
            service_name: self.service_name,
            description: self.description,
            labels: Labels::from_json(&self.labels),
            created_at: ts(&self.created_at)?,
            updated_at: ts(&self.updated_at)?,
            last_seen_at: ts_opt(self.last_seen_at.as_deref())?,
            managed_by: ManagedBy::from_columns(self.source_kind.as_deref(), self.source_name, self.source_ref),
        })
    }
}

const SELECT: &str = "select i.id, i.name, i.kind, i.status, i.owner_id, o.name as owner_name, \
    i.service_id, s.name as service_name, i.description, i.labels, i.created_at, i.updated_at, i.last_seen_at, \
    src.kind as source_kind, src.name as source_name, i.source_ref \
    from identities i join owners o on o.id = i.owner_id left join services s on s.id = i.service_id \
    left join sources src on src.id = i.source_id";

fn name_taken(draft: &IdentityDraft) -> AppError {
    let place = if draft.service_id.is_some() { "in this service" } else { "without a service" };
    AppError::conflict(Some("name"), format!("An identity named \"{}\" already exists {place}.", draft.name))
}

async fn replace_labels(conn: &mut AnyConnection, id: &str, labels: &Labels) -> Result<(), AppError> {
    sqlx::query("delete from identity_labels where identity_id = $1").bind(id).execute(&mut *conn).await.map_err(db_error("clear labels"))?;
    insert_labels(conn, id, labels).await
}

/// All of an identity's labels in one statement.
async fn insert_labels(conn: &mut AnyConnection, id: &str, labels: &Labels) -> Result<(), AppError> {
    if labels.is_empty() {
        return Ok(());
    }
    let mut sql = super::Sql::new("insert into identity_labels (identity_id, key, value) values ");
    for (i, (key, value)) in labels.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(id.to_owned()).push(", ").bind(key.clone()).push(", ").bind(value.clone()).push(")");
    }
    let (text, args) = sql.into_parts(conn);
    sqlx::query_with(&text, args).execute(conn).await.map_err(db_error("insert labels"))?;
    Ok(())
}

pub async fn insert(conn: &mut AnyConnection, id: &str, draft: &IdentityDraft, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into identities (id, name, kind, owner_id, service_id, status, description, labels, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(draft.name.as_str())
    .bind(draft.kind.as_str())
    .bind(&draft.owner_id)
    .bind(&draft.service_id)
    .bind(&draft.description)
    .bind(draft.labels.to_json())
    .bind(at.to_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(unique_or("insert identity", || name_taken(draft)))?;
    insert_labels(conn, id, &draft.labels).await
}

/// Several new identities and their labels in two statements, as provisioning creates a
/// service's identities: a statement costs more than its rows.
pub async fn insert_many(conn: &mut AnyConnection, new: &[(String, IdentityDraft)], at: Timestamp) -> Result<(), AppError> {
    if new.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("insert into identities (id, name, kind, owner_id, service_id, status, description, labels, created_at, updated_at) values ");
    for (i, (id, draft)) in new.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(id.clone()).push(", ").bind(draft.name.as_str().to_owned()).push(", ").bind(draft.kind.as_str().to_owned());
        sql.push(", ").bind(draft.owner_id.clone()).push(", ").bind(draft.service_id.clone()).push(", 'active', ").bind(draft.description.clone());
        sql.push(", ").bind(draft.labels.to_json()).push(", ").bind(at.to_rfc3339()).push(", ").bind(at.to_rfc3339()).push(")");
    }
    let (text, args) = sql.into_parts(conn);
    // Callers pass distinct names (a plan refuses duplicates), so a clash is with a stored row.
    sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(unique_or("insert identities", || {
        let names: Vec<String> = new.iter().map(|(_, d)| format!("\"{}\"", d.name)).collect();
        AppError::conflict(Some("name"), format!("An identity named {} already exists in this service.", names.join(" or ")))
    }))?;
    let mut sql = Sql::new("insert into identity_labels (identity_id, key, value) values ");
    let mut rows = 0;
    for (id, draft) in new {
        for (key, value) in draft.labels.iter() {
            sql.push(if rows == 0 { "(" } else { ", (" });
            sql.bind(id.clone()).push(", ").bind(key.clone()).push(", ").bind(value.clone()).push(")");
            rows += 1;
        }
    }
    if rows > 0 {
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(conn).await.map_err(db_error("insert labels"))?;
    }
    Ok(())
}

pub async fn update(conn: &mut AnyConnection, id: &str, draft: &IdentityDraft, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "update identities set name = $2, kind = $3, owner_id = $4, service_id = $5, description = $6, labels = $7, \
         updated_at = $8 where id = $1",
    )
    .bind(id)
    .bind(draft.name.as_str())
    .bind(draft.kind.as_str())
    .bind(&draft.owner_id)
    .bind(&draft.service_id)
    .bind(&draft.description)
    .bind(draft.labels.to_json())
    .bind(at.to_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(unique_or("update identity", || name_taken(draft)))?;
    replace_labels(conn, id, &draft.labels).await
}

pub async fn set_status(conn: &mut AnyConnection, id: &str, status: IdentityStatus, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "update identities set status = $2, updated_at = $3, \
         retired_at = case when $2 = 'retired' then $3 else retired_at end where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(at.to_rfc3339())
    .execute(conn)
    .await
    .map_err(db_error("set identity status"))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Identity>, AppError> {
    sqlx::query_as::<_, IdentityRow>(&format!("{SELECT} where i.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("identity by id"))?
        .map(IdentityRow::into_identity)
        .transpose()
}

fn push_filter(sql: &mut Sql, filter: &IdentityFilter) {
    sql.push(" where 1 = 1");
    if let Some(kind) = filter.kind {
        sql.push(" and i.kind = ").bind(kind.as_str());
    }
    if let Some(status) = filter.status {
        sql.push(" and i.status = ").bind(status.as_str());
    }
    if let Some(owner) = &filter.owner_id {
        sql.push(" and i.owner_id = ").bind(owner.clone());
    }
    if let Some(service) = &filter.service_id {
        sql.push(" and i.service_id = ").bind(service.clone());
    }
    if let Some((key, value)) = &filter.label {
        sql.push(" and exists (select 1 from identity_labels l where l.identity_id = i.id and l.key = ")
            .bind(key.clone())
            .push(" and l.value = ")
            .bind(value.clone())
            .push(")");
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        sql.push(" and (lower(i.name) like ").bind(pattern.clone()).push(" escape '\\'");
        sql.push(" or lower(i.description) like ").bind(pattern).push(" escape '\\')");
    }
}

/// Identities matching `filter`, by name, a page at a time, with the total count.
pub async fn list(conn: &mut AnyConnection, filter: &IdentityFilter, page: &PageRequest) -> Result<Page<Identity>, AppError> {
    let size = page.size();
    let mut sql = Sql::new(SELECT);
    push_filter(&mut sql, filter);
    if let Some(after) = &page.after {
        sql.push(" and (i.name, i.id) > (select name, id from identities where id = ").bind(after.clone()).push(")");
    }
    sql.push(" order by i.name, i.id limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, IdentityRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("list identities"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| r.id.clone());

    let total = if filter.owner_id.is_none() && filter.service_id.is_none() && filter.label.is_none() && filter.text.is_none() {
        // By kind and status only (the list as first opened): from the counters the triggers
        // keep, instead of counting a million rows on every page.
        let mut count_sql = Sql::new("select cast(coalesce(sum(n), 0) as bigint) from identity_counts i where 1 = 1");
        if let Some(kind) = filter.kind {
            count_sql.push(" and i.kind = ").bind(kind.as_str());
        }
        if let Some(status) = filter.status {
            count_sql.push(" and i.status = ").bind(status.as_str());
        }
        count(conn, count_sql, "count identities").await?
    } else {
        let mut count_sql = Sql::new("select count(*) from identities i");
        push_filter(&mut count_sql, filter);
        count(conn, count_sql, "count identities").await?
    };
    let items = rows.into_iter().map(IdentityRow::into_identity).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor, total })
}

/// Every (status, kind) counter with identities in it (migration 0012): the overview's three
/// identity figures from one read.
pub async fn counts(conn: &mut AnyConnection) -> Result<Vec<(String, String, i64)>, AppError> {
    sqlx::query_as("select status, kind, cast(n as bigint) from identity_counts where n > 0 order by status, kind")
        .fetch_all(conn)
        .await
        .map_err(db_error("identity counts"))
}

/// From the counters (migration 0012).
pub async fn count_all(conn: &mut AnyConnection) -> Result<i64, AppError> {
    sqlx::query_scalar("select cast(coalesce(sum(n), 0) as bigint) from identity_counts").fetch_one(conn).await.map_err(db_error("count identities"))
}

/// How many identities have an id from `first` to `last`, counting no further than `up_to`
/// (read from the primary key's index; ids far apart would otherwise walk much of it).
pub async fn count_between(conn: &mut AnyConnection, first: &str, last: &str, up_to: i64) -> Result<i64, AppError> {
    sqlx::query_scalar("select count(*) from (select 1 from identities where id >= $1 and id <= $2 limit $3) as counted")
        .bind(first)
        .bind(last)
        .bind(up_to)
        .fetch_one(conn)
        .await
        .map_err(db_error("count identities between"))
}

/// Records when the identity was last seen using a credential (from usage reports).
pub async fn touch_last_seen(conn: &mut AnyConnection, id: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update identities set last_seen_at = $2 where id = $1 and (last_seen_at is null or last_seen_at < $2)")
        .bind(id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("touch identity last seen"))?;
    Ok(())
}

/// Retires every identity of the service that is not retired yet; returns (id, name) of each.
pub async fn retire_all_of_service(conn: &mut AnyConnection, service_id: &str, at: Timestamp) -> Result<Vec<(String, String)>, AppError> {
    let mut rows: Vec<(String, String)> = sqlx::query_as(
        "update identities set status = 'retired', updated_at = $2, retired_at = $2 \
         where service_id = $1 and status <> 'retired' returning id, name",
    )
    .bind(service_id)
    .bind(at.to_rfc3339())
    .fetch_all(conn)
    .await
    .map_err(db_error("retire identities of service"))?;
    rows.sort();
    Ok(rows)
}

/// Every identity of a service, retired ones included.
pub async fn ids_of_service(conn: &mut AnyConnection, service_id: &str) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar("select id from identities where service_id = $1").bind(service_id).fetch_all(conn).await.map_err(db_error("identities of service"))
}

/// Moves `last_seen_at` of many identities forward at once; returns the ids that exist.
pub async fn record_seen(conn: &mut AnyConnection, seen: &[(String, Timestamp)]) -> Result<Vec<String>, AppError> {
    let mut found = Vec::with_capacity(seen.len());
    for chunk in seen.chunks(1000) {
        let mut sql =
            super::Sql::new("update identities set last_seen_at = case when last_seen_at is null or last_seen_at < v.at then v.at else last_seen_at end from ");
        super::push_timed_values(&mut sql, "id", chunk);
        sql.push(" where identities.id = v.id returning identities.id");
        let (text, args) = sql.into_parts(conn);
        let ids: Vec<String> = sqlx::query_scalar_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("record identities seen"))?;
        found.extend(ids);
    }
    Ok(found)
}
