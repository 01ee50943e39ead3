//! Escalation paths: who can act as whom, or gain whose permissions, through permissions that
//! hand out other permissions — creating a pod that runs as another service account, binding
//! a role, passing an AWS role to a Lambda function, acting as a GCP service account.
//!
//! The graph's nodes are identities, privileged roles, and each source's *control* (full
//! control of a cluster, an AWS account or a GCP project). An edge says "can act as, or gain"
//! and carries its reason: the grant, role version and source rule behind it. Which rules make
//! edges lives in one module per source (`kubernetes`, `aws`, `gcp`); the graph and its queries
//! in `graph`. The types here are what the console and the API show.

#[cfg(feature = "ssr")]
mod aws;
#[cfg(feature = "ssr")]
mod gcp;
#[cfg(feature = "ssr")]
pub mod graph;
#[cfg(feature = "ssr")]
mod kubernetes;
#[cfg(feature = "ssr")]
mod matching;
#[cfg(all(test, feature = "ssr"))]
mod tests;

use serde::{Deserialize, Serialize};

vocabulary!(
    /// Why one node leads to another. Each rule is a documented, tested unit (see the modules).
    EdgeRule, "Escalation rule" {
        Holds = "holds", "holds the role";
        Member = "member", "is one of them";
        K8sWorkloads = "k8s_workloads", "may create or change pods or workloads, which run as any service account of the namespace";
        K8sExec = "k8s_exec", "may exec into, attach to or add containers to pods, which run as the namespace's service accounts";
        K8sSecrets = "k8s_secrets", "may read secrets, where service account tokens are kept";
        K8sToken = "k8s_token", "may request tokens for service accounts";
        K8sImpersonate = "k8s_impersonate", "may impersonate users, groups or service accounts";
        K8sBind = "k8s_bind", "may bind roles (bind, with create on role bindings)";
        K8sEscalate = "k8s_escalate", "may write roles with permissions it does not hold (escalate)";
        K8sClusterControl = "k8s_cluster_control", "may run admission webhooks, proxy to nodes or approve certificates";
        AwsPolicyWrite = "aws_policy_write", "may change the policies attached to itself";
        AwsGroupJoin = "aws_group_join", "may add itself to groups";
        AwsTrustWrite = "aws_trust_write", "may rewrite a role's trust policy";
        AwsUserCredentials = "aws_user_credentials", "may create access keys or console passwords for users";
        AwsPassRole = "aws_pass_role", "may pass a role to compute it creates";
        AwsFunctionCode = "aws_function_code", "may replace the code of Lambda functions";
        AwsAssumeRole = "aws_assume_role", "may assume the role, and its trust policy admits it";
        GcpActAs = "gcp_act_as", "may act as or mint tokens for service accounts";
        GcpSetPolicy = "gcp_set_policy", "may set the project's IAM policy";
    }
);

impl EdgeRule {
    /// Whether following the edge is an escalation step (a hop); holding a role and belonging
    /// to a group of accounts are not.
    pub fn is_hop(self) -> bool {
        !matches!(self, EdgeRule::Holds | EdgeRule::Member)
    }
}

vocabulary!(
    /// What a node of the graph is.
    NodeKind, "Node kind" {
        Identity = "identity", "Identity";
        Role = "role", "Privileged role";
        Control = "control", "Full control";
        Group = "group", "Accounts";
    }
);

/// One node as a path shows it.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRef {
    pub kind: NodeKind,
    /// The identity's or role's id; the source's id for full control; a key for a group.
    pub id: String,
    /// How the console names it (`payments.api`, `cluster-admin`, `full control of cluster prod`).
    pub label: String,
}

/// The grant and rule behind an edge.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub assignment_id: String,
    pub role_id: String,
    pub role_slug: String,
    pub version: i64,
    /// The source rules that allow it, as a role page reads them (`allow create on pods`).
    pub rules: Vec<String>,
}

