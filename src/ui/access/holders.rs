//! All holders of a role, a page at a time, by pinned version, with the request to move those
//! still on older versions.

use super::{MoveHolders, load_holders};
use crate::domain::actor::Capability;
use crate::ui::CsrfField;
use crate::ui::components::{ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error};
use crate::ui::format::{count, query_string};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn HoldersPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = Memo::new(move |_| {
        let role = params.with(|p| p.get("id").unwrap_or_default());
        let (version, after) = query.with(|q| (q.get("version").and_then(|v| v.parse::<i64>().ok()), q.get("after")));
        (role, version, after)
    });
    let page = Resource::new(move || key.get(), |(role, version, after)| load_holders(role, version, after));
    let action = ServerAction::<MoveHolders>::new();
    let error = submission_error(action);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (role, version, after) = key.get_untracked();
                match page.await {
                    Ok(page) => {
                        let current = page.counts.iter().map(|c| c.version).max().unwrap_or(0);
                        let href = |v: Option<i64>, after: Option<&str>| {
                            format!("/roles/{role}/holders{}", query_string(&[("version", v.map(|v| v.to_string()).as_deref()), ("after", after)]))
                        };
                        let filters = page.counts.clone().into_iter().map(|c| {
                            let selected = version == Some(c.version);
                            view! {
                                <A href=href(Some(c.version), None) attr:class=if selected { "tab tab-current" } else { "tab" }>
                                    {format!("v{} ({})", c.version, count(c.holders))}
                                </A>
                            }
                        }).collect_view();
                        let moves = page.counts.clone().into_iter().filter(|c| c.version < current).map(|c| {
                            let role = role.clone();
                            view! {
                                <ActionForm action attr:class="inline-form move-form">
                                    <CsrfField/>
                                    <input type="hidden" name="role_id" value=role/>
                                    <input type="hidden" name="from_version" value=c.version.to_string()/>
                                    <input type="hidden" name="reason" value=format!("Move the {} holders still on v{} to v{current}", c.holders, c.version)/>
                                    <button type="submit" class="button">{format!("Propose moving the {} on v{} to v{current}", count(c.holders), c.version)}</button>
                                </ActionForm>
                            }
                        }).collect_view();
                        let rows = page.holders.clone().into_iter().map(|h| view! {
                            <tr>
                                <td><A href=format!("/identities/{}", h.identity_id) attr:class="strong">{h.identity_name.clone()}</A></td>
                                <td class="nowrap">{format!("v{}", h.version)}</td>
                                <td><code>{h.scope.clone()}</code></td>
                                <td class="nowrap">{h.granted_at.chars().take(10).collect::<String>()}</td>
                                <td class="nowrap">{h.expires_at.clone().map(|e| e.chars().take(10).collect::<String>()).unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view();
                        let next = page.next_cursor.as_deref().map(|c| href(version, Some(c)));
                        let role_href = format!("/roles/{role}");
                        view! {
                            <Title text="Holders"/>
                            <PageHeader title="Holders" subtitle=format!("{} active holders", count(page.total))>
                                <A href=role_href attr:class="button">"Back to the role"</A>
                            </PageHeader>
                            <nav class="tabs" aria-label="Pinned version">
                                <A href=href(None, None) attr:class=if version.is_none() { "tab tab-current" } else { "tab" }>"All versions"</A>
                                {filters}
                            </nav>
                            {crate::ui::can(Capability::Propose).then(|| moves)}
                            <FieldError error field="reason"/>
                            <FormError error fields=&[]/>
                            <Table id="holders-table" headers=&["Identity", "Pinned", "Scope", "Granted", "Expires"]>{rows}</Table>
                            <nav class="pager">
                                <span class="pager-count">{format!("{} shown", page.holders.len())}</span>
                                <span class="pager-links">
                                    {after.is_some().then(|| view! { <A href=href(version, None) attr:class="button ghost">"« First page"</A> })}
                                    {next.map(|n| view! { <A href=n attr:class="button">"Next page »"</A> })}
                                </span>
                            </nav>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
