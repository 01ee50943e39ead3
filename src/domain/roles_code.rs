//! Roles as code: the catalog as a document (YAML or JSON) that lives in a repository, and the
//! plan of change requests that would make the catalog match an edited document — like
//! `terraform plan`. Applying a plan only ever files change requests.

use super::role::{DefinitionInput, RoleDefinition, RoleDiff, RoleStatus, Sensitivity, diff};
use crate::error::Problems;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesDocument {
    pub roles: Vec<RoleEntry>,
}

/// One role in the document: its identity (slug) and its current definition.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    pub slug: String,
    pub display_name: String,
    pub sensitivity: Sensitivity,
    #[serde(default = "active")]
    pub status: RoleStatus,
    /// Informational on export (the current version); ignored by plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    pub scope: String,
    #[serde(default)]
    pub description: String,
    /// `action on type:name`, one per item.
    pub permissions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

fn active() -> RoleStatus {
    RoleStatus::Active
}

impl RoleEntry {
    pub fn from_definition(slug: &str, display_name: &str, sensitivity: Sensitivity, status: RoleStatus, version: i64, d: &RoleDefinition) -> Self {
        RoleEntry {
            slug: slug.to_owned(),
            display_name: display_name.to_owned(),
            sensitivity,
            status,
            version: Some(version),
            scope: d.scope.to_string(),
            description: d.description.clone(),
            permissions: d.permissions.iter().map(ToString::to_string).collect(),
            justification: d.justification.clone(),
        }
    }

    pub fn definition(&self) -> Result<RoleDefinition, String> {
        let input = DefinitionInput {
            scope: self.scope.clone(),
            description: self.description.clone(),
            permissions: self.permissions.join("\n"),
            justification: self.justification.clone().unwrap_or_default(),
        };
        let mut problems = Problems::new();
        let parsed = input.parse(&mut problems);
        match (parsed, problems.into_result()) {
            (Some(definition), Ok(())) => Ok(definition),
            (_, Err(e)) => Err(match e {
                crate::error::AppError::Validation { errors } => errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
                other => other.to_string(),
            }),
            (None, Ok(())) => Err("the definition is incomplete".to_owned()),
        }
    }
}

/// What the catalog holds for a role, as far as the plan is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogRole {
    pub id: String,
    pub slug: String,
    pub sensitivity: Sensitivity,
    pub status: RoleStatus,
    pub current_version: i64,
    pub definition: RoleDefinition,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlanItem {
    Create {
        slug: String,
        display_name: String,
        sensitivity: Sensitivity,
        definition: RoleDefinition,
        diff: RoleDiff,
    },
    NewVersion {
        role_id: String,
        slug: String,
        from_version: i64,
        definition: RoleDefinition,
        diff: RoleDiff,
    },
    Retire {
        role_id: String,
        slug: String,
    },
    /// A role of the catalog the document does not mention; left alone unless pruning.
    Unmanaged {
        slug: String,
    },
    /// A document entry that cannot be planned; applying refuses while any exists.
    Invalid {
        slug: String,
        problem: String,
    },
    /// Something the document changes that roles-as-code does not change (display name, sensitivity).
    Ignored {
        slug: String,
        note: String,
    },
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
}

impl Plan {
    pub fn changes(&self) -> usize {
        self.items.iter().filter(|i| matches!(i, PlanItem::Create { .. } | PlanItem::NewVersion { .. } | PlanItem::Retire { .. })).count()
    }

    pub fn is_valid(&self) -> bool {
        !self.items.iter().any(|i| matches!(i, PlanItem::Invalid { .. }))
    }

