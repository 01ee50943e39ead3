-- Open hygiene findings per day and kind, recorded by the server's scheduler, so the dashboard
-- can show how they develop. Findings themselves are computed from the ledger when asked.
create table hygiene_history (
    day text not null,
    kind text not null,
    findings bigint not null,
    recorded_at text not null,
    primary key (day, kind)
);

-- The reports' filters.
create index identities_status_seen on identities (status, last_seen_at);
create index credentials_live on credentials (revoked_at, expires_at);
