-- Counters the dashboard reads instead of counting the ledger on every view: at a million
-- identities and five million grants, "identities by status" and "top roles by holders" were
-- full scans (seconds per page view). Kept by triggers, like holders_stamp, so every writer
-- (servers, CLI, pipelines, bulk loads) keeps them exact.

-- Live holders of a role: grants neither revoked nor recorded as expired (the scheduler records
-- an expiry within a minute of it; until then the grant still counts, as it still shows).
alter table roles add column holders_count bigint not null default 0;
update roles set holders_count = (
    select count(*) from assignments a where a.role_id = roles.id and a.revoked_at is null and a.expiry_recorded_at is null
);

drop trigger assignments_stamp_insert;
create trigger assignments_stamp_insert after insert on assignments
begin
    update roles set holders_stamp = holders_stamp + 1,
        holders_count = holders_count + (new.revoked_at is null and new.expiry_recorded_at is null)
        where id = new.role_id;
end;

drop trigger assignments_stamp_update;
create trigger assignments_stamp_update after update on assignments
begin
    update roles set holders_stamp = holders_stamp + 1,
        holders_count = holders_count
            + (case when id = new.role_id then (new.revoked_at is null and new.expiry_recorded_at is null) else 0 end)
            - (case when id = old.role_id then (old.revoked_at is null and old.expiry_recorded_at is null) else 0 end)
        where id in (old.role_id, new.role_id);
end;

drop trigger assignments_stamp_delete;
create trigger assignments_stamp_delete after delete on assignments
begin
    update roles set holders_stamp = holders_stamp + 1,
        holders_count = holders_count - (old.revoked_at is null and old.expiry_recorded_at is null)
        where id = old.role_id;
end;

-- Identities per status and kind, and each service's identities not retired (the services list
-- showed a count per row: fifty counts of a thousand identities each per page).
create table identity_counts (
    status text not null,
    kind text not null,
    n bigint not null default 0,
    primary key (status, kind)
);
insert into identity_counts (status, kind, n) select status, kind, count(*) from identities group by status, kind;

create trigger identities_count_insert after insert on identities
begin
    insert or ignore into identity_counts (status, kind, n) values (new.status, new.kind, 0);
    update identity_counts set n = n + 1 where status = new.status and kind = new.kind;
end;

create trigger identities_count_update after update of status, kind on identities
    when old.status <> new.status or old.kind <> new.kind
begin
    update identity_counts set n = n - 1 where status = old.status and kind = old.kind;
    insert or ignore into identity_counts (status, kind, n) values (new.status, new.kind, 0);
    update identity_counts set n = n + 1 where status = new.status and kind = new.kind;
end;

create trigger identities_count_delete after delete on identities
begin
    update identity_counts set n = n - 1 where status = old.status and kind = old.kind;
end;

alter table services add column identity_count bigint not null default 0;
update services set identity_count = (select count(*) from identities i where i.service_id = services.id and i.status <> 'retired');

create trigger identities_service_count_insert after insert on identities
    when new.service_id is not null and new.status <> 'retired'
begin
    update services set identity_count = identity_count + 1 where id = new.service_id;
end;

create trigger identities_service_count_update after update of service_id, status on identities
    when old.service_id is not new.service_id or old.status <> new.status
begin
    update services set identity_count = identity_count - 1 where id = old.service_id and old.status <> 'retired';
    update services set identity_count = identity_count + 1 where id = new.service_id and new.status <> 'retired';
end;

create trigger identities_service_count_delete after delete on identities
    when old.service_id is not null and old.status <> 'retired'
begin
    update services set identity_count = identity_count - 1 where id = old.service_id;
end;
