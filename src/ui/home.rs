//! The overview: how big the ledger is and where to go next.

use super::components::{ErrorNotice, Loading, PageHeader};
use super::format::count;
use crate::domain::identity::{IdentityKind, IdentityStatus};
use crate::domain::overview::Overview;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[server(prefix = "/rpc", endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    let policy = crate::ui::session::state()?.config.hygiene;
    crate::ui::session::run(|store, actor| async move { crate::service::overview::get(&store, &actor, &policy).await }).await
}

#[component]
pub fn HomePage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_overview());
    let session = expect_context::<crate::ui::CurrentSession>().0;
    view! {
        <Title text="Overview"/>
        <PageHeader title="Overview" subtitle="The ledger of machine identities and what they may do."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                // The audit tile links to the audit log only for those who may open it.
                let may_audit = crate::ui::pages::may_open("/audit", session.await.ok().flatten().as_ref());
                match overview.await {
                    Ok(o) => view! { <OverviewTiles overview=o may_audit/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OverviewTiles(overview: Overview, may_audit: bool) -> impl IntoView {
    let status_count = |status: IdentityStatus| overview.identities_by_status.iter().find(|(s, _)| s == status.as_str()).map(|(_, n)| *n).unwrap_or(0);
    let active = status_count(IdentityStatus::Active);
    let suspended = status_count(IdentityStatus::Suspended);
    let retired = status_count(IdentityStatus::Retired);
    let kinds: Vec<Bar> = overview
        .identities_by_kind
        .iter()
        .map(|(kind, n)| Bar {
            label: IdentityKind::parse(kind).map(|k| k.label()).unwrap_or("Other").to_owned(),
            value: *n,
            href: format!("/identities?kind={kind}"),
        })
        .collect();
    let roles: Vec<Bar> = overview.top_roles.iter().map(|(id, slug, n)| Bar { label: slug.clone(), value: *n, href: format!("/roles/{id}/holders") }).collect();
    let expiries: Vec<Bar> = overview
        .expiries_ahead
        .iter()
        .map(|(week, n)| Bar { label: week[5..].to_owned(), value: *n, href: "/hygiene?kind=credential_expiring".to_owned() })
        .collect();
    let findings_class = if overview.open_findings > 0 { "tile tile-warn" } else { "tile" };
    view! {
        <section class="tiles" aria-label="Totals" id="dashboard-tiles">
            <A href="/identities?status=active" attr:class="tile" attr:id="tile-active">
                <span class="tile-value">{count(active)}</span>
                <span class="tile-label">"Active identities"</span>
            </A>
            <A href="/identities?status=suspended" attr:class="tile" attr:id="tile-suspended">
                <span class="tile-value">{count(suspended)}</span>
                <span class="tile-label">"Suspended"</span>
            </A>
            <A href="/identities?status=retired" attr:class="tile" attr:id="tile-retired">
                <span class="tile-value">{count(retired)}</span>
                <span class="tile-label">"Retired (kept for history)"</span>
            </A>
            <A href="/services?status=active" attr:class="tile" attr:id="tile-services">
                <span class="tile-value">{count(overview.services_active)}</span>
                <span class="tile-label">"Active services"</span>
            </A>
            <A href="/roles" attr:class="tile" attr:id="tile-roles">
                <span class="tile-value">{count(overview.roles_active)}</span>
                <span class="tile-label">"Roles"</span>
            </A>
            <A href="/approvals?view=all&state=pending" attr:class="tile" attr:id="tile-pending">
                <span class="tile-value">{count(overview.pending_approvals)}</span>
                <span class="tile-label">"Pending approvals"</span>
            </A>
            <A href="/hygiene" attr:class=findings_class attr:id="tile-findings">
                <span class="tile-value">{count(overview.open_findings)}</span>
                <span class="tile-label">"Open findings"</span>
            </A>
            {if may_audit {
                view! {
                    <A href="/audit" attr:class="tile" attr:id="tile-audit">
                        <span class="tile-value">{count(overview.audit_events)}</span>
                        <span class="tile-label">"Audit events"</span>
                    </A>
                }.into_any()
            } else {
                view! {
                    <div class="tile" id="tile-audit">
                        <span class="tile-value">{count(overview.audit_events)}</span>
                        <span class="tile-label">"Audit events"</span>
                    </div>
                }.into_any()
            }}
        </section>
        <div class="grid-2">
            <section class="card">
                <h2>"Identities in use by kind"</h2>
                <BarChart bars=kinds id="chart-kinds" label="Identities in use by kind"/>
            </section>
            <section class="card">
                <h2>"Top roles by holders"</h2>
                <BarChart bars=roles id="chart-roles" label="Top roles by live holders"/>
            </section>
            <section class="card">
                <h2>"Open findings, last 30 days"</h2>
                <TrendChart points=overview.findings_trend.clone()/>
            </section>
            <section class="card">
                <h2>"Credential expiries ahead (per week)"</h2>
                <ColumnChart bars=expiries/>
            </section>
        </div>
    }
}

/// One bar of a chart: what it counts, how many, and the list behind it.
#[derive(Debug, Clone, PartialEq)]
struct Bar {
    label: String,
    value: i64,
    href: String,
}

/// Horizontal bars drawn in SVG (no inline styles, which the page's CSP forbids), each bar a
/// link to the list it counts. Pure markup from the data: the server's render and the hydrated
/// page are identical.
#[component]
fn BarChart(bars: Vec<Bar>, #[prop(into)] id: String, #[prop(into)] label: String) -> impl IntoView {
    const ROW: i64 = 30;
    const LABEL: i64 = 160;
    const BAR: i64 = 300;
    if bars.is_empty() {
        return view! { <p class="muted">"Nothing to show yet."</p> }.into_any();
    }
    let max = bars.iter().map(|b| b.value).max().unwrap_or(1).max(1);
    let height = ROW * bars.len() as i64;
    let rows = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| {
            let y = i as i64 * ROW;
            let width = (bar.value * BAR / max).max(2);
            view! {
                <a href=bar.href.clone() class="chart-link" data-value=bar.value>
                    <title>{format!("{}: {}", bar.label, bar.value)}</title>
                    <text x="0" y=y + 19 class="chart-label">{bar.label.clone()}</text>
                    <rect x=LABEL y=y + 6 width=BAR height="16" rx="8" class="chart-track"></rect>
                    <rect x=LABEL y=y + 6 width=width height="16" rx="8" class="chart-bar"></rect>
                    <text x=LABEL + BAR + 12 y=y + 19 class="chart-value">{count(bar.value)}</text>
                </a>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" id=id viewBox=format!("0 0 {} {height}", LABEL + BAR + 70) role="img" aria-label=label>
            {rows}
        </svg>
    }
    .into_any()
}

/// Vertical bars, one per period (week), each linking to its list.
#[component]
fn ColumnChart(bars: Vec<Bar>) -> impl IntoView {
    const WIDTH: i64 = 56;
    const HEIGHT: i64 = 120;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let columns = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| {
            let x = i as i64 * WIDTH;
            let h = if bar.value == 0 { 0 } else { (bar.value * HEIGHT / max).max(3) };
            view! {
                <a href=bar.href.clone() class="chart-link" data-value=bar.value>
                    <title>{format!("week of {}: {} expiring", bar.label, bar.value)}</title>
                    <rect x=x + 10 y=HEIGHT - h + 20 width=WIDTH - 20 height=h rx="4" class="chart-bar"></rect>
                    <text x=x + WIDTH / 2 y=HEIGHT - h + 14 class="chart-value" text-anchor="middle">{bar.value}</text>
                    <text x=x + WIDTH / 2 y=HEIGHT + 38 class="chart-label" text-anchor="middle">{bar.label.clone()}</text>
                </a>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" id="chart-expiries" viewBox=format!("0 0 {} {}", WIDTH * 8, HEIGHT + 46) role="img" aria-label="Live credentials expiring per week, next eight weeks">
            <line x1="0" y1=HEIGHT + 20 x2=WIDTH * 8 y2=HEIGHT + 20 class="chart-axis"></line>
            {columns}
        </svg>
    }
}

/// Open findings per recorded day, as a line with a dot per day.
#[component]
fn TrendChart(points: Vec<(String, i64)>) -> impl IntoView {
    const WIDTH: i64 = 480;
    const HEIGHT: i64 = 120;
    if points.is_empty() {
        return view! { <p class="muted" id="chart-trend-empty">"No findings recorded yet: they are built when the server first starts on this database."</p> }
            .into_any();
    }
    let max = points.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let step = if points.len() > 1 { WIDTH / (points.len() as i64 - 1) } else { 0 };
    let at = |i: usize, n: i64| (i as i64 * step + 20, HEIGHT - n * HEIGHT / max + 20);
    let line: String = points
        .iter()
        .enumerate()
        .map(|(i, (_, n))| {
            let (x, y) = at(i, *n);
            format!("{x},{y}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let (first, last) = (points.first().map(|p| p.0.clone()).unwrap_or_default(), points.last().map(|p| p.0.clone()).unwrap_or_default());
    let dots = points
        .iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let (x, y) = at(i, *n);
            view! { <circle cx=x cy=y r="4" class="chart-dot" data-value=*n><title>{format!("{day}: {n} open findings")}</title></circle> }
        })
        .collect_view();
    let latest = points.last().map(|p| p.1).unwrap_or(0);
    view! {
        <svg class="chart" id="chart-trend" viewBox=format!("0 0 {} {}", WIDTH + 40, HEIGHT + 50) role="img" aria-label=format!("Open findings per day; latest {latest}")>
            <line x1="20" y1=HEIGHT + 20 x2=WIDTH + 20 y2=HEIGHT + 20 class="chart-axis"></line>
            <polyline points=line class="chart-line"></polyline>
            {dots}
            <text x="20" y=HEIGHT + 42 class="chart-label">{first}</text>
            <text x=WIDTH + 20 y=HEIGHT + 42 class="chart-label" text-anchor="end">{last}</text>
        </svg>
    }
    .into_any()
}
