//! Golden diagnostics of policies over several files and golden warnings: each folder
//! `tests/diagnostics/packages/NAME/` is a bad package and `packages/NAME.expected` its rendered
//! errors; each `tests/diagnostics/warnings/NAME.warrant` compiles with warnings rendered in
//! `NAME.expected`. `UPDATE_GOLDEN=1 cargo test -p warrant-lang --test golden_packages`
//! rewrites the expected files (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::fs;
use std::path::{Path, PathBuf};

use warrant_lang::{compile_files, SourceFile};

fn golden_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics").join(kind)
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    paths
}

/// The `.warrant` files of `dir` (a package folder).
fn package(dir: &Path) -> Vec<SourceFile> {
    sorted_entries(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "warrant"))
        .map(|p| SourceFile {
            name: p.file_name().unwrap().to_str().unwrap().to_string(),
            text: fs::read_to_string(&p).unwrap(),
        })
        .collect()
}

/// Compares `rendered` with `expected_path` (or rewrites it under `UPDATE_GOLDEN=1`).
fn compare(expected_path: &Path, rendered: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        fs::write(expected_path, rendered).unwrap();
        return;
    }
    match fs::read_to_string(expected_path) {
        Ok(expected) if expected == rendered => {}
        Ok(expected) => failures.push(format!(
            "{}: output differs\n--- expected\n{expected}\n--- actual\n{rendered}",
            expected_path.display()
        )),
        Err(_) => failures.push(format!("missing {}", expected_path.display())),
    }
}

#[test]
fn package_diagnostics_match_the_golden_files() {
    let mut failures = Vec::new();
    let folders: Vec<PathBuf> = sorted_entries(&golden_dir("packages")).into_iter().filter(|p| p.is_dir()).collect();
    assert!(folders.len() >= 3);
    for folder in folders {
        let name = folder.file_name().unwrap().to_str().unwrap().to_string();
        let files = package(&folder);
        assert!(files.len() >= 2, "{name}: a package of several files");
        match compile_files(&name, &files) {
            Ok(_) => failures.push(format!("{name}: compiled without errors")),
            Err(diagnostics) => compare(&folder.with_extension("expected"), &diagnostics.render(), &mut failures),
        }
    }
    assert!(failures.is_empty(), "{}\n(rerun with UPDATE_GOLDEN=1 to accept)", failures.join("\n"));
}

#[test]
fn warnings_match_the_golden_files() {
    let mut failures = Vec::new();
    let policies: Vec<PathBuf> = sorted_entries(&golden_dir("warnings"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "warrant"))
        .collect();
    assert!(!policies.is_empty());
    for path in policies {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let files = [SourceFile { name: name.clone(), text: fs::read_to_string(&path).unwrap() }];
        let package = compile_files("", &files).unwrap_or_else(|d| panic!("{name}: {}", d.render()));
        assert!(!package.warnings.is_empty(), "{name}: no warning");
        compare(&path.with_extension("expected"), &package.warnings.render(), &mut failures);
    }
    assert!(failures.is_empty(), "{}\n(rerun with UPDATE_GOLDEN=1 to accept)", failures.join("\n"));
}

/// File names no folder on disk can hold (a NUL byte, a separator, one name twice), so their
/// golden output comes from packages built in memory: `packages/invalid_file_names.expected`.
#[test]
fn invalid_file_names_match_the_golden_file() {
    let file = |name: &str| SourceFile { name: name.into(), text: "package p\n".into() };
    let files = [file("a\0b.warrant"), file("crm/policy.warrant"), file("x.warrant"), file("x.warrant")];
    let Err(diagnostics) = compile_files("pkg", &files) else { panic!("invalid names compiled") };
    let mut failures = Vec::new();
    compare(&golden_dir("packages").join("invalid_file_names.expected"), &diagnostics.render(), &mut failures);
    assert!(failures.is_empty(), "{}\n(rerun with UPDATE_GOLDEN=1 to accept)", failures.join("\n"));
}
