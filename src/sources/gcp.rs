//! GCP IAM as `gcloud projects get-iam-policy PROJECT --format=json` prints it (policy version 1
//! or 3, bindings with conditions), with custom role definitions from `gcloud iam roles list
//! --format=json` (or `describe`) when given.
//!
//! Reference: the IAM Policy and Role resources of the IAM API; `tests/fixtures/import/FORMATS.md`
//! lists the pitfalls this follows. Machine members (service accounts, workload identities)
//! become identities; people, groups, domains and the public are counted, not imported.

use super::observation::{Input, Missing, Observation, ObservedGrant, ObservedPrincipal, ObservedRole, PrincipalKind, Rule};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Deserialize)]
struct Policy {
    #[serde(default)]
    bindings: Option<Value>,
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Deserialize)]
struct Binding {
    role: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    condition: Option<Condition>,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    expression: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomRole {
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    included_permissions: Option<Vec<String>>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    deleted: Option<bool>,
}

pub struct Options<'a> {
    /// The project id: the scope is `gcp/PROJECT`.
    pub project: &'a str,
}

/// What a member string names. Only machines become identities.
enum Member {
    /// A service account, workload identity or workload identity set: (source ref, name shown,
    /// kind of principal).
    Machine(String, String, PrincipalKind),
    /// A deleted service account: its grants are kept as dangling.
    DeletedMachine(String),
    /// People, groups, domains, the public: counted by kind.
    Other(&'static str),
}

fn member(text: &str) -> Member {
    if let Some(rest) = text.strip_prefix("serviceAccount:") {
        return Member::Machine(text.to_owned(), rest.to_owned(), PrincipalKind::ServiceAccount);
    }
    // A workload identity pool's set (all of a GitHub repository's workflows, say) is machines.
    if let Some(rest) = text.strip_prefix("principalSet://").filter(|r| r.contains("/workloadIdentityPools/")) {
        let name = rest.split("/workloadIdentityPools/").nth(1).unwrap_or(rest).to_owned();
        return Member::Machine(text.to_owned(), name, PrincipalKind::Group);
    }
    if text.starts_with("deleted:serviceAccount:") {
        return Member::DeletedMachine(text.to_owned());
    }
    if let Some(rest) = text.strip_prefix("principal://") {
        // A workload identity pool subject is a machine (GKE: `…/subject/ns/NS/sa/KSA`);
        // a workforce pool subject is a person.
        if rest.contains("/workloadIdentityPools/") {
            let name = rest.rsplit("/subject/").next().unwrap_or(rest).to_owned();
            return Member::Machine(text.to_owned(), name, PrincipalKind::ServiceAccount);
        }
        return Member::Other("workforce principal");
    }
    match text.split_once(':').map(|(kind, _)| kind) {
        _ if text == "allUsers" => Member::Other("allUsers"),
        _ if text == "allAuthenticatedUsers" => Member::Other("allAuthenticatedUsers"),
        _ if text.starts_with("principalSet://") => Member::Other("principal set"),
        Some("user") | Some("deleted") if text.contains("user:") => Member::Other("user"),
        Some("group") => Member::Other("group"),
        Some("domain") => Member::Other("domain"),
        _ if text.starts_with("deleted:group:") => Member::Other("group"),
        _ => Member::Other("other member"),
    }
}

/// A predefined role's rule: the role's name is all an export says about it.
fn predefined(role: &str) -> Rule {
    Rule { actions: vec![role.to_owned()], ..Rule::allow() }
}

/// Reads a project policy (and custom role definitions) into an observation.
pub fn parse(policy: &Input, roles: Option<&Input>, options: &Options) -> Result<Observation, String> {
    let parsed: Policy = serde_json::from_str(policy.text).map_err(|e| format!("{}: not valid IAM policy JSON: {e}", policy.name))?;
    let bindings: Vec<Binding> = match parsed.bindings {
        None | Some(Value::Null) => vec![],
        Some(value @ Value::Array(_)) => serde_json::from_value(value).map_err(|e| format!("{}: `bindings`: {e}", policy.name))?,
        Some(_) => return Err(format!("{}: `bindings` must be a list of bindings", policy.name)),
    };
    let scope = format!("gcp/{}", options.project);
    let mut observation = Observation { scopes: vec![scope.clone()], ..Observation::default() };

    let mut custom: BTreeMap<String, CustomRole> = BTreeMap::new();
    if let Some(roles) = roles {
        // `gcloud iam roles list` prints a list; `describe` one role per run, so a file of
        // several describe outputs is a stream of objects. Both are read.
        for value in serde_json::Deserializer::from_str(roles.text).into_iter::<Value>() {
            let value = value.map_err(|e| format!("{}: not JSON roles: {e}", roles.name))?;
            let list: Vec<CustomRole> = match value {
                Value::Array(_) => serde_json::from_value(value),
                other => serde_json::from_value(other).map(|role| vec![role]),
            }
            .map_err(|e| format!("{}: not a role definition (name, title, includedPermissions): {e}", roles.name))?;
            for role in list {
                custom.insert(role.name.clone(), role);
            }
        }
    }

    let mut roles: BTreeMap<String, ObservedRole> = BTreeMap::new();
    let mut principals: BTreeMap<String, ObservedPrincipal> = BTreeMap::new();
    let mut withcond = 0;
    let mut seen = BTreeSet::new();
    for (i, binding) in bindings.iter().enumerate() {
        if binding.role.is_empty() {
            return Err(format!("{}: bindings[{i}]: `role` is required", policy.name));
        }
        if binding.role.contains("_withcond_") {
            withcond += 1;
        }
        roles.entry(binding.role.clone()).or_insert_with(|| {
            let (rules, description, definition_known) = match custom.get(&binding.role) {
                Some(c) if c.deleted == Some(true) => (vec![], format!("{} (deleted: grants nothing)", c.title.clone().unwrap_or_default()), true),
                Some(c) if c.stage.as_deref() == Some("DISABLED") => {
                    (vec![], format!("{} (disabled: grants nothing)", c.title.clone().unwrap_or_default()), true)
                }
                Some(c) => match &c.included_permissions {
                    Some(permissions) => {
                        (vec![Rule { actions: permissions.clone(), ..Rule::allow() }], c.description.clone().or(c.title.clone()).unwrap_or_default(), true)
                    }
                    None => (
                        vec![],
                        "Custom role listed without its permissions (gcloud's BASIC view); import its definition with `gcloud iam roles describe`.".to_owned(),
                        false,
                    ),
                },
                None if binding.role.starts_with("roles/") => (vec![predefined(&binding.role)], "Predefined GCP role".to_owned(), true),
                None => (vec![], "Custom role whose definition was not given (--roles)".to_owned(), false),
            };
            ObservedRole {
                source_ref: binding.role.clone(),
                name: binding.role.rsplit('/').next().unwrap_or(&binding.role).to_owned(),
                scope: scope.clone(),
                description,
                rules,
                source_version: None,
                definition_known,
                history: vec![],
                labels: BTreeMap::new(),
                uid: None,
            }
        });
        // A role may be bound several times with different conditions: the grant's key is the
        // role, the condition and the member.
        let condition = binding.condition.as_ref().map(|c| format!("{}: {}", c.title.clone().unwrap_or_default(), c.expression.clone().unwrap_or_default()));
        for m in &binding.members {
            let (principal_ref, missing) = match member(m) {
                Member::Machine(source_ref, name, kind) => {
                    principals.entry(source_ref.clone()).or_insert_with(|| ObservedPrincipal {
                        source_ref: source_ref.clone(),
                        kind,
                        name,
                        scope: scope.clone(),
                        declared: true,
                        labels: BTreeMap::new(),
                        detail: BTreeMap::new(),
                        created_at: None,
                        last_seen_at: None,
                        uid: None,
                    });
                    (source_ref, None)
                }
                Member::DeletedMachine(source_ref) => (source_ref, Some(Missing::Principal)),
                Member::Other(kind) => {
                    *observation.skipped.entry(format!("member {kind}")).or_default() += 1;
                    continue;
                }
            };
            let key = match &condition {
                Some(c) => format!("{}?{c}#{principal_ref}", binding.role),
                None => format!("{}#{principal_ref}", binding.role),
            };
            if seen.insert(key.clone()) {
                observation.grants.push(ObservedGrant {
                    source_ref: key,
                    principal_ref,
                    role_ref: binding.role.clone(),
                    scope: scope.clone(),
                    condition: condition.clone(),
                    missing,
                });
            }
        }
    }
    if withcond > 0 {
        observation.notes.push(format!(
            "{withcond} binding(s) name a `_withcond_` role: the policy was read as version {}, which hides conditions; export with `gcloud projects get-iam-policy` (version 3).",
            parsed.version.unwrap_or(1)
        ));
    }
    if bindings.is_empty() {
        return Err(format!("{}: nothing to import: the policy has no bindings.", policy.name));
    }
    observation.principals = principals.into_values().collect();
    observation.roles = roles.into_values().collect();
    Ok(observation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_fixture(name: &str, text: &str, roles: Option<&str>) -> Result<Observation, String> {
        let roles = roles.map(|text| Input { name: "roles.json", text });
        parse(&Input { name, text }, roles.as_ref(), &Options { project: "acme-prod" })
    }

    const V3: &str = include_str!("../../tests/fixtures/import/gcp/policy-v3.json");
    const ROLES: &str = include_str!("../../tests/fixtures/import/gcp/roles.json");

    #[test]
    fn machine_members_become_identities_and_others_are_counted() {
        let o = parse_fixture("policy-v3.json", V3, Some(ROLES)).unwrap();
        let names: Vec<&str> = o.principals.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"payments-api@acme-prod.iam.gserviceaccount.com"), "{names:?}");
        assert!(names.contains(&"acme-prod.svc.id.goog[payments/payments-api]"), "{names:?}");
        assert!(names.contains(&"ns/web/sa/frontend"), "a workload identity subject is a machine: {names:?}");
        assert!(names.iter().all(|n| !n.contains("alice")), "people are not imported");
        assert!(o.skipped.get("member user").is_some_and(|n| *n >= 3), "{:?}", o.skipped);
        assert_eq!(o.skipped.get("member allUsers"), Some(&1));
    }

