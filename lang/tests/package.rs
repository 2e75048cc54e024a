//! Policies over several files: one package, a folder of `.warrant` files, one program.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use warrant_lang::diagnostics::ErrorKind;
use warrant_lang::ir::RuleKind;
use warrant_lang::package::package_hash;
use warrant_lang::request::{ClaimMapping, Request};
use warrant_lang::{compile, compile_files, SourceFile};

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile { name: name.into(), text: text.into() }
}

const ALLOW: &str = "package p\n\nrule reader if { action == \"read\" }\nallow read if { reader }\n";
const DENY: &str = "package p\n# refusals\ndeny late \"too late\" if { now > 100 }\n";

#[test]
fn files_of_one_package_compile_into_one_program_with_rule_lines_per_file() {
    // Given in reverse order: files are taken in name order.
    let package = compile_files("pol", &[file("b.warrant", DENY), file("a.warrant", ALLOW)])
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let program = &package.program;
    assert_eq!(program.package, "p");
    let rules: Vec<(&str, u32)> = program.rules.iter().map(|r| (r.name.as_str(), r.line)).collect();
    assert_eq!(rules, [("reader", 3), ("read", 4), ("late", 3)]);
    assert_eq!(package.rule_files, ["pol/a.warrant", "pol/a.warrant", "pol/b.warrant"]);
    assert_eq!(package.file_of(2), Some("pol/b.warrant"));
    assert!(matches!(program.rules[2].kind, RuleKind::Deny { .. }));
}

#[test]
fn one_file_compiles_as_compile_does() {
    let package = compile_files("dir", &[file("policy.warrant", ALLOW)]).unwrap();
    assert_eq!(package.program, compile(ALLOW, "dir/policy.warrant").unwrap());
    assert_eq!(package.program.source_hash, package_hash(&[file("policy.warrant", ALLOW)]));
}

#[test]
fn the_version_covers_every_file_name_and_text_in_name_order() {
    let a = file("a.warrant", "package p\n");
    let b = file("b.warrant", "package p\nallow x if { }\n");
    // 0xFF "warrant-package-v1", the count, then each name and text after its length, as u64 BE:
    // python3 -c 'import hashlib,struct; q=lambda b: struct.pack(">Q",len(b))+b
    //   print(hashlib.sha256(b"\xffwarrant-package-v1"+struct.pack(">Q",2)+q(b"a.warrant")
    //   +q(b"package p\n")+q(b"b.warrant")+q(b"package p\nallow x if { }\n")).hexdigest())'
    let expected = "6813c9df15ba9f6322bb6f559ba2a187d8d3d271ac8d139dd509d5f21865ade3";
    assert_eq!(package_hash(&[a.clone(), b.clone()]), expected);
    assert_eq!(package_hash(&[b.clone(), a.clone()]), expected);
    let package = compile_files("", &[b.clone(), a.clone()]).unwrap();
    assert_eq!(package.program.source_hash, expected);
    let renamed = file("c.warrant", &b.text);
    assert_ne!(package_hash(&[a.clone(), renamed]), expected, "names are part of the version");
    // Moving text from one file to the other changes the version too.
    let moved = [file("a.warrant", "package p\nallow x if { }\n"), file("b.warrant", "package p\n")];
    assert_ne!(package_hash(&moved), expected);
}

#[test]
fn a_single_policy_cannot_take_the_version_of_a_package() {
    // The reviewer's repro: under the old scheme a package hashed `name\0len\0text` per file and
    // a single file its text, so one policy whose text (comments accept NUL) spelled that
    // serialisation had the version of the two-file package.
    let (a, b) = (file("a.warrant", "package p\n"), file("b.warrant", "package p\nallow x if { }\n"));
    let spelled = format!("{}\0{}\0{}{}\0{}\0{}", a.name, a.text.len(), a.text, b.name, b.text.len(), b.text);
    assert_ne!(package_hash(&[file("one.warrant", &spelled)]), package_hash(&[a.clone(), b.clone()]));
    // Nor can names and texts be shifted between fields or files.
    let shifted = [file("a.warrant", "package p\nb.warrant"), file("c", "package p\nallow x if { }\n")];
    assert_ne!(package_hash(&shifted), package_hash(&[a.clone(), b.clone()]));
    let nul_names = [file("x\0y", "z"), file("w", "v")];
    let nul_texts = [file("x", "y\0z"), file("w", "v")];
    assert_ne!(package_hash(&nul_names), package_hash(&nul_texts));
}

