-- Pipeline tokens can be limited to scopes (comma-separated paths; empty: the whole ledger).
-- Outside its limits a token may read but not change anything.
alter table pipeline_tokens add column limits text collate "C" not null default '';
