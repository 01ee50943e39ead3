-- The ledger: owners, services, scopes, identities, credentials (metadata only), roles with
-- immutable versions, assignments pinned to a version, and the hash-chained audit log.
-- Timestamps are UTC RFC 3339 text with microseconds; ids are ULIDs.

create table owners (
    id text primary key,
    kind text not null check (kind in ('person', 'team')),
    name text not null unique,
    email text,
    status text not null default 'active' check (status in ('active', 'disabled')),
    created_at text not null
);

create table services (
    id text primary key,
    name text not null unique,
    display_name text not null,
    description text not null default '',
    owner_id text not null references owners (id),
    status text not null check (status in ('active', 'decommissioned')),
    created_at text not null,
    updated_at text not null,
    decommissioned_at text
);
create index services_owner on services (owner_id, name);
create index services_status on services (status, name);

create table scopes (
    id text primary key,
    path text not null unique,
    kind text not null check (kind in ('namespace', 'resource_group', 'data_set')),
    parent_id text references scopes (id),
    description text not null default '',
    created_at text not null
);
create index scopes_parent on scopes (parent_id);

create table identities (
    id text primary key,
    name text not null,
    kind text not null check (kind in ('service_account', 'machine_user', 'api_client', 'ci_bot', 'iot_device', 'workload')),
    owner_id text not null references owners (id),
    service_id text references services (id),
    status text not null check (status in ('active', 'suspended', 'retired')),
    description text not null default '',
    labels text not null default '{}',
    created_at text not null,
    updated_at text not null,
    last_seen_at text,
    retired_at text
);
-- A name is unique within its service (and among identities without a service).
create unique index identities_service_name on identities (coalesce(service_id, ''), name);
create index identities_name on identities (name, id);
create index identities_kind on identities (kind, name, id);
create index identities_status on identities (status, name, id);
create index identities_owner on identities (owner_id, name, id);
create index identities_service on identities (service_id, name, id);
create index identities_last_seen on identities (last_seen_at);

-- Labels are kept as JSON on the identity for display and here for indexed filtering.
create table identity_labels (
    identity_id text not null references identities (id),
    key text not null,
    value text not null,
    primary key (identity_id, key)
);
create index identity_labels_pair on identity_labels (key, value, identity_id);

create table roles (
    id text primary key,
    slug text not null unique,
    display_name text not null,
    description text not null default '',
    sensitivity text not null check (sensitivity in ('standard', 'privileged')),
    status text not null check (status in ('active', 'retired')),
    current_version bigint not null,
    created_at text not null,
    updated_at text not null
);

create table role_versions (
    role_id text not null references roles (id),
    version bigint not null check (version >= 1),
    scope_id text not null references scopes (id),
    description text not null,
    definition text not null,
    justification text,
    content_hash text not null,
    author text not null,
    change_request_id text,
    created_at text not null,
    primary key (role_id, version)
);

-- One row per permission of a version, for "who can do X on Y" queries.
create table role_version_permissions (
    role_id text not null,
    version bigint not null,
    action text not null,
    resource text not null,
    action_class text not null check (action_class in ('read', 'write', 'admin')),
    primary key (role_id, version, action, resource),
    foreign key (role_id, version) references role_versions (role_id, version)
);
create index role_version_permissions_resource on role_version_permissions (resource, action);

-- Versions are history: the store refuses to rewrite or remove them.
create trigger role_versions_immutable_update before update on role_versions
begin
    select raise(abort, 'role versions are immutable');
end;
create trigger role_versions_immutable_delete before delete on role_versions
begin
    select raise(abort, 'role versions are immutable');
end;
create trigger role_version_permissions_immutable_update before update on role_version_permissions
begin
    select raise(abort, 'role versions are immutable');
end;
create trigger role_version_permissions_immutable_delete before delete on role_version_permissions
begin
    select raise(abort, 'role versions are immutable');
end;

create table assignments (
    id text primary key,
    identity_id text not null references identities (id),
    role_id text not null,
    role_version bigint not null,
    scope_id text not null references scopes (id),
    granted_by text not null,
    change_request_id text,
    granted_at text not null,
    expires_at text,
    revoked_at text,
    revoked_by text,
    revoke_reason text,
    foreign key (role_id, role_version) references role_versions (role_id, version)
);
create index assignments_identity on assignments (identity_id, revoked_at);
create index assignments_role on assignments (role_id, role_version, revoked_at);

create table credentials (
    id text primary key,
    identity_id text not null references identities (id),
    assignment_id text references assignments (id),
    kind text not null check (kind in ('api_key', 'access_token', 'client_secret', 'x509_certificate', 'ssh_key', 'signing_key', 'password')),
    fingerprint text not null unique,
    description text not null default '',
    created_at text not null,
    rotated_at text,
    expires_at text,
    last_used_at text,
    revoked_at text,
    revoke_reason text
);
create index credentials_identity on credentials (identity_id, created_at);
create index credentials_expiry on credentials (expires_at);

create table audit_events (
    seq bigint primary key,
    at text not null,
    actor_kind text not null,
    actor_id text not null,
    actor_name text not null,
    action text not null,
    subject_type text not null,
    subject_id text not null,
    context_id text,
    detail text not null,
    prev_hash text not null,
    hash text not null
);
create index audit_events_subject on audit_events (subject_id, seq);
create index audit_events_context on audit_events (context_id, seq);
create index audit_events_actor on audit_events (actor_id, seq);
create index audit_events_action on audit_events (action, seq);

-- The chain head is one row; every audited transaction updates it, which serialises appends so
-- that two writers can never link to the same previous hash.
create table audit_head (
    id bigint primary key check (id = 1),
    seq bigint not null,
    hash text not null
);
insert into audit_head (id, seq, hash) values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

create trigger audit_events_append_only_update before update on audit_events
begin
    select raise(abort, 'the audit log is append-only');
end;
create trigger audit_events_append_only_delete before delete on audit_events
begin
    select raise(abort, 'the audit log is append-only');
end;
