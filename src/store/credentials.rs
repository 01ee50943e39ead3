use super::{db_error, ts, ts_opt, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::credential::{Credential, CredentialKind, Fingerprint};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    identity_id: String,
    assignment_id: Option<String>,
    role_slug: Option<String>,
    role_version: Option<i64>,
    kind: String,
    fingerprint: String,
    description: String,
    created_at: String,
    rotated_at: Option<String>,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl CredentialRow {
    fn into_credential(self) -> Result<Credential, AppError> {
        let role_label = match (self.role_slug, self.role_version) {
            (Some(slug), Some(version)) => Some(format!("{slug} v{version}")),
            _ => None,
        };
        Ok(Credential {
            id: self.id,
            identity_id: self.identity_id,
            assignment_id: self.assignment_id,
            role_label,
            kind: vocab(&self.kind, CredentialKind::parse)?,
            fingerprint: Fingerprint::from_stored(self.fingerprint),
            description: self.description,
            created_at: ts(&self.created_at)?,
            rotated_at: ts_opt(self.rotated_at.as_deref())?,
            expires_at: ts_opt(self.expires_at.as_deref())?,
            last_used_at: ts_opt(self.last_used_at.as_deref())?,
            revoked_at: ts_opt(self.revoked_at.as_deref())?,
        })
    }
}

const SELECT: &str = "select c.id, c.identity_id, c.assignment_id, r.slug as role_slug, a.role_version, c.kind, \
    c.fingerprint, c.description, c.created_at, c.rotated_at, c.expires_at, c.last_used_at, c.revoked_at \
    from credentials c left join assignments a on a.id = c.assignment_id left join roles r on r.id = a.role_id";

pub struct NewCredential<'a> {
    pub id: &'a str,
    pub identity_id: &'a str,
    pub assignment_id: Option<&'a str>,
    pub kind: CredentialKind,
    pub fingerprint: &'a Fingerprint,
    pub description: &'a str,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert(conn: &mut AnyConnection, new: &NewCredential<'_>, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into credentials (id, identity_id, assignment_id, kind, fingerprint, description, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id)
    .bind(new.identity_id)
    .bind(new.assignment_id)
    .bind(new.kind.as_str())
    .bind(new.fingerprint.as_str())
    .bind(new.description)
    .bind(at.to_rfc3339())
    .bind(new.expires_at.map(|t| t.to_rfc3339()))
    .execute(conn)
    .await
    .map_err(unique_or("insert credential", || {
        AppError::conflict(Some("fingerprint"), "A credential with this fingerprint is already registered; a key belongs to one identity only.")
    }))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Credential>, AppError> {
    sqlx::query_as::<_, CredentialRow>(&format!("{SELECT} where c.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("credential by id"))?
        .map(CredentialRow::into_credential)
        .transpose()
}

/// The identity's credentials, newest first. An identity holds a handful, so no paging.
pub async fn of_identity(conn: &mut AnyConnection, identity_id: &str) -> Result<Vec<Credential>, AppError> {
    sqlx::query_as::<_, CredentialRow>(&format!("{SELECT} where c.identity_id = $1 order by c.created_at desc, c.id"))
        .bind(identity_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("credentials of identity"))?
        .into_iter()
        .map(CredentialRow::into_credential)
        .collect()
}

/// Revokes every credential of the identity that is not revoked yet; returns how many.
pub async fn revoke_all_of_identity(conn: &mut AnyConnection, identity_id: &str, at: Timestamp, reason: &str) -> Result<u64, AppError> {
    let done = sqlx::query("update credentials set revoked_at = $2, revoke_reason = $3 where identity_id = $1 and revoked_at is null")
        .bind(identity_id)
        .bind(at.to_rfc3339())
        .bind(reason)
        .execute(conn)
        .await
        .map_err(db_error("revoke credentials of identity"))?;
    Ok(done.rows_affected())
}

/// Revokes the credentials exercising an assignment that ended; returns their ids.
pub async fn revoke_for_assignment(conn: &mut AnyConnection, assignment_id: &str, at: Timestamp, reason: &str) -> Result<Vec<String>, AppError> {
    let ids: Vec<String> = sqlx::query_scalar("select id from credentials where assignment_id = $1 and revoked_at is null")
        .bind(assignment_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error("credentials of assignment"))?;
    sqlx::query("update credentials set revoked_at = $2, revoke_reason = $3, revoked_by_assignment = $1 where assignment_id = $1 and revoked_at is null")
        .bind(assignment_id)
        .bind(at.to_rfc3339())
        .bind(reason)
        .execute(conn)
        .await
        .map_err(db_error("revoke credentials of assignment"))?;
    Ok(ids)
}

/// Revokes every credential of the service's identities that is not revoked yet.
pub async fn revoke_all_of_service(
    conn: &mut AnyConnection,
    service_id: &str,
    at: Timestamp,
    reason: &str,
) -> Result<Vec<crate::domain::template::RevokedCredential>, AppError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "update credentials set revoked_at = $2, revoke_reason = $3 \
         where revoked_at is null and identity_id in (select id from identities where service_id = $1) \
         returning id, identity_id, fingerprint",
    )
    .bind(service_id)
    .bind(at.to_rfc3339())
    .bind(reason)
    .fetch_all(conn)
    .await
    .map_err(db_error("revoke credentials of service"))?;
    let mut revoked: Vec<_> =
        rows.into_iter().map(|(id, identity_id, fingerprint)| crate::domain::template::RevokedCredential { id, identity_id, fingerprint }).collect();
    revoked.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(revoked)
}

/// Usage reported by pipelines, in bulk: each (fingerprint, time) moves `last_used_at` forward
/// (never back: reports arrive out of order). Returns, per matched fingerprint, the identity
/// and the credential's last use now, so the caller can move the identities' `last_seen_at`
/// too. (SQLite's `returning` cannot name the `from` tables, hence the column, not `v.at`.)
pub async fn record_usage(conn: &mut AnyConnection, uses: &[(String, Timestamp)]) -> Result<Vec<(String, String, Timestamp)>, AppError> {
    let mut matched = Vec::with_capacity(uses.len());
    // Two parameters per row; SQLite allows 32,766 per statement.
    for chunk in uses.chunks(1000) {
        let mut sql = super::Sql::new(
            "update credentials set last_used_at = case when last_used_at is null or last_used_at < v.at then v.at else last_used_at end from ",
        );
        super::push_timed_values(&mut sql, "fingerprint", chunk);
        sql.push(" where credentials.fingerprint = v.fingerprint returning credentials.fingerprint, credentials.identity_id, credentials.last_used_at");
        let (text, args) = sql.into_parts(conn);
        let rows: Vec<(String, String, String)> = sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("record credential usage"))?;
        for (fingerprint, identity_id, at) in rows {
            matched.push((fingerprint, identity_id, ts(&at)?));
        }
    }
    Ok(matched)
}

/// Expiry times of live credentials expiring in (from, to], soonest first.
pub async fn expiring_between(conn: &mut AnyConnection, from: Timestamp, to: Timestamp) -> Result<Vec<Timestamp>, AppError> {
    let rows: Vec<String> =
        sqlx::query_scalar("select expires_at from credentials where revoked_at is null and expires_at > $1 and expires_at <= $2 order by expires_at")
            .bind(from.to_rfc3339())
            .bind(to.to_rfc3339())
            .fetch_all(conn)
            .await
            .map_err(db_error("expiring credentials"))?;
    rows.iter().map(|t| ts(t)).collect()
}
