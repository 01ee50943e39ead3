-- The ledger: owners, services, scopes, identities, credentials (metadata only), roles with
-- immutable versions, assignments pinned to a version, and the hash-chained audit log.
-- Timestamps are UTC RFC 3339 text with microseconds; ids are ULIDs.
-- Text columns use the "C" collation: byte order, as on SQLite, so that keyset pagination and
-- timestamp comparisons behave identically on both backends whatever the database locale.

create table owners (
    id text collate "C" primary key,
    kind text collate "C" not null check (kind in ('person', 'team')),
    name text collate "C" not null unique,
    email text collate "C",
    status text collate "C" not null default 'active' check (status in ('active', 'disabled')),
    created_at text collate "C" not null
);

create table services (
    id text collate "C" primary key,
    name text collate "C" not null unique,
    display_name text collate "C" not null,
    description text collate "C" not null default '',
    owner_id text collate "C" not null references owners (id),
    status text collate "C" not null check (status in ('active', 'decommissioned')),
    created_at text collate "C" not null,
    updated_at text collate "C" not null,
    decommissioned_at text collate "C"
);
create index services_owner on services (owner_id, name);
create index services_status on services (status, name);

create table scopes (
    id text collate "C" primary key,
    path text collate "C" not null unique,
    kind text collate "C" not null check (kind in ('namespace', 'resource_group', 'data_set')),
    parent_id text collate "C" references scopes (id),
    description text collate "C" not null default '',
    created_at text collate "C" not null
);
create index scopes_parent on scopes (parent_id);

create table identities (
    id text collate "C" primary key,
    name text collate "C" not null,
    kind text collate "C" not null check (kind in ('service_account', 'machine_user', 'api_client', 'ci_bot', 'iot_device', 'workload')),
    owner_id text collate "C" not null references owners (id),
    service_id text collate "C" references services (id),
    status text collate "C" not null check (status in ('active', 'suspended', 'retired')),
    description text collate "C" not null default '',
    labels text collate "C" not null default '{}',
    created_at text collate "C" not null,
    updated_at text collate "C" not null,
    last_seen_at text collate "C",
    retired_at text collate "C"
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
    identity_id text collate "C" not null references identities (id),
    key text collate "C" not null,
    value text collate "C" not null,
    primary key (identity_id, key)
);
create index identity_labels_pair on identity_labels (key, value, identity_id);

create table roles (
    id text collate "C" primary key,
    slug text collate "C" not null unique,
    display_name text collate "C" not null,
    description text collate "C" not null default '',
    sensitivity text collate "C" not null check (sensitivity in ('standard', 'privileged')),
    status text collate "C" not null check (status in ('active', 'retired')),
    current_version bigint not null,
    created_at text collate "C" not null,
    updated_at text collate "C" not null
);

create table role_versions (
    role_id text collate "C" not null references roles (id),
    version bigint not null check (version >= 1),
    scope_id text collate "C" not null references scopes (id),
    description text collate "C" not null,
    definition text collate "C" not null,
    justification text collate "C",
    content_hash text collate "C" not null,
    author text collate "C" not null,
    change_request_id text collate "C",
    created_at text collate "C" not null,
    primary key (role_id, version)
);

-- One row per permission of a version, for "who can do X on Y" queries.
create table role_version_permissions (
    role_id text collate "C" not null,
    version bigint not null,
    action text collate "C" not null,
    resource text collate "C" not null,
    action_class text collate "C" not null check (action_class in ('read', 'write', 'admin')),
    primary key (role_id, version, action, resource),
    foreign key (role_id, version) references role_versions (role_id, version)
);
create index role_version_permissions_resource on role_version_permissions (resource, action);


create table assignments (
    id text collate "C" primary key,
    identity_id text collate "C" not null references identities (id),
    role_id text collate "C" not null,
    role_version bigint not null,
    scope_id text collate "C" not null references scopes (id),
    granted_by text collate "C" not null,
    change_request_id text collate "C",
    granted_at text collate "C" not null,
    expires_at text collate "C",
    revoked_at text collate "C",
    revoked_by text collate "C",
    revoke_reason text collate "C",
    foreign key (role_id, role_version) references role_versions (role_id, version)
);
create index assignments_identity on assignments (identity_id, revoked_at);
create index assignments_role on assignments (role_id, role_version, revoked_at);

create table credentials (
    id text collate "C" primary key,
    identity_id text collate "C" not null references identities (id),
    assignment_id text collate "C" references assignments (id),
    kind text collate "C" not null check (kind in ('api_key', 'access_token', 'client_secret', 'x509_certificate', 'ssh_key', 'signing_key', 'password')),
    fingerprint text collate "C" not null unique,
    description text collate "C" not null default '',
    created_at text collate "C" not null,
    rotated_at text collate "C",
    expires_at text collate "C",
    last_used_at text collate "C",
    revoked_at text collate "C",
    revoke_reason text collate "C"
);
create index credentials_identity on credentials (identity_id, created_at);
create index credentials_expiry on credentials (expires_at);

create table audit_events (
    seq bigint primary key,
    at text collate "C" not null,
    actor_kind text collate "C" not null,
    actor_id text collate "C" not null,
    actor_name text collate "C" not null,
    action text collate "C" not null,
    subject_type text collate "C" not null,
    subject_id text collate "C" not null,
    context_id text collate "C",
    detail text collate "C" not null,
    prev_hash text collate "C" not null,
    hash text collate "C" not null
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
    hash text collate "C" not null
);
insert into audit_head (id, seq, hash) values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');


-- Versions are history and the audit log is append-only: the store refuses rewrites.
create function nhidb_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception '%', tg_argv[0];
end;
$$;
create trigger role_versions_immutable before update or delete on role_versions
    for each row execute function nhidb_refuse_change('role versions are immutable');
create trigger role_version_permissions_immutable before update or delete on role_version_permissions
    for each row execute function nhidb_refuse_change('role versions are immutable');
create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function nhidb_refuse_change('the audit log is append-only');
