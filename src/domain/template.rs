//! Service templates: a reviewed, named set of identity blueprints and the roles each gets.
//! A template is approved once, as a change request; provisioning a service from it afterwards
//! needs no further approval because everything it can create was reviewed.
//!
//! Blueprints name identities and scopes with placeholders, filled in at provisioning time:
//! `{service}` (the new service's name) and `{env}` (the environment it runs in).

use super::Timestamp;
use super::identity::IdentityKind;
use super::name::{self, IdentityName, ServiceName};
use super::scope::ScopePath;
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Placeholders a blueprint may use.
pub const PLACEHOLDERS: &[&str] = &["service", "env"];
/// A template creating more than this is a platform, not a service.
pub const MAX_IDENTITIES: usize = 20;
pub const MAX_GRANTS_PER_IDENTITY: usize = 20;

/// The name of an environment (`prod`, `staging`, `dev-eu`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvName(String);

impl EnvName {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim();
        if value.is_empty() {
            return Err("Environment is required.".to_owned());
        }
        if value.len() > 30 || !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("Environment must be at most 30 characters and start with a lower-case letter.".to_owned());
        }
        if let Some(bad) = value.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')) {
            return Err(format!("Environment may contain only lower-case letters, digits and dashes; found '{bad}'."));
        }
        Ok(EnvName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "ssr")]
impl schemars::JsonSchema for EnvName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "An environment name such as prod" })
    }
}

impl TryFrom<String> for EnvName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EnvName> for String {
    fn from(value: EnvName) -> String {
        value.0
    }
}

/// One role an identity of the template gets, on a scope pattern such as `{env}/{service}`.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantBlueprint {
    /// Role slug.
    pub role: String,
    pub scope: String,
}

/// One identity the template creates.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityBlueprint {
    /// Name pattern, e.g. `svc-{service}`.
    pub name: String,
    pub kind: IdentityKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub grants: Vec<GrantBlueprint>,
}

/// What one version of a template says.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateDefinition {
    #[serde(default)]
    pub description: String,
    pub identities: Vec<IdentityBlueprint>,
}

/// The values a blueprint is filled in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub service: ServiceName,
    pub env: EnvName,
}

impl Placement {
    /// The placement used to check a definition: any valid values would do.
    fn sample() -> Self {
        Placement { service: ServiceName::parse("sample-service").expect("valid"), env: EnvName::parse("prod").expect("valid") }
    }
}

/// One identity as it will be (or was) created.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedIdentity {
    pub name: String,
    pub kind: IdentityKind,
    pub description: String,
    pub grants: Vec<PlannedGrant>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedGrant {
    pub role: String,
    pub scope: String,
}

/// Replaces `{placeholder}`s; an unknown or unclosed one is an error naming it.
fn fill(pattern: &str, placement: &Placement) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("\"{pattern}\" opens a placeholder with '{{' but never closes it."))?;
        match &after[..close] {
            "service" => out.push_str(placement.service.as_str()),
            "env" => out.push_str(placement.env.as_str()),
            other => return Err(format!("\"{{{other}}}\" in \"{pattern}\" is not a placeholder; use {{service}} or {{env}}.")),
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("\"{pattern}\" closes a placeholder with '}}' that was never opened."));
    }
    out.push_str(rest);
    Ok(out)
}

