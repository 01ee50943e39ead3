-- Live holders per role version, for a role's page: counting them per view grouped every grant
-- of the role (250,000 for the benchmark's busiest role: 140 ms a view). "Live" as for
-- roles.holders_count: neither revoked nor recorded as expired. Kept by triggers like it, so
-- every writer keeps it exact. role_versions itself is immutable, hence a table of its own.
create table role_version_counts (
    role_id text not null,
    version bigint not null,
    n bigint not null default 0,
    primary key (role_id, version)
);
insert into role_version_counts (role_id, version, n)
    select role_id, role_version, count(*) from assignments
    where revoked_at is null and expiry_recorded_at is null group by role_id, role_version;

create trigger assignments_version_count_insert after insert on assignments
    when new.revoked_at is null and new.expiry_recorded_at is null
begin
    insert into role_version_counts (role_id, version, n) values (new.role_id, new.role_version, 1)
        on conflict (role_id, version) do update set n = n + 1;
end;

-- Only updates that move a grant in or out of a version's live count touch a counter row.
create trigger assignments_version_count_update
    after update of role_id, role_version, revoked_at, expiry_recorded_at on assignments
    when old.role_id <> new.role_id or old.role_version <> new.role_version
        or (old.revoked_at is null and old.expiry_recorded_at is null) <> (new.revoked_at is null and new.expiry_recorded_at is null)
begin
    update role_version_counts set n = n - 1
        where role_id = old.role_id and version = old.role_version and old.revoked_at is null and old.expiry_recorded_at is null;
    insert into role_version_counts (role_id, version, n)
        select new.role_id, new.role_version, 1 where new.revoked_at is null and new.expiry_recorded_at is null
        on conflict (role_id, version) do update set n = n + 1;
end;

create trigger assignments_version_count_delete after delete on assignments
    when old.revoked_at is null and old.expiry_recorded_at is null
begin
    update role_version_counts set n = n - 1 where role_id = old.role_id and version = old.role_version;
end;
