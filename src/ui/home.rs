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
    crate::ui::session::run(|store, actor| async move { crate::service::overview::get(&store, &actor).await }).await
}

#[component]
pub fn HomePage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_overview());
    view! {
        <Title text="Overview"/>
        <PageHeader title="Overview" subtitle="The ledger of machine identities and what they may do."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <OverviewTiles overview=o/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OverviewTiles(overview: Overview) -> impl IntoView {
    let status_count = |status: IdentityStatus| overview.identities_by_status.iter().find(|(s, _)| s == status.as_str()).map(|(_, n)| *n).unwrap_or(0);
    let active = status_count(IdentityStatus::Active);
    let suspended = status_count(IdentityStatus::Suspended);
    let retired = status_count(IdentityStatus::Retired);
    let kinds: Vec<(String, i64)> = overview.identities_by_kind.iter().map(|(kind, n)| (kind.clone(), *n)).collect();
    view! {
        <section class="tiles" aria-label="Totals">
            <A href="/identities?status=active" attr:class="tile">
                <span class="tile-value">{count(active)}</span>
                <span class="tile-label">"Active identities"</span>
            </A>
            <A href="/identities?status=suspended" attr:class="tile">
                <span class="tile-value">{count(suspended)}</span>
                <span class="tile-label">"Suspended"</span>
            </A>
            <A href="/identities?status=retired" attr:class="tile">
                <span class="tile-value">{count(retired)}</span>
                <span class="tile-label">"Retired (kept for history)"</span>
            </A>
            <A href="/services?status=active" attr:class="tile">
                <span class="tile-value">{count(overview.services_active)}</span>
                <span class="tile-label">"Active services"</span>
            </A>
            <div class="tile">
                <span class="tile-value">{count(overview.roles_active)}</span>
                <span class="tile-label">"Roles"</span>
            </div>
            <div class="tile">
                <span class="tile-value">{count(overview.audit_events)}</span>
                <span class="tile-label">"Audit events"</span>
            </div>
        </section>
        <section class="card">
            <h2>"Identities in use by kind"</h2>
            <KindChart kinds/>
        </section>
    }
}

/// Horizontal bars drawn in SVG (no inline styles, which the page's CSP forbids), each bar a
/// link to the list it counts.
#[component]
fn KindChart(kinds: Vec<(String, i64)>) -> impl IntoView {
    const ROW: i64 = 30;
    const LABEL: i64 = 150;
    const BAR: i64 = 520;
    let max = kinds.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let height = ROW * kinds.len() as i64;
    let rows = kinds
        .into_iter()
        .enumerate()
        .map(|(i, (kind, n))| {
            let y = i as i64 * ROW;
            let width = (n * BAR / max).max(2);
            let label = IdentityKind::parse(&kind).map(|k| k.label()).unwrap_or("Other");
            view! {
                <a href=format!("/identities?kind={kind}")>
                    <title>{format!("{label}: {n}")}</title>
                    <text x="0" y=y + 19 class="chart-label">{label}</text>
                    <rect x=LABEL y=y + 6 width=BAR height="16" rx="8" class="chart-track"></rect>
                    <rect x=LABEL y=y + 6 width=width height="16" rx="8" class="chart-bar"></rect>
                    <text x=LABEL + BAR + 12 y=y + 19 class="chart-value">{count(n)}</text>
                </a>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {} {height}", LABEL + BAR + 80) role="img" aria-label="Identities in use by kind">
            {rows}
        </svg>
    }
}
