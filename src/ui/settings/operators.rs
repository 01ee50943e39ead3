//! Operators (admins only): who may use the console, with which roles.

use crate::domain::actor::ConsoleRole;
use crate::domain::operator::{Operator, OperatorStatus};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{Badge, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error, successes};
use crate::ui::format::when;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// One checkbox per console role, in `ConsoleRole::ALL` order; checked boxes arrive as `Some("on")`.
#[cfg(feature = "ssr")]
fn roles_from(boxes: [Option<String>; 5]) -> Vec<String> {
    ConsoleRole::ALL.iter().zip(boxes).filter(|(_, on)| on.is_some()).map(|(r, _)| r.as_str().to_owned()).collect()
}

#[server(prefix = "/rpc", endpoint = "operators/list")]
pub async fn list_operators() -> Result<Vec<Operator>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::operators::list(&store, &actor).await }).await
}

/// A new operator and, when nhidb chose it, the password to hand over once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedOperator {
    pub operator: Operator,
    pub password: Option<String>,
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/rpc", endpoint = "operators/create")]
pub async fn create_operator(
    _csrf: String,
    name: String,
    email: String,
    password: Option<String>,
    role_viewer: Option<String>,
    role_requester: Option<String>,
    role_approver: Option<String>,
    role_auditor: Option<String>,
    role_admin: Option<String>,
) -> Result<CreatedOperator, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let roles = roles_from([role_viewer, role_requester, role_approver, role_auditor, role_admin]);
        let input = crate::domain::operator::OperatorInput { name, email, roles };
        let (operator, password) = crate::service::operators::create(&store, &actor, &input, password.as_deref()).await?;
        Ok(CreatedOperator { operator, password })
    })
    .await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/rpc", endpoint = "operators/update")]
pub async fn update_operator(
    _csrf: String,
    id: String,
    name: String,
    email: String,
    role_viewer: Option<String>,
    role_requester: Option<String>,
    role_approver: Option<String>,
    role_auditor: Option<String>,
    role_admin: Option<String>,
) -> Result<Operator, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let roles = roles_from([role_viewer, role_requester, role_approver, role_auditor, role_admin]);
        crate::service::operators::update(&store, &actor, &id, &crate::domain::operator::OperatorInput { name, email, roles }).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "operators/status")]
pub async fn set_operator_status(_csrf: String, id: String, status: String) -> Result<Operator, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::operators::set_status(&store, &actor, &id, &status).await }).await
}

/// The operator's name and their new one-time password.
#[server(prefix = "/rpc", endpoint = "operators/reset-password")]
pub async fn reset_operator_password(_csrf: String, id: String) -> Result<(String, String), AppError> {
    crate::ui::session::run(|store, actor| async move {
        let password = crate::service::operators::reset_password(&store, &actor, &id).await?;
        let name = crate::service::operators::list(&store, &actor).await?.into_iter().find(|o| o.id == id).map(|o| o.name).unwrap_or_default();
        Ok((name, password))
    })
    .await
}

#[component]
fn RoleBoxes(#[prop(optional)] checked: Vec<ConsoleRole>, #[prop(into)] prefix: String) -> impl IntoView {
    ConsoleRole::ALL
        .iter()
        .map(|role| {
            let id = format!("{prefix}-role-{}", role.as_str());
            let label_for = id.clone();
            view! {
                <label class="check" for=label_for>
                    <input type="checkbox" id=id name=format!("role_{}", role.as_str()) checked=checked.contains(role)/>
                    {role.label()}
                </label>
            }
        })
        .collect_view()
}

/// A secret shown once, with the warning that goes with it.
#[component]
pub fn OneTimeSecret(#[prop(into)] title: String, #[prop(into)] secret: String, #[prop(into)] note: String) -> impl IntoView {
    view! {
        <div class="secret-box" role="status">
            <strong>{title}</strong>
            <code class="secret" id="one-time-secret">{secret}</code>
            <p class="small">{note}</p>
        </div>
    }
}