impl TemplateDefinition {
    /// Checks the definition as far as it can without the database: patterns, kinds, limits,
    /// and that any valid service name and environment give valid, distinct identity names and
    /// scope paths. Problems are reported per blueprint field.
    pub fn check(&self, problems: &mut Problems) {
        if let Err(e) = name::text(&self.description, "Description", 2000, false) {
            problems.add("description", e);
        }
        if self.identities.is_empty() {
            problems.add("identities", "A template creates at least one identity.");
        }
        if self.identities.len() > MAX_IDENTITIES {
            problems.add("identities", format!("A template creates at most {MAX_IDENTITIES} identities."));
        }
        let sample = Placement::sample();
        let mut names = BTreeSet::new();
        for (i, blueprint) in self.identities.iter().enumerate() {
            let field = format!("identities[{i}]");
            match fill(&blueprint.name, &sample).and_then(|n| IdentityName::parse(&n).map_err(|e| format!("\"{}\": {e}", blueprint.name))) {
                Ok(name) if !names.insert(name.to_string()) => problems.add(&format!("{field}.name"), format!("Two identities would be named {name}.")),
                Ok(_) => {}
                Err(e) => problems.add(&format!("{field}.name"), e),
            }
            if !blueprint.name.contains("{service}") {
                problems.add(&format!("{field}.name"), format!("\"{}\" must contain {{service}} so that each service gets its own identity.", blueprint.name));
            }
            if let Err(e) = name::text(&blueprint.description, "Description", 500, false) {
                problems.add(&format!("{field}.description"), e);
            }
            if blueprint.grants.len() > MAX_GRANTS_PER_IDENTITY {
                problems.add(&format!("{field}.grants"), format!("An identity gets at most {MAX_GRANTS_PER_IDENTITY} roles from a template."));
            }
            for (j, grant) in blueprint.grants.iter().enumerate() {
                if let Err(e) = name::RoleSlug::parse(&grant.role) {
                    problems.add(&format!("{field}.grants[{j}].role"), e);
                }
                if let Err(e) = fill(&grant.scope, &sample).and_then(|s| ScopePath::parse(&s).map_err(|e| format!("\"{}\": {e}", grant.scope))) {
                    problems.add(&format!("{field}.grants[{j}].scope"), e);
                }
            }
        }
    }

    /// The role slugs the template grants, each once.
    pub fn roles(&self) -> BTreeSet<String> {
        self.identities.iter().flat_map(|b| b.grants.iter().map(|g| g.role.clone())).collect()
    }

    /// What provisioning at `placement` creates.
    pub fn plan(&self, placement: &Placement) -> Result<Vec<PlannedIdentity>, AppError> {
        let mut problems = Problems::new();
        let mut planned = Vec::with_capacity(self.identities.len());
        let mut names = BTreeSet::new();
        for (i, blueprint) in self.identities.iter().enumerate() {
            let name = fill(&blueprint.name, placement).and_then(|n| IdentityName::parse(&n));
            let name = problems.check(&format!("identities[{i}].name"), name);
            // `check` proves names distinct in a sample environment only: "{service}-dev" and
            // "{service}-{env}" meet in env dev, and the service's identities are written at once.
            let name = name.filter(|name| {
                let fresh = names.insert(name.to_string());
                if !fresh {
                    problems.add(&format!("identities[{i}].name"), format!("Two identities would be named {name} in {}.", placement.env.as_str()));
                }
                fresh
            });
            let mut grants = Vec::with_capacity(blueprint.grants.len());
            for (j, grant) in blueprint.grants.iter().enumerate() {
                let scope = fill(&grant.scope, placement).and_then(|s| ScopePath::parse(&s));
                if let Some(scope) = problems.check(&format!("identities[{i}].grants[{j}].scope"), scope) {
                    grants.push(PlannedGrant { role: grant.role.clone(), scope: scope.to_string() });
                }
            }
            if let Some(name) = name {
                planned.push(PlannedIdentity { name: name.to_string(), kind: blueprint.kind, description: blueprint.description.clone(), grants });
            }
        }
        problems.into_result()?;
        Ok(planned)
    }

    /// How many grants provisioning creates.
    pub fn grant_count(&self) -> usize {
        self.identities.iter().map(|b| b.grants.len()).sum()
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    pub current_version: i64,
    pub definition: TemplateDefinition,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Services provisioned from any version of the template.
    pub services: i64,
    /// The change request that approved the current version (none for built-in templates).
    pub approved_by: Option<String>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub version: i64,
    pub definition: TemplateDefinition,
    pub author: String,
    pub change_request_id: Option<String>,
    pub created_at: Timestamp,
}

/// Everything the template page shows.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    pub template: Template,
    pub versions: Vec<TemplateVersion>,
}

