//! AWS edge rules: the published IAM privilege-escalation methods, evaluated over every policy
//! statement a principal holds (attached, inline, or through a group), with each statement's
//! resources narrowing the targets and an unconditional explicit Deny removing the edge.
//!
//! - Full control of the account: `iam:CreatePolicyVersion` or `iam:SetDefaultPolicyVersion`
//!   on a managed policy attached to the principal; `iam:Attach…Policy` / `iam:Put…Policy` on
//!   itself or one of its groups (it can attach `AdministratorAccess`).
//! - `iam:AddUserToGroup` → the privileged policies of the groups it may join.
//! - `iam:CreateAccessKey`, `iam:CreateLoginProfile`, `iam:UpdateLoginProfile` → those users.
//! - `iam:UpdateAssumeRolePolicy` → those roles (it can make their trust admit itself).
//! - `iam:PassRole` on a role together with a compute service that runs code as the role passed
//!   (`ec2:RunInstances`; `lambda:CreateFunction` with `InvokeFunction`, `AddPermission` or
//!   `CreateEventSourceMapping`; `glue:CreateDevEndpoint`; `cloudformation:CreateStack`;
//!   `datapipeline:CreatePipeline` with `PutPipelineDefinition`; `sagemaker:CreateNotebookInstance`,
//!   `CreateTrainingJob` or `CreateProcessingJob`; `codebuild:CreateProject` with `StartBuild`)
//!   → the roles it may pass whose trust policy admits that service.
//! - `lambda:UpdateFunctionCode` → the roles Lambda may assume (which function runs as which
//!   role is not imported, so every role whose trust admits `lambda.amazonaws.com`).
//! - `sts:AssumeRole` → roles whose trust policy admits the principal: by its ARN, by its
//!   account (`arn:aws:iam::<account>:root`) or `*`; a trust naming the principal's ARN admits
//!   it even without `sts:AssumeRole` in its own policies, as AWS does within one account.
//!
//! Not read (not in GetAccountAuthorizationDetails or not imported): service control policies,
//! permission boundaries' contents, resource policies other than trust, session policies.
//! Conditions are not evaluated: a conditional Allow still makes the edge, a conditional Deny
//! does not remove it (a review should see a path that may open).

use super::EdgeRule;
use super::graph::{Builder, Held, SourceOf};
use super::matching::{denied, statement_covers, wildcard};
use crate::domain::source::{Effect, SourceKind, SourceRule};
use serde_json::Value;
use std::collections::HashMap;

/// Compute services that run code as a role passed to them: the actions needed together,
/// and the service principal the role's trust must admit.
const COMPUTE: &[(&[&str], &str)] = &[
    (&["ec2:RunInstances"], "ec2.amazonaws.com"),
    (&["lambda:CreateFunction", "lambda:InvokeFunction"], "lambda.amazonaws.com"),
    (&["lambda:CreateFunction", "lambda:AddPermission"], "lambda.amazonaws.com"),
    (&["lambda:CreateFunction", "lambda:CreateEventSourceMapping"], "lambda.amazonaws.com"),
    (&["glue:CreateDevEndpoint"], "glue.amazonaws.com"),
    (&["cloudformation:CreateStack"], "cloudformation.amazonaws.com"),
    (&["datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"], "datapipeline.amazonaws.com"),
    (&["sagemaker:CreateNotebookInstance"], "sagemaker.amazonaws.com"),
    (&["sagemaker:CreateTrainingJob"], "sagemaker.amazonaws.com"),
    (&["sagemaker:CreateProcessingJob"], "sagemaker.amazonaws.com"),
    (&["codebuild:CreateProject", "codebuild:StartBuild"], "codebuild.amazonaws.com"),
];

/// Who a role's trust policy admits to `sts:AssumeRole`.
#[derive(Debug, Default)]
struct Trust {
    /// Principal ARNs, account roots (`arn:aws:iam::1:root`), account ids, or `*`.
    aws: Vec<String>,
    services: Vec<String>,
    /// Principals an unconditional Deny refuses.
    refused: Vec<String>,
}