#[component]
pub fn OperatorsPage() -> impl IntoView {
    let create = ServerAction::<CreateOperator>::new();
    let update = ServerAction::<UpdateOperator>::new();
    let status = ServerAction::<SetOperatorStatus>::new();
    let reset = ServerAction::<ResetOperatorPassword>::new();
    let (c, u, s, r) = (successes(create), successes(update), successes(status), successes(reset));
    let operators = Resource::new(move || (c.get(), u.get(), s.get(), r.get()), |_| list_operators());
    let create_error = submission_error(create);
    let row_error = Signal::derive(move || submission_error(update).get().or_else(|| submission_error(status).get()).or_else(|| submission_error(reset).get()));
    view! {
        <Title text="Operators"/>
        <PageHeader title="Operators" subtitle="People who use this console and their console roles."/>
        {move || create.value().get().and_then(Result::ok).and_then(|created| created.password.map(|p| view! {
            <OneTimeSecret title=format!("Password for {}", created.operator.email) secret=p
                note="Shown once. Hand it over securely; the operator should change it after signing in."/>
        }))}
        {move || reset.value().get().and_then(Result::ok).map(|(name, p)| view! {
            <OneTimeSecret title=format!("New password for {name}") secret=p
                note="Shown once. Their sessions were signed out."/>
        })}
        <FormError error=row_error fields=&[]/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match operators.await {
                    Ok(list) => view! { <OperatorTable operators=list update status reset/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Add operator"</h2>
            <ActionForm action=create attr:class="form-grid" attr:id="operator-form">
                <CsrfField/>
                <div class="field">
                    <label for="operator-name">"Name"</label>
                    <input id="operator-name" type="text" name="name" required maxlength="120"/>
                    <FieldError error=create_error field="name"/>
                </div>
                <div class="field">
                    <label for="operator-email">"E-mail"</label>
                    <input id="operator-email" type="email" name="email" required/>
                    <FieldError error=create_error field="email"/>
                </div>
                <fieldset class="field field-wide">
                    <legend>"Console roles"</legend>
                    <div class="checks"><RoleBoxes prefix="new"/></div>
                    <FieldError error=create_error field="roles"/>
                </fieldset>
                <div class="field field-wide">
                    <label for="operator-password">"Initial password"</label>
                    <input id="operator-password" type="password" name="password" autocomplete="new-password" minlength="12"/>
                    <p class="help">"Leave empty to have nhidb generate one, shown once."</p>
                    <FieldError error=create_error field="password"/>
                </div>
                <div class="form-actions">
                    <FormError error=create_error fields=&["name", "email", "roles", "password"]/>
                    <button type="submit" class="button primary" disabled=create.pending()>"Add operator"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn OperatorTable(
    operators: Vec<Operator>,
    update: ServerAction<UpdateOperator>,
    status: ServerAction<SetOperatorStatus>,
    reset: ServerAction<ResetOperatorPassword>,
) -> impl IntoView {
    let rows = operators
        .into_iter()
        .map(|o| {
            let active = o.status == OperatorStatus::Active;
            let roles = if o.roles.is_empty() { "—".to_owned() } else { o.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ") };
            let (next_status, verb) = if active { ("disabled", "Disable") } else { ("active", "Enable") };
            let (edit_id, status_id, reset_id) = (o.id.clone(), o.id.clone(), o.id.clone());
            let (name, email, roles_checked, prefix) = (o.name.clone(), o.email.clone(), o.roles.clone(), o.id.clone());
            view! {
                <tr>
                    <td class="strong nowrap">{o.name.clone()}</td>
                    <td>{o.email.clone()}</td>
                    <td>{roles}</td>
                    <td><Badge tone=if active { "active" } else { "retired" } text=o.status.label()/></td>
                    <td class="nowrap">{when(&o.last_sign_in_at)}</td>
                    <td class="row-actions">
                        <details class="action-panel">
                            <summary class="button">"Manage…"</summary>
                            <div class="stack panel-body">
                                <ActionForm action=update attr:class="stack">
                                    <CsrfField/>
                                    <input type="hidden" name="id" value=edit_id/>
                                    <label>"Name"<input type="text" name="name" value=name required/></label>
                                    <label>"E-mail"<input type="email" name="email" value=email required/></label>
                                    <div class="checks"><RoleBoxes checked=roles_checked prefix=prefix/></div>
                                    <button type="submit" class="button primary">"Save"</button>
                                </ActionForm>
                                <div class="panel-actions">
                                    <ActionForm action=status attr:class="inline-form">
                                        <CsrfField/>
                                        <input type="hidden" name="id" value=status_id/>
                                        <input type="hidden" name="status" value=next_status/>
                                        <button type="submit" class="button">{verb}</button>
                                    </ActionForm>
                                    <ActionForm action=reset attr:class="inline-form">
                                        <CsrfField/>
                                        <input type="hidden" name="id" value=reset_id/>
                                        <button type="submit" class="button">"Reset password"</button>
                                    </ActionForm>
                                </div>
                            </div>
                        </details>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="operators-table" headers=&["Name", "E-mail", "Console roles", "Status", "Last sign-in", ""]>{rows}</Table>
    }
}
