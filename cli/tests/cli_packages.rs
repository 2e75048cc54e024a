//! Policies over several files end to end: a package folder through `check`, `build`, `eval`,
//! `test` and `fmt`, and `check` on a folder of policies.
// Test code: a failed expectation should panic loudly (the workspace lints forbid it elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::{Path, PathBuf};

mod support;
use support::{scratch_dir, stderr, stdout, warrant};

const ALLOW: &str = "package split\n\nallow read if { action == \"read\" }\n";
const DENY: &str = "package split\n\n# refusals\ndeny late \"too late\" if {\n    now > 100\n}\n";

/// A package folder `NAME` in a scratch folder, with `files` (name, text).
fn package(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch_dir(test).join("pkg");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// `text` without blanks and miette's margin, so that a message wrapped at 80 columns still
/// matches.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn request(dir: &Path, name: &str, now: i64) -> String {
    let path = dir.parent().unwrap().join(name);
    std::fs::write(&path, format!(r#"{{"claims": {{"sub": "ann"}}, "action": "read", "now": {now}}}"#)).unwrap();
    path.display().to_string()
}

#[test]
fn a_two_file_package_is_checked_built_and_evaluated_as_one_policy() {
    let dir = package("two_files", &[("allow.warrant", ALLOW), ("deny.warrant", DENY)]);
    let check = warrant(&["check", text(&dir)]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert_eq!(stdout(&check), format!("ok: {} (2 rules)\n", dir.display()));

    let early = request(&dir, "early.json", 5);
    let allowed = warrant(&["eval", text(&dir), "--input", &early, "--format", "json"]);
    assert!(stdout(&allowed).contains("\"allowed\": true"), "{}{}", stdout(&allowed), stderr(&allowed));
    let late = request(&dir, "late.json", 500);
    let denied = warrant(&["eval", text(&dir), "--input", &late, "--format", "text", "--explain"]);
    let out = stdout(&denied);
    assert!(out.contains("too late"), "{out}");
    assert!(out.contains(&format!("deny late ({}/deny.warrant line 4): held", dir.display())), "{out}");
    assert!(out.contains(&format!("allow read ({}/allow.warrant line 3)", dir.display())), "{out}");

    let module = dir.parent().unwrap().join("split.wasm");
    let build = warrant(&["build", text(&dir), "-o", text(&module)]);
    assert_eq!(build.status.code(), Some(0), "{}", stderr(&build));
    let built = warrant(&["eval", text(&module), "--input", &late, "--format", "json"]);
    assert!(stdout(&built).contains("too late"), "{}", stdout(&built));
}

#[test]
fn warrant_test_accepts_a_package_folder_and_names_the_file_of_an_uncovered_rule() {
    let dir = package("test_folder", &[("allow.warrant", ALLOW), ("deny.warrant", DENY)]);
    let cases = r#"{"policy": "pkg", "cases": [
        {"name": "reads", "request": {"claims": {"sub": "ann"}, "action": "read", "now": 5}, "expect": "allow"}
    ]}"#;
    let tests = dir.parent().unwrap().join("split.test.json");
    std::fs::write(&tests, cases).unwrap();
    let output = warrant(&["test", text(&tests)]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(out.contains("coverage: 1 of 2"), "{out}");
    assert!(out.contains(&format!("never fired: {}/deny.warrant:4 late", dir.display())), "{out}");
}

#[test]
fn a_diagnostic_in_the_second_file_names_that_file() {
    let bad = "package split\ndeny late \"too late\" if { chain.depht > 1 }\n";
    let dir = package("second_file", &[("allow.warrant", ALLOW), ("deny.warrant", bad)]);
    let output = warrant(&["check", text(&dir)]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains(&format!("{}/deny.warrant:2:", dir.display())), "{err}");
    assert!(err.contains("warrant::unknown-name"), "{err}");
}

#[test]
fn a_rule_duplicated_across_files_names_both_places() {
    let again = "package split\nallow read if { action == \"list\" }\n";
    let dir = package("duplicate", &[("allow.warrant", ALLOW), ("more.warrant", again)]);
    let output = warrant(&["check", text(&dir)]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("rule `read` is defined twice"), "{err}");
    assert!(err.contains(&format!("{}/more.warrant:2:", dir.display())), "{err}");
    let help = format!("first defined on line 3 of {}/allow.warrant", dir.display());
    assert!(squeezed(&err).contains(&squeezed(&help)), "{err}");
}

#[test]
fn files_of_different_packages_are_refused_naming_both() {
    let other = "package other\ndeny late \"too late\" if { now > 100 }\n";
    let dir = package("two_packages", &[("allow.warrant", ALLOW), ("deny.warrant", other)]);
    let output = warrant(&["build", text(&dir), "-o", "/dev/null"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let (a, b) = (dir.join("allow.warrant"), dir.join("deny.warrant"));
    let message = format!("{} declares package `other` but {} declares `split`", b.display(), a.display());
    assert!(squeezed(&err).contains(&squeezed(&message)), "{err}");
    assert!(err.contains("warrant::duplicate-package"), "{err}");
}

#[test]
fn check_on_a_folder_of_policies_checks_each_and_fails_if_any_fails() {
    let root = scratch_dir("folder_of_policies");
    for (name, text) in [("good", ALLOW), ("bad", "package bad\nallow x if { nope }\n")] {
        std::fs::create_dir_all(root.join("nested").join(name)).unwrap();
        std::fs::write(root.join("nested").join(name).join("policy.warrant"), text).unwrap();
    }
    let output = warrant(&["check", text(&root)]);
    assert_eq!(output.status.code(), Some(1));
    let good = root.join("nested/good");
    assert!(stdout(&output).contains(&format!("ok: {} (1 rules)", good.display())), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains(&format!("{}/policy.warrant:2:", root.join("nested/bad").display())), "{err}");
    assert!(err.contains("1 of 2 file(s) have errors"), "{err}");
}

#[test]
fn check_on_a_folder_without_policies_fails_rather_than_passing_vacuously() {
    let root = scratch_dir("no_policies");
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let output = warrant(&["check", text(&root)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no policy"), "{}", stderr(&output));
}

#[test]
fn check_on_the_scenario_folder_checks_every_scenario() {
    let output = warrant(&["check", "policies/"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("ok: policies/hr (") && out.contains("ok: policies/transitive ("), "{out}");
}

#[test]
fn fmt_formats_each_file_of_a_package() {
    let dir = package(
        "fmt",
        &[("allow.warrant", "package split\nallow read if {action==\"read\"}\n"), ("deny.warrant", DENY)],
    );
    let output = warrant(&["fmt", text(&dir)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("formatted {}/allow.warrant\n", dir.display()), "deny.warrant was formatted");
    assert_eq!(warrant(&["fmt", "--check", text(&dir)]).status.code(), Some(0));
}

#[test]
fn a_symlinked_deny_file_is_part_of_its_package() {
    let dir = package("symlinked_deny", &[("allow.warrant", ALLOW)]);
    let shared = dir.parent().unwrap().join("shared-deny.txt");
    std::fs::write(&shared, DENY).unwrap();
    std::os::unix::fs::symlink(&shared, dir.join("deny.warrant")).unwrap();
    let late = request(&dir, "late.json", 500);
    let output = warrant(&["eval", text(&dir), "--input", &late, "--format", "json"]);
    let out = stdout(&output);
    assert!(out.contains("\"allowed\": false") && out.contains("too late"), "{out}{}", stderr(&output));
    let check = warrant(&["check", text(&dir)]);
    assert_eq!(stdout(&check), format!("ok: {} (2 rules)\n", dir.display()), "{}", stderr(&check));
}

#[test]
fn check_of_a_folder_fails_on_a_symlinked_broken_policy() {
    let root = scratch_dir("symlinked_broken");
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    let broken = root.join("broken.txt");
    std::fs::write(&broken, "package bad\nallow x if { nope }\n").unwrap();
    std::os::unix::fs::symlink(&broken, root.join("pkg/policy.warrant")).unwrap();
    let output = warrant(&["check", text(&root)]);
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("warrant::unknown-rule"), "{}", stderr(&output));
}

#[test]
fn links_to_directories_and_broken_links_are_errors_naming_them_never_skipped() {
    let root = scratch_dir("linked_dirs");
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::fs::create_dir_all(root.join("folder")).unwrap();
    std::fs::write(root.join("real/policy.warrant"), "package bad\nallow x if { nope }\n").unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("folder/linked")).unwrap();
    let output = warrant(&["check", text(&root.join("folder"))]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(&format!("{} is a symbolic link to a directory", root.join("folder/linked").display())),
        "{err}"
    );

    let tests = scratch_dir("broken_link_tests");
    std::os::unix::fs::symlink(tests.join("gone.test.json"), tests.join("case.test.json")).unwrap();
    let output = warrant(&["test", text(&tests)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(&format!("cannot read {}", tests.join("case.test.json").display())));
}

#[test]
fn build_of_a_folder_appends_wasm_to_its_name() {
    let root = scratch_dir("build_dotted");
    for name in ["acme.crm", "acme.hr"] {
        std::fs::create_dir_all(root.join(name)).unwrap();
        std::fs::write(root.join(name).join("policy.warrant"), ALLOW).unwrap();
        let output = warrant(&["build", &format!("{}/", root.join(name).display())]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(root.join(format!("{name}.wasm")).is_file(), "{}", stdout(&output));
    }
    assert!(!root.join("acme.wasm").exists());
}

#[test]
fn a_folder_that_is_both_a_package_and_a_folder_of_packages_is_refused() {
    let root = scratch_dir("package_and_folder");
    std::fs::create_dir_all(root.join("crm")).unwrap();
    std::fs::write(root.join("notes.warrant"), ALLOW).unwrap();
    std::fs::write(root.join("crm/policy.warrant"), "package bad\nallow x if { nope }\n").unwrap();
    let message = format!(
        "{} holds `.warrant` files, so it is one package, but {} holds more",
        root.display(),
        root.join("crm").display()
    );
    for command in ["check", "build"] {
        let output = warrant(&[command, text(&root)]);
        assert_eq!(output.status.code(), Some(1), "{command}: {}", stdout(&output));
        assert!(stderr(&output).contains(&message), "{command}: {}", stderr(&output));
    }
}

#[test]
fn a_file_name_that_is_not_utf8_is_refused_not_replaced() {
    use std::os::unix::ffi::OsStrExt;
    let dir = package("non_utf8_name", &[("allow.warrant", ALLOW)]);
    let name = std::ffi::OsStr::from_bytes(b"deny\xff.warrant");
    std::fs::write(dir.join(name), DENY).unwrap();
    let output = warrant(&["check", text(&dir)]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stderr(&output).contains("the file name is not UTF-8"), "{}", stderr(&output));
}
