//! The layering rules of GUIDE.md §1, checked on the source tree so that they cannot erode
//! quietly: SQL only in the store, the domain free of IO, the UI talking to the service layer.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn offences(dir: &str, forbidden: &[&str], allowed_lines: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(&src().join(dir)) {
        let text = fs::read_to_string(&file).expect("read file");
        for (n, line) in text.lines().enumerate() {
            if allowed_lines.iter().any(|a| line.trim() == *a) {
                continue;
            }
            // Case matters: nhidb's SQL is lower-case by convention, so `"select ` is SQL while
            // a sentence such as "Select a role" is not.
            for needle in forbidden {
                if line.contains(needle) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn sql_lives_only_in_the_store() {
    let sql = ["sqlx::query", "query_as", "query_scalar", "raw_sql", "\"select ", "\"insert into", "\"update ", "\"delete from"];
    let mut found = Vec::new();
    for dir in ["domain", "service", "ui", "cli", "sources"] {
        found.extend(offences(dir, &sql, &[]));
    }
    for file in ["server.rs", "state.rs", "error.rs", "lib.rs", "main.rs"] {
        let text = fs::read_to_string(src().join(file)).expect("read");
        for needle in sql {
            assert!(!text.contains(needle), "{file} contains {needle}");
        }
    }
    assert!(found.is_empty(), "SQL outside src/store:\n{}", found.join("\n"));
}

#[test]
fn the_domain_does_no_io() {
    let io = ["sqlx", "tokio", "axum", "leptos", "std::fs", "std::net", "reqwest", "crate::store", "crate::service"];
    let found = offences("domain", &io, &[]);
    assert!(found.is_empty(), "IO in src/domain:\n{}", found.join("\n"));
}

#[test]
fn the_ui_reaches_data_only_through_the_service_layer() {
    let found = offences("ui", &["sqlx", "crate::store::"], &["use crate::store::Store;"]);
    assert!(found.is_empty(), "the UI must call src/service, not the store:\n{}", found.join("\n"));
}
