-- Change requests and their decisions, and the approval policy. A decision row per approver
-- (primary key) makes "an approval counts once per approver" a database fact.

create table change_requests (
    id text primary key,
    kind text not null check (kind in ('role_create', 'role_version', 'role_retire')),
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
create index change_requests_state on change_requests (state, created_at, id);
create index change_requests_requester on change_requests (requester_id, created_at, id);
create index change_requests_subject on change_requests (subject_id, created_at);
create index change_requests_expiry on change_requests (expires_at) where state = 'pending';

create table change_decisions (
    request_id text not null references change_requests (id),
    approver_id text not null,
    approver_name text not null,
    verdict text not null check (verdict in ('approve', 'reject')),
    comment text not null,
    at text not null,
    primary key (request_id, approver_id)
);

create table approval_policy (
    id bigint primary key check (id = 1),
    policy text not null,
    updated_at text not null,
    updated_by text not null
);

create index roles_updated on roles (updated_at, id);
create index role_versions_scope on role_versions (scope_id);