#[test]
fn file_names_with_nul_or_separators_and_duplicate_names_are_refused() {
    for names in [["a\0.warrant", "b.warrant"], ["a/x.warrant", "b.warrant"], ["a\\x.warrant", "b.warrant"]] {
        let files: Vec<_> = names.iter().map(|name| file(name, ALLOW)).collect();
        let diagnostics = compile_files("pol", &files).unwrap_err();
        let kinds: Vec<_> = diagnostics.errors().map(|e| e.kind).collect();
        assert_eq!(kinds, [ErrorKind::InvalidFileName], "{names:?}");
    }
    let one = compile_files("pol", &[file("a/x.warrant", ALLOW)]).unwrap_err();
    assert_eq!(one.errors().map(|e| e.kind).collect::<Vec<_>>(), [ErrorKind::InvalidFileName]);
    let twice = compile_files("pol", &[file("a.warrant", ALLOW), file("a.warrant", DENY)]).unwrap_err();
    let messages: Vec<_> = twice.errors().map(|e| e.message.clone()).collect();
    assert_eq!(messages, ["two files are named \"a.warrant\""]);
    // The version of duplicates would not depend on their order either.
    let (first, second) = (file("a.warrant", ALLOW), file("a.warrant", DENY));
    assert_eq!(package_hash(&[first.clone(), second.clone()]), package_hash(&[second, first]));
}

#[test]
fn a_diagnostic_in_the_second_file_names_it_and_its_line() {
    let bad = "package p\n\ndeny d \"r\" if { chain.depht > 1 }\n";
    let diagnostics = compile_files("pol", &[file("a.warrant", ALLOW), file("b.warrant", bad)]).unwrap_err();
    let kinds: Vec<_> = diagnostics.errors().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::UnknownName]);
    let text = diagnostics.render();
    assert!(text.contains("pol/b.warrant:3:"), "{text}");
    assert!(text.contains("chain.depht"), "{text}");
    assert!(!text.contains("a.warrant"), "{text}");
}

#[test]
fn a_syntax_error_stays_in_its_file() {
    let broken = "package p\nallow x if {\n";
    let diagnostics = compile_files("", &[file("a.warrant", broken), file("b.warrant", DENY)]).unwrap_err();
    let text = diagnostics.render();
    assert!(text.contains("a.warrant:"), "{text}");
    assert!(!text.contains("b.warrant"), "{text}");
}

#[test]
fn a_rule_defined_in_two_files_names_both_places() {
    let twice = "package p\nallow read if { action == \"x\" }\n";
    let diagnostics = compile_files("pol", &[file("a.warrant", ALLOW), file("b.warrant", twice)]).unwrap_err();
    let errors: Vec<_> = diagnostics.errors().collect();
    assert_eq!(errors.len(), 1, "{}", diagnostics.render());
    assert_eq!(errors[0].kind, ErrorKind::DuplicateRule);
    let help = errors[0].help.as_deref().unwrap_or_default();
    assert!(help.starts_with("first defined on line 4 of pol/a.warrant; "), "{help}");
    assert!(diagnostics.render().contains("pol/b.warrant:2:"), "{}", diagnostics.render());
}

#[test]
fn a_type_conflict_across_files_names_the_other_file() {
    let a = "package p\nallow a if { claims.level == 1 }\n";
    let b = "package p\nallow b if { claims.level == \"x\" }\n";
    let diagnostics = compile_files("", &[file("a.warrant", a), file("b.warrant", b)]).unwrap_err();
    let help: Vec<_> = diagnostics.errors().filter_map(|e| e.help.clone()).collect();
    assert!(help.iter().any(|h| h.contains("line 2 of a.warrant")), "{help:?}");
}

#[test]
fn files_of_different_packages_are_refused_naming_both() {
    let other = "package q\ndeny d \"r\" if { now > 1 }\n";
    let diagnostics = compile_files("pol", &[file("a.warrant", ALLOW), file("b.warrant", other)]).unwrap_err();
    let errors: Vec<_> = diagnostics.errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ErrorKind::DuplicatePackage);
    assert_eq!(errors[0].message, "pol/b.warrant declares package `q` but pol/a.warrant declares `p`");
}