    /// Human-readable, like `terraform plan`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let perms = |out: &mut String, d: &RoleDiff| {
            for p in &d.added {
                out.push_str(&format!("      + {p}\n"));
            }
            for p in &d.removed {
                out.push_str(&format!("      - {p}\n"));
            }
            if let Some((from, to)) = &d.scope {
                if from.is_empty() {
                    out.push_str(&format!("        scope: {to}\n"));
                } else {
                    out.push_str(&format!("        scope: {from} -> {to}\n"));
                }
            }
            if d.description.iter().any(|s| s.change != super::role::SpanChange::Same) {
                out.push_str("        description changed\n");
            }
            if let Some((_, to)) = &d.justification {
                out.push_str(&format!("        justification: {}\n", to.as_deref().unwrap_or("(none)")));
            }
        };
        for item in &self.items {
            match item {
                PlanItem::Create { slug, sensitivity, diff, .. } => {
                    out.push_str(&format!("  + {slug}: new role ({})\n", sensitivity.as_str()));
                    perms(&mut out, diff);
                }
                PlanItem::NewVersion { slug, from_version, diff, .. } => {
                    out.push_str(&format!("  ~ {slug}: new version v{} (from v{from_version})\n", from_version + 1));
                    perms(&mut out, diff);
                }
                PlanItem::Retire { slug, .. } => out.push_str(&format!("  - {slug}: retire\n")),
                PlanItem::Unmanaged { slug } => out.push_str(&format!("  ? {slug}: in the catalog, not in the file (left alone; --prune retires it)\n")),
                PlanItem::Invalid { slug, problem } => out.push_str(&format!("  ! {slug}: {problem}\n")),
                PlanItem::Ignored { slug, note } => out.push_str(&format!("  # {slug}: {note}\n")),
            }
        }
        let count = |f: fn(&PlanItem) -> bool| self.items.iter().filter(|i| f(i)).count();
        let (create, version, retire) = (
            count(|i| matches!(i, PlanItem::Create { .. })),
            count(|i| matches!(i, PlanItem::NewVersion { .. })),
            count(|i| matches!(i, PlanItem::Retire { .. })),
        );
        if self.changes() == 0 {
            out.push_str("No changes. The catalog matches the file.\n");
        } else {
            out.push_str(&format!("Plan: {create} to create, {version} new version(s), {retire} to retire.\n"));
        }
        if !self.is_valid() {
            out.push_str("The file has errors (marked !); fix them before applying.\n");
        }
        out
    }
}

