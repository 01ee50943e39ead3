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
