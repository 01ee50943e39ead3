-- Console access: operators, their sessions, pipeline tokens, sign-in throttling and the one-time
-- bootstrap token. Secrets are never stored: passwords as argon2id hashes, session ids, tokens and
-- the bootstrap token as SHA-256 hashes.

create table operators (
    id text primary key,
    name text not null,
    email text not null unique,
    password_hash text,
    roles text not null default '',
    status text not null check (status in ('active', 'disabled')),
    created_at text not null,
    updated_at text not null,
    last_sign_in_at text,
    password_changed_at text
);

create table sessions (
    id_hash text primary key,
    operator_id text not null references operators (id),
    csrf_token text not null,
    created_at text not null,
    last_seen_at text not null,
    expires_at text not null,
    client_addr text,
    user_agent text,
    ended_at text,
    end_reason text
);
create index sessions_operator on sessions (operator_id, ended_at);

create table pipeline_tokens (
    id text primary key,
    name text not null,
    secret_hash text not null unique,
    prefix text not null,
    scopes text not null,
    owner_id text not null references owners (id),
    created_by text not null,
    created_at text not null,
    expires_at text not null,
    last_used_at text,
    revoked_at text,
    revoked_by text
);
create index pipeline_tokens_created on pipeline_tokens (created_at);

-- Failed sign-ins per account ('account:<email>') and per client address ('addr:<ip>').
create table signin_throttle (
    key text primary key,
    failures bigint not null,
    window_started_at text not null,
    locked_until text
);

create table bootstrap_tokens (
    token_hash text primary key,
    created_at text not null,
    expires_at text not null,
    used_at text
);
