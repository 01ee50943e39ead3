use super::{db_error, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::owner::{Owner, OwnerKind, OwnerStatus};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct OwnerRow {
    id: String,
    kind: String,
    name: String,
    email: Option<String>,
    status: String,
}

impl OwnerRow {
    fn into_owner(self) -> Result<Owner, AppError> {
        Ok(Owner {
            id: self.id,
            kind: vocab(&self.kind, OwnerKind::parse)?,
            name: self.name,
            email: self.email,
            status: vocab(&self.status, OwnerStatus::parse)?,
        })
    }
}

const SELECT: &str = "select id, kind, name, email, status from owners";

pub async fn insert(conn: &mut AnyConnection, owner: &Owner, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("insert into owners (id, kind, name, email, status, created_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(&owner.id)
        .bind(owner.kind.as_str())
        .bind(&owner.name)
        .bind(&owner.email)
        .bind(owner.status.as_str())
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("insert owner", || AppError::conflict(Some("name"), format!("An owner named \"{}\" already exists.", owner.name))))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Owner>, AppError> {
    sqlx::query_as::<_, OwnerRow>(&format!("{SELECT} where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("owner by id"))?
        .map(OwnerRow::into_owner)
        .transpose()
}

/// The owner whose id is `key`, else the one named `key` (names are unique), in one read.
pub async fn by_id_or_name(conn: &mut AnyConnection, key: &str) -> Result<Option<Owner>, AppError> {
    // The id first (an owner whose name is another's id is still found by its id), each
    // branch an index lookup; the rank orders at most two rows.
    sqlx::query_as::<_, OwnerRow>(
        "select id, kind, name, email, status from (select id, kind, name, email, status, 0 as rank from owners where id = $1 \
         union all select id, kind, name, email, status, 1 as rank from owners where name = $1) as o order by rank limit 1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await
    .map_err(db_error("owner by id or name"))?
    .map(OwnerRow::into_owner)
    .transpose()
}

/// Owners to choose from in forms and filters, by name.
pub async fn all(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Owner>, AppError> {
    sqlx::query_as::<_, OwnerRow>(&format!("{SELECT} order by name limit $1"))
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("list owners"))?
        .into_iter()
        .map(OwnerRow::into_owner)
        .collect()
}
