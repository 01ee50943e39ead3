//! Benchmark data and the raw-SQL baseline. Generation writes rows set-wise in the database
//! itself (a recursive CTE on SQLite, `generate_series` on PostgreSQL): a million identities and
//! five million assignments in minutes, not hours. The raw queries are the service layer's SQL
//! run through the backend's native driver, the baseline the service layer is compared to.

use super::{Backend, Store, db_error};
use crate::error::AppError;
use sqlx::AnyConnection;

/// The shape of the benchmark ledger.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub identities: i64,
    pub roles: i64,
    pub assignments_per_identity: i64,
    /// Identities `0..hot_holders` hold role 0, the "hot" role.
    pub hot_holders: i64,
    pub groups: i64,
}

pub const SPEC: Spec = Spec { identities: 1_000_000, roles: 10_000, assignments_per_identity: 5, hot_holders: 10_000, groups: 1_000 };
pub const HOT_ROLE: &str = "R00000";
const AT: &str = "2026-01-01T00:00:00.000000Z";

/// A series `$1 <= i < $2` as a row source, per backend.
fn series(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Sqlite => ("with recursive n(i) as (select $1 union all select i + 1 from n where i + 1 < $2) ", " from n"),
        Backend::Postgres => ("", " from generate_series($1::bigint, $2::bigint - 1) as n(i)"),
    }
}

/// `prefix` followed by `i` zero-padded to `width` digits, per backend.
fn padded(backend: Backend, prefix: &str, expr: &str, width: usize) -> String {
    match backend {
        Backend::Sqlite => format!("printf('{prefix}%0{width}d', {expr})"),
        Backend::Postgres => format!("('{prefix}' || lpad(({expr})::text, {width}, '0'))"),
    }
}

async fn run(conn: &mut AnyConnection, backend: Backend, body: &str, from: i64, to: i64) -> Result<(), AppError> {
    let (head, tail) = series(backend);
    let sql = body.replace("{series}", tail);
    sqlx::query(&format!("{head}{sql}")).bind(from).bind(to).execute(conn).await.map_err(db_error("bench generate"))?;
    Ok(())
}

/// Reference rows: owners, services, scopes, roles with one version and three permissions each.
pub async fn generate_catalog(conn: &mut AnyConnection, backend: Backend, spec: Spec) -> Result<(), AppError> {
    let p = |prefix: &str, expr: &str, width: usize| padded(backend, prefix, expr, width);
    run(
        conn,
        backend,
        &format!(
            "insert into owners (id, kind, name, email, status, created_at) select {}, 'team', {}, null, 'active', '{AT}'{{series}}",
            p("O", "i", 5),
            p("bench-team-", "i", 5)
        ),
        0,
        100,
    )
    .await?;
    run(
        conn,
        backend,
        &format!(
            "insert into services (id, name, display_name, description, owner_id, status, created_at, updated_at) \
        select {}, {}, {}, '', {}, 'active', '{AT}', '{AT}'{{series}}",
            p("S", "i", 5),
            p("bench-svc-", "i", 5),
            p("Bench service ", "i", 5),
            p("O", "i % 100", 5)
        ),
        0,
        1000,
    )
    .await?;
    run(
        conn,
        backend,
        &format!("insert into scopes (id, path, kind, parent_id, description, created_at) select 'SC-prod', 'prod', 'namespace', null, '', '{AT}'{{series}}"),
        0,
        1,
    )
    .await?;
    run(
        conn,
        backend,
        &format!(
            "insert into scopes (id, path, kind, parent_id, description, created_at) \
        select {}, {}, 'resource_group', 'SC-prod', '', '{AT}'{{series}}",
            p("SC", "i", 5),
            p("prod/g", "i", 4)
        ),
        0,
        spec.groups,
    )
    .await?;
    run(
        conn,
        backend,
        &format!(
            "insert into roles (id, slug, display_name, description, sensitivity, status, current_version, created_at, updated_at) \
        select {}, {}, {}, 'bench', 'standard', 'active', 1, '{AT}', '{AT}'{{series}}",
            p("R", "i", 5),
            p("bench-role-", "i", 5),
            p("Bench role ", "i", 5)
        ),
        0,
        spec.roles,
    )
    .await?;
    let (read, write, list) = (p("db:r", "i % 2000", 4), p("api:r", "i % 1500", 4), p("bucket:r", "i % 1000", 4));
    let definition = format!(
        "'{{\"scope\":\"prod\",\"description\":\"bench\",\"permissions\":[{{\"action\":\"list\",\"resource\":\"' || {list} || '\"}},{{\"action\":\"read\",\"resource\":\"' || {read} || '\"}},{{\"action\":\"write\",\"resource\":\"' || {write} || '\"}}],\"justification\":null}}'"
    );
    run(conn, backend, &format!("insert into role_versions (role_id, version, scope_id, description, definition, justification, content_hash, author, change_request_id, created_at) \
        select {}, 1, 'SC-prod', 'bench', {definition}, null, 'sha256:bench', 'bench', null, '{AT}'{{series}}", p("R", "i", 5)), 0, spec.roles).await?;
    for (action, resource, class) in [("read", &read, "read"), ("write", &write, "write"), ("list", &list, "read")] {
        run(
            conn,
            backend,
            &format!(
                "insert into role_version_permissions (role_id, version, action, resource, action_class) \
            select {}, 1, '{action}', {resource}, '{class}'{{series}}",
                p("R", "i", 5)
            ),
            0,
            spec.roles,
        )
        .await?;
    }
    Ok(())
}

