-- Live holders per role version, for a role's page: counting them per view grouped every grant
-- of the role (250,000 for the benchmark's busiest role). "Live" as for roles.holders_count:
-- neither revoked nor recorded as expired. Kept by statement-level triggers from the transition
-- tables, like it, so every writer keeps it exact and a bulk statement moves each counter once.
-- role_versions itself is immutable, hence a table of its own.
create table role_version_counts (
    role_id text collate "C" not null,
    version bigint not null,
    n bigint not null default 0,
    primary key (role_id, version)
);
insert into role_version_counts (role_id, version, n)
    select role_id, role_version, count(*) from assignments
    where revoked_at is null and expiry_recorded_at is null group by role_id, role_version;

-- Only moves that change a count are written: an update that keeps every grant in its version's
-- live count (most updates of a grant) nets to zero and touches no counter row.
create function nhidb_count_version_holders() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into role_version_counts (role_id, version, n)
            select role_id, role_version, count(*) from new_rows
            where revoked_at is null and expiry_recorded_at is null group by role_id, role_version
            on conflict (role_id, version) do update set n = role_version_counts.n + excluded.n;
    elsif tg_op = 'DELETE' then
        update role_version_counts c set n = c.n - d.n
            from (select role_id, role_version, count(*) as n from old_rows
                  where revoked_at is null and expiry_recorded_at is null group by role_id, role_version) d
            where c.role_id = d.role_id and c.version = d.role_version;
    else
        insert into role_version_counts (role_id, version, n)
            select role_id, role_version, sum(n) from (
                select role_id, role_version, 1 as n from new_rows where revoked_at is null and expiry_recorded_at is null
                union all
                select role_id, role_version, -1 from old_rows where revoked_at is null and expiry_recorded_at is null
            ) moved group by role_id, role_version having sum(n) <> 0
            on conflict (role_id, version) do update set n = role_version_counts.n + excluded.n;
    end if;
    return null;
end;
$$;

create trigger assignments_version_count_insert after insert on assignments
    referencing new table as new_rows for each statement execute function nhidb_count_version_holders();
create trigger assignments_version_count_update after update on assignments
    referencing old table as old_rows new table as new_rows for each statement execute function nhidb_count_version_holders();
create trigger assignments_version_count_delete after delete on assignments
    referencing old table as old_rows for each statement execute function nhidb_count_version_holders();
