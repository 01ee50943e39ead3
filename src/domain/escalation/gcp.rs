//! GCP edge rules. Only the project's IAM policy is imported, so a grant applies to every
//! service account of the project; policies set on one service account are not read (a
//! binding there is not seen, and a project-level one is never narrowed to one account).
//!
//! - `iam.serviceAccounts.actAs`, `getAccessToken`, `getOpenIdToken`, `signJwt`, `signBlob`,
//!   `implicitDelegation`, or the predefined roles that carry them
//!   (`roles/iam.serviceAccountTokenCreator`, `roles/iam.serviceAccountUser`,
//!   `roles/iam.workloadIdentityUser`, `roles/iam.serviceAccountAdmin`, which may set those
//!   accounts' policies, and `roles/editor`) → every service account of the project.
//! - `resourcemanager.projects.setIamPolicy` or the predefined roles that carry it
//!   (`roles/resourcemanager.projectIamAdmin`, `roles/iam.securityAdmin`) → full control of the
//!   project (`roles/owner` is full control by holding it).

use super::EdgeRule;
use super::graph::Builder;
use super::matching::wildcard;
use crate::domain::source::{Effect, SourceKind};
use std::collections::HashMap;

const ACT_AS: &[&str] = &[
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.getOpenIdToken",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccounts.setIamPolicy",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountAdmin",
    "roles/editor",
];
const SET_POLICY: &[&str] = &["resourcemanager.projects.setIamPolicy", "roles/resourcemanager.projectIamAdmin", "roles/iam.securityAdmin"];

pub(super) fn edges(b: &mut Builder) {
    let ledger = b.ledger;
    let mut accounts: HashMap<&str, Vec<u32>> = HashMap::new();
    for (p, principal) in b.indexed() {
        if let (Some(source), Some(key)) = (&principal.source, &principal.source_ref)
            && source.kind == SourceKind::Gcp
            && key.starts_with("serviceAccount:")
        {
            accounts.entry(source.id.as_str()).or_default().push(b.identity(p));
        }
    }
    for p in b.sources() {
        for h in b.held[p].clone() {
            let version = &ledger.versions[h.version];
            let Some(source) = version.source.as_ref().filter(|s| s.kind == SourceKind::Gcp) else { continue };
            let from = b.identity(p);
            for rule in version.rules.iter().filter(|r| r.effect == Effect::Allow) {
                let allows = |wanted: &[&str]| rule.actions.iter().any(|a| wanted.iter().any(|w| wildcard(a, w)));
                if allows(ACT_AS) {
                    let reason = b.reason(h, &[rule]);
                    let members = accounts.get(source.id.as_str()).cloned().unwrap_or_default();
                    let group = b.group(&source.id, || format!("every service account of GCP project {}", source.name), || members);
                    b.edge(from, group, EdgeRule::GcpActAs, vec![reason]);
                }
                if allows(SET_POLICY) {
                    let reason = b.reason(h, &[rule]);
                    let control = b.control(source);
                    b.edge(from, control, EdgeRule::GcpSetPolicy, vec![reason]);
                }
            }
        }
    }
}
