//! AWS IAM as `aws iam get-account-authorization-details` prints it: one merged document (CLI),
//! or the raw pages (`IsTruncated` / `Marker`), with policy documents either decoded or as
//! RFC 3986 percent-encoded JSON strings (the raw API's form).
//!
//! Reference: the IAM API reference for GetAccountAuthorizationDetails and the IAM JSON policy
//! grammar; `tests/fixtures/import/FORMATS.md` lists the pitfalls this follows. Principals and
//! policies are keyed by ARN: ids change when an object is recreated, ARNs do not.

use super::observation::{Effect, Input, Missing, Observation, ObservedGrant, ObservedPrincipal, ObservedRole, ObservedVersion, PrincipalKind, Rule};
use crate::domain::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default)]
    user_detail_list: Option<Vec<User>>,
    #[serde(default)]
    group_detail_list: Option<Vec<Group>>,
    #[serde(default)]
    role_detail_list: Option<Vec<Role>>,
    #[serde(default)]
    policies: Option<Vec<ManagedPolicy>>,
    #[serde(default)]
    is_truncated: Option<bool>,
    #[serde(default)]
    marker: Option<String>,
}

/// A field the API documents as a list, which examples sometimes print as one object.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct User {
    user_name: String,
    arn: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    user_policy_list: Option<OneOrMany<InlinePolicy>>,
    #[serde(default)]
    group_list: Option<Vec<String>>,
    #[serde(default)]
    attached_managed_policies: Option<OneOrMany<Attached>>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(default)]
    permissions_boundary: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    group_name: String,
    arn: String,
    #[serde(default)]
    group_policy_list: Option<OneOrMany<InlinePolicy>>,
    #[serde(default)]
    attached_managed_policies: Option<OneOrMany<Attached>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Role {
    role_name: String,
    arn: String,
    #[serde(default)]
    role_id: Option<String>,
    #[serde(default)]
    create_date: Option<String>,
    #[serde(default)]
    assume_role_policy_document: Option<Value>,
    #[serde(default)]
    instance_profile_list: Option<Vec<Value>>,
    #[serde(default)]
    role_policy_list: Option<OneOrMany<InlinePolicy>>,
    #[serde(default)]
    attached_managed_policies: Option<OneOrMany<Attached>>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(default)]
    role_last_used: Option<RoleLastUsed>,
    #[serde(default)]
    permissions_boundary: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleLastUsed {
    #[serde(default)]
    last_used_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlinePolicy {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicy {
    policy_name: String,
    arn: String,
    #[serde(default)]
    default_version_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    policy_version_list: Option<Vec<PolicyVersion>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    #[serde(default)]
    document: Option<Value>,
    version_id: String,
    #[serde(default)]
    is_default_version: Option<bool>,
    #[serde(default)]
    create_date: Option<String>,
}

pub struct Options<'a> {
    /// The account id the import is for; every ARN must belong to it. None: taken from the
    /// ARNs, which must then agree.
    pub account: Option<&'a str>,
}

/// Decodes `%XX` escapes (RFC 3986). `+` stays a plus: form decoding would corrupt documents.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return Err(format!("a broken escape at character {}", i + 1)),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the decoded text is not UTF-8".to_owned())
}

/// A policy document as an object: decoded JSON, or a percent-encoded (or plain) JSON string.
fn document(value: &Value, at: &str) -> Result<Value, String> {
    match value {
        Value::Object(_) => Ok(value.clone()),
        Value::String(text) => {
            let decoded = if text.trim_start().starts_with('{') {
                text.clone()
            } else {
                percent_decode(text).map_err(|e| format!("{at}: cannot be URL-decoded: {e}"))?
            };
            let parsed: Value = serde_json::from_str(&decoded).map_err(|e| format!("{at}: is not a JSON policy document after URL-decoding: {e}"))?;
            if parsed.is_object() { Ok(parsed) } else { Err(format!("{at}: a policy document must be a JSON object")) }
        }
        _ => Err(format!("{at}: a policy document must be a JSON object or an encoded string")),
    }
}