/// A proposed template or template change, as submitted.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// Slug of a new template, or of the template to change.
    pub slug: String,
    #[serde(default)]
    pub display_name: String,
    pub definition: TemplateDefinition,
    pub reason: String,
}

/// The request to provision a service from a template.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionInput {
    /// Template slug.
    pub template: String,
    /// The new service's name.
    pub name: String,
    pub env: String,
    /// Owner id or exact owner name.
    pub owner: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
}

/// A provisioning request, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionRequest {
    pub template: String,
    pub placement: Placement,
    pub owner: String,
    pub display_name: String,
    pub description: String,
}

impl ProvisionInput {
    pub fn parse(&self) -> Result<ProvisionRequest, AppError> {
        let mut problems = Problems::new();
        let template = problems.check("template", super::identity::required(&self.template, "Template"));
        let service = problems.check("name", ServiceName::parse(&self.name));
        let env = problems.check("env", EnvName::parse(&self.env));
        let owner = problems.check("owner", super::identity::required(&self.owner, "Owner"));
        let display_name = problems.check("display_name", name::text(&self.display_name, "Display name", 120, false));
        let description = problems.check("description", name::text(&self.description, "Description", 2000, false));
        problems.into_result()?;
        match (template, service, env, owner, display_name, description) {
            (Some(template), Some(service), Some(env), Some(owner), Some(display_name), Some(description)) => {
                Ok(ProvisionRequest { template, placement: Placement { service, env }, owner, display_name, description })
            }
            _ => Err(AppError::invalid("request", "The provisioning request is incomplete.")),
        }
    }
}

