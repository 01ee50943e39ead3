//! Escalation paths as the console draws them: on an identity's page (*Can become*) and in a
//! change request's blast radius (paths it would open and close). Each path is an SVG strip of
//! nodes and arrows, followed by its hops in words with the grant and rule behind each.

use crate::domain::escalation::{EdgeRule, EscalationDelta, EscalationPath, Hop, NodeKind, NodeRef};
use crate::domain::page::Page;
use crate::error::AppError;
use crate::ui::components::ErrorNotice;
use leptos::prelude::*;
use leptos_router::components::A;

#[server(prefix = "/rpc", endpoint = "identities/escalation")]
pub async fn load_escalation(id: String) -> Result<Page<EscalationPath>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::escalation::reach(&store, &actor, &id).await }).await
}

/// Where a node links: identities and roles to their pages; groups and full control nowhere.
fn href(node: &NodeRef) -> Option<String> {
    match node.kind {
        NodeKind::Identity => Some(format!("/identities/{}", node.id)),
        NodeKind::Role => Some(format!("/roles/{}", node.id)),
        NodeKind::Control | NodeKind::Group => None,
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_owned() } else { format!("{}…", text.chars().take(max - 1).collect::<String>()) }
}

const BOX: i64 = 190;
const GAP: i64 = 70;
const HIGH: i64 = 46;

/// One path, drawn left to right: the identity, each node on the way, the target.
#[component]
fn PathDrawing(path: EscalationPath) -> impl IntoView {
    let mut nodes = vec![path.from.clone()];
    nodes.extend(path.steps.iter().map(|s| s.to.clone()));
    let width = nodes.len() as i64 * (BOX + GAP) - GAP;
    let boxes = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let x = i as i64 * (BOX + GAP);
            let class = format!("path-node path-node-{}", node.kind.as_str());
            view! {
                <rect x=x y="2" width=BOX height=HIGH rx="8" class=class></rect>
                <text x=x + BOX / 2 y="22" text-anchor="middle" class="path-label">{short(&node.label, 26)}</text>
                <text x=x + BOX / 2 y="38" text-anchor="middle" class="path-kind">{node.kind.label()}</text>
            }
        })
        .collect_view();
    let arrows = path
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let x = i as i64 * (BOX + GAP) + BOX;
            let class = if step.rule.is_hop() { "path-arrow path-hop" } else { "path-arrow" };
            view! {
                <line x1=x + 4 y1=HIGH / 2 + 2 x2=x + GAP - 8 y2=HIGH / 2 + 2 class=class></line>
                <path d=format!("M{} {} l-7 -5 v10 z", x + GAP - 2, HIGH / 2 + 2) class=class></path>
            }
        })
        .collect_view();
    let label = format!("{} reaches {} in {} hop{}", path.from.label, path.target.label, path.hops, if path.hops == 1 { "" } else { "s" });
    view! {
        <svg class="path-drawing" viewBox=format!("0 0 {width} {}", HIGH + 4) width=width role="img" aria-label=label>
            {boxes}
            {arrows}
        </svg>
    }
}

/// A hop in words: who, what it may do, and the grants and rules behind it.
#[component]
fn HopLine(hop: Hop) -> impl IntoView {
    let node = |n: &NodeRef| {
        let label = n.label.clone();
        match href(n) {
            Some(href) => view! { <A href=href>{label}</A> }.into_any(),
            None => view! { <span>{label}</span> }.into_any(),
        }
    };
    let reasons = hop
        .reasons
        .iter()
        .map(|r| {
            let grant = if r.assignment_id == "proposed" { "this request".to_owned() } else { format!("grant {}", r.assignment_id) };
            view! {
                <li class="small">
                    <A href=format!("/roles/{}", r.role_id)>{format!("{} v{}", r.role_slug, r.version)}</A>
                    {format!(" ({grant})")}
                    {(!r.rules.is_empty()).then(|| view! { ": "<code>{r.rules.join("; ")}</code> })}
                </li>
            }
        })
        .collect_view();
    let verb = match hop.rule {
        EdgeRule::Holds | EdgeRule::Member => hop.rule.label().to_owned(),
        rule => format!("{} ({})", rule.label(), rule.as_str()),
    };
    view! {
        <li data-rule=hop.rule.as_str()>
            {node(&hop.from)}" → "{node(&hop.to)}<span class="muted">{format!(": {verb}")}</span>
            {(!hop.reasons.is_empty()).then(|| view! { <ul class="reasons">{reasons}</ul> })}
        </li>
    }
}