    #[test]
    fn a_workload_identity_pool_set_is_a_machine_group() {
        let policy = r#"{"bindings": [{"role": "roles/run.developer", "members": ["principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/github/attribute.repository/acme/deploy", "principalSet://iam.googleapis.com/locations/global/workforcePools/staff/group/admins"]}]}"#;
        let o = parse(&Input { name: "p.json", text: policy }, None, &Options { project: "acme-prod" }).unwrap();
        assert_eq!(o.principals.len(), 1);
        assert_eq!((o.principals[0].kind, o.principals[0].name.as_str()), (PrincipalKind::Group, "github/attribute.repository/acme/deploy"));
        assert_eq!(o.skipped.get("member principal set"), Some(&1));
    }

    #[test]
    fn the_same_role_with_and_without_a_condition_is_two_grants() {
        let o = parse_fixture("policy-v3.json", V3, Some(ROLES)).unwrap();
        let conditional: Vec<&ObservedGrant> = o.grants.iter().filter(|g| g.condition.is_some()).collect();
        assert!(conditional.iter().any(|g| g.condition.as_deref().is_some_and(|c| c.starts_with("exports-bucket-only: resource.name.startsWith"))));
        let deployer = "serviceAccount:deployer@acme-shared.iam.gserviceaccount.com";
        let of_deployer: Vec<&str> = o.grants.iter().filter(|g| g.principal_ref == deployer).map(|g| g.role_ref.as_str()).collect();
        assert_eq!(of_deployer, ["projects/acme-prod/roles/paymentsDeployer", "roles/iam.serviceAccountUser"]);
    }

