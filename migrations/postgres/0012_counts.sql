-- Counters the dashboard reads instead of counting the ledger on every view: at a million
-- identities and five million grants, "identities by status" and "top roles by holders" were
-- full scans (seconds per page view). Kept by triggers, like holders_stamp, so every writer
-- (servers, CLI, pipelines, bulk loads) keeps them exact. Statement-level, from the transition
-- tables, as the stamp: a bulk statement moves each counter once.

-- Live holders of a role: grants neither revoked nor recorded as expired (the scheduler records
-- an expiry within a minute of it; until then the grant still counts, as it still shows).
alter table roles add column holders_count bigint not null default 0;
update roles set holders_count = (
    select count(*) from assignments a where a.role_id = roles.id and a.revoked_at is null and a.expiry_recorded_at is null
);

create or replace function nhidb_stamp_inserted_holders() returns trigger language plpgsql as $$
begin
    update roles r set holders_stamp = r.holders_stamp + 1, holders_count = r.holders_count + d.live
        from (select role_id, count(*) filter (where revoked_at is null and expiry_recorded_at is null) as live
              from new_rows group by role_id) d
        where r.id = d.role_id;
    return null;
end;
$$;

create or replace function nhidb_stamp_updated_holders() returns trigger language plpgsql as $$
begin
    update roles r set holders_stamp = r.holders_stamp + 1, holders_count = r.holders_count + d.live
        from (select role_id, sum(live) as live from (
                  select role_id, case when revoked_at is null and expiry_recorded_at is null then 1 else 0 end as live from new_rows
                  union all
                  select role_id, case when revoked_at is null and expiry_recorded_at is null then -1 else 0 end from old_rows
              ) moved group by role_id) d
        where r.id = d.role_id;
    return null;
end;
$$;

create or replace function nhidb_stamp_deleted_holders() returns trigger language plpgsql as $$
begin
    update roles r set holders_stamp = r.holders_stamp + 1, holders_count = r.holders_count - d.live
        from (select role_id, count(*) filter (where revoked_at is null and expiry_recorded_at is null) as live
              from old_rows group by role_id) d
        where r.id = d.role_id;
    return null;
end;
$$;

-- Identities per status and kind, and each service's identities not retired (the services list
-- showed a count per row: fifty counts of a thousand identities each per page).
create table identity_counts (
    status text collate "C" not null,
    kind text collate "C" not null,
    n bigint not null default 0,
    primary key (status, kind)
);
insert into identity_counts (status, kind, n) select status, kind, count(*) from identities group by status, kind;

alter table services add column identity_count bigint not null default 0;
update services set identity_count = (select count(*) from identities i where i.service_id = services.id and i.status <> 'retired');

-- Only the moves that change a count are written: an update of other columns (last seen, on
-- every usage report) nets to zero and touches no counter row, so it takes no lock on one.
create function nhidb_count_identities() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into identity_counts (status, kind, n) select status, kind, count(*) from new_rows group by status, kind
            on conflict (status, kind) do update set n = identity_counts.n + excluded.n;
        update services s set identity_count = s.identity_count + d.n
            from (select service_id, count(*) as n from new_rows where service_id is not null and status <> 'retired' group by service_id) d
            where s.id = d.service_id;
    elsif tg_op = 'DELETE' then
        update identity_counts c set n = c.n - d.n
            from (select status, kind, count(*) as n from old_rows group by status, kind) d
            where c.status = d.status and c.kind = d.kind;
        update services s set identity_count = s.identity_count - d.n
            from (select service_id, count(*) as n from old_rows where service_id is not null and status <> 'retired' group by service_id) d
            where s.id = d.service_id;
    else
        insert into identity_counts (status, kind, n)
            select status, kind, sum(n) from (
                select status, kind, 1 as n from new_rows union all select status, kind, -1 from old_rows
            ) moved group by status, kind having sum(n) <> 0
            on conflict (status, kind) do update set n = identity_counts.n + excluded.n;
        update services s set identity_count = s.identity_count + d.n
            from (select service_id, sum(n) as n from (
                      select service_id, 1 as n from new_rows where service_id is not null and status <> 'retired'
                      union all
                      select service_id, -1 from old_rows where service_id is not null and status <> 'retired'
                  ) moved group by service_id having sum(n) <> 0) d
            where s.id = d.service_id;
    end if;
    return null;
end;
$$;

create trigger identities_count_insert after insert on identities
    referencing new table as new_rows for each statement execute function nhidb_count_identities();
create trigger identities_count_update after update on identities
    referencing old table as old_rows new table as new_rows for each statement execute function nhidb_count_identities();
create trigger identities_count_delete after delete on identities
    referencing old table as old_rows for each statement execute function nhidb_count_identities();
