//! A peer side by side: Cloudsplaining (PyPI, installed by `make bench` in a virtualenv of its
//! own) scans the same generated GetAccountAuthorizationDetails file that nhidb imported, and
//! both tools' time and the principals each flags for privilege escalation are printed together.
//!
//! The two counts do not measure quite the same thing, and the figures say so: Cloudsplaining
//! flags a principal when one of its *own* policies (inline or attached, not its groups') holds an
//! action combination from its privilege-escalation list, whatever the resources; nhidb counts the
//! AWS principals with at least one stored escalation path, so a path must end at a privileged
//! target, resource constraints and Deny narrow it, and group membership is followed.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where `make bench` installs it; `NHIDB_CLOUDSPLAINING` names another executable.
fn executable() -> PathBuf {
    if let Some(path) = std::env::var_os("NHIDB_CLOUDSPLAINING") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/nhidb/cloudsplaining/bin/cloudsplaining")
}

/// Its default exclusions drop AdministratorAccess and a few service roles; a side-by-side count
/// must see everything nhidb sees.
const NO_EXCLUSIONS: &str = "policies:\n  - \"\"\nroles:\n  - \"\"\nusers:\n  - \"\"\ngroups:\n  - \"\"\ninclude-actions:\n  - \"\"\nexclude-actions:\n  - \"\"\nknown-accounts:\n  - \"\"\n";

/// The figure after `marker` in nhidb's own output (`… in 3.2 s`, `…: 120`).
fn number_after(text: &str, marker: &str) -> Option<f64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.parse().ok()
}

/// Principals Cloudsplaining flags: a user, group or role with a non-excluded inline, customer or
/// AWS managed policy whose `PrivilegeEscalation.findings` is not empty.
pub fn flagged(results: &Value) -> usize {
    let flagged_policy = |map: &str, id: &str| {
        results[map][id]["is_excluded"].as_bool() != Some(true) && results[map][id]["PrivilegeEscalation"]["findings"].as_array().is_some_and(|f| !f.is_empty())
    };
    let mut count = 0;
    for principals in ["users", "groups", "roles"] {
        let Some(entries) = results[principals].as_object() else { continue };
        for entry in entries.values() {
            if entry["is_excluded"].as_bool() == Some(true) {
                continue;
            }
            let hit = [
                ("inline_policies", "inline_policies"),
                ("customer_managed_policies", "customer_managed_policies"),
                ("aws_managed_policies", "aws_managed_policies"),
            ]
            .iter()
            .any(|(pointers, map)| entry[*pointers].as_object().is_some_and(|ids| ids.keys().any(|id| flagged_policy(map, id))));
            count += usize::from(hit);
        }
    }
    count
}

fn results_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("iam-results-") && n.ends_with(".json")))
}

/// Prints both tools' figures; a missing or failing Cloudsplaining is reported, never fatal.
pub async fn figures(gaad: &Path, import_secs: f64, nhidb_text: &str) {
    let nhidb_flagged = number_after(nhidb_text, "aws principals that can escalate:");
    let nhidb_secs = import_secs + number_after(nhidb_text, "read and built in").unwrap_or(0.0);
    let cloudsplaining = executable();
    if !cloudsplaining.exists() {
        println!("cloudsplaining: not installed at {} (make bench installs it)", cloudsplaining.display());
        return;
    }
    let out = gaad.with_file_name("cloudsplaining");
    let _ = std::fs::remove_dir_all(&out);
    let exclusions = gaad.with_file_name("cloudsplaining-no-exclusions.yml");
    if let Err(e) = std::fs::create_dir_all(&out).and_then(|_| std::fs::write(&exclusions, NO_EXCLUSIONS)) {
        println!("cloudsplaining: cannot prepare {}: {e}", out.display());
        return;
    }
    let started = Instant::now();
    let status = tokio::process::Command::new(&cloudsplaining)
        .arg("scan")
        .arg("-i")
        .arg(gaad)
        .arg("-e")
        .arg(&exclusions)
        .arg("-o")
        .arg(&out)
        .arg("-s")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    let secs = started.elapsed().as_secs_f64();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => return println!("cloudsplaining: scan failed ({s})"),
        Err(e) => return println!("cloudsplaining: cannot run {}: {e}", cloudsplaining.display()),
    }
    let parsed = results_file(&out).and_then(|p| std::fs::read(p).ok()).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(results) = parsed else {
        return println!("cloudsplaining: no readable iam-results-*.json in {}", out.display());
    };
    let theirs = flagged(&results);
    println!("cloudsplaining scan of the same GAAD file (no exclusions): {secs:.1} s, {theirs} principals flagged for privilege escalation");
    println!(
        "nhidb import + escalation graph of the same file: {nhidb_secs:.1} s, {} principals with a path to a privileged target; time ratio cloudsplaining / nhidb ×{:.1}",
        nhidb_flagged.map_or("?".to_owned(), |n| format!("{n:.0}")),
        secs / nhidb_secs.max(0.001)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_principal_is_flagged_by_its_own_non_excluded_policies_only() {
        let results = json!({
            "users": {
                "u1": {"is_excluded": false, "inline_policies": {"p1": "x"}, "customer_managed_policies": {}, "aws_managed_policies": {}},
                "u2": {"is_excluded": false, "inline_policies": {}, "customer_managed_policies": {"p2": "y"}, "aws_managed_policies": {}},
                "u3": {"is_excluded": true, "inline_policies": {"p1": "x"}}
            },
            "roles": {"r1": {"is_excluded": false, "aws_managed_policies": {"p3": "AdministratorAccess"}}},
            "groups": {},
            "inline_policies": {"p1": {"is_excluded": false, "PrivilegeEscalation": {"findings": [{"type": "CreateAccessKey"}]}}},
            "customer_managed_policies": {"p2": {"is_excluded": false, "PrivilegeEscalation": {"findings": []}}},
            "aws_managed_policies": {"p3": {"is_excluded": false, "PrivilegeEscalation": {"findings": [{"type": "PassExistingRoleToNewLambdaThenInvoke"}]}}}
        });
        assert_eq!(flagged(&results), 2);
    }

    #[test]
    fn nhidb_figures_are_read_from_its_own_output() {
        let text = "escalation graph: … read and built in 3.4 s, peak memory 200 MB\nnhidb: aws principals that can escalate: 120\n";
        assert_eq!(number_after(text, "read and built in"), Some(3.4));
        assert_eq!(number_after(text, "aws principals that can escalate:"), Some(120.0));
        assert_eq!(number_after(text, "missing"), None);
    }
}
