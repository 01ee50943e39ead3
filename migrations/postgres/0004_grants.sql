-- Grants and revocations become change requests, separation-of-duty rules and exceptions are
-- stored, and expired grants are recorded once in the audit log.

-- Change requests of any kind: the kind is validated by the domain.
alter table change_requests drop constraint if exists change_requests_kind_check;

create table change_request_identities (
    request_id text collate "C" not null references change_requests (id),
    identity_id text collate "C" not null,
    primary key (request_id, identity_id)
);
create index change_request_identities_identity on change_request_identities (identity_id);

create table sod_rules (
    id text collate "C" primary key,
    kind text collate "C" not null check (kind in ('read_write', 'role_pair')),
    role_a text collate "C" references roles (id),
    role_b text collate "C" references roles (id),
    description text collate "C" not null,
    enabled bigint not null default 1,
    created_by text collate "C" not null,
    created_at text collate "C" not null
);
insert into sod_rules (id, kind, description, enabled, created_by, created_at)
values ('read-write-split', 'read_write', 'One identity must not both read and write the same resource in overlapping scopes through different roles.', 1, 'nhidb', '2026-01-01T00:00:00.000000Z');

create table sod_exceptions (
    id text collate "C" primary key,
    rule_id text collate "C" not null references sod_rules (id),
    identity_id text collate "C" not null references identities (id),
    resource text collate "C",
    justification text collate "C" not null,
    approved_by text collate "C" not null,
    created_at text collate "C" not null,
    expires_at text collate "C" not null,
    revoked_at text collate "C"
);
create index sod_exceptions_identity on sod_exceptions (identity_id, expires_at);

drop index assignments_role;
create index assignments_role_holders on assignments (role_id, revoked_at, identity_id, role_version, expires_at, scope_id);
create index assignments_role_version on assignments (role_id, role_version, revoked_at);
create index assignments_scope on assignments (scope_id, revoked_at);
create index assignments_expiry on assignments (expires_at) where revoked_at is null and expires_at is not null;
create index role_version_permissions_action on role_version_permissions (action, resource);

alter table assignments add column expiry_recorded_at text collate "C";
alter table credentials add column revoked_by_assignment text collate "C";
