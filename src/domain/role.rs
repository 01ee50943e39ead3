//! Roles and their immutable versions. A role's id never changes and is never reused; what the
//! role *means* lives in numbered versions, each hashed over its canonical definition so that an
//! assignment pinned to `v3` always means exactly what was reviewed as `v3`.

use super::Timestamp;
use super::scope::ScopePath;
use super::source::{SourceKind, SourceRule, permissions_of};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

vocabulary!(
    Sensitivity, "Sensitivity" {
        Standard = "standard", "Standard";
        Privileged = "privileged", "Privileged";
    }
);

vocabulary!(
    RoleStatus, "Role status" {
        Active = "active", "Active";
        Retired = "retired", "Retired";
    }
);

vocabulary!(
    /// How an action is classified for separation-of-duty checks.
    ActionClass, "Action class" {
        Read = "read", "Read";
        Write = "write", "Write";
        Admin = "admin", "Admin";
    }
);

/// The actions nhidb understands, with their class. A closed list keeps separation-of-duty
/// checks meaningful: an unknown verb could not be classified.
pub const ACTIONS: &[(&str, ActionClass)] = &[
    ("read", ActionClass::Read),
    ("list", ActionClass::Read),
    ("query", ActionClass::Read),
    ("subscribe", ActionClass::Read),
    ("write", ActionClass::Write),
    ("create", ActionClass::Write),
    ("update", ActionClass::Write),
    ("delete", ActionClass::Write),
    ("upload", ActionClass::Write),
    ("publish", ActionClass::Write),
    ("invoke", ActionClass::Write),
    ("deploy", ActionClass::Write),
    ("trigger", ActionClass::Write),
    ("admin", ActionClass::Admin),
    ("grant", ActionClass::Admin),
    ("configure", ActionClass::Admin),
];

pub fn classify(action: &str) -> Option<ActionClass> {
    ACTIONS.iter().find(|(a, _)| *a == action).map(|(_, class)| *class)
}

/// `action` on `resource`, e.g. `read` on `api:orders`.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

