-- Console access: operators, their sessions, pipeline tokens, sign-in throttling and the one-time
-- bootstrap token. Secrets are never stored: passwords as argon2id hashes, session ids, tokens and
-- the bootstrap token as SHA-256 hashes.

create table operators (
    id text collate "C" primary key,
    name text collate "C" not null,
    email text collate "C" not null unique,
    password_hash text collate "C",
    roles text collate "C" not null default '',
    status text collate "C" not null check (status in ('active', 'disabled')),
    created_at text collate "C" not null,
    updated_at text collate "C" not null,
    last_sign_in_at text collate "C",
    password_changed_at text collate "C"
);

create table sessions (
    id_hash text collate "C" primary key,
    operator_id text collate "C" not null references operators (id),
    csrf_token text collate "C" not null,
    created_at text collate "C" not null,
    last_seen_at text collate "C" not null,
    expires_at text collate "C" not null,
    client_addr text collate "C",
    user_agent text collate "C",
    ended_at text collate "C",
    end_reason text collate "C"
);
create index sessions_operator on sessions (operator_id, ended_at);

create table pipeline_tokens (
    id text collate "C" primary key,
    name text collate "C" not null,
    secret_hash text collate "C" not null unique,
    prefix text collate "C" not null,
    scopes text collate "C" not null,
    owner_id text collate "C" not null references owners (id),
    created_by text collate "C" not null,
    created_at text collate "C" not null,
    expires_at text collate "C" not null,
    last_used_at text collate "C",
    revoked_at text collate "C",
    revoked_by text collate "C"
);
create index pipeline_tokens_created on pipeline_tokens (created_at);

-- Failed sign-ins per account ('account:<email>') and per client address ('addr:<ip>').
create table signin_throttle (
    key text collate "C" primary key,
    failures bigint not null,
    window_started_at text collate "C" not null,
    locked_until text collate "C"
);

create table bootstrap_tokens (
    token_hash text collate "C" primary key,
    created_at text collate "C" not null,
    expires_at text collate "C" not null,
    used_at text collate "C"
);