/// Identities `from..to` and their assignments: each holds `assignments_per_identity` distinct
/// roles on its group's scope; the first `hot_holders` hold the hot role as one of them.
pub async fn generate_identities(conn: &mut AnyConnection, backend: Backend, spec: Spec, from: i64, to: i64) -> Result<(), AppError> {
    let p = |prefix: &str, expr: &str, width: usize| padded(backend, prefix, expr, width);
    let kinds = "case i % 6 when 0 then 'service_account' when 1 then 'workload' when 2 then 'api_client' \
                 when 3 then 'ci_bot' when 4 then 'machine_user' else 'iot_device' end";
    run(
        conn,
        backend,
        &format!(
            "insert into identities (id, name, kind, owner_id, service_id, status, description, labels, created_at, updated_at, last_seen_at) \
        select {}, {}, {kinds}, {}, {}, 'active', '', '{{}}', '{AT}', '{AT}', '{AT}'{{series}}",
            p("I", "i", 9),
            p("bench-", "i", 9),
            p("O", "i % 100", 5),
            p("S", "i % 1000", 5)
        ),
        from,
        to,
    )
    .await?;
    let per = spec.assignments_per_identity;
    let others = spec.roles - 1;
    // Slot s of identity d: the hot role for slot 0 of the first holders, else a role chosen so
    // an identity's slots never repeat a role (4739·s mod 9999 is distinct for s = 0..4).
    let role = format!("case when s = 0 and d < {} then 0 else 1 + ((d * 7919 + s * 104729) % {others}) end", spec.hot_holders);
    let body = format!(
        "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, change_request_id, granted_at, expires_at, revoked_at, revoked_by, revoke_reason) \
        select {}, {}, {}, 1, {}, 'bench', null, '{AT}', null, null, null, null from (select i / {per} as d, i % {per} as s{{series}}) x",
        p("A", "d * 10 + s", 10),
        p("I", "d", 9),
        p("R", &role, 5),
        p("SC", &format!("d % {}", spec.groups), 5)
    );
    run(conn, backend, &body, from * per, to * per).await
}

/// Separation of duties at scale: every `CONFLICT_EVERY`th identity also holds a role reading
/// `db:ledger` and another writing it, on its group's scope, which the built-in read/write rule
/// reports (250,000 findings at a million identities), so the SoD report has rows to stream.
pub const CONFLICT_EVERY: i64 = 4;
pub const CONFLICT_ROLES: [(&str, &str, &str, &str); 2] =
    [("RSOD-READ", "bench-sod-reader", "read", "read"), ("RSOD-WRITE", "bench-sod-writer", "write", "write")];