impl Permission {
    pub fn parse(action: &str, resource: &str) -> Result<Self, String> {
        let action = action.trim().to_ascii_lowercase();
        if classify(&action).is_none() {
            return Err(format!("\"{action}\" is not a known action; expected one of: {}.", ACTIONS.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", ")));
        }
        let resource = resource.trim();
        let valid_resource = resource.split_once(':').is_some_and(|(ty, name)| {
            !ty.is_empty()
                && !name.is_empty()
                && ty.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_./*".contains(c))
        });
        if !valid_resource || resource.len() > 128 {
            return Err(format!("Resource \"{resource}\" must be written type:name, e.g. api:orders or db:ledger (at most 128 characters)."));
        }
        Ok(Permission { action, resource: resource.to_owned() })
    }

    /// Parses `action on resource` or `action:resource-type:name` as typed in a text area, one per line.
    pub fn parse_line(line: &str) -> Result<Self, String> {
        let line = line.trim();
        if let Some((action, resource)) = line.split_once(" on ") {
            return Self::parse(action, resource);
        }
        Err(format!("\"{line}\" must be written as `action on type:name`, e.g. `read on api:orders`."))
    }

    pub fn class(&self) -> ActionClass {
        classify(&self.action).unwrap_or(ActionClass::Admin)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    pub description: String,
    pub sensitivity: Sensitivity,
    pub status: RoleStatus,
    pub current_version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set for a role imported from a source, whose definition changes only there.
    #[serde(default)]
    pub managed_by: Option<super::source::ManagedBy>,
}

/// The content of a role version that is reviewed and hashed.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    pub scope: ScopePath,
    pub description: String,
    /// Sorted and free of duplicates, so that equal definitions hash equally.
    pub permissions: Vec<Permission>,
    pub justification: Option<String>,
    /// An imported role's rules, exactly as its source states them; `permissions` are derived
    /// from them. Empty for nhidb's own roles, and then left out of the canonical JSON, so the
    /// hashes of existing versions do not change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<SourceRule>,
}

impl RoleDefinition {
    pub fn new(scope: ScopePath, description: String, mut permissions: Vec<Permission>, justification: Option<String>) -> Self {
        permissions.sort();
        permissions.dedup();
        RoleDefinition { scope, description, permissions, justification, rules: vec![] }
    }

    /// The definition of a role version observed in a source. Rules are sorted: the order a
    /// source lists them in carries no meaning, so a reordering alone is not a new version.
    pub fn imported(scope: ScopePath, description: String, kind: SourceKind, mut rules: Vec<SourceRule>) -> Self {
        rules.sort();
        rules.dedup();
        let permissions = permissions_of(kind, &rules);
        RoleDefinition { scope, description, permissions, justification: None, rules }
    }

    /// `sha256:` over the canonical JSON of the definition.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(canonical.as_bytes())))
    }
}

impl RoleDefinition {
    /// Resources on which this definition grants both a read and a write (or admin) action:
    /// separation of duties wants that split across roles unless it is justified.
    pub fn read_write_overlaps(&self) -> Vec<String> {
        let mut overlaps: Vec<String> = self
            .permissions
            .iter()
            .filter(|p| p.class() == ActionClass::Read)
            .filter(|r| self.permissions.iter().any(|w| w.resource == r.resource && w.class() != ActionClass::Read))
            .map(|p| p.resource.clone())
            .collect();
        overlaps.sort();
        overlaps.dedup();
        overlaps
    }

    /// Refuses a definition that combines read and write on a resource without a justification.
    pub fn check_justification(&self) -> Result<(), String> {
        let overlaps = self.read_write_overlaps();
        if !overlaps.is_empty() && self.justification.as_deref().is_none_or(|j| j.trim().len() < 10) {
            return Err(format!(
                "This role both reads and writes {}; separation of duties needs a justification (at least 10 characters) for that.",
                overlaps.join(", ")
            ));
        }
        Ok(())
    }
}

/// A role definition as typed into a form or a roles-as-code file.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DefinitionInput {
    pub scope: String,
    #[serde(default)]
    pub description: String,
    /// One `action on type:name` per line.
    pub permissions: String,
    #[serde(default)]
    pub justification: String,
}

impl DefinitionInput {
    pub fn parse(&self, problems: &mut crate::error::Problems) -> Option<RoleDefinition> {
        let scope = problems.check("scope", ScopePath::parse(&self.scope));
        let description = problems.check("description", super::name::text(&self.description, "Description", 2000, false));
        let lines: Vec<&str> = self.permissions.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let permissions = if lines.is_empty() {
            problems.add("permissions", "A role needs at least one permission, e.g. `read on api:orders`.");
            None
        } else {
            problems.check("permissions", lines.iter().map(|l| Permission::parse_line(l)).collect::<Result<Vec<_>, _>>())
        };
        let justification = problems.check("justification", super::name::text(&self.justification, "Justification", 1000, false));
        let justification = justification?;
        let definition = RoleDefinition::new(scope?, description?, permissions?, (!justification.is_empty()).then_some(justification));
        problems.check("justification", definition.check_justification())?;
        Some(definition)
    }
}

impl RoleDefinition {
    /// The permission lines, as a form or file shows them.
    pub fn permissions_text(&self) -> String {
        self.permissions.iter().map(Permission::to_string).collect::<Vec<_>>().join("\n")
    }
}

/// How two versions of a role differ.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDiff {
    pub added: Vec<Permission>,
    pub removed: Vec<Permission>,
    pub unchanged: Vec<Permission>,
    /// (from, to) when the scope changed.
    pub scope: Option<(String, String)>,
    pub description: Vec<TextSpan>,
    /// (from, to) when the justification changed.
    pub justification: Option<(Option<String>, Option<String>)>,
    /// An imported role's source rules that appear or disappear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_added: Vec<SourceRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_removed: Vec<SourceRule>,
}

impl RoleDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.rules_added.is_empty()
            && self.rules_removed.is_empty()
            && self.scope.is_none()
            && self.justification.is_none()
            && self.description.iter().all(|s| s.change == SpanChange::Same)
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanChange {
    Same,
    Added,
    Removed,
}

/// A run of words in a text diff.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSpan {
    pub change: SpanChange,
    pub text: String,
}

/// A word-level diff (longest common subsequence): descriptions are short, so the quadratic
/// table is small.
pub fn text_diff(before: &str, after: &str) -> Vec<TextSpan> {
    let a: Vec<&str> = before.split_whitespace().collect();
    let b: Vec<&str> = after.split_whitespace().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut spans: Vec<TextSpan> = Vec::new();
    let mut push = |change: SpanChange, word: &str| match spans.last_mut() {
        Some(last) if last.change == change => {
            last.text.push(' ');
            last.text.push_str(word);
        }
        _ => spans.push(TextSpan { change, text: word.to_owned() }),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            push(SpanChange::Same, a[i]);
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            push(SpanChange::Removed, a[i]);
            i += 1;
        } else {
            push(SpanChange::Added, b[j]);
            j += 1;
        }
    }
    a[i..].iter().for_each(|w| push(SpanChange::Removed, w));
    b[j..].iter().for_each(|w| push(SpanChange::Added, w));
    spans
}

/// What changes from `before` to `after`. `before` is `None` for a new role.
pub fn diff(before: Option<&RoleDefinition>, after: &RoleDefinition) -> RoleDiff {
    let empty = Vec::new();
    let old = before.map(|b| &b.permissions).unwrap_or(&empty);
    let added = after.permissions.iter().filter(|p| !old.contains(p)).cloned().collect();
    let removed = old.iter().filter(|p| !after.permissions.contains(p)).cloned().collect();
    let unchanged = after.permissions.iter().filter(|p| old.contains(p)).cloned().collect();
    let scope = match before {
        Some(b) if b.scope != after.scope => Some((b.scope.to_string(), after.scope.to_string())),
        None => Some((String::new(), after.scope.to_string())),
        _ => None,
    };
    let justification = match before {
        Some(b) if b.justification != after.justification => Some((b.justification.clone(), after.justification.clone())),
        None if after.justification.is_some() => Some((None, after.justification.clone())),
        _ => None,
    };
    let no_rules = Vec::new();
    let old_rules = before.map(|b| &b.rules).unwrap_or(&no_rules);
    RoleDiff {
        added,
        removed,
        unchanged,
        rules_added: after.rules.iter().filter(|r| !old_rules.contains(r)).cloned().collect(),
        rules_removed: old_rules.iter().filter(|r| !after.rules.contains(r)).cloned().collect(),
        scope,
        description: text_diff(before.map(|b| b.description.as_str()).unwrap_or(""), &after.description),
        justification,
    }
}

/// The catalog's sort orders.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CatalogSort {
    Slug,
    Holders,
    Changed,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleFilter {
    pub text: Option<String>,
    pub scope_prefix: Option<ScopePath>,
    pub sensitivity: Option<Sensitivity>,
    pub status: Option<RoleStatus>,
    pub action: Option<String>,
    pub resource: Option<String>,
}

/// The catalog as addressed by a URL or API query string.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleQuery {
    pub q: Option<String>,
    pub scope: Option<String>,
    pub sensitivity: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    /// `slug` (default), `holders` or `changed`.
    pub sort: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl RoleQuery {
    pub fn to_filter(&self) -> Result<(RoleFilter, CatalogSort, super::page::PageRequest), crate::error::AppError> {
        use super::page::present;
        let mut problems = crate::error::Problems::new();
        let scope_prefix = present(&self.scope).and_then(|s| problems.check("scope", ScopePath::parse(s)));
        let sensitivity = present(&self.sensitivity).and_then(|s| problems.check("sensitivity", Sensitivity::parse(s)));
        let status = present(&self.status).and_then(|s| problems.check("status", RoleStatus::parse(s)));
        let action = present(&self.action)
            .and_then(|a| problems.check("action", classify(a).map(|_| a.to_owned()).ok_or_else(|| format!("\"{a}\" is not a known action."))));
        let sort = match present(&self.sort) {
            None | Some("slug") => CatalogSort::Slug,
            Some("holders") => CatalogSort::Holders,
            Some("changed") => CatalogSort::Changed,
            Some(other) => {
                problems.add("sort", format!("\"{other}\" is not a sort order; use slug, holders or changed."));
                CatalogSort::Slug
            }
        };
        problems.into_result()?;
        let filter = RoleFilter {
            text: present(&self.q).map(str::to_owned),
            scope_prefix,
            sensitivity,
            status,
            action,
            resource: present(&self.resource).map(str::to_owned),
        };
        Ok((filter, sort, super::page::PageRequest { after: present(&self.after).map(str::to_owned), limit: self.limit }))
    }
}

/// Everything the role page shows.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleDetail {
    pub role: Role,
    /// Newest first.
    pub versions: Vec<RoleVersion>,
    pub holders: Vec<VersionHolders>,
    /// (identity id, name, pinned version) of the first holders in identity order, sorted by name.
    pub some_holders: Vec<(String, String, i64)>,
    pub requests: Vec<super::change::ChangeRequest>,
}

impl RoleDetail {
    pub fn current(&self) -> Option<&RoleVersion> {
        self.versions.iter().find(|v| v.version == self.role.current_version)
    }

    /// "37 on v3, 5 still on v2".
    pub fn holders_summary(&self) -> String {
        if self.holders.is_empty() {
            return "No holders".to_owned();
        }
        self.holders
            .iter()
            .map(|h| {
                if h.version == self.role.current_version {
                    format!("{} on v{}", h.holders, h.version)
                } else {
                    format!("{} still on v{}", h.holders, h.version)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A proposal for a new role.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewRoleInput {
    pub slug: String,
    pub display_name: String,
    pub sensitivity: String,
    #[serde(flatten)]
    pub definition: DefinitionInput,
    pub reason: String,
}

/// A proposal for a new version of a role.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleVersionInput {
    #[serde(flatten)]
    pub definition: DefinitionInput,
    #[serde(default)]
    pub move_holders: bool,
    pub reason: String,
}

/// Holders of a role at one pinned version.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionHolders {
    pub version: i64,
    pub holders: i64,
}

/// A role as the catalog lists it.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSummary {
    pub role: Role,
    pub scope: String,
    pub holders: i64,
    /// Holders still pinned to an older version.
    pub outdated_holders: i64,
    pub last_change: Timestamp,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleVersion {
    pub role_id: String,
    pub version: i64,
    pub definition: RoleDefinition,
    pub content_hash: String,
    pub author: String,
    pub change_request_id: Option<String>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(a: &str, r: &str) -> Permission {
        Permission::parse(a, r).unwrap()
    }

    #[test]
    fn an_unknown_action_is_refused_with_the_known_list() {
        assert!(Permission::parse("frobnicate", "api:orders").unwrap_err().contains("read, list"));
    }

    #[test]
    fn a_resource_needs_a_type_and_a_name() {
        assert!(Permission::parse("read", "orders").is_err());
        assert!(Permission::parse("read", "api:").is_err());
        assert_eq!(perm("READ", " api:orders ").to_string(), "read on api:orders");
    }

    #[test]
    fn a_permission_line_reads_action_on_resource() {
        assert_eq!(Permission::parse_line("write on db:ledger").unwrap(), perm("write", "db:ledger"));
        assert!(Permission::parse_line("write db:ledger").is_err());
    }

    #[test]
    fn actions_are_classified_for_separation_of_duties() {
        assert_eq!(perm("list", "api:x").class(), ActionClass::Read);
        assert_eq!(perm("deploy", "svc:x").class(), ActionClass::Write);
        assert_eq!(perm("grant", "role:x").class(), ActionClass::Admin);
    }

    #[test]
    fn equal_definitions_hash_equally_whatever_the_permission_order() {
        let scope = ScopePath::parse("prod").unwrap();
        let a = RoleDefinition::new(scope.clone(), "d".into(), vec![perm("read", "api:a"), perm("read", "api:b")], None);
        let b = RoleDefinition::new(scope, "d".into(), vec![perm("read", "api:b"), perm("read", "api:a"), perm("read", "api:a")], None);
        assert_eq!(a.content_hash(), b.content_hash());
        assert!(a.content_hash().starts_with("sha256:"));
    }

    fn def(scope: &str, description: &str, perms: &[(&str, &str)]) -> RoleDefinition {
        RoleDefinition::new(ScopePath::parse(scope).unwrap(), description.into(), perms.iter().map(|(a, r)| perm(a, r)).collect(), None)
    }

    #[test]
    fn a_diff_names_added_removed_and_unchanged_permissions() {
        let v1 = def("prod", "Writes logs", &[("write", "logs:*"), ("read", "api:a")]);
        let v2 = def("prod", "Writes logs", &[("write", "logs:*"), ("upload", "metrics:*")]);
        let d = diff(Some(&v1), &v2);
        assert_eq!(d.added, [perm("upload", "metrics:*")]);
        assert_eq!(d.removed, [perm("read", "api:a")]);
        assert_eq!(d.unchanged, [perm("write", "logs:*")]);
        assert_eq!(d.scope, None);
        assert!(!d.is_empty());
    }

    #[test]
    fn a_scope_change_is_reported_with_both_sides() {
        let d = diff(Some(&def("prod", "", &[("read", "db:x")])), &def("prod/payments", "", &[("read", "db:x")]));
        assert_eq!(d.scope, Some(("prod".into(), "prod/payments".into())));
    }

    #[test]
    fn identical_definitions_have_an_empty_diff() {
        let v = def("prod", "Same words", &[("read", "db:x")]);
        assert!(diff(Some(&v), &v.clone()).is_empty());
    }

    #[test]
    fn description_changes_are_diffed_word_by_word() {
        let spans = text_diff("reads the orders API", "reads the invoices API daily");
        let rendered: Vec<String> = spans
            .iter()
            .map(|s| match s.change {
                SpanChange::Same => s.text.clone(),
                SpanChange::Added => format!("+[{}]", s.text),
                SpanChange::Removed => format!("-[{}]", s.text),
            })
            .collect();
        assert_eq!(rendered, ["reads the", "-[orders]", "+[invoices]", "API", "+[daily]"]);
    }

    #[test]
    fn a_new_role_diffs_against_nothing() {
        let d = diff(None, &def("prod", "New", &[("read", "db:x")]));
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.scope, Some((String::new(), "prod".into())));
    }

    #[test]
    fn read_and_write_on_one_resource_need_a_justification() {
        let both = def("prod", "", &[("read", "db:ledger"), ("write", "db:ledger"), ("read", "db:other")]);
        assert_eq!(both.read_write_overlaps(), ["db:ledger"]);
        assert!(both.check_justification().unwrap_err().contains("db:ledger"));
        let justified = RoleDefinition { justification: Some("Ledger reconciliation job must read and fix rows".into()), ..both };
        assert!(justified.check_justification().is_ok());
    }

    #[test]
    fn a_definition_form_reports_each_bad_line() {
        let mut problems = crate::error::Problems::new();
        let input = DefinitionInput { scope: "prod".into(), permissions: "read on api:x\nfly to the moon".into(), ..Default::default() };
        assert!(input.parse(&mut problems).is_none());
        let e = problems.into_result().unwrap_err();
        assert!(e.field_message("permissions").unwrap().contains("fly to the moon"));
    }

    #[test]
    fn any_change_to_a_definition_changes_its_hash() {
        let scope = ScopePath::parse("prod").unwrap();
        let a = RoleDefinition::new(scope.clone(), "d".into(), vec![perm("read", "api:a")], None);
        let b = RoleDefinition::new(scope, "d".into(), vec![perm("write", "api:a")], None);
        assert_ne!(a.content_hash(), b.content_hash());
    }
}