impl Trust {
    fn parse(document: &str) -> Trust {
        let mut trust = Trust::default();
        let Ok(doc) = serde_json::from_str::<Value>(document) else { return trust };
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        for s in statements {
            let assumes = strings(s.get("Action")).iter().any(|a| wildcard(a, "sts:AssumeRole"));
            if !assumes {
                continue;
            }
            let (mut aws, mut services) = (Vec::new(), Vec::new());
            match s.get("Principal") {
                Some(Value::String(star)) if star == "*" => aws.push("*".to_owned()),
                Some(Value::Object(map)) => {
                    aws = strings(map.get("AWS"));
                    services = strings(map.get("Service"));
                }
                _ => {}
            }
            match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => {
                    trust.aws.extend(aws);
                    trust.services.extend(services);
                }
                Some("Deny") if s.get("Condition").is_none() => trust.refused.extend(aws.into_iter().chain(services)),
                _ => {}
            }
        }
        trust
    }

    /// Whether it admits principal `arn` of `account`: by name (`true` in the second place
    /// when named by its own ARN, which needs no permission of the principal's own).
    fn admits(&self, arn: &str, account: &str) -> Option<bool> {
        let root = format!("arn:aws:iam::{account}:root");
        if self.refused.iter().any(|r| r == arn || r == "*" || *r == root || r == account) {
            return None;
        }
        if self.aws.iter().any(|a| a == arn) {
            return Some(true);
        }
        self.aws.iter().any(|a| a == "*" || *a == root || a == account).then_some(false)
    }

    fn admits_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service) && !self.refused.iter().any(|r| r == service || r == "*")
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The account of an IAM ARN (`arn:aws:iam::123456789012:role/x`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// A principal's statements.
struct Statements<'a> {
    allows: Vec<(Held, &'a SourceRule)>,
    denies: Vec<&'a SourceRule>,
}

impl<'a> Statements<'a> {
    /// The statements allowing `action` on `resource`; none when an unconditional Deny refuses it.
    fn allowing(&self, action: &str, resource: &str) -> Vec<(Held, &'a SourceRule)> {
        if denied(&self.denies, action, resource) {
            return Vec::new();
        }
        self.allows.iter().filter(|(_, r)| statement_covers(r, action, resource)).copied().collect()
    }

    /// Whether any statement allows `action` on some resource (the resource not known, e.g.
    /// the function or instance it would create).
    fn allowing_anywhere(&self, action: &str) -> Vec<(Held, &'a SourceRule)> {
        if denied(&self.denies, action, "*") {
            return Vec::new();
        }
        self.allows
            .iter()
            .filter(|(_, r)| {
                let acts =
                    if r.not_actions.is_empty() { r.actions.iter().any(|a| wildcard(a, action)) } else { !r.not_actions.iter().any(|a| wildcard(a, action)) };
                acts
            })
            .copied()
            .collect()
    }
}

struct Account {
    roles: Vec<(usize, Trust)>,
    users: Vec<usize>,
    /// Group ARN → the target role versions its members hold through it.
    groups: HashMap<String, Vec<usize>>,
    /// Role indices (into `roles`) whose trust names a principal ARN.
    named_in_trust: HashMap<String, Vec<usize>>,
}

pub(super) fn edges(b: &mut Builder) {
    let (input, ledger) = (b.input, b.ledger);
    let mut accounts: HashMap<&str, Account> = HashMap::new();
    for (p, principal) in b.indexed() {
        let (Some(source), Some(arn)) = (&principal.source, &principal.source_ref) else { continue };
        if source.kind != SourceKind::Aws {
            continue;
        }
        let account = accounts.entry(source.id.as_str()).or_insert_with(|| Account {
            roles: Vec::new(),
            users: Vec::new(),
            groups: HashMap::new(),
            named_in_trust: HashMap::new(),
        });
        if arn.contains(":role/") {
            let trust = principal.trust_policy.as_deref().map(Trust::parse).unwrap_or_default();
            for a in &trust.aws {
                account.named_in_trust.entry(a.clone()).or_default().push(account.roles.len());
            }
            account.roles.push((p, trust));
        } else if arn.contains(":user/") {
            account.users.push(p);
        }
        for h in &b.held[p] {
            let via_group = input.grant(h.grant).source_ref.as_deref().and_then(|r| r.split_once("#group/")).and_then(|(_, rest)| rest.split_once('#'));
            if let Some((group, _)) = via_group {
                let targets = account.groups.entry(group.to_owned()).or_default();
                if super::graph::is_target(&ledger.versions[h.version]) && !targets.contains(&h.version) {
                    targets.push(h.version);
                }
            }
        }
    }
    for p in b.sources() {
        let principal = input.principal(p);
        let (Some(source), Some(arn)) = (&principal.source, &principal.source_ref) else { continue };
        if source.kind != SourceKind::Aws {
            continue;
        }
        let Some(account) = accounts.get(source.id.as_str()) else { continue };
        let held: Vec<Held> =
            b.held[p].iter().filter(|h| ledger.versions[h.version].source.as_ref().is_some_and(|s| s.kind == SourceKind::Aws)).copied().collect();
        let statements = Statements {
            allows: held.iter().flat_map(|h| ledger.versions[h.version].rules.iter().filter(|r| r.effect == Effect::Allow).map(move |r| (*h, r))).collect(),
            denies: held.iter().flat_map(|h| ledger.versions[h.version].rules.iter().filter(|r| r.effect == Effect::Deny)).collect(),
        };
        principal_edges(b, p, arn, source, account, &held, &statements);
    }
}

fn principal_edges(b: &mut Builder, p: usize, arn: &str, source: &SourceOf, account: &Account, held: &[Held], s: &Statements) {
    let (input, ledger) = (b.input, b.ledger);
    let from = b.identity(p);
    let own_account = account_of(arn).unwrap_or(&source.name).to_owned();
    let is_user = arn.contains(":user/");
    let reasons = |b: &mut Builder, allowing: &[(Held, &SourceRule)]| -> Vec<u32> {
        let mut rs: Vec<u32> = allowing.iter().map(|(h, r)| b.reason(*h, &[r])).collect();
        rs.dedup();
        rs
    };

    // Changing its own policies.
    let mut control: Vec<(Held, &SourceRule)> = Vec::new();
    let own = if is_user { ["iam:AttachUserPolicy", "iam:PutUserPolicy"] } else { ["iam:AttachRolePolicy", "iam:PutRolePolicy"] };
    for action in own {
        control.extend(s.allowing(action, arn));
    }
    let groups: Vec<&str> =
        held.iter().filter_map(|h| input.grant(h.grant).source_ref.as_deref()?.split_once("#group/")?.1.split_once('#').map(|(g, _)| g)).collect();
    for group in &groups {
        for action in ["iam:AttachGroupPolicy", "iam:PutGroupPolicy"] {
            control.extend(s.allowing(action, group));
        }
    }
    for h in held {
        if let Some(policy) = ledger.versions[h.version].source_ref.as_deref().filter(|r| r.contains(":policy/")) {
            for action in ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"] {
                control.extend(s.allowing(action, policy));
            }
        }
    }
    if !control.is_empty() {
        let rs = reasons(b, &control);
        let to = b.control(source);
        b.edge(from, to, EdgeRule::AwsPolicyWrite, rs);
    }

    // Joining groups whose policies are privileged.
    if is_user {
        for (group, targets) in &account.groups {
            let allowing = s.allowing("iam:AddUserToGroup", group);
            if allowing.is_empty() || groups.contains(&group.as_str()) {
                continue;
            }
            let rs = reasons(b, &allowing);
            for &v in targets {
                let to = b.role(v);
                b.edge(from, to, EdgeRule::AwsGroupJoin, rs.clone());
            }
        }
    }

    // Credentials for other users.
    if !s.allowing_anywhere("iam:CreateAccessKey").is_empty()
        || !s.allowing_anywhere("iam:CreateLoginProfile").is_empty()
        || !s.allowing_anywhere("iam:UpdateLoginProfile").is_empty()
    {
        for &u in account.users.iter().filter(|&&u| u != p) {
            let user_arn = input.principal(u).source_ref.as_deref().unwrap_or_default();
            let allowing: Vec<_> =
                ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"].iter().flat_map(|a| s.allowing(a, user_arn)).collect();
            if !allowing.is_empty() {
                let rs = reasons(b, &allowing);
                let to = b.identity(u);
                b.edge(from, to, EdgeRule::AwsUserCredentials, rs);
            }
        }
    }

    // Roles: assuming, rewriting trust, passing to compute, replacing function code.
    let assume = !s.allowing_anywhere("sts:AssumeRole").is_empty();
    let rewrite = !s.allowing_anywhere("iam:UpdateAssumeRolePolicy").is_empty();
    let pass = !s.allowing_anywhere("iam:PassRole").is_empty();
    let computes: Vec<(&str, Vec<(Held, &SourceRule)>)> = if pass {
        COMPUTE
            .iter()
            .filter_map(|(actions, service)| {
                let allowing: Vec<Vec<_>> = actions.iter().map(|a| s.allowing_anywhere(a)).collect();
                allowing.iter().all(|a| !a.is_empty()).then(|| (*service, allowing.into_iter().flatten().collect()))
            })
            .collect()
    } else {
        Vec::new()
    };
    let code = s.allowing_anywhere("lambda:UpdateFunctionCode");
    // Most principals may do none of these: only the roles whose trust names them are looked at.
    let every = assume || rewrite || !computes.is_empty() || !code.is_empty();
    let named: Vec<usize> = if every { (0..account.roles.len()).collect() } else { account.named_in_trust.get(arn).cloned().unwrap_or_default() };
    for (t, trust) in named.into_iter().map(|i| &account.roles[i]) {
        if *t == p {
            continue;
        }
        let role_arn = input.principal(*t).source_ref.as_deref().unwrap_or_default();
        let to = b.identity(*t);
        match trust.admits(arn, &own_account) {
            Some(true) => {
                let allowing = s.allowing("sts:AssumeRole", role_arn);
                let rs = reasons(b, &allowing);
                b.edge(from, to, EdgeRule::AwsAssumeRole, rs);
            }
            Some(false) if assume => {
                let allowing = s.allowing("sts:AssumeRole", role_arn);
                if !allowing.is_empty() {
                    let rs = reasons(b, &allowing);
                    b.edge(from, to, EdgeRule::AwsAssumeRole, rs);
                }
            }
            _ => {}
        }
        if rewrite {
            let allowing = s.allowing("iam:UpdateAssumeRolePolicy", role_arn);
            if !allowing.is_empty() {
                let rs = reasons(b, &allowing);
                b.edge(from, to, EdgeRule::AwsTrustWrite, rs);
            }
        }
        if !computes.is_empty() {
            let passing = s.allowing("iam:PassRole", role_arn);
            if !passing.is_empty() {
                let runs: Vec<(Held, &SourceRule)> =
                    computes.iter().filter(|(service, _)| trust.admits_service(service)).flat_map(|(_, a)| a.iter().copied()).collect();
                if !runs.is_empty() {
                    let rs = reasons(b, &[passing, runs].concat());
                    b.edge(from, to, EdgeRule::AwsPassRole, rs);
                }
            }
        }
        if !code.is_empty() && trust.admits_service("lambda.amazonaws.com") {
            let rs = reasons(b, &code);
            b.edge(from, to, EdgeRule::AwsFunctionCode, rs);
        }
    }
}
