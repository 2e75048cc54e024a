//! Golden diagnostics: each `tests/diagnostics/NAME.warrant` is a bad policy and
//! `NAME.expected` its rendered errors. `UPDATE_GOLDEN=1 cargo test -p warrant-lang --test
//! golden` rewrites the expected files (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use warrant_lang::compile;
use warrant_lang::diagnostics::ErrorKind;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

fn bad_policies() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(golden_dir())
        .expect("tests/diagnostics exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "warrant"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn rendered_diagnostics_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for path in bad_policies() {
        let source = fs::read_to_string(&path).expect("readable policy");
        let origin = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name");
        let Err(diagnostics) = compile(&source, origin) else {
            failures.push(format!("{origin}: compiled without errors"));
            continue;
        };
        let rendered = diagnostics.render();
        let expected_path = path.with_extension("expected");
        if update {
            fs::write(&expected_path, &rendered).expect("writable expected file");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == rendered => {}
            Ok(expected) => {
                failures.push(format!("{origin}: output differs\n--- expected\n{expected}\n--- actual\n{rendered}"))
            }
            Err(_) => failures.push(format!("{origin}: missing {}", expected_path.display())),
        }
    }
    assert!(failures.is_empty(), "{}\n(rerun with UPDATE_GOLDEN=1 to accept)", failures.join("\n"));
}

#[test]
fn every_error_kind_has_a_golden_file() {
    let mut seen = HashSet::new();
    for path in bad_policies() {
        let source = fs::read_to_string(&path).expect("readable policy");
        if let Err(diagnostics) = compile(&source, "x") {
            seen.extend(diagnostics.errors().map(|e| e.kind));
        }
    }
    // No single file can have an invalid file name: its golden output is
    // golden_packages.rs::invalid_file_names_match_the_golden_file.
    seen.insert(ErrorKind::InvalidFileName);
    let missing: Vec<_> = ErrorKind::ALL.iter().filter(|k| !seen.contains(k)).map(|k| k.code()).collect();
    assert!(missing.is_empty(), "no golden file produces {missing:?}");
}

#[test]
fn rendering_shows_file_line_column_and_a_snippet() {
    let Err(diagnostics) = compile("package p\nallow a if {\n    subject == \"x\"\n}\n", "policy.warrant") else {
        panic!("unknown name must not compile");
    };
    let text = diagnostics.render();
    assert!(text.contains("policy.warrant:3:5"), "{text}");
    assert!(text.contains("warrant::unknown-name"), "{text}");
    assert!(text.contains("did you mean `sub`?"), "{text}");
    assert!(text.contains("subject == \"x\""), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes: {text}");
}
