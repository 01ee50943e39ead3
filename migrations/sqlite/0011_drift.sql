-- Drift: what an import observed that nobody in nhidb reviewed. A role version the source
-- changed (`kubectl edit`, a new default policy version), a grant of a privileged role, a grant
-- whose role or principal the source lacks. Each row opens when an import first sees it and
-- closes when a change request acknowledges it or the source no longer has it; closed rows stay
-- as the record of who accepted what.
create table source_drift (
    id text primary key,
    source_id text not null references sources (id),
    kind text not null check (kind in ('changed_outside_review', 'unreviewed_access', 'dangling_binding')),
    -- What it is about, unique per source and kind while open: `role_id/version`, an
    -- assignment id, a dangling grant's source ref.
    subject_id text not null,
    subject text not null,
    detail text not null,
    role_id text references roles (id),
    role_version bigint,
    -- For a changed role: the version it was at before (the diff is base_version → role_version).
    base_version bigint,
    identity_id text references identities (id),
    opened_at text not null,
    closed_at text,
    close_reason text check (close_reason in ('acknowledged', 'gone')),
    -- The change request that acknowledged it, and the approver whose decision applied it.
    change_id text references change_requests (id),
    acknowledged_by text
);
create unique index source_drift_open on source_drift (source_id, kind, subject_id) where closed_at is null;
-- Counts per kind (the Hygiene page) and per source (the Sources page) read open rows only.
create index source_drift_kind_open on source_drift (kind, source_id) where closed_at is null;
create index source_drift_source on source_drift (source_id, closed_at, opened_at);
-- Every import asks which privileged grants and dangling bindings have no finding yet, open or
-- closed: one probe per row.
create index source_drift_subject on source_drift (source_id, kind, subject_id);