/// A path: the drawing, then its hops.
#[component]
pub fn PathView(path: EscalationPath) -> impl IntoView {
    let hops = path.steps.clone().into_iter().map(|hop| view! { <HopLine hop/> }).collect_view();
    let title = format!("{} — {} hop{}", path.target.label, path.hops, if path.hops == 1 { "" } else { "s" });
    let (target, hop_count) = (path.target.id.clone(), path.hops.to_string());
    view! {
        <div class="escalation-path" data-target=target data-hops=hop_count>
            <h3>{title}</h3>
            <div class="path-scroll"><PathDrawing path/></div>
            <ol class="hops">{hops}</ol>
        </div>
    }
}

/// The identity page's *Can become* section (loaded with the page, see `AccessSection`).
#[component]
pub fn CanBecome(paths: Result<Page<EscalationPath>, AppError>) -> impl IntoView {
    let body = match paths {
        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
        Ok(page) if page.items.is_empty() => {
            view! { <p class="muted" id="can-become-none">"No escalation path: it cannot act as another identity or gain a privileged role beyond what it holds."</p> }
                .into_any()
        }
        Ok(page) => {
            let more = (page.total > page.items.len() as i64).then(|| view! { <p class="muted">{format!("… and {} more targets", page.total - page.items.len() as i64)}</p> });
            let summary = format!(
                "It can reach {} privileged target{} beyond what it holds.",
                page.total,
                if page.total == 1 { "" } else { "s" }
            );
            let paths = page.items.into_iter().map(|path| view! { <PathView path/> }).collect_view();
            view! { <p class="notice notice-warning">{summary}</p>{paths}{more} }.into_any()
        }
    };
    view! {
        <section class="card" id="can-become">
            <h2>"Can become"</h2>
            <p class="muted small">"Identities it can act as and privileged roles it can gain through its permissions (creating pods, binding roles, passing AWS roles, acting as GCP service accounts…), by the shortest path."</p>
            {body}
        </section>
    }
}

/// The escalation part of a change's blast radius.
#[component]
pub fn EscalationChange(delta: EscalationDelta) -> impl IntoView {
    let opened = delta.opened_count;
    let closed = delta.closed_count;
    let list = |paths: Vec<EscalationPath>| paths.into_iter().map(|path| view! { <PathView path/> }).collect_view();
    view! {
        <div id="blast-escalation">
            {(opened > 0).then(|| view! {
                <p class="notice notice-error" id="escalation-warning" role="alert">
                    <strong>{format!("Opens {opened} escalation path{} to privileged targets.", if opened == 1 { "" } else { "s" })}</strong>
                    " Approving lets these identities reach what they do not hold; this request needs the privileged number of approvals."
                </p>
                <h3>"Paths opened"</h3>
                <div id="paths-opened">{list(delta.opened.clone())}</div>
                {(opened > delta.opened.len() as i64).then(|| view! { <p class="muted">{format!("… and {} more", opened - delta.opened.len() as i64)}</p> })}
            })}
            {(closed > 0).then(|| view! {
                <h3>"Paths closed"</h3>
                <div id="paths-closed">{list(delta.closed.clone())}</div>
                {(closed > delta.closed.len() as i64).then(|| view! { <p class="muted">{format!("… and {} more", closed - delta.closed.len() as i64)}</p> })}
            })}
            {(opened == 0 && closed == 0).then(|| view! { <p class="muted small">"Opens and closes no escalation path."</p> })}
        </div>
    }
}
