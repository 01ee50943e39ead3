//! What the people who run nhidb watch: `GET /metrics` in Prometheus's text format, served on its
//! own listen address (`serve --metrics-addr`), never on the console's. Counters and histograms
//! live in one process-wide registry (the `prometheus` crate) and are moved where the work
//! happens; the pool, the database's reachability and the audit chain's head are read when
//! scraped.

use crate::store::Store;
use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::LazyLock;
use std::time::Duration;

pub struct Metrics {
    registry: Registry,
    /// Requests by route pattern (never the raw path: ids would make a series each), method and
    /// status.
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    /// How long requests waited for a pooled connection.
    pub acquire_seconds: Histogram,
    pub job_runs: IntCounterVec,
    pub job_seconds: HistogramVec,
    pub export_seconds: Histogram,
    pub import_seconds: HistogramVec,
    pool_connections: IntGaugeVec,
    database_up: IntGauge,
    audit_head: IntGauge,
}

/// Latency buckets from 0.5 ms to about 30 s.
fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.0005, 2.5, 14).expect("valid buckets")
}

/// Durations of long work (exports, imports, scheduled jobs): 10 ms to about 40 minutes.
fn long_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.01, 3.0, 14).expect("valid buckets")
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new_custom(Some("nhidb".into()), None).expect("registry");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("counter");
            registry.register(Box::new(c.clone())).expect("register counter");
            c
        };
        let histogram_vec = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels).expect("histogram");
            registry.register(Box::new(h.clone())).expect("register histogram");
            h
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("histogram");
            registry.register(Box::new(h.clone())).expect("register histogram");
            h
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register gauge");
            g
        };
        let pool_connections = IntGaugeVec::new(Opts::new("db_pool_connections", "Pooled database connections by state"), &["state"]).expect("gauge");
        registry.register(Box::new(pool_connections.clone())).expect("register gauge");
        Metrics {
            requests: counter("http_requests_total", "HTTP requests answered, by route pattern, method and status", &["route", "method", "status"]),
            request_seconds: histogram_vec("http_request_duration_seconds", "Time to answer an HTTP request", &["route", "method"], latency_buckets()),
            acquire_seconds: histogram("db_acquire_wait_seconds", "Time a request waited for a pooled database connection", latency_buckets()),
            job_runs: counter("scheduler_job_runs_total", "Scheduled jobs this server ran (each job runs once per period across servers)", &["job"]),
            job_seconds: histogram_vec("scheduler_job_duration_seconds", "Time a scheduled job took", &["job"], long_buckets()),
            export_seconds: histogram("export_duration_seconds", "Time a compliance export took", long_buckets()),
            import_seconds: histogram_vec("import_duration_seconds", "Time an import from a source took", &["kind"], long_buckets()),
            database_up: gauge("database_up", "1 while the database answers, 0 while requests are refused for want of it"),
            audit_head: gauge("audit_head_seq", "Sequence number of the audit chain's last event"),
            pool_connections,
            registry,
        }
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests.with_label_values(&[route, method, &status.to_string()]).inc();
        self.request_seconds.with_label_values(&[route, method]).observe(took.as_secs_f64());
    }

    pub fn observe_job(&self, job: &str, took: Duration) {
        self.job_runs.with_label_values(&[job]).inc();
        self.job_seconds.with_label_values(&[job]).observe(took.as_secs_f64());
    }
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The text a scrape gets: the gauges read now, then every metric of the registry.
pub async fn render(store: &Store) -> String {
    let (size, idle) = store.pool_connections();
    METRICS.pool_connections.with_label_values(&["idle"]).set(idle as i64);
    METRICS.pool_connections.with_label_values(&["in_use"]).set((size as usize).saturating_sub(idle) as i64);
    METRICS.database_up.set(if store.database_down() { 0 } else { 1 });
    // Not while the database is down: the scrape must not wait for it.
    if !store.database_down()
        && let Ok(seq) = crate::service::audit::head_seq(store).await
    {
        METRICS.audit_head.set(seq);
    }
    let mut text = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&METRICS.registry.gather(), &mut text) {
        tracing::warn!(error = %e, "encoding metrics failed");
    }
    String::from_utf8(text).unwrap_or_default()
}
