//! My account: who I am, my password, my sessions.

use crate::domain::operator::SessionSummary;
use crate::error::AppError;
use crate::ui::auth::hard_navigate;
use crate::ui::components::{Badge, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error, successes};
use crate::ui::format::{browser_summary, or_dash};
use crate::ui::{CsrfField, use_session};
use leptos::prelude::*;
use leptos_meta::Title;

#[server(prefix = "/rpc", endpoint = "account/sessions")]
pub async fn my_sessions() -> Result<Vec<SessionSummary>, AppError> {
    crate::ui::session::run_session(|store, session| async move { crate::service::auth::my_sessions(&store, &session).await }).await
}

#[server(prefix = "/rpc", endpoint = "account/password")]
pub async fn change_password(_csrf: String, current_password: String, new_password: String, confirm: String) -> Result<(), AppError> {
    let policy = crate::ui::session::state()?.config.access;
    crate::ui::session::run_session(|store, session| async move {
        crate::service::operators::change_own_password(&store, &policy, &session, &current_password, &new_password, &confirm).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "auth/sign-out-everywhere")]
pub async fn sign_out_everywhere(_csrf: String) -> Result<u64, AppError> {
    crate::ui::session::run_session(|store, session| async move {
        let ended = crate::service::auth::sign_out_everywhere(&store, &session).await?;
        crate::ui::session::clear_session_cookie();
        Ok(ended)
    })
    .await
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let password = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let password_changes = successes(password);
    let sessions = Resource::new(move || password_changes.get(), |_| my_sessions());
    let error = submission_error(password);
    Effect::new(move |_| {
        if let Some(Ok(_)) = everywhere.value().get() {
            hard_navigate("/sign-in");
        }
    });
    view! {
        <Title text="My account"/>
        <PageHeader title="My account"/>
        <Suspense fallback=Loading>
            {move || use_session().map(|s| view! {
                <section class="card">
                    <h2>"Profile"</h2>
                    <dl class="attributes">
                        <dt>"Name"</dt><dd>{s.name.clone()}</dd>
                        <dt>"E-mail"</dt><dd>{s.email.clone()}</dd>
                        <dt>"Console roles"</dt>
                        <dd>{if s.roles.is_empty() { "none".to_owned() } else { s.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ") }}</dd>
                    </dl>
                </section>
            })}
        </Suspense>
        <section class="card">
            <h2>"Change password"</h2>
            {move || matches!(password.value().get(), Some(Ok(()))).then(|| view! {
                <p class="notice notice-ok" role="status">"Password changed. Your other sessions were signed out."</p>
            })}
            <ActionForm action=password attr:class="form-grid" attr:id="password-form">
                <CsrfField/>
                <div class="field field-wide">
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" name="current_password" required autocomplete="current-password"/>
                    <FieldError error field="current_password"/>
                </div>
                <div class="field">
                    <label for="new-password">"New password (at least 12 characters)"</label>
                    <input id="new-password" type="password" name="new_password" required minlength="12" autocomplete="new-password"/>
                    <FieldError error field="new_password"/>
                </div>
                <div class="field">
                    <label for="confirm-password">"New password again"</label>
                    <input id="confirm-password" type="password" name="confirm" required autocomplete="new-password"/>
                    <FieldError error field="confirm"/>
                </div>
                <div class="form-actions">
                    <FormError error fields=&["current_password", "new_password", "confirm"]/>
                    <button type="submit" class="button primary" disabled=password.pending()>"Change password"</button>
                </div>
            </ActionForm>
        </section>
        <section class="card">
            <div class="card-header">
                <h2>"My sessions"</h2>
                <ActionForm action=everywhere attr:id="sign-out-everywhere-form">
                    <CsrfField/>
                    <button type="submit" class="button danger-outline">"Sign out everywhere"</button>
                </ActionForm>
            </div>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => {
                            let rows = list.into_iter().map(|s| view! {
                                <tr>
                                    <td class="nowrap">{s.created_at.short()}</td>
                                    <td class="nowrap">{s.last_seen_at.short()}</td>
                                    <td class="nowrap">{s.expires_at.short()}</td>
                                    <td>{or_dash(s.client_addr.as_deref().unwrap_or_default())}</td>
                                    <td title=s.user_agent.clone().unwrap_or_default()>{browser_summary(s.user_agent.as_deref().unwrap_or_default())}</td>
                                    <td>{s.current.then(|| view! { <Badge tone="active" text="This browser"/> })}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <Table id="sessions-table" headers=&["Signed in", "Last active", "Ends", "Address", "Browser", ""]>{rows}</Table>
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