/// The plan that makes `catalog` match `document`. With `prune`, active roles missing from the
/// document are retired.
pub fn plan(catalog: &[CatalogRole], document: &RolesDocument, prune: bool) -> Plan {
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in &document.roles {
        if !seen.insert(entry.slug.clone()) {
            items.push(PlanItem::Invalid { slug: entry.slug.clone(), problem: "appears twice in the file".to_owned() });
            continue;
        }
        if let Err(problem) = super::name::RoleSlug::parse(&entry.slug) {
            items.push(PlanItem::Invalid { slug: entry.slug.clone(), problem });
            continue;
        }
        let definition = match entry.definition() {
            Ok(d) => d,
            Err(problem) => {
                items.push(PlanItem::Invalid { slug: entry.slug.clone(), problem });
                continue;
            }
        };
        match catalog.iter().find(|c| c.slug == entry.slug) {
            None if entry.status == RoleStatus::Retired => {}
            None => items.push(PlanItem::Create {
                slug: entry.slug.clone(),
                display_name: entry.display_name.clone(),
                sensitivity: entry.sensitivity,
                diff: diff(None, &definition),
                definition,
            }),
            Some(existing) if existing.status == RoleStatus::Retired => {
                if entry.status == RoleStatus::Active {
                    items.push(PlanItem::Invalid {
                        slug: entry.slug.clone(),
                        problem: "is retired in the catalog; retired roles stay retired (choose a new slug)".to_owned(),
                    });
                }
            }
            Some(existing) if entry.status == RoleStatus::Retired => items.push(PlanItem::Retire { role_id: existing.id.clone(), slug: existing.slug.clone() }),
            Some(existing) => {
                if existing.sensitivity != entry.sensitivity {
                    items.push(PlanItem::Ignored {
                        slug: entry.slug.clone(),
                        note: "sensitivity differs from the catalog; it is not changed by roles-as-code".to_owned(),
                    });
                }
                let d = diff(Some(&existing.definition), &definition);
                if !d.is_empty() {
                    items.push(PlanItem::NewVersion {
                        role_id: existing.id.clone(),
                        slug: existing.slug.clone(),
                        from_version: existing.current_version,
                        definition,
                        diff: d,
                    });
                }
            }
        }
    }
    for role in catalog.iter().filter(|c| c.status == RoleStatus::Active && !seen.contains(&c.slug)) {
        items.push(if prune {
            PlanItem::Retire { role_id: role.id.clone(), slug: role.slug.clone() }
        } else {
            PlanItem::Unmanaged { slug: role.slug.clone() }
        });
    }
    Plan { items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::role::Permission;
    use crate::domain::scope::ScopePath;

    fn catalog_role(slug: &str, perms: &[&str]) -> CatalogRole {
        CatalogRole {
            id: format!("id-{slug}"),
            slug: slug.into(),
            sensitivity: Sensitivity::Standard,
            status: RoleStatus::Active,
            current_version: 1,
            definition: RoleDefinition::new(
                ScopePath::parse("prod").unwrap(),
                "d".into(),
                perms.iter().map(|p| Permission::parse_line(p).unwrap()).collect(),
                None,
            ),
        }
    }

    fn entry(slug: &str, perms: &[&str]) -> RoleEntry {
        RoleEntry {
            slug: slug.into(),
            display_name: slug.into(),
            sensitivity: Sensitivity::Standard,
            status: RoleStatus::Active,
            version: None,
            scope: "prod".into(),
            description: "d".into(),
            permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            justification: None,
        }
    }

    #[test]
    fn an_unchanged_export_plans_nothing() {
        let catalog = [catalog_role("log-writer", &["write on logs:*"])];
        let doc = RolesDocument { roles: vec![entry("log-writer", &["write on logs:*"])] };
        let plan = plan(&catalog, &doc, false);
        assert_eq!(plan.changes(), 0);
        assert!(plan.render().contains("No changes"));
    }

    #[test]
    fn edits_become_versions_new_entries_roles_and_retired_ones_retirements() {
        let catalog = [catalog_role("log-writer", &["write on logs:*"]), catalog_role("old", &["read on db:x"])];
        let mut retired = entry("old", &["read on db:x"]);
        retired.status = RoleStatus::Retired;
        let doc =
            RolesDocument { roles: vec![entry("log-writer", &["write on logs:*", "upload on metrics:logs"]), entry("new-role", &["read on api:x"]), retired] };
        let plan = plan(&catalog, &doc, false);
        let text = plan.render();
        assert!(text.contains("~ log-writer: new version v2 (from v1)\n      + upload on metrics:logs\n"), "{text}");
        assert!(text.contains("+ new-role: new role (standard)\n      + read on api:x\n        scope: prod\n"), "{text}");
        assert!(text.contains("- old: retire\n"), "{text}");
        assert!(text.contains("Plan: 1 to create, 1 new version(s), 1 to retire."), "{text}");
    }

    #[test]
    fn roles_missing_from_the_file_are_left_alone_unless_pruning() {
        let catalog = [catalog_role("keep", &["read on db:x"])];
        let doc = RolesDocument::default();
        assert!(matches!(plan(&catalog, &doc, false).items[0], PlanItem::Unmanaged { .. }));
        assert!(matches!(plan(&catalog, &doc, true).items[0], PlanItem::Retire { .. }));
    }

    #[test]
    fn bad_entries_are_named_and_block_applying() {
        let doc = RolesDocument { roles: vec![entry("Bad Slug", &["read on db:x"]), entry("ok", &["fly on db:x"])] };
        let plan = plan(&[], &doc, false);
        assert!(!plan.is_valid());
        let text = plan.render();
        assert!(text.contains("! Bad Slug:") && text.contains("! ok: permissions:"), "{text}");
    }
}