#[test]
fn every_file_needs_its_package_line() {
    let headless = "deny d \"r\" if { now > 1 }\n";
    let diagnostics = compile_files("", &[file("a.warrant", ALLOW), file("b.warrant", headless)]).unwrap_err();
    let kinds: Vec<_> = diagnostics.errors().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::MissingPackage]);
    assert!(diagnostics.render().contains("b.warrant"), "{}", diagnostics.render());
}

#[test]
fn no_file_is_an_error_not_a_panic() {
    let diagnostics = compile_files("empty", &[]).unwrap_err();
    assert_eq!(diagnostics.errors().next().map(|e| e.kind), Some(ErrorKind::MissingPackage));
}

fn request_json(json: &str) -> Request {
    Request::from_json_str(json, &ClaimMapping::default()).unwrap()
}

#[test]
fn explanations_name_the_file_of_each_rule() {
    let package = compile_files("pol", &[file("a.warrant", ALLOW), file("b.warrant", DENY)]).unwrap();
    let request =
        Request::from_json_str(r#"{"claims": {}, "action": "read", "now": 5}"#, &ClaimMapping::default()).unwrap();
    let text = package.explain(&request, &serde_json::json!({})).render();
    assert!(text.contains("allow read (pol/a.warrant line 4): held"), "{text}");
    assert!(text.contains("deny late (pol/b.warrant line 3): did not hold"), "{text}");
    let listing = request_json(r#"{"claims": {}, "action": "list", "now": 5}"#);
    let text = package.explain(&listing, &serde_json::json!({})).render();
    assert!(text.contains("in rule reader (pol/a.warrant line 3):"), "{text}");
    let single = compile_files("pol", &[file("a.warrant", ALLOW)]).unwrap();
    assert!(single.explain(&request, &serde_json::json!({})).render().contains("allow read (line 4)"));
}

/// The program without what depends on the file layout (version, rule lines).
fn meaning(mut program: warrant_lang::ir::Program) -> warrant_lang::ir::Program {
    program.source_hash.clear();
    for rule in &mut program.rules {
        rule.line = 0;
    }
    program
}

/// Differential: every scenario policy, cut into two files before each of its rules, compiles
/// to the program of the whole file, each rule keeping its line in its own file.
#[test]
fn a_policy_split_into_two_files_compiles_to_the_same_program() {
    use warrant_lang::ast::Statement;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut texts: Vec<String> = vec![include_str!("policies/billing.warrant").to_string()];
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("policy.warrant");
        texts.extend(std::fs::read_to_string(path).ok());
    }
    let mut splits = 0;
    for text in &texts {
        let whole = compile(text, "whole.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
        let parsed = warrant_lang::parser::parse(text).unwrap();
        let starts: Vec<usize> = parsed
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Rule(rule) => Some(rule.span.start),
                Statement::Package(_) => None,
            })
            .collect();
        for &start in starts.iter().skip(1) {
            // The line the cut falls on (rules are counted after merging helper definitions and
            // inlining helpers with parameters, so positions in `whole.rules` do not tell it).
            let cut_line = text[..start].matches('\n').count() as u32 + 1;
            let second = format!("package {}\n{}", whole.package, &text[start..]);
            let files = [file("a.warrant", &text[..start]), file("b.warrant", &second)];
            let package = compile_files("", &files).unwrap_or_else(|d| panic!("{}", d.render()));
            assert_eq!(meaning(package.program.clone()), meaning(whole.clone()));
            for (rule, (split, name)) in whole.rules.iter().zip(package.program.rules.iter().zip(&package.rule_files)) {
                let (expected_file, expected_line) = if rule.line >= cut_line {
                    ("b.warrant", rule.line - cut_line + 2)
                } else {
                    ("a.warrant", rule.line)
                };
                assert_eq!((name.as_str(), split.line), (expected_file, expected_line), "rule {}", rule.name);
            }
            splits += 1;
        }
    }
    assert!(splits > 20, "the scenarios give many cuts: {splits}");
}
