-- Grants and revocations become change requests, separation-of-duty rules and exceptions are
-- stored, and expired grants are recorded once in the audit log.

-- Change requests of any kind: the kind is validated by the domain, so new kinds need no
-- table rebuild. (SQLite cannot drop a CHECK constraint; the table is rebuilt once, here.)
pragma defer_foreign_keys = on;
create table change_requests_next (
    id text primary key,
    kind text not null,
    subject text not null,
    subject_id text,
    sensitivity text not null check (sensitivity in ('standard', 'privileged')),
    payload text not null,
    requester_kind text not null,
    requester_id text not null,
    requester_name text not null,
    reason text not null,
    state text not null check (state in ('pending', 'approved', 'applied', 'rejected', 'cancelled', 'expired')),
    created_at text not null,
    updated_at text not null,
    expires_at text not null,
    decided_at text,
    applied_at text
);
insert into change_requests_next select id, kind, subject, subject_id, sensitivity, payload, requester_kind, requester_id,
    requester_name, reason, state, created_at, updated_at, expires_at, decided_at, applied_at from change_requests;
drop table change_requests;
alter table change_requests_next rename to change_requests;
create index change_requests_state on change_requests (state, created_at, id);
create index change_requests_requester on change_requests (requester_id, created_at, id);
create index change_requests_subject on change_requests (subject_id, created_at);
create index change_requests_expiry on change_requests (expires_at) where state = 'pending';

-- Which requests touch which identities, so an identity's pending grants are found quickly.
create table change_request_identities (
    request_id text not null references change_requests (id),
    identity_id text not null,
    primary key (request_id, identity_id)
);
create index change_request_identities_identity on change_request_identities (identity_id);

create table sod_rules (
    id text primary key,
    kind text not null check (kind in ('read_write', 'role_pair')),
    role_a text references roles (id),
    role_b text references roles (id),
    description text not null,
    enabled bigint not null default 1,
    created_by text not null,
    created_at text not null
);
insert into sod_rules (id, kind, description, enabled, created_by, created_at)
values ('read-write-split', 'read_write', 'One identity must not both read and write the same resource in overlapping scopes through different roles.', 1, 'nhidb', '2026-01-01T00:00:00.000000Z');

create table sod_exceptions (
    id text primary key,
    rule_id text not null references sod_rules (id),
    identity_id text not null references identities (id),
    -- For the read/write rule: the resource the exception covers.
    resource text,
    justification text not null,
    approved_by text not null,
    created_at text not null,
    expires_at text not null,
    revoked_at text
);
create index sod_exceptions_identity on sod_exceptions (identity_id, expires_at);

-- Discoverability at scale: holders of a role in identity order, an identity's grants, grants
-- on a scope, and grants by pinned version.
drop index assignments_role;
create index assignments_role_holders on assignments (role_id, revoked_at, identity_id, role_version, expires_at, scope_id);
create index assignments_role_version on assignments (role_id, role_version, revoked_at);
create index assignments_scope on assignments (scope_id, revoked_at);
create index assignments_expiry on assignments (expires_at) where revoked_at is null and expires_at is not null;
create index role_version_permissions_action on role_version_permissions (action, resource);

alter table assignments add column expiry_recorded_at text;
alter table credentials add column revoked_by_assignment text;