impl ProvisionRequest {
    /// What identifies "the same request" for idempotency: every parameter, in a fixed order.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical =
            serde_json::json!([self.template, self.placement.service.as_str(), self.placement.env.as_str(), self.owner, self.display_name, self.description]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// One grant provisioning created, with the version it pinned.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedGrant {
    pub assignment_id: String,
    pub role_id: String,
    pub role: String,
    pub role_version: i64,
    pub scope: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedIdentity {
    pub id: String,
    pub name: String,
    pub kind: IdentityKind,
    pub grants: Vec<ProvisionedGrant>,
}

/// What a provisioning run created. Returned again, unchanged, to a retry of the same request.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provisioned {
    pub service_id: String,
    pub service: String,
    pub env: String,
    pub template: String,
    pub template_version: i64,
    pub identities: Vec<ProvisionedIdentity>,
    pub scopes: Vec<String>,
    pub audit_from_seq: i64,
    pub audit_to_seq: i64,
    pub provisioned_at: Timestamp,
    /// True when this answer is the stored result of an earlier identical request.
    #[serde(default)]
    pub replayed: bool,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredIdentity {
    pub id: String,
    pub name: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCredential {
    pub id: String,
    pub identity_id: String,
    pub fingerprint: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedAssignment {
    pub id: String,
    pub identity_id: String,
    pub role_id: String,
    pub role_version: i64,
}

/// Proof of a decommission: everything retired, and where in the audit chain it was recorded.
/// `chain_hash` is the hash of event `audit_to_seq`, which `audit verify` recomputes.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecommissionReceipt {
    pub service_id: String,
    pub service: String,
    pub decommissioned_at: Timestamp,
    pub reason: String,
    pub identities_retired: Vec<RetiredIdentity>,
    pub credentials_revoked: Vec<RevokedCredential>,
    pub assignments_revoked: Vec<RevokedAssignment>,
    pub audit_from_seq: i64,
    pub audit_to_seq: i64,
    pub chain_hash: String,
    #[serde(default)]
    pub replayed: bool,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecommissionInput {
    #[serde(default)]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_api() -> TemplateDefinition {
        serde_json::from_value(serde_json::json!({
            "description": "An HTTP API with a data store",
            "identities": [
                { "name": "svc-{service}", "kind": "service_account", "grants": [
                    { "role": "data-reader", "scope": "{env}/{service}" },
                    { "role": "metrics-uploader", "scope": "{env}" }
                ]},
                { "name": "deploy-{service}", "kind": "ci_bot", "grants": [
                    { "role": "deployment-trigger", "scope": "{env}/{service}" }
                ]}
            ]
        }))
        .unwrap()
    }

    fn problems_of(definition: &TemplateDefinition) -> Vec<String> {
        let mut problems = Problems::new();
        definition.check(&mut problems);
        match problems.into_result() {
            Ok(()) => vec![],
            Err(AppError::Validation { errors }) => errors.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_blueprint_fills_in_service_and_environment() {
        let placement = Placement { service: ServiceName::parse("orders").unwrap(), env: EnvName::parse("prod").unwrap() };
        let plan = web_api().plan(&placement).unwrap();
        assert_eq!(plan[0].name, "svc-orders");
        assert_eq!(plan[0].grants[0], PlannedGrant { role: "data-reader".into(), scope: "prod/orders".into() });
        assert_eq!(plan[1].name, "deploy-orders");
        assert_eq!(plan[1].kind, IdentityKind::CiBot);
    }

    #[test]
    fn a_valid_template_has_no_problems() {
        assert!(problems_of(&web_api()).is_empty());
    }

    #[test]
    fn an_unknown_placeholder_is_named() {
        let mut definition = web_api();
        definition.identities[0].grants[0].scope = "{region}/{service}".into();
        let problems = problems_of(&definition);
        assert!(problems[0].contains("{region}") && problems[0].starts_with("identities[0].grants[0].scope"), "{problems:?}");
    }

    #[test]
    fn an_identity_name_without_the_service_placeholder_is_refused() {
        let mut definition = web_api();
        definition.identities[1].name = "deployer".into();
        assert!(problems_of(&definition).iter().any(|p| p.contains("must contain {service}")));
    }

    #[test]
    fn two_blueprints_with_one_name_are_refused() {
        let mut definition = web_api();
        definition.identities[1].name = "svc-{service}".into();
        assert!(problems_of(&definition).iter().any(|p| p.contains("Two identities would be named svc-sample-service")));
    }

    #[test]
    fn names_that_meet_only_in_one_environment_are_refused_when_provisioned_there() {
        let mut definition = web_api();
        definition.identities[0].name = "{service}-dev".into();
        definition.identities[1].name = "{service}-{env}".into();
        assert!(problems_of(&definition).is_empty(), "distinct in the sample environment");
        let prod = Placement { service: ServiceName::parse("orders").unwrap(), env: EnvName::parse("prod").unwrap() };
        assert!(definition.plan(&prod).is_ok());
        let dev = Placement { service: ServiceName::parse("orders").unwrap(), env: EnvName::parse("dev").unwrap() };
        match definition.plan(&dev) {
            Err(AppError::Validation { errors }) => {
                assert_eq!(errors[0].field, "identities[1].name");
                assert_eq!(errors[0].message, "Two identities would be named orders-dev in dev.");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unclosed_placeholder_is_refused() {
        let placement = Placement::sample();
        assert!(fill("svc-{service", &placement).unwrap_err().contains("never closes"));
        assert!(fill("svc-service}", &placement).unwrap_err().contains("never opened"));
    }

    #[test]
    fn environment_names_are_checked() {
        assert!(EnvName::parse("prod-eu").is_ok());
        assert!(EnvName::parse("Prod").is_err());
        assert!(EnvName::parse("prod/eu").unwrap_err().contains("found '/'"));
        assert_eq!(EnvName::parse("").unwrap_err(), "Environment is required.");
    }

    #[test]
    fn the_same_parameters_give_the_same_request_fingerprint() {
        let input = ProvisionInput { template: "web-api".into(), name: "orders".into(), env: "prod".into(), owner: "team".into(), ..Default::default() };
        let a = input.parse().unwrap().fingerprint();
        assert_eq!(a, input.parse().unwrap().fingerprint());
        let other = ProvisionInput { env: "staging".into(), ..input };
        assert_ne!(a, other.parse().unwrap().fingerprint());
    }
}
