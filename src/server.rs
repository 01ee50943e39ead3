//! The HTTP server: the console (SSR + hydration + server functions), static files and
//! `/healthz`. The REST API for pipelines mounts here as well.

use crate::state::AppState;
use crate::ui::{App, shell};
use crate::web::{guard, headers};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// Where the built browser bundle lives and how the server answers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// The cargo-leptos site root holding `pkg/` (the wasm bundle, JS glue and CSS).
    pub site_root: String,
}

pub fn leptos_options(config: &ServerConfig) -> LeptosOptions {
    LeptosOptions::builder().output_name("nhidb").site_root(config.site_root.as_str()).site_pkg_dir("pkg").site_addr(config.addr).build()
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let checked = async {
        state.store.ping().await?;
        state.store.durability().await
    };
    match checked.await {
        Ok(settings) => {
            let settings: serde_json::Map<_, _> = settings.into_iter().map(|(k, v)| (k, v.into())).collect();
            (StatusCode::OK, Json(serde_json::json!({ "status": "ok", "database": state.store.backend().name(), "settings": settings })))
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "unavailable", "code": e.code(), "message": e.to_string() }))),
    }
}

/// Server functions pass through the RPC guard; everything else goes straight on.
async fn guard_server_functions(state: State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/rpc/") { guard::guard_rpc(state, request, next).await } else { next.run(request).await }
}

/// The console's routes, listed once per process. Listing renders the app with resource loads
/// suppressed for the whole process (leptos#4773): a page another server in the process renders
/// at that moment would stall for good. Tests run many servers in one process.
fn console_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    let routes = console_routes();
    let options = state.leptos_options.clone();
    // The bundle's version is a digest of the site root: taken now rather than by the first page.
    crate::web::assets::version(&options.site_root);
    // Layers run outermost (last added) first: headers on every answer, then who is calling,
    // then sign-in for pages, then the server-function guard.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/assets/{version}/{*path}", get(crate::web::assets::versioned))
        .route("/downloads/hygiene/{file}", get(crate::web::downloads::hygiene_csv))
        .route("/downloads/export.zip", post(crate::web::downloads::export_zip))
        .nest(crate::api::PREFIX, crate::api::router(state.clone()))
        .leptos_routes_with_context(&state, routes, || (), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(state.clone(), guard_server_functions))
        .layer(from_fn(guard::require_sign_in))
        .layer(from_fn_with_state(state.clone(), guard::authenticate))
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .layer(from_fn(count_request))
        .layer(compression())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts and times every answer for `/metrics`, by the route pattern that matched (`route`
/// layers run after routing, so it is known; answers no route matched count as `unmatched`).
async fn count_request(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    // Standard methods only: anyone can send any method name, and each would add series.
    let method: &'static str = match request.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    crate::metrics::METRICS.observe_request(&route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The metrics listener (`serve --metrics-addr`): `GET /metrics` and nothing else, on an address
/// of its own, so that it is never reachable where the console is.
pub fn metrics_router(store: crate::store::Store) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let store = store.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::render(&store).await) }
        }),
    )
}

/// Answers are compressed when the client accepts it (brotli or gzip), except what already is:
/// precompressed bundle files, wasm (a release build ships precompressed twins; compressing a
/// debug bundle per request would cost more than it saves on loopback), and export archives.
/// At the fastest level: pages are small and made per request, so the server's CPU matters
/// more than the last few percent of size. Compression works chunk by chunk, so streamed
/// downloads stay streamed in flat memory.
fn compression() -> CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("application/wasm")).and(NotForContentType::const_new("application/zip")))
}

/// What the server does on its own, and how often.
pub struct Housekeeping {
    pub hygiene: crate::domain::hygiene::HygienePolicy,
    /// How often hygiene findings are recomputed (never when `None`).
    pub hygiene_every: Option<Duration>,
    /// Where and how often the audit chain's head is signed (never when `None`).
    pub checkpoints: Option<(Arc<crate::service::checkpoints::Checkpoints>, Duration)>,
    /// How often the scheduler wakes (a minute, but for tests).
    pub tick: Duration,
    /// Who claims the jobs' periods (see `service::jobs`): this server, in the logs and in
    /// `job_runs`.
    pub runner: String,
}

/// Whether this server runs `job` in this period of `every` (see `service::jobs`); a failed
/// claim skips the run, which the next period makes up for.
async fn claimed(store: &crate::store::Store, runner: &str, job: &str, every: Option<Duration>) -> bool {
    let Some(every) = every else { return false };
    match crate::service::jobs::claim(store, job, every, runner).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(job, error = %e, "could not claim a scheduled job; will retry");
            false
        }
    }
}

