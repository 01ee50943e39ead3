-- A per-role counter that moves whenever the role's holder list may have changed: a grant, a
-- revocation, an expiry being recorded, a holder renamed. Readers keep a snapshot of a role's
-- holders and reload it only when the counter moved, so "who holds R" is answered from memory
-- while every process (servers, CLI, pipelines) that writes the database keeps it honest.
-- Triggers, not application code, so no writer can forget it. Statement-level with transition
-- tables: a bulk insert of a million grants bumps each role once, not once per row.
alter table roles add column holders_stamp bigint not null default 0;

create function nhidb_stamp_inserted_holders() returns trigger language plpgsql as $$
begin
    update roles set holders_stamp = holders_stamp + 1 where id in (select distinct role_id from new_rows);
    return null;
end;
$$;

create function nhidb_stamp_updated_holders() returns trigger language plpgsql as $$
begin
    update roles set holders_stamp = holders_stamp + 1
        where id in (select role_id from new_rows union select role_id from old_rows);
    return null;
end;
$$;

create function nhidb_stamp_deleted_holders() returns trigger language plpgsql as $$
begin
    update roles set holders_stamp = holders_stamp + 1 where id in (select distinct role_id from old_rows);
    return null;
end;
$$;

create trigger assignments_stamp_insert after insert on assignments
    referencing new table as new_rows for each statement execute function nhidb_stamp_inserted_holders();
create trigger assignments_stamp_update after update on assignments
    referencing old table as old_rows new table as new_rows for each statement execute function nhidb_stamp_updated_holders();
create trigger assignments_stamp_delete after delete on assignments
    referencing old table as old_rows for each statement execute function nhidb_stamp_deleted_holders();

create function nhidb_stamp_renamed_holder() returns trigger language plpgsql as $$
begin
    update roles set holders_stamp = holders_stamp + 1
        where id in (select role_id from assignments where identity_id = new.id);
    return null;
end;
$$;

create trigger identities_stamp_rename after update of name on identities
    for each row when (old.name is distinct from new.name) execute function nhidb_stamp_renamed_holder();

-- "Who can write on prod/payments/ledger-db" reads the grants on that scope and the scopes above
-- it: a covering index answers it without touching the table, in identity order per scope.
drop index assignments_scope;
create index assignments_scope_grants on assignments (scope_id, revoked_at, identity_id, role_id, role_version, expires_at);
