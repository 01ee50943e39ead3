-- Change requests and their decisions, and the approval policy. A decision row per approver
-- (primary key) makes "an approval counts once per approver" a database fact.

create table change_requests (
    id text collate "C" primary key,
    kind text collate "C" not null check (kind in ('role_create', 'role_version', 'role_retire')),
    subject text collate "C" not null,
    subject_id text collate "C",
    sensitivity text collate "C" not null check (sensitivity in ('standard', 'privileged')),
    payload text collate "C" not null,
    requester_kind text collate "C" not null,
    requester_id text collate "C" not null,
    requester_name text collate "C" not null,
    reason text collate "C" not null,
    state text collate "C" not null check (state in ('pending', 'approved', 'applied', 'rejected', 'cancelled', 'expired')),
    created_at text collate "C" not null,
    updated_at text collate "C" not null,
    expires_at text collate "C" not null,
    decided_at text collate "C",
    applied_at text collate "C"
);
create index change_requests_state on change_requests (state, created_at, id);
create index change_requests_requester on change_requests (requester_id, created_at, id);
create index change_requests_subject on change_requests (subject_id, created_at);
create index change_requests_expiry on change_requests (expires_at) where state = 'pending';

create table change_decisions (
    request_id text collate "C" not null references change_requests (id),
    approver_id text collate "C" not null,
    approver_name text collate "C" not null,
    verdict text collate "C" not null check (verdict in ('approve', 'reject')),
    comment text collate "C" not null,
    at text collate "C" not null,
    primary key (request_id, approver_id)
);

create table approval_policy (
    id bigint primary key check (id = 1),
    policy text collate "C" not null,
    updated_at text collate "C" not null,
    updated_by text collate "C" not null
);

create index roles_updated on roles (updated_at, id);
create index role_versions_scope on role_versions (scope_id);
