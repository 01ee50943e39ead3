//! The audit page: filter the hash-chained log by actor, action, subject and time, read each
//! event's detail, and see (and re-run) the chain's verification.

use crate::domain::audit::{AuditPage, AuditQuery, ChainStatus};
use crate::error::AppError;
use crate::ui::components::{EmptyState, ErrorNotice, Loading, PageHeader, Table, successes};
use crate::ui::format::query_string;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[server(prefix = "/rpc", endpoint = "audit/search", input = leptos::server_fn::codec::Json)]
pub async fn search_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::audit::search(&store, &actor, &query).await }).await
}

/// The chain's status: on opening the page, the events since the last whole walk, linked to it
/// (see `service::audit::verify_recent`); `whole` (*Verify now*) walks every event.
#[server(prefix = "/rpc", endpoint = "audit/verify")]
pub async fn verify_chain(#[server(default)] whole: bool) -> Result<ChainStatus, AppError> {
    crate::ui::session::run(|store, actor| async move {
        if whole {
            return Ok(ChainStatus::from(crate::service::audit::verify(&store, &actor).await?));
        }
        let (report, walked_at) = crate::service::audit::verify_recent(&store, &actor).await?;
        Ok(ChainStatus { whole_chain_walked_at: walked_at, ..ChainStatus::from(report) })
    })
    .await
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| AuditQuery {
            actor: p.get("actor"),
            action: p.get("action"),
            subject: p.get("subject"),
            from: p.get("from"),
            to: p.get("to"),
            before: p.get("before"),
        })
    });
    let page = Resource::new(move || query.get(), search_audit);
    let verify = ServerAction::<VerifyChain>::new();
    let reruns = successes(verify);
    let status = Resource::new(move || reruns.get(), |_| verify_chain(false));
    view! {
        <Title text="Audit log"/>
        <PageHeader title="Audit log" subtitle="Every change, append-only and hash-chained: each event's hash covers the one before it."/>
        <section class="card status-bar" id="chain-status">
            <Suspense fallback=|| view! { <span class="muted">"Verifying the chain…"</span> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) if s.ok => view! {
                            <span><span class="badge badge-active" id="chain-verified">"Verified"</span>
                            {format!(" up to sequence {} · head {}", s.verified, s.head_hash)}
                            <span class="muted small" id="chain-walked">{match s.whole_chain_walked_at {
                                Some(at) => format!(" · whole chain walked {}, newer events checked now", at.short()),
                                None => " · whole chain walked now".to_owned(),
                            }}</span></span>
                        }.into_any(),
                        Ok(s) => view! {
                            <span><span class="badge badge-danger" id="chain-broken">"Broken"</span>
                            {format!(" at sequence {}: {}", s.broken_at.unwrap_or_default(), s.problem.unwrap_or_default())}</span>
                        }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=verify attr:class="inline-form">
                <input type="hidden" name="whole" value="true"/>
                <button type="submit" class="button" id="verify-now" disabled=verify.pending()>"Verify now"</button>
            </ActionForm>
        </section>
        <Form method="GET" action="/audit" attr:class="card filters" attr:id="audit-filters">
            <input type="search" name="actor" placeholder="Actor" value=move || query.get().actor.unwrap_or_default()/>
            <input type="search" name="action" placeholder="Action (role, service.provision…)" value=move || query.get().action.unwrap_or_default()/>
            <input type="search" name="subject" placeholder="Subject id" value=move || query.get().subject.unwrap_or_default()/>
            <input type="text" name="from" placeholder="From (YYYY-MM-DD)" value=move || query.get().from.unwrap_or_default()/>
            <input type="text" name="to" placeholder="To (YYYY-MM-DD)" value=move || query.get().to.unwrap_or_default()/>
            <button type="submit" class="button">"Filter"</button>
            <A href="/audit" attr:class="button ghost">"Clear"</A>
        </Form>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.events.is_empty() => view! { <EmptyState text="No event matches these filters."/> }.into_any(),
                    Ok(page) => {
                        let q = query.get_untracked();
                        let next = page.next_before.map(|before| {
                            let before = before.to_string();
                            format!("/audit{}", query_string(&[
                                ("actor", q.actor.as_deref()), ("action", q.action.as_deref()), ("subject", q.subject.as_deref()),
                                ("from", q.from.as_deref()), ("to", q.to.as_deref()), ("before", Some(before.as_str())),
                            ]))
                        });
                        let rows = page.events.into_iter().map(|e| {
                            let detail = serde_json::from_str::<serde_json::Value>(&e.detail).map(|v| serde_json::to_string_pretty(&v).unwrap_or_default()).unwrap_or(e.detail.clone());
                            let subject = format!("{} {}", e.subject_type, e.subject_id);
                            let link = match e.subject_type.as_str() {
                                "identity" => Some(format!("/identities/{}", e.subject_id)),
                                "service" => Some(format!("/services/{}", e.subject_id)),
                                "role" => Some(format!("/roles/{}", e.subject_id)),
                                "change_request" => Some(format!("/approvals/{}", e.subject_id)),
                                "template" => Some(format!("/templates/{}", e.subject_id)),
                                "source" => Some(format!("/sources/{}", e.subject_id)),
                                _ => None,
                            };
                            view! {
                                <tr>
                                    <td class="num">{e.seq}</td>
                                    <td>{e.at.short()}</td>
                                    <td>{e.actor_name.clone()}<span class="muted small">{format!(" ({})", e.actor_kind)}</span></td>
                                    <td><code>{e.action.clone()}</code></td>
                                    <td>{match link {
                                        Some(href) => view! { <A href=href>{subject}</A> }.into_any(),
                                        None => view! { <span>{subject}</span> }.into_any(),
                                    }}</td>
                                    <td>
                                        <details>
                                            <summary>"detail"</summary>
                                            <pre class="event-json">{detail}</pre>
                                            <p class="muted small"><code>{format!("hash {}", e.hash)}</code><br/><code>{format!("prev {}", e.prev_hash)}</code></p>
                                        </details>
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <section class="card">
                                <p class="muted small">{format!("Recorded head: sequence {} · {}", page.head_seq, page.head_hash)}</p>
                                <Table id="audit-table" headers=&["Seq", "Time", "Actor", "Action", "Subject", "Detail"]>{rows}</Table>
                                {next.map(|href| view! { <p><A href=href>"Older events »"</A></p> })}
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