/// Housekeeping that must happen even when nobody looks: pending change requests whose time ran
/// out are closed, grants whose time ran out recorded (both audited), and the finding counters
/// folded, every tick. Time-based hygiene findings are moved forward (or all findings rebuilt,
/// the first time or when the windows changed), the audit chain's head signed into the
/// checkpoint file, and old sign-in throttle entries forgotten, each on its own schedule. Each
/// job runs once per period across all servers sharing the database (`service::jobs`); only a
/// server's first hygiene run is its own, so that windows changed in its configuration take
/// effect when it starts.
pub fn spawn_housekeeping(store: crate::store::Store, plan: Housekeeping) {
    spawn_chain_walks(store.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(plan.tick);
        let runner = plan.runner.as_str();
        let mut first = true;
        loop {
            tick.tick().await;
            // The first run is this server's own, whoever claimed the period.
            let own = std::mem::take(&mut first) && plan.hygiene_every.is_some();
            if claimed(&store, runner, "hygiene", plan.hygiene_every).await || own {
                match timed("hygiene", crate::service::hygiene::record(&store, &plan.hygiene)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(identities = n, "hygiene findings moved forward in time"),
                    Err(e) => tracing::warn!(error = %e, "hygiene run failed; will retry"),
                }
            }
            if let Some((checkpoints, every)) = &plan.checkpoints
                && claimed(&store, runner, "checkpoint", Some(*every)).await
            {
                match timed("checkpoint", crate::service::checkpoints::record_head(&store, checkpoints)).await {
                    Ok(Some(c)) => tracing::info!(seq = c.seq, "audit checkpoint signed"),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "audit checkpoint not signed"),
                }
            }
            if claimed(&store, runner, "purge", Some(Duration::from_secs(3600))).await {
                let started = Instant::now();
                if let Err(e) = crate::service::auth::forget_old_throttles(&store).await {
                    tracing::warn!(error = %e, "throttle cleanup failed; will retry");
                }
                if let Err(e) = crate::service::jobs::prune(&store).await {
                    tracing::warn!(error = %e, "pruning job runs failed; will retry");
                }
                crate::metrics::METRICS.observe_job("purge", started.elapsed());
            }
            if claimed(&store, runner, "expiry", Some(plan.tick)).await {
                timed("expiry", expiry(&store, plan.hygiene_every.is_some())).await;
            }
        }
    });
}

/// Runs `work` as the scheduled job `job`, timed for `/metrics`.
async fn timed<T>(job: &str, work: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    crate::metrics::METRICS.observe_job(job, started.elapsed());
    out
}

/// The job run every tick: requests and grants whose time ran out, escalation paths and the
/// finding counters.
async fn expiry(store: &crate::store::Store, hygiene: bool) {
    // Escalation paths moved by what no change settles (a grant running out).
    if hygiene && let Err(e) = crate::service::findings::settle_escalation(store, crate::domain::Timestamp::now(), false).await {
        tracing::warn!(error = %e, "escalation findings not settled; will retry");
    }
    // The summary sums the counters' rows: keep them few, whatever the interval above.
    if let Err(e) = crate::service::findings::fold_counts(store).await {
        tracing::warn!(error = %e, "folding finding counts failed; will retry");
    }
    match crate::service::changes::expire_due(store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(expired = n, "closed change requests whose time ran out"),
        Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
    }
    match crate::service::access::record_expired_grants(store).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(expired = n, "recorded grants whose time ran out"),
        Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
    }
}

/// The whole audit chain walked at start-up and again every
/// `WHOLE_WALK_EVERY_SECONDS`, in a task of its own: a walk of a large log takes a while, and
/// neither the other housekeeping nor the audit page (which resumes from the last walk) waits
/// for it. A broken chain is walked again at the same pace, not at every tick, and logged when
/// what is broken changes.
fn spawn_chain_walks(store: crate::store::Store) {
    use crate::service::audit::{WHOLE_WALK_EVERY_SECONDS, refresh_whole_walk};
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        // A walk longer than a tick does not make the next ones run back to back.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let pace = Duration::from_secs(WHOLE_WALK_EVERY_SECONDS.unsigned_abs());
        let mut last_break: Option<(Instant, String)> = None;
        loop {
            tick.tick().await;
            if last_break.as_ref().is_some_and(|(at, _)| at.elapsed() < pace) {
                continue;
            }
            match refresh_whole_walk(&store).await {
                Ok(Some(report)) if report.broken.is_some() => {
                    let summary = report.summary();
                    if last_break.as_ref().is_none_or(|(_, logged)| *logged != summary) {
                        tracing::error!(%summary, "the audit chain does not verify");
                    }
                    last_break = Some((Instant::now(), summary));
                }
                Ok(Some(_)) => last_break = None,
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "the audit chain could not be walked; will retry"),
            }
        }
    });
}

/// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