/// One step of a path.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub from: NodeRef,
    pub to: NodeRef,
    pub rule: EdgeRule,
    /// The grants behind it (a combined rule, such as passing a role to a function it creates,
    /// may need two); empty for membership.
    pub reasons: Vec<Reason>,
}

/// The shortest way from an identity to a privileged target.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationPath {
    pub from: NodeRef,
    pub target: NodeRef,
    /// Escalation steps on the way (holding a role or belonging to a group is not one).
    pub hops: u32,
    pub steps: Vec<Hop>,
}

/// One identity that can reach a target, and in how many hops.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reacher {
    pub identity: NodeRef,
    pub hops: u32,
}

/// How many paths a change's delta spells out on each side; the counts cover all.
pub const NAMED_PATHS: usize = 20;

/// The escalation paths a change would open and close (part of its blast radius).
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationDelta {
    /// Up to `NAMED_PATHS`, the changed identities' own first.
    pub opened: Vec<EscalationPath>,
    pub closed: Vec<EscalationPath>,
    /// (identity, target) pairs in all.
    pub opened_count: i64,
    pub closed_count: i64,
}

impl EscalationDelta {
    pub fn is_empty(&self) -> bool {
        self.opened_count == 0 && self.closed_count == 0
    }
}

/// Filters of the ledger-wide list of escalation paths (the *Escalation paths* page, and
/// `GET /api/v1/escalation-paths`). Every filter is optional; together they narrow.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    /// The name of the source the identity was imported from (`prod`).
    pub source: Option<String>,
    /// Where the identity lives: a Kubernetes namespace, an AWS account id or a GCP project.
    pub within: Option<String>,
    /// The target: a role's or source's id, or part of its name (`cluster-admin`).
    pub target: Option<String>,
    /// At most this many hops.
    pub max_hops: Option<u32>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl PathQuery {
    pub fn is_filtered(&self) -> bool {
        [&self.source, &self.within, &self.target].iter().any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty())) || self.max_hops.is_some()
    }
}

/// One escalation path of the ledger-wide list: who, from where, reaches what, in how many hops.
/// The path itself is drawn on the identity's page.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRow {
    pub identity_id: String,
    pub identity_name: String,
    pub source_name: Option<String>,
    /// The namespace, account or project the identity lives in, when its source says.
    pub within: Option<String>,
    pub target_id: String,
    pub target_label: String,
    pub hops: u32,
}

/// The namespace (Kubernetes `ServiceAccount/{namespace}/{name}`), account (an AWS ARN) or
/// project (a GCP `serviceAccount:{name}@{project}.iam.gserviceaccount.com`) of an imported
/// identity, from its reference in the source.
pub fn within_of(source_ref: &str) -> Option<String> {
    if let Some(rest) = source_ref.strip_prefix("ServiceAccount/") {
        return rest.split_once('/').map(|(ns, _)| ns.to_owned());
    }
    if let Some(rest) = source_ref.strip_prefix("arn:") {
        // arn:partition:service:region:account:resource
        return rest.split(':').nth(3).filter(|a| !a.is_empty()).map(str::to_owned);
    }
    let email = source_ref.strip_prefix("serviceAccount:").unwrap_or(source_ref);
    let (_, domain) = email.split_once('@')?;
    domain.strip_suffix(".iam.gserviceaccount.com").map(str::to_owned)
}

#[cfg(test)]
mod within_tests {
    use super::within_of;

    #[test]
    fn namespace_account_or_project_of_a_source_reference() {
        assert_eq!(within_of("ServiceAccount/kube-system/default").as_deref(), Some("kube-system"));
        assert_eq!(within_of("arn:aws:iam::111111111111:role/deploy").as_deref(), Some("111111111111"));
        assert_eq!(within_of("serviceAccount:ci@acme-prod.iam.gserviceaccount.com").as_deref(), Some("acme-prod"));
        assert_eq!(within_of("User/alice"), None);
        assert_eq!(within_of("serviceAccount:x@developer.gserviceaccount.com"), None);
    }
}