    #[test]
    fn custom_roles_take_their_permissions_and_deleted_or_disabled_ones_grant_nothing() {
        let o = parse_fixture("policy-v3.json", V3, Some(ROLES)).unwrap();
        let role = |r: &str| o.roles.iter().find(|x| x.source_ref == r).unwrap();
        assert!(role("projects/acme-prod/roles/paymentsDeployer").rules[0].actions.contains(&"iam.serviceAccounts.actAs".to_owned()));
        assert!(role("projects/acme-prod/roles/legacyBatch").rules.is_empty());
        assert_eq!(role("roles/owner").rules[0].actions, ["roles/owner"]);
        let without = parse_fixture("policy-v3.json", V3, None).unwrap();
        assert!(without.roles.iter().find(|x| x.source_ref == "projects/acme-prod/roles/paymentsDeployer").unwrap().rules.is_empty());
    }

    #[test]
    fn custom_roles_may_be_a_stream_of_describe_outputs() {
        let stream = r#"{"name": "projects/acme-prod/roles/a", "includedPermissions": ["storage.objects.get"]}
{"name": "projects/acme-prod/roles/b", "includedPermissions": ["run.services.update"]}"#;
        let policy = r#"{"bindings": [{"role": "projects/acme-prod/roles/b", "members": ["serviceAccount:x@acme-prod.iam.gserviceaccount.com"]}]}"#;
        let o = parse(&Input { name: "p.json", text: policy }, Some(&Input { name: "roles.json", text: stream }), &Options { project: "acme-prod" }).unwrap();
        assert_eq!(o.roles[0].rules[0].actions, ["run.services.update"]);
        let e =
            parse(&Input { name: "p.json", text: policy }, Some(&Input { name: "roles.json", text: "[{\"title\": 1}]" }), &Options { project: "acme-prod" })
                .unwrap_err();
        assert!(e.starts_with("roles.json: not a role definition"), "{e}");
    }

    #[test]
    fn deleted_service_accounts_keep_their_grants_as_dangling() {
        let o = parse_fixture("policy-v3.json", V3, None).unwrap();
        let dangling: Vec<&str> = o.dangling().map(|g| g.principal_ref.as_str()).collect();
        assert_eq!(dangling, ["deleted:serviceAccount:old-batch@acme-prod.iam.gserviceaccount.com?uid=112233445566778899001"]);
    }

    #[test]
    fn a_version_1_export_of_a_conditional_policy_is_flagged() {
        let o = parse_fixture("policy-v1-withcond.json", include_str!("../../tests/fixtures/import/gcp/policy-v1-withcond.json"), None).unwrap();
        assert!(o.notes.iter().any(|n| n.contains("_withcond_")), "{:?}", o.notes);
    }

    #[test]
    fn bad_input_is_refused_naming_the_file() {
        let e = parse_fixture("policy-bad.json", include_str!("../../tests/fixtures/import/gcp/policy-bad.json"), None).unwrap_err();
        assert!(e.starts_with("policy-bad.json: `bindings` must be a list"), "{e}");
        let e = parse_fixture("p.json", "{\"bindings\": [", None).unwrap_err();
        assert!(e.starts_with("p.json: not valid IAM policy JSON"), "{e}");
    }
}
