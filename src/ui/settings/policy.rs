//! The approval policy (admins): approvals per sensitivity, expiry, approver groups.

use crate::domain::change::ApprovalPolicy;
use crate::error::AppError;
use crate::ui::CsrfField;
use crate::ui::components::{ErrorNotice, FieldError, FormError, Loading, PageHeader, submission_error, successes};
use leptos::prelude::*;
use leptos_meta::Title;

/// The policy with group members as e-mail addresses, as the form shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyView {
    pub policy: ApprovalPolicy,
    /// One line per group: `name: a@example.com, b@example.com` (+ ` (privileged only)`).
    pub groups_text: String,
}

#[server(prefix = "/rpc", endpoint = "policy/get")]
pub async fn load_policy() -> Result<PolicyView, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let policy = crate::service::changes::policy(&store, &actor).await?;
        let groups_text = crate::service::changes::groups_as_text(&store, &actor, &policy.groups).await?;
        Ok(PolicyView { policy, groups_text })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "policy/set")]
pub async fn save_policy(
    _csrf: String,
    standard_approvals: String,
    privileged_approvals: String,
    expiry_hours: String,
    revocations_need_approval: Option<String>,
    block_escalation: Option<String>,
    groups: String,
) -> Result<PolicyView, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let number = |field: &str, text: &str| text.trim().parse::<i64>().map_err(|_| AppError::invalid(field, "Enter a whole number."));
        let groups_parsed: Vec<crate::domain::change::ApproverGroup> = crate::service::changes::groups_from_text(&store, &actor, &groups).await?;
        let policy = ApprovalPolicy {
            standard_approvals: number("standard_approvals", &standard_approvals)?,
            privileged_approvals: number("privileged_approvals", &privileged_approvals)?,
            expiry_hours: number("expiry_hours", &expiry_hours)?,
            revocations_need_approval: revocations_need_approval.is_some(),
            groups: groups_parsed,
            block_escalation: block_escalation.is_some(),
        };
        let policy = crate::service::changes::set_policy(&store, &actor, &policy).await?;
        Ok(PolicyView { groups_text: crate::service::changes::groups_as_text(&store, &actor, &policy.groups).await?, policy })
    })
    .await
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let save = ServerAction::<SavePolicy>::new();
    let saved = successes(save);
    let policy = Resource::new(move || saved.get(), |_| load_policy());
    let error = submission_error(save);
    view! {
        <Title text="Approval policy"/>
        <PageHeader title="Approval policy" subtitle="How many approvals each change needs, from whom, and for how long requests stay open."/>
        {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="notice notice-ok" role="status">"Policy saved."</p> })}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match policy.await {
                    Ok(view) => view! {
                        <ActionForm action=save attr:class="card form-grid" attr:id="policy-form">
                            <CsrfField/>
                            <div class="field">
                                <label for="standard">"Approvals for standard roles"</label>
                                <input id="standard" type="number" name="standard_approvals" min="1" max="5" value=view.policy.standard_approvals.to_string()/>
                                <FieldError error field="standard_approvals"/>
                            </div>
                            <div class="field">
                                <label for="privileged">"Approvals for privileged roles (always two different people at least)"</label>
                                <input id="privileged" type="number" name="privileged_approvals" min="2" max="5" value=view.policy.privileged_approvals.to_string()/>
                                <FieldError error field="privileged_approvals"/>
                            </div>
                            <div class="field">
                                <label for="expiry">"Pending requests expire after (hours)"</label>
                                <input id="expiry" type="number" name="expiry_hours" min="1" max="2160" value=view.policy.expiry_hours.to_string()/>
                                <FieldError error field="expiry_hours"/>
                            </div>
                            <div class="field">
                                <label class="check" for="revocations">
                                    <input type="checkbox" id="revocations" name="revocations_need_approval" checked=view.policy.revocations_need_approval/>
                                    "Revocations need approval too"
                                </label>
                                <p class="help">"Off (the default): revoking access takes effect at once, audited."</p>
                            </div>
                            <div class="field">
                                <label class="check" for="block-escalation">
                                    <input type="checkbox" id="block-escalation" name="block_escalation" checked=view.policy.block_escalation/>
                                    "Block changes that open escalation paths"
                                </label>
                                <p class="help">"Off (the default): a grant that lets someone reach a privileged role or full control of a source needs the privileged number of approvals. On: it cannot be approved."</p>
                            </div>
                            <div class="field field-wide">
                                <label for="groups">"Approver groups"</label>
                                <textarea id="groups" name="groups" rows="4" spellcheck="false"
                                    placeholder="security: alice@example.com, bob@example.com\npayments: carol@example.com (privileged only)">{view.groups_text}</textarea>
                                <p class="help">"One group per line. Every group listed must contribute an approval (AND); add (privileged only) to require a group for privileged roles only. Members must be operators with the approver role."</p>
                                <FieldError error field="groups"/>
                            </div>
                            <div class="form-actions">
                                <FormError error fields=&["standard_approvals", "privileged_approvals", "expiry_hours", "groups", "policy"]/>
                                <button type="submit" class="button primary" disabled=save.pending()>"Save policy"</button>
                            </div>
                            <FieldError error field="policy"/>
                        </ActionForm>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
