-- A per-role counter that moves whenever the role's holder list may have changed: a grant, a
-- revocation, an expiry being recorded, a holder renamed. Readers keep a snapshot of a role's
-- holders and reload it only when the counter moved, so "who holds R" is answered from memory
-- while every process (servers, CLI, pipelines) that writes the database keeps it honest.
-- Triggers, not application code, so no writer can forget it.
alter table roles add column holders_stamp bigint not null default 0;

create trigger assignments_stamp_insert after insert on assignments
begin
    update roles set holders_stamp = holders_stamp + 1 where id = new.role_id;
end;

create trigger assignments_stamp_update after update on assignments
begin
    update roles set holders_stamp = holders_stamp + 1 where id in (old.role_id, new.role_id);
end;

create trigger assignments_stamp_delete after delete on assignments
begin
    update roles set holders_stamp = holders_stamp + 1 where id = old.role_id;
end;

create trigger identities_stamp_rename after update of name on identities when old.name <> new.name
begin
    update roles set holders_stamp = holders_stamp + 1
        where id in (select role_id from assignments where identity_id = new.id);
end;

-- "Who can write on prod/payments/ledger-db" reads the grants on that scope and the scopes above
-- it: a covering index answers it without touching the table, in identity order per scope.
drop index assignments_scope;
create index assignments_scope_grants on assignments (scope_id, revoked_at, identity_id, role_id, role_version, expires_at);