fn strings(value: Option<&Value>, at: &str, field: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("{at}: `{field}` must hold strings"))).collect(),
        Some(_) => Err(format!("{at}: `{field}` must be a string or a list of strings")),
    }
}

/// The statements of a policy document, faithfully: Effect, Action / NotAction, Resource /
/// NotResource and Condition (canonical JSON, shown verbatim).
pub fn statements(doc: &Value, at: &str) -> Result<Vec<Rule>, String> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(item @ Value::Object(_)) => vec![item],
        None => vec![],
        Some(_) => return Err(format!("{at}: `Statement` must be an object or a list")),
    };
    let mut rules = Vec::with_capacity(statements.len());
    for (i, s) in statements.into_iter().enumerate() {
        let at = format!("{at}.Statement[{i}]");
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("{at}: `Effect` must be Allow or Deny, not {other:?}")),
        };
        let condition = match s.get("Condition") {
            None | Some(Value::Null) => None,
            Some(c) => Some(serde_json::to_string(c).map_err(|e| format!("{at}: {e}"))?),
        };
        let rule = Rule {
            effect,
            actions: strings(s.get("Action"), &at, "Action")?,
            not_actions: strings(s.get("NotAction"), &at, "NotAction")?,
            resources: strings(s.get("Resource"), &at, "Resource")?,
            not_resources: strings(s.get("NotResource"), &at, "NotResource")?,
            condition,
            ..Rule::allow()
        };
        if rule.actions.is_empty() && rule.not_actions.is_empty() {
            return Err(format!("{at}: a statement needs `Action` or `NotAction`"));
        }
        rules.push(rule);
    }
    Ok(rules)
}

/// Accepts `Z`, `+00:00` and a space instead of `T`.
fn timestamp(text: &Option<String>, at: &str) -> Result<Option<Timestamp>, String> {
    let Some(text) = text.as_deref().filter(|t| !t.is_empty()) else { return Ok(None) };
    let normal = if text.len() > 10 && text.as_bytes()[10] == b' ' { format!("{}T{}", &text[..10], &text[11..]) } else { text.to_owned() };
    normal.parse::<Timestamp>().map(Some).map_err(|e| format!("{at}: {e}"))
}

fn account_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some(_), Some(_), Some(account)) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) else { return None };
    Some(account)
}

fn tags(tags: &Option<Vec<Tag>>) -> BTreeMap<String, String> {
    tags.iter().flatten().map(|t| (t.key.to_ascii_lowercase(), t.value.clone())).collect()
}