/// The two conflicting roles, one version each.
pub async fn generate_conflict_roles(conn: &mut AnyConnection) -> Result<(), AppError> {
    for (id, slug, action, class) in CONFLICT_ROLES {
        sqlx::query(&format!(
            "insert into roles (id, slug, display_name, description, sensitivity, status, current_version, created_at, updated_at) \
             values ($1, $2, $2, 'bench: separation of duties', 'standard', 'active', 1, '{AT}', '{AT}')"
        ))
        .bind(id)
        .bind(slug)
        .execute(&mut *conn)
        .await
        .map_err(db_error("bench conflict role"))?;
        let definition = format!(
            "{{\"scope\":\"prod\",\"description\":\"bench\",\"permissions\":[{{\"action\":\"{action}\",\"resource\":\"db:ledger\"}}],\"justification\":null}}"
        );
        sqlx::query(&format!(
            "insert into role_versions (role_id, version, scope_id, description, definition, justification, content_hash, author, change_request_id, created_at) \
             values ($1, 1, 'SC-prod', 'bench', $2, null, 'sha256:bench', 'bench', null, '{AT}')"
        ))
        .bind(id)
        .bind(definition)
        .execute(&mut *conn)
        .await
        .map_err(db_error("bench conflict version"))?;
        sqlx::query("insert into role_version_permissions (role_id, version, action, resource, action_class) values ($1, 1, $2, 'db:ledger', $3)")
            .bind(id)
            .bind(action)
            .bind(class)
            .execute(&mut *conn)
            .await
            .map_err(db_error("bench conflict permission"))?;
    }
    Ok(())
}

/// The conflicting grants of identities `from..to`.
pub async fn generate_conflicts(conn: &mut AnyConnection, backend: Backend, spec: Spec, from: i64, to: i64) -> Result<(), AppError> {
    let p = |prefix: &str, expr: &str, width: usize| padded(backend, prefix, expr, width);
    let body = format!(
        "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, change_request_id, granted_at, expires_at, revoked_at, revoked_by, revoke_reason) \
        select {}, {}, case k when 0 then '{}' else '{}' end, 1, {}, 'bench', null, '{AT}', null, null, null, null \
        from (select i / 2 as d, i % 2 as k{{series}}) x where d % {CONFLICT_EVERY} = 0",
        p("AS", "d * 2 + k", 10),
        p("I", "d", 9),
        CONFLICT_ROLES[0].0,
        CONFLICT_ROLES[1].0,
        p("SC", &format!("d % {}", spec.groups), 5)
    );
    run(conn, backend, &body, from * 2, to * 2).await
}

/// Whether the conflicting roles are in this database (ledgers generated before them are
/// completed in place).
pub async fn has_conflicts(conn: &mut AnyConnection) -> Result<bool, AppError> {
    let n: i64 =
        sqlx::query_scalar("select count(*) from roles where id = $1").bind(CONFLICT_ROLES[0].0).fetch_one(conn).await.map_err(db_error("bench check"))?;
    Ok(n > 0)
}

/// Whether the benchmark ledger is already in this database.
pub async fn is_generated(conn: &mut AnyConnection, spec: Spec) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar("select count(*) from assignments where role_id = $1")
        .bind(HOT_ROLE)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error("bench check"))?;
    // Generated identities have ids I000000000…; ULIDs never start with I (Crockford base32), so
    // services the benchmark provisions on top do not count.
    let identities: i64 =
        sqlx::query_scalar("select count(*) from identities where id >= 'I' and id < 'J'").fetch_one(conn).await.map_err(db_error("bench check"))?;
    Ok(n == spec.hot_holders && identities == spec.identities)
}

/// The baseline: the service layer's queries through the native driver, rows decoded.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

const RAW_HOLDERS: &str = "select a.id, a.identity_id, i.name, a.role_version, sc.path, a.granted_at, a.expires_at \
    from assignments a join identities i on i.id = a.identity_id join scopes sc on sc.id = a.scope_id \
    where a.role_id = $1 and a.revoked_at is null and (a.expires_at is null or a.expires_at > $2) order by a.identity_id limit $3";
const RAW_HOLDINGS: &str = "select a.id, a.role_id, r.slug, a.role_version, sc.path, a.expires_at, p.action, p.resource \
    from assignments a join roles r on r.id = a.role_id join scopes sc on sc.id = a.scope_id \
    left join role_version_permissions p on p.role_id = a.role_id and p.version = a.role_version \
    where a.identity_id = $1 and a.revoked_at is null and (a.expires_at is null or a.expires_at > $2) order by a.id, p.action, p.resource";
const RAW_WHO_CAN: &str = "with g as materialized (select distinct a.identity_id as id from assignments a \
    join role_version_permissions p on p.role_id = a.role_id and p.version = a.role_version \
    where a.scope_id in ($1, $2) and a.revoked_at is null and (a.expires_at is null or a.expires_at > $3) \
    and p.action_class = 'write'), p as (select id from g order by id limit $4) \
    select t.total, p.id from (select count(*) as total from g) t left join p on true order by p.id";

