-- Hygiene findings kept as data: each row is one finding, opened and (later) closed by the
-- transaction that changed what it is about, or by the scheduler when a time window passes.
-- Closed rows stay: they are the findings' history.
create table findings (
    id text primary key,
    kind text not null,
    identity_id text not null references identities (id),
    -- The credential or assignment (or, for separation of duties, the conflict) it is about;
    -- '' when it is about the identity itself.
    subject_id text not null,
    subject text not null,
    -- The raw fact behind the report's sentence (an owner's name, an expiry, a version).
    detail text not null,
    since text,
    opened_at text not null,
    closed_at text
);
-- One open finding per (kind, identity, subject); the reports page on it.
create unique index findings_open on findings (kind, identity_id, subject_id) where closed_at is null;
create index findings_identity on findings (identity_id) where closed_at is null;

-- Findings opened and closed per kind and day, as appended rows: writers never wait on one
-- another's counter row, the summary sums a few rows per kind, and the dashboard's trend reads
-- the days. The scheduler folds them into one row per kind and day.
create table finding_counts (
    kind text not null,
    day text not null,
    opened bigint not null,
    closed bigint not null
);
create index finding_counts_kind on finding_counts (kind, day);

-- The daily counts the scheduler used to record; the counters above replace them.
drop table hygiene_history;

-- What the stored findings are as of: the windows they were computed with and the last time
-- the scheduler moved the time-based ones forward. No row: never built (run a rebuild).
create table hygiene_clock (
    id integer primary key check (id = 1),
    refreshed_at text not null,
    dormant_days bigint not null,
    expiring_days bigint not null,
    rotation_days bigint not null
);

-- The scheduler finds what crossed a time window since its last run by these ranges.
create index identities_dormancy on identities (coalesce(last_seen_at, created_at)) where status = 'active';
create index credentials_rotation on credentials (coalesce(rotated_at, created_at)) where revoked_at is null;
create index sod_exceptions_expiry on sod_exceptions (expires_at);
-- Settling reads an identity's live credentials; without this, SQLite may prefer walking every
-- live credential by expiry.
create index credentials_identity_live on credentials (identity_id, revoked_at);
