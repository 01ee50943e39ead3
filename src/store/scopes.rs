use super::{db_error, new_id, vocab};
use crate::domain::Timestamp;
use crate::domain::scope::{Scope, ScopeKind, ScopePath};
use crate::error::AppError;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct ScopeRow {
    id: String,
    path: String,
    kind: String,
    description: String,
}

impl ScopeRow {
    fn into_scope(self) -> Result<Scope, AppError> {
        Ok(Scope {
            id: self.id,
            path: ScopePath::parse(&self.path).map_err(|e| AppError::internal("stored scope path", e))?,
            kind: vocab(&self.kind, ScopeKind::parse)?,
            description: self.description,
        })
    }
}

pub async fn by_path(conn: &mut AnyConnection, path: &ScopePath) -> Result<Option<Scope>, AppError> {
    sqlx::query_as::<_, ScopeRow>("select id, path, kind, description from scopes where path = $1")
        .bind(path.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_error("scope by path"))?
        .map(ScopeRow::into_scope)
        .transpose()
}

/// Returns the scope at `path`, creating it and any missing ancestors (as namespaces) first.
pub async fn ensure(conn: &mut AnyConnection, path: &ScopePath, kind: ScopeKind, at: Timestamp) -> Result<Scope, AppError> {
    if let Some(existing) = by_path(conn, path).await? {
        return Ok(existing);
    }
    let parent_id = match path.parent() {
        Some(parent) => Some(Box::pin(ensure(conn, &parent, ScopeKind::Namespace, at)).await?.id),
        None => None,
    };
    insert(conn, path, kind, parent_id, at).await
}

/// [`ensure`] for several namespaces written in one transaction (a provisioning run's), with the
/// scopes found or made remembered so a shared ancestor (`prod` of `prod/a` and `prod/b`) is
/// read once. Returns the id of each of `paths`.
pub async fn ensure_namespaces(conn: &mut AnyConnection, paths: &[ScopePath], at: Timestamp) -> Result<BTreeMap<String, String>, AppError> {
    let mut known = BTreeMap::new();
    let mut by_depth: Vec<&ScopePath> = paths.iter().collect();
    // Parents first: a child then finds its parent among the known ones.
    by_depth.sort_by_key(|p| p.as_str().matches('/').count());
    for path in by_depth {
        ensure_known(conn, path, at, &mut known).await?;
    }
    known.retain(|path, _| paths.iter().any(|p| p.as_str() == path));
    Ok(known)
}

async fn ensure_known(conn: &mut AnyConnection, path: &ScopePath, at: Timestamp, known: &mut BTreeMap<String, String>) -> Result<String, AppError> {
    if let Some(id) = known.get(path.as_str()) {
        return Ok(id.clone());
    }
    let id = match by_path(conn, path).await? {
        Some(existing) => existing.id,
        None => {
            let parent_id = match path.parent() {
                Some(parent) => Some(Box::pin(ensure_known(conn, &parent, at, known)).await?),
                None => None,
            };
            insert(conn, path, ScopeKind::Namespace, parent_id, at).await?.id
        }
    };
    known.insert(path.as_str().to_owned(), id.clone());
    Ok(id)
}

async fn insert(conn: &mut AnyConnection, path: &ScopePath, kind: ScopeKind, parent_id: Option<String>, at: Timestamp) -> Result<Scope, AppError> {
    let id = new_id();
    sqlx::query("insert into scopes (id, path, kind, parent_id, description, created_at) values ($1, $2, $3, $4, '', $5)")
        .bind(&id)
        .bind(path.as_str())
        .bind(kind.as_str())
        .bind(parent_id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("insert scope"))?;
    Ok(Scope { id, path: path.clone(), kind, description: String::new() })
}

/// Scopes at or below `under` (all when `None`), by path, a page at a time.
pub async fn list(
    conn: &mut AnyConnection,
    under: Option<&ScopePath>,
    page: &crate::domain::page::PageRequest,
) -> Result<crate::domain::page::Page<Scope>, AppError> {
    let size = page.size();
    let filter = |sql: &mut super::Sql| {
        sql.push(" where 1 = 1");
        if let Some(under) = under {
            sql.push(" and (path = ").bind(under.as_str().to_owned()).push(" or path like ").bind(super::below_pattern(under.as_str())).push(" escape '\\')");
        }
    };
    let mut sql = super::Sql::new("select id, path, kind, description from scopes");
    filter(&mut sql);
    if let Some(after) = &page.after {
        sql.push(" and path > (select path from scopes where id = ").bind(after.clone()).push(")");
    }
    sql.push(" order by path limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, ScopeRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("list scopes"))?;
    let (rows, next_cursor) = super::split_page(rows, size, |r| r.id.clone());
    let mut count_sql = super::Sql::new("select count(*) from scopes");
    filter(&mut count_sql);
    let total = super::count(conn, count_sql, "count scopes").await?;
    Ok(crate::domain::page::Page { items: rows.into_iter().map(ScopeRow::into_scope).collect::<Result<_, _>>()?, next_cursor, total })
}