type HolderTuple = (String, String, String, i64, String, String, Option<String>);
type HoldingTuple = (String, String, String, i64, String, Option<String>, Option<String>, Option<String>);

impl Raw {
    pub async fn open(store: &Store, url: &str) -> Result<Raw, AppError> {
        Ok(match store.backend() {
            Backend::Sqlite => Raw::Sqlite(sqlx::SqlitePool::connect(url).await.map_err(db_error("raw sqlite"))?),
            Backend::Postgres => Raw::Postgres(sqlx::PgPool::connect(url).await.map_err(db_error("raw postgres"))?),
        })
    }

    pub async fn holders(&self, role_id: &str, now: &str, limit: i64) -> Result<usize, AppError> {
        Ok(match self {
            Raw::Sqlite(pool) => {
                sqlx::query_as::<_, HolderTuple>(RAW_HOLDERS).bind(role_id).bind(now).bind(limit).fetch_all(pool).await.map_err(db_error("raw holders"))?.len()
            }
            Raw::Postgres(pool) => {
                sqlx::query_as::<_, HolderTuple>(RAW_HOLDERS).bind(role_id).bind(now).bind(limit).fetch_all(pool).await.map_err(db_error("raw holders"))?.len()
            }
        })
    }

    pub async fn holdings(&self, identity_id: &str, now: &str) -> Result<usize, AppError> {
        Ok(match self {
            Raw::Sqlite(pool) => {
                sqlx::query_as::<_, HoldingTuple>(RAW_HOLDINGS).bind(identity_id).bind(now).fetch_all(pool).await.map_err(db_error("raw holdings"))?.len()
            }
            Raw::Postgres(pool) => {
                sqlx::query_as::<_, HoldingTuple>(RAW_HOLDINGS).bind(identity_id).bind(now).fetch_all(pool).await.map_err(db_error("raw holdings"))?.len()
            }
        })
    }

    /// The first page of identities that can write through grants on these two scope ids (a
    /// group and `prod` above it; the service resolves the ids from paths first), with the total.
    pub async fn who_can(&self, scope_ids: [&str; 2], now: &str, limit: i64) -> Result<usize, AppError> {
        Ok(match self {
            Raw::Sqlite(pool) => sqlx::query_as::<_, (i64, Option<String>)>(RAW_WHO_CAN)
                .bind(scope_ids[0])
                .bind(scope_ids[1])
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(db_error("raw who can"))?
                .len(),
            Raw::Postgres(pool) => sqlx::query_as::<_, (i64, Option<String>)>(RAW_WHO_CAN)
                .bind(scope_ids[0])
                .bind(scope_ids[1])
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(db_error("raw who can"))?
                .len(),
        })
    }
}

/// Planner statistics after a bulk load, so the first queries do not pick poor plans; on SQLite
/// the write-ahead log is folded back into the file, so measurements start from a clean file. On
/// PostgreSQL the load is vacuumed too, as autovacuum would (some servers run without it): with
/// no visibility map, index-only scans read the heap and every first read sets hint bits.
pub async fn analyze(conn: &mut AnyConnection, backend: Backend) -> Result<(), AppError> {
    let statement = if backend == Backend::Postgres { "vacuum analyze" } else { "analyze" };
    // Sent as a simple query, as psql sends it: VACUUM must not run in a transaction block.
    sqlx::raw_sql(statement).execute(&mut *conn).await.map_err(db_error("analyze"))?;
    if backend == Backend::Sqlite {
        sqlx::query("pragma wal_checkpoint(truncate)").execute(conn).await.map_err(db_error("checkpoint"))?;
    }
    Ok(())
}

/// The role held most often and one identity holding it: the pages the page figures load for
/// "a role" and "an identity" (the heaviest of each on a generated ledger).
pub async fn busiest_role_and_holder(conn: &mut AnyConnection) -> Result<Option<(String, String)>, AppError> {
    let role: Option<(String,)> = sqlx::query_as("select role_id from assignments where revoked_at is null group by role_id order by count(*) desc limit 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error("busiest role"))?;
    let Some((role,)) = role else { return Ok(None) };
    let identity: Option<(String,)> = sqlx::query_as("select identity_id from assignments where role_id = $1 and revoked_at is null limit 1")
        .bind(&role)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error("holder of the busiest role"))?;
    Ok(identity.map(|(identity,)| (role, identity)))
}
