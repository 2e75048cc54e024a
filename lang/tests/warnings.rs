//! Warnings: regex-looking `matches` patterns in the text, data and `now` missing from an
//! evaluation's inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use warrant_lang::request::{ClaimMapping, Request};
use warrant_lang::warnings::{input_warnings, WarningKind};
use warrant_lang::{compile, compile_files, SourceFile};

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile { name: name.into(), text: text.into() }
}

fn request(json: &str) -> Request {
    Request::from_json_str(json, &ClaimMapping::default()).unwrap()
}

#[test]
fn regex_looking_patterns_are_flagged_where_they_are_even_nested() {
    let policy =
        "package p\nallow a if {\n    sub matches \"user:*\"\n    not resource matches \"^https://x/.*$\"\n    \
                  every hop in chain { hop.sub matches \"agent-\\\\d\" }\n}\n";
    let package = compile_files("", &[file("p.warrant", policy)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let kinds: Vec<_> = package.warnings.warnings().map(|w| w.kind).collect();
    assert_eq!(kinds, [WarningKind::RegexLikeGlob, WarningKind::RegexLikeGlob]);
    let text = package.warnings.render();
    assert!(text.contains("warrant::regex-like-glob"), "{text}");
    assert!(text.contains("regex(VALUE, \"pattern\")"), "the hint offers `regex`: {text}");
    assert!(text.contains("p.warrant:4:26"), "{text}");
    assert!(text.contains("p.warrant:5:42"), "{text}");
    assert!(text.contains('⚠'), "rendered as a warning: {text}");
    assert!(!text.contains("p.warrant:3:"), "a real glob is not flagged: {text}");
}

#[test]
fn warnings_of_a_package_name_their_file() {
    let allow = "package p\nallow a if { action == \"read\" }\n";
    let deny = "package p\ndeny d \"r\" if { sub matches \"(ann|bob)\" }\n";
    let package = compile_files("pol", &[file("a.warrant", allow), file("b.warrant", deny)]).unwrap();
    assert_eq!(package.warnings.len(), 1);
    assert!(package.warnings.render().contains("pol/b.warrant:2:"), "{}", package.warnings.render());
}

#[test]
fn data_and_now_missing_from_the_inputs_are_flagged() {
    let reads_both = compile("package p\nallow a if { now < data.deadline }\n", "p").unwrap();
    let kinds = |program, json: &str, data_given| -> Vec<WarningKind> {
        input_warnings(program, &request(json), data_given).iter().map(|w| w.kind).collect()
    };
    assert_eq!(kinds(&reads_both, r#"{"claims": {}}"#, false), [WarningKind::DataNotGiven, WarningKind::NowNotGiven]);
    assert_eq!(kinds(&reads_both, r#"{"claims": {}, "now": 5}"#, true), []);
    // The host's revocation lists read as empty sets without a document: nothing to warn about.
    let revocations = compile("package p\nallow a if { not act.instance in data.revoked_instances }\n", "p").unwrap();
    assert_eq!(kinds(&revocations, r#"{"claims": {}}"#, false), []);
}