/// Reads the pages into an observation of the account. All or nothing.
pub fn parse(inputs: &[Input], options: &Options) -> Result<Observation, String> {
    let mut pages = Vec::new();
    for input in inputs {
        let page: Page = serde_json::from_str(input.text).map_err(|e| format!("{}: not valid GetAccountAuthorizationDetails JSON: {e}", input.name))?;
        pages.push((input.name, page));
    }
    if let Some((name, last)) = pages.last()
        && last.is_truncated == Some(true)
    {
        return Err(format!(
            "{name}: the last page says IsTruncated (Marker {}): the export is incomplete; give every page, or let the AWS CLI fetch them all.",
            last.marker.as_deref().unwrap_or("?")
        ));
    }
    let mut account: Option<String> = options.account.map(str::to_owned);
    let mut check_account = |arn: &str, at: &str| -> Result<(), String> {
        // AWS-managed policies live in the pseudo-account `aws`.
        let Some(found) = account_of(arn) else { return Err(format!("{at}: \"{arn}\" is not an ARN")) };
        if found == "aws" {
            return Ok(());
        }
        match &account {
            Some(a) if a != found => Err(format!("{at}: \"{arn}\" belongs to account {found}, not {a}; import one account at a time.")),
            Some(_) => Ok(()),
            None => {
                account = Some(found.to_owned());
                Ok(())
            }
        }
    };

    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut roles = Vec::new();
    let mut policies = Vec::new();
    for (name, page) in pages {
        for (i, u) in page.user_detail_list.unwrap_or_default().into_iter().enumerate() {
            check_account(&u.arn, &format!("{name}: UserDetailList[{i}]"))?;
            users.push((name, i, u));
        }
        for (i, g) in page.group_detail_list.unwrap_or_default().into_iter().enumerate() {
            check_account(&g.arn, &format!("{name}: GroupDetailList[{i}]"))?;
            groups.push((name, i, g));
        }
        for (i, r) in page.role_detail_list.unwrap_or_default().into_iter().enumerate() {
            check_account(&r.arn, &format!("{name}: RoleDetailList[{i}]"))?;
            roles.push((name, i, r));
        }
        for (i, p) in page.policies.unwrap_or_default().into_iter().enumerate() {
            check_account(&p.arn, &format!("{name}: Policies[{i}]"))?;
            policies.push((name, i, p));
        }
    }
    let names: Vec<&str> = inputs.iter().map(|i| i.name).collect();
    let account = account.ok_or_else(|| format!("{}: nothing to import: no users, groups, roles or policies were found.", names.join(", ")))?;
    let scope = format!("aws/{account}");
    let mut observation = Observation { scopes: vec![scope.clone()], ..Observation::default() };
    let mut observed_roles: BTreeMap<String, ObservedRole> = BTreeMap::new();

    for (file, i, p) in &policies {
        let at = format!("{file}: Policies[{i}] ({})", p.policy_name);
        let mut versions = Vec::new();
        for (j, v) in p.policy_version_list.iter().flatten().enumerate() {
            let at = format!("{at}.PolicyVersionList[{j}].Document");
            let doc = match &v.document {
                Some(d) => document(d, &at)?,
                None => return Err(format!("{at}: is missing")),
            };
            let default = v.is_default_version.unwrap_or(false) || p.default_version_id.as_deref() == Some(v.version_id.as_str());
            versions.push((timestamp(&v.create_date, &at)?, v.version_id.clone(), default, statements(&doc, &at)?));
        }
        let Some(current) = versions.iter().position(|v| v.2) else {
            return Err(format!(
                "{at}: no version is the default ({}); the export is incomplete.",
                p.default_version_id.as_deref().unwrap_or("DefaultVersionId missing")
            ));
        };
        let (_, current_id, _, rules) = versions.remove(current);
        // Non-default versions grant nothing; they are kept as history, oldest first.
        versions.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        observed_roles.insert(
            p.arn.clone(),
            ObservedRole {
                source_ref: p.arn.clone(),
                name: p.policy_name.clone(),
                scope: scope.clone(),
                description: p.description.clone().unwrap_or_default(),
                rules,
                source_version: Some(current_id),
                definition_known: true,
                history: versions.into_iter().map(|(_, id, _, rules)| ObservedVersion { source_version: id, rules }).collect(),
                labels: BTreeMap::new(),
                uid: None,
            },
        );
    }

    // Inline policies are roles of their principal (user, group or role).
    let mut inline = |owner_arn: &str, owner_name: &str, list: &[&InlinePolicy], at: &str| -> Result<Vec<String>, String> {
        let mut refs = Vec::new();
        for (j, p) in list.iter().enumerate() {
            let at = format!("{at}.PolicyDocument[{j}] ({})", p.policy_name);
            let doc = document(&p.policy_document, &at)?;
            let source_ref = format!("{owner_arn}#inline/{}", p.policy_name);
            observed_roles.insert(
                source_ref.clone(),
                ObservedRole {
                    source_ref: source_ref.clone(),
                    name: format!("{owner_name}-{}", p.policy_name),
                    scope: scope.clone(),
                    description: format!("Inline policy {} of {owner_arn}", p.policy_name),
                    rules: statements(&doc, &at)?,
                    source_version: None,
                    definition_known: true,
                    history: vec![],
                    labels: BTreeMap::new(),
                    uid: None,
                },
            );
            refs.push(source_ref);
        }
        Ok(refs)
    };

    // Groups are not identities: their policies reach each member user.
    let mut group_roles: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (file, i, g) in &groups {
        let at = format!("{file}: GroupDetailList[{i}] ({})", g.group_name);
        let inline_refs = inline(&g.arn, &g.group_name, &list_ref(&g.group_policy_list), &format!("{at}.GroupPolicyList"))?;
        let attached: Vec<String> = list_ref(&g.attached_managed_policies).iter().map(|a| a.policy_arn.clone()).collect();
        group_roles.insert(g.group_name.clone(), (g.arn.clone(), inline_refs.into_iter().chain(attached).collect()));
    }

    let mut principals: BTreeMap<String, ObservedPrincipal> = BTreeMap::new();
    let mut grants = Vec::new();
    for (file, i, u) in &users {
        let at = format!("{file}: UserDetailList[{i}] ({})", u.user_name);
        let labels = tags(&u.tags);
        let mut detail = BTreeMap::new();
        if let Some(boundary) = boundary(&u.permissions_boundary) {
            detail.insert("permissions_boundary".into(), boundary);
        }
        principals.insert(
            u.arn.clone(),
            ObservedPrincipal {
                source_ref: u.arn.clone(),
                kind: PrincipalKind::User,
                name: u.user_name.clone(),
                scope: scope.clone(),
                declared: true,
                labels,
                detail,
                created_at: timestamp(&u.create_date, &format!("{at}.CreateDate"))?,
                last_seen_at: None,
                uid: u.user_id.clone(),
            },
        );
        for role_ref in inline(&u.arn, &u.user_name, &list_ref(&u.user_policy_list), &format!("{at}.UserPolicyList"))? {
            grants.push((format!("{}#{role_ref}", u.arn), u.arn.clone(), role_ref));
        }
        for a in list_ref(&u.attached_managed_policies) {
            grants.push((format!("{}#attached/{}", u.arn, a.policy_arn), u.arn.clone(), a.policy_arn.clone()));
        }
        for group in u.group_list.iter().flatten() {
            let Some((group_arn, role_refs)) = group_roles.get(group) else {
                return Err(format!("{at}.GroupList: group \"{group}\" is not in GroupDetailList; the export is incomplete."));
            };
            for role_ref in role_refs {
                grants.push((format!("{}#group/{group_arn}#{role_ref}", u.arn), u.arn.clone(), role_ref.clone()));
            }
        }
    }
    for (file, i, r) in &roles {
        let at = format!("{file}: RoleDetailList[{i}] ({})", r.role_name);
        let labels = tags(&r.tags);
        let mut detail = BTreeMap::new();
        if let Some(boundary) = boundary(&r.permissions_boundary) {
            detail.insert("permissions_boundary".into(), boundary);
        }
        // The trust policy (who may assume the role) and instance profiles are kept verbatim
        // for the escalation analysis; a bad trust document is refused like any other.
        if let Some(trust) = &r.assume_role_policy_document {
            let trust = document(trust, &format!("{at}.AssumeRolePolicyDocument"))?;
            detail.insert("trust_policy".into(), serde_json::to_string(&trust).unwrap_or_default());
        }
        let profiles: Vec<String> = r.instance_profile_list.iter().flatten().filter_map(|p| p.get("Arn").and_then(Value::as_str).map(str::to_owned)).collect();
        if !profiles.is_empty() {
            detail.insert("instance_profiles".into(), profiles.join(","));
        }
        let last_used = r.role_last_used.as_ref().and_then(|l| l.last_used_date.clone());
        principals.insert(
            r.arn.clone(),
            ObservedPrincipal {
                source_ref: r.arn.clone(),
                kind: PrincipalKind::Role,
                name: r.role_name.clone(),
                scope: scope.clone(),
                declared: true,
                labels,
                detail,
                created_at: timestamp(&r.create_date, &format!("{at}.CreateDate"))?,
                last_seen_at: timestamp(&last_used, &format!("{at}.RoleLastUsed.LastUsedDate"))?,
                uid: r.role_id.clone(),
            },
        );
        for role_ref in inline(&r.arn, &r.role_name, &list_ref(&r.role_policy_list), &format!("{at}.RolePolicyList"))? {
            grants.push((format!("{}#{role_ref}", r.arn), r.arn.clone(), role_ref));
        }
        for a in list_ref(&r.attached_managed_policies) {
            grants.push((format!("{}#attached/{}", r.arn, a.policy_arn), r.arn.clone(), a.policy_arn.clone()));
        }
    }

    let mut seen = BTreeSet::new();
    for (source_ref, principal_ref, role_ref) in grants {
        if !seen.insert(source_ref.clone()) {
            continue;
        }
        // An attached policy missing from `Policies` (an AWS-managed one left out by a filter)
        // stays a reference by ARN.
        let missing = (!observed_roles.contains_key(&role_ref)).then_some(Missing::Role);
        observation.grants.push(ObservedGrant { source_ref, principal_ref, role_ref, scope: scope.clone(), condition: None, missing });
    }
    observation.principals = principals.into_values().collect();
    observation.roles = observed_roles.into_values().collect();
    Ok(observation)
}

