-- The scheduler's runs, one row per job and period. Several servers may share one database: each
-- wakes on its own, and the first to insert a job's row for the current period runs it while the
-- others skip it, so a job runs once per period across all of them (and its audit events are
-- written once). Old rows are pruned by the scheduler itself.
create table job_runs (
    job text not null,
    period bigint not null,
    runner text not null,
    started_at text not null,
    primary key (job, period)
);
