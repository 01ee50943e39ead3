-- Sources: the systems identities and roles are imported from (a Kubernetes cluster, an AWS
-- account, a GCP project), each import's record, and the source's own key on every imported
-- row, which is what a re-import reconciles on.
create table sources (
    id text primary key,
    kind text not null check (kind in ('kubernetes', 'aws', 'gcp')),
    name text not null,
    owner_id text not null references owners (id),
    created_at text not null,
    unique (kind, name)
);

create table source_imports (
    id text primary key,
    source_id text not null references sources (id),
    actor text not null,
    started_at text not null,
    duration_ms bigint not null,
    -- sha256 over the inputs, so an operator can tell two imports of the same data apart.
    input_hash text not null,
    -- What the input held and what changed (domain::source::ImportSummary, as JSON).
    summary text not null
);
create index source_imports_source on source_imports (source_id, started_at);

-- Grants seen in a source whose role or principal is missing from it: kept and shown, never
-- dropped, until an import no longer sees them (resolved_at).
create table source_dangling (
    source_id text not null references sources (id),
    source_ref text not null,
    principal_ref text not null,
    role_ref text not null,
    scope text not null,
    missing text not null check (missing in ('role', 'principal', 'both')),
    first_seen_at text not null,
    resolved_at text
);
create unique index source_dangling_open on source_dangling (source_id, source_ref) where resolved_at is null;

alter table identities add column source_id text references sources (id);
alter table identities add column source_ref text;
-- What the source says about the identity that is not a label (an AWS role's trust policy,
-- permissions boundary and instance profiles), as a JSON object, for the escalation analysis.
alter table identities add column source_detail text;
alter table roles add column source_id text references sources (id);
alter table roles add column source_ref text;
-- The source's own version id (an AWS policy's `v2`), when it has one.
alter table role_versions add column source_version text;
alter table assignments add column source_id text references sources (id);
alter table assignments add column source_ref text;
-- A conditional grant's condition as the source states it (a GCP binding's CEL expression).
alter table assignments add column source_condition text;

-- One live row per source object. A retired identity keeps its key for history; if the object
-- comes back, it is a new identity.
create unique index identities_source_ref on identities (source_id, source_ref) where source_id is not null and status <> 'retired';
create unique index roles_source_ref on roles (source_id, source_ref) where source_id is not null and status <> 'retired';
create index assignments_source_ref on assignments (source_id, source_ref) where source_id is not null and revoked_at is null;

-- Imported identities are named within their source, and a retired one frees its name for the
-- object's return; identities typed into nhidb keep the rule they had.
drop index identities_service_name;
create unique index identities_service_name on identities (coalesce(service_id, ''), coalesce(source_id, ''), name)
    where source_id is null or status <> 'retired';
