//! Pipeline tokens (admins only).

use super::operators::OneTimeSecret;
use crate::domain::Timestamp;
use crate::domain::token::{IssuedToken, PipelineToken, TokenScope};
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{Badge, ChoiceOptions, EmptyState, ErrorNotice, FieldError, FormError, Loading, PageHeader, Table, submission_error, successes};
use crate::ui::format::when;
use crate::ui::identities::load_choices;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// The tokens and the time they were listed, so states read the same on server and browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<PipelineToken>,
    pub as_of: Timestamp,
}

#[server(prefix = "/rpc", endpoint = "tokens/list")]
pub async fn list_tokens() -> Result<TokenList, AppError> {
    crate::ui::session::run(
        |store, actor| async move { Ok(TokenList { tokens: crate::service::tokens::list(&store, &actor).await?, as_of: Timestamp::now() }) },
    )
    .await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/rpc", endpoint = "tokens/create")]
pub async fn create_token(
    _csrf: String,
    name: String,
    owner_id: String,
    expires_in_days: String,
    scope_read: Option<String>,
    scope_provision: Option<String>,
    scope_decommission: Option<String>,
    scope_report_usage: Option<String>,
    scope_audit: Option<String>,
    scope_import: Option<String>,
    limits: Option<String>,
) -> Result<IssuedToken, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let scopes = [
            (TokenScope::Read, scope_read),
            (TokenScope::Provision, scope_provision),
            (TokenScope::Decommission, scope_decommission),
            (TokenScope::ReportUsage, scope_report_usage),
            (TokenScope::Audit, scope_audit),
            (TokenScope::Import, scope_import),
        ]
        .into_iter()
        .filter(|(_, on)| on.is_some())
        .map(|(s, _)| s.as_str().to_owned())
        .collect();
        let input = crate::domain::token::TokenInput { name, scopes, owner_id, expires_in_days, limits: limits.unwrap_or_default() };
        crate::service::tokens::create(&store, &actor, &input).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "tokens/revoke")]
pub async fn revoke_token(_csrf: String, id: String) -> Result<PipelineToken, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::tokens::revoke(&store, &actor, &id).await }).await
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let (c, r) = (successes(create), successes(revoke));
    let tokens = Resource::new(move || (c.get(), r.get()), |_| list_tokens());
    let owners = Resource::new(|| (), |_| load_choices());
    let error = submission_error(create);
    let revoke_error = submission_error(revoke);
    let scope_boxes = TokenScope::ALL
        .iter()
        .map(|s| {
            let name = format!("scope_{}", s.as_str().replace('-', "_"));
            let id = format!("token-{name}");
            let label_for = id.clone();
            view! {
                <label class="check" for=label_for><input type="checkbox" id=id name=name/>{s.as_str()}</label>
            }
        })
        .collect_view();
    view! {
        <Title text="Pipeline tokens"/>
        <PageHeader title="Pipeline tokens" subtitle="Credentials for CI/CD pipelines calling /api/v1. Secrets are shown once and stored only as hashes."/>
        {move || create.value().get().and_then(Result::ok).map(|issued| view! {
            <OneTimeSecret title=format!("Secret of token {}", issued.token.name) secret=issued.secret
                note="Shown once and never again: store it in your pipeline's secret store now. Use it as Authorization: Bearer <secret>."/>
        })}
        <FormError error=revoke_error fields=&[]/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) => view! { <TokenTable list revoke/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Create token"</h2>
            <ActionForm action=create attr:class="form-grid" attr:id="token-form">
                <CsrfField/>
                <div class="field">
                    <label for="token-name">"Name"</label>
                    <input id="token-name" type="text" name="name" required maxlength="120" placeholder="payments deploy pipeline"/>
                    <FieldError error field="name"/>
                </div>
                <div class="field">
                    <label for="token-owner">"Owner"</label>
                    <select id="token-owner" name="owner_id" required>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let owners = owners.await.map(|c| c.owners).unwrap_or_default();
                                view! { <ChoiceOptions choices=owners selected={None::<String>} placeholder="Choose the accountable owner" required=true/> }
                            })}
                        </Suspense>
                    </select>
                    <FieldError error field="owner_id"/>
                </div>
                <fieldset class="field">
                    <legend>"Scopes"</legend>
                    <div class="checks">{scope_boxes}</div>
                    <FieldError error field="scopes"/>
                </fieldset>
                <div class="field">
                    <label for="token-days">"Expires in (days)"</label>
                    <input id="token-days" type="number" name="expires_in_days" value="90" min="1" max="366" required/>
                    <FieldError error field="expires_in_days"/>
                </div>
                <div class="field field-wide">
                    <label for="token-limits">"Limit changes to scopes (optional)"</label>
                    <input id="token-limits" type="text" name="limits" placeholder="prod/payments, staging/payments" autocomplete="off" spellcheck="false"/>
                    <p class="help">"The token may then change only what lies in these scopes (grants, revocations, provisioning, decommissioning, roles); anything else is refused. Empty: the whole ledger."</p>
                    <FieldError error field="limits"/>
                </div>
                <div class="form-actions">
                    <FormError error fields=&["name", "owner_id", "scopes", "expires_in_days", "limits"]/>
                    <button type="submit" class="button primary" disabled=create.pending()>"Create token"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn TokenTable(list: TokenList, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if list.tokens.is_empty() {
        return view! { <EmptyState text="No pipeline tokens yet. Create one below for each pipeline, with the fewest scopes it needs."/> }.into_any();
    }
    let now = list.as_of;
    let rows = list
        .tokens
        .into_iter()
        .map(|t| {
            let (tone, state) = if t.revoked_at.is_some() {
                ("retired", "Revoked")
            } else if t.expires_at <= now {
                ("danger", "Expired")
            } else {
                ("active", "Active")
            };
            let usable = t.is_usable(now);
            let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            let limits = if t.limits.is_empty() { "whole ledger".to_owned() } else { crate::domain::token::limits_to_text(&t.limits).replace(',', ", ") };
            view! {
                <tr>
                    <td class="strong">{t.name.clone()}</td>
                    <td><code>{format!("{}…", t.prefix)}</code></td>
                    <td>{scopes}</td>
                    <td>{limits}</td>
                    <td>{t.owner_name.clone()}</td>
                    <td class="nowrap">{t.expires_at.date()}</td>
                    <td class="nowrap">{when(&t.last_used_at)}</td>
                    <td><Badge tone=tone text=state/></td>
                    <td>
                        {usable.then(|| view! {
                            <ActionForm action=revoke attr:class="inline-form">
                                <CsrfField/>
                                <input type="hidden" name="id" value=t.id.clone()/>
                                <button type="submit" class="button danger-outline">"Revoke"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table id="tokens-table" headers=&["Name", "Token", "Scopes", "Changes limited to", "Owner", "Expires", "Last used", "State", ""]>{rows}</Table>
    }
    .into_any()
}