fn list_ref<T>(value: &Option<OneOrMany<T>>) -> Vec<&T> {
    match value {
        None => vec![],
        Some(OneOrMany::Many(v)) => v.iter().collect(),
        Some(OneOrMany::One(t)) => vec![t],
    }
}

fn boundary(value: &Option<Value>) -> Option<String> {
    value.as_ref().and_then(|b| b.get("PermissionsBoundaryArn")).and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAAD: &str = include_str!("../../tests/fixtures/import/aws/gaad.json");

    fn parse_files(files: &[(&str, &str)]) -> Result<Observation, String> {
        let inputs: Vec<Input> = files.iter().map(|(name, text)| Input { name, text }).collect();
        parse(&inputs, &Options { account: None })
    }

    fn role<'a>(o: &'a Observation, source_ref: &str) -> &'a ObservedRole {
        o.roles
            .iter()
            .find(|r| r.source_ref == source_ref)
            .unwrap_or_else(|| panic!("no role {source_ref}: {:?}", o.roles.iter().map(|r| &r.source_ref).collect::<Vec<_>>()))
    }

    #[test]
    fn users_and_roles_become_principals_and_policies_roles() {
        let o = parse_files(&[("gaad.json", GAAD)]).unwrap();
        assert_eq!(o.scopes, ["aws/123456789012"]);
        // In ARN order: the path comes first (`role/app/ec2-app-server`).
        let principals: Vec<(&str, PrincipalKind)> = o.principals.iter().map(|p| (p.name.as_str(), p.kind)).collect();
        assert_eq!(
            principals,
            [
                ("ec2-app-server", PrincipalKind::Role),
                ("break-glass-admin", PrincipalKind::Role),
                ("payments-api-irsa", PrincipalKind::Role),
                ("alice", PrincipalKind::User),
                ("bob", PrincipalKind::User)
            ]
        );
        let ec2 = o.principals.iter().find(|p| p.name == "ec2-app-server").unwrap();
        assert_eq!(ec2.last_seen_at.map(|t| t.to_rfc3339()).as_deref(), Some("2024-05-02T11:47:13.000000Z"));
        assert_eq!(ec2.labels.get("team").map(String::as_str), Some("payments"));
        assert_eq!(ec2.detail.get("permissions_boundary").map(String::as_str), Some("arn:aws:iam::123456789012:policy/developer-boundary"));
        assert!(ec2.detail.get("trust_policy").is_some_and(|t| t.contains("ec2.amazonaws.com")));
        assert!(ec2.detail.get("instance_profiles").is_some_and(|t| t.contains("instance-profile/app/ec2-app-server")));
        assert_eq!(o.principals.iter().find(|p| p.name == "break-glass-admin").unwrap().last_seen_at, None, "RoleLastUsed {{}} means never");
    }

    #[test]
    fn a_managed_policy_keeps_its_versions_with_the_default_current() {
        let o = parse_files(&[("gaad.json", GAAD)]).unwrap();
        let s3 = role(&o, "arn:aws:iam::123456789012:policy/payments-s3-access");
        assert_eq!(s3.source_version.as_deref(), Some("v2"));
        let history: Vec<&str> = s3.history.iter().map(|h| h.source_version.as_str()).collect();
        assert_eq!(history, ["v1", "v3"], "non-default versions, oldest first");
        assert!(s3.rules.iter().any(|r| r.effect == Effect::Deny), "v2 has a Deny");
    }

    #[test]
    fn statements_keep_deny_not_action_not_resource_conditions_and_wildcards() {
        let o = parse_files(&[("gaad.json", GAAD)]).unwrap();
        let deny = role(&o, "arn:aws:iam::123456789012:user/contractors/bob#inline/deny-outside-eu");
        assert_eq!(deny.rules[0].effect, Effect::Deny);
        assert_eq!(deny.rules[0].not_actions, ["iam:*", "sts:*", "support:*"]);
        assert!(deny.rules[0].condition.as_deref().is_some_and(|c| c.contains("StringNotEquals") && c.contains("eu-central-1")));
        let boundary = role(&o, "arn:aws:iam::123456789012:policy/developer-boundary");
        assert!(boundary.rules.iter().any(|r| !r.not_resources.is_empty()));
        let group = role(&o, "arn:aws:iam::123456789012:group/developers#inline/developers-ec2-describe");
        assert_eq!(group.rules[0].actions, ["ec2:Describe*"], "a single statement object with a string Action");
    }

    #[test]
    fn attachments_and_group_policies_become_grants_and_missing_policies_stay_references() {
        let o = parse_files(&[("gaad.json", GAAD)]).unwrap();
        let bob = "arn:aws:iam::123456789012:user/contractors/bob";
        let of_bob: Vec<&str> = o.grants.iter().filter(|g| g.principal_ref == bob).map(|g| g.role_ref.as_str()).collect();
        assert!(of_bob.contains(&"arn:aws:iam::123456789012:group/developers#inline/developers-ec2-describe"), "{of_bob:?}");
        assert!(of_bob.contains(&"arn:aws:iam::123456789012:policy/payments-s3-access"));
        let missing: Vec<&str> = o.dangling().map(|g| g.role_ref.as_str()).collect();
        assert_eq!(missing, ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
    }

    #[test]
    fn pages_merge_url_encoded_documents_decode_and_both_read_the_same() {
        let merged = parse_files(&[("gaad.json", GAAD)]).unwrap();
        let paged = parse_files(&[
            ("gaad-page1.json", include_str!("../../tests/fixtures/import/aws/gaad-page1.json")),
            ("gaad-page2.json", include_str!("../../tests/fixtures/import/aws/gaad-page2.json")),
        ])
        .unwrap();
        assert_eq!(paged.roles, merged.roles);
        assert_eq!(paged.grants, merged.grants);
        let encoded = parse_files(&[("gaad-urlencoded.json", include_str!("../../tests/fixtures/import/aws/gaad-urlencoded.json"))]).unwrap();
        assert_eq!(encoded.roles, merged.roles);
    }

    #[test]
    fn bad_input_is_refused_naming_the_file_and_field() {
        let e = parse_files(&[("gaad-truncated.json", include_str!("../../tests/fixtures/import/aws/gaad-truncated.json"))]).unwrap_err();
        assert!(e.starts_with("gaad-truncated.json: not valid GetAccountAuthorizationDetails JSON"), "{e}");
        let e = parse_files(&[("gaad-bad-policy.json", include_str!("../../tests/fixtures/import/aws/gaad-bad-policy.json"))]).unwrap_err();
        assert!(e.contains("gaad-bad-policy.json") && e.contains("PolicyDocument") && e.contains("not a JSON policy document"), "{e}");
        let e = parse_files(&[("gaad-page1.json", include_str!("../../tests/fixtures/import/aws/gaad-page1.json"))]).unwrap_err();
        assert!(e.contains("IsTruncated"), "{e}");
        let e = parse(&[Input { name: "gaad.json", text: GAAD }], &Options { account: Some("999999999999") }).unwrap_err();
        assert!(e.contains("not 999999999999"), "{e}");
    }

    #[test]
    fn percent_decoding_keeps_plus_signs() {
        assert_eq!(percent_decode("a%20b+c%7B").unwrap(), "a b+c{");
        assert!(percent_decode("%zz").is_err());
    }
}
