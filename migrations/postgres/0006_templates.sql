-- Service templates (reviewed role sets with identity blueprints), what each service was
-- provisioned from, and the records that make provisioning and decommissioning safe to retry.

create table templates (
    id text collate "C" primary key,
    slug text collate "C" not null unique,
    display_name text collate "C" not null,
    current_version bigint not null,
    created_at text collate "C" not null,
    updated_at text collate "C" not null
);

-- Versions are immutable like role versions: a changed template is a new, reviewed version.
create table template_versions (
    template_id text collate "C" not null references templates (id),
    version bigint not null,
    definition text collate "C" not null,
    author text collate "C" not null,
    change_request_id text collate "C" references change_requests (id),
    created_at text collate "C" not null,
    primary key (template_id, version)
);

create trigger template_versions_immutable before update or delete on template_versions
    for each row execute function nhidb_refuse_change('template versions are immutable');

alter table services add column template_id text collate "C" references templates (id);
alter table services add column template_version bigint;
alter table services add column env text collate "C";
create index services_template on services (template_id, name);

-- One row per provisioned service: a retry with the same idempotency key, or without a key but
-- with the same name and parameters, gets `response` back instead of a second service.
create table provisions (
    service_name text collate "C" primary key,
    idempotency_key text collate "C" unique,
    request_hash text collate "C" not null,
    service_id text collate "C" not null references services (id),
    response text collate "C" not null,
    created_at text collate "C" not null
);

-- The receipt of a decommission, returned again to a retry.
create table decommissions (
    service_id text collate "C" primary key references services (id),
    receipt text collate "C" not null,
    created_at text collate "C" not null
);

create index credentials_last_used on credentials (last_used_at);
