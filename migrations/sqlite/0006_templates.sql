-- Service templates (reviewed role sets with identity blueprints), what each service was
-- provisioned from, and the records that make provisioning and decommissioning safe to retry.

create table templates (
    id text primary key,
    slug text not null unique,
    display_name text not null,
    current_version bigint not null,
    created_at text not null,
    updated_at text not null
);

-- Versions are immutable like role versions: a changed template is a new, reviewed version.
create table template_versions (
    template_id text not null references templates (id),
    version bigint not null,
    definition text not null,
    author text not null,
    change_request_id text references change_requests (id),
    created_at text not null,
    primary key (template_id, version)
);

create trigger template_versions_immutable_update before update on template_versions
begin
    select raise(abort, 'template versions are immutable');
end;
create trigger template_versions_immutable_delete before delete on template_versions
begin
    select raise(abort, 'template versions are immutable');
end;

alter table services add column template_id text references templates (id);
alter table services add column template_version bigint;
alter table services add column env text;
create index services_template on services (template_id, name);

-- One row per provisioned service: a retry with the same idempotency key, or without a key but
-- with the same name and parameters, gets `response` back instead of a second service.
create table provisions (
    service_name text primary key,
    idempotency_key text unique,
    request_hash text not null,
    service_id text not null references services (id),
    response text not null,
    created_at text not null
);

-- The receipt of a decommission, returned again to a retry.
create table decommissions (
    service_id text primary key references services (id),
    receipt text not null,
    created_at text not null
);

create index credentials_last_used on credentials (last_used_at);
