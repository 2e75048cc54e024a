//! `warrant test PATH…`: runs the policy test cases of `*.test.json` files.
//!
//! A test file sits beside its policy; paths in it are relative to the test file:
//! ```json
//! {
//!   "policy": "policy.warrant",
//!   "data": "data.json",
//!   "cases": [
//!     { "name": "agent reads its customer's case", "request_file": "allow.json", "expect": "allow" },
//!     { "name": "bulk update is refused", "request": { "claims": {}, "action": "x" },
//!       "expect": "deny", "reasons": ["..."], "fired": ["bulk_update"] }
//!   ]
//! }
//! ```
//! (the format, including signed-token cases, is in `test/spec.rs` and docs/language.md).
//! Decisions come from the real engine (Wasm in wasmtime, the product path); the reference
//! evaluator only explains them. Afterwards, every allow and deny rule that no case fired is
//! listed: a rule no test exercises is a rule no test protects.
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;

use warrant::token::TokenVerifier;
use warrant::{Decision, Engine, Policy, Request};
use warrant_lang::eval::glob_matches;
use warrant_lang::ir::RuleKind;
use warrant_lang::warnings::{data_not_given, now_not_given, Warnings};
use warrant_lang::CompiledPackage;

use super::files::find_files;
use super::input::{print_warnings, read_json, PolicySource, MAX_DATA_BYTES};
use super::CliError;
use spec::{Case, CaseInput, TestFile, Verdict};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files, or directories searched recursively for `*.test.json`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Show every case's decision and explanation, not only the failures'.
    #[arg(short, long)]
    verbose: bool,
    /// Run only the cases whose name contains FILTER.
    #[arg(long, value_name = "FILTER")]
    run: Option<String>,
}

/// A policy under test: compiled for the engine and, for explanations, for the evaluator.
struct Subject {
    path: PathBuf,
    package: CompiledPackage,
    policy: Policy,
    data: Value,
    verifier: Option<TokenVerifier>,
}

/// Counts over the whole run, and the rules fired per policy file (for coverage), keyed by
/// canonical path so that test files naming one policy differently share its coverage.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    coverage: BTreeMap<PathBuf, Coverage>,
}

struct Coverage {
    /// Allow and deny rules: name, file and line.
    rules: Vec<(String, String, u32)>,
    fired: BTreeSet<String>,
}

pub fn run(args: &TestArgs) -> Result<(), CliError> {
    let files = find_files(&args.paths, ".test.json")?;
    let engine = Engine::new().map_err(|source| CliError::Engine { path: PathBuf::from("."), source })?;
    let mut tally = Tally::default();
    for file in &files {
        run_file(&engine, file, args, &mut tally);
    }
    print_coverage(&tally);
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        return Err(CliError::TestsFailed { failed: tally.failed });
    }
    if tally.passed == 0 {
        return Err(CliError::NoTests);
    }
    Ok(())
}

/// Runs the selected cases of one test file. A file that cannot be used (unreadable, invalid,
/// its policy does not compile) counts as one failure.
fn run_file(engine: &Engine, file: &Path, args: &TestArgs, tally: &mut Tally) {
    println!("{}", file.display());
    let dir = file.parent().unwrap_or(Path::new("."));
    let (tests, subject) = match load(engine, file, dir) {
        Ok(loaded) => loaded,
        Err(error) => {
            error.report();
            tally.failed += 1;
            return;
        }
    };
    let key = std::fs::canonicalize(&subject.path).unwrap_or_else(|_| subject.path.clone());
    let coverage = tally.coverage.entry(key).or_insert_with(|| Coverage {
        rules: subject
            .package
            .program
            .rules
            .iter()
            .zip(&subject.package.rule_files)
            .filter(|(rule, _)| !matches!(rule.kind, RuleKind::Helper))
            .map(|(rule, file)| (rule.name.clone(), file.clone(), rule.line))
            .collect(),
        fired: BTreeSet::new(),
    });
    print_warnings(&subject.package.warnings);
    print_warnings(&Warnings::unplaced(
        data_not_given(&subject.package.program, tests.data.is_some()).into_iter().collect(),
    ));
    let mut warned_now = false;
    let selected = tests.cases.iter().filter(|case| args.run.as_ref().is_none_or(|filter| case.name.contains(filter)));
    for case in selected {
        let (request, decision) = match run_case(&subject, case, dir) {
            Ok(outcome) => outcome,
            Err(error) => {
                tally.failed += 1;
                println!("  ERROR {}: {error}", case.name);
                continue;
            }
        };
        let no_now = request.as_ref().and_then(|request| now_not_given(&subject.package.program, request));
        if let Some(mut warning) = no_now.filter(|_| !warned_now) {
            // Once per file: the cases of one file usually share their shape.
            warning.message = format!("case `{}`: {}", case.name, warning.message);
            print_warnings(&Warnings::unplaced(vec![warning]));
            warned_now = true;
        }
        coverage.fired.extend(decision.fired.iter().map(|rule| rule.name.clone()));
        let differences = differences(case, &decision);
        if differences.is_empty() {
            tally.passed += 1;
            println!("  ok    {}", case.name);
        } else {
            tally.failed += 1;
            println!("  FAIL  {}", case.name);
            for line in &differences {
                println!("        {line}");
            }
        }
        if args.verbose || !differences.is_empty() {
            print_explanation(&subject, request.as_ref(), &decision);
        }
    }
}

fn load(engine: &Engine, file: &Path, dir: &Path) -> Result<(TestFile, Subject), CliError> {
    let tests = TestFile::load(file)?;
    let path = dir.join(&tests.policy);
    let source = PolicySource::read(&path)?;
    let engine_error = |source| CliError::Engine { path: path.clone(), source };
    let package = source.compile().map_err(|d| engine_error(d.into()))?;
    let policy = engine.compile_package(source.origin(), source.files()).map_err(engine_error)?;
    let data = match &tests.data {
        Some(data) => read_json(&dir.join(data), "data documents", MAX_DATA_BYTES)?,
        None => Value::Object(Default::default()),
    };
    policy.replace_shared_data(&data).map_err(engine_error)?;
    let verifier = tests.issuer.as_ref().map(|issuer| issuer.verifier(dir)).transpose()?;
    Ok((tests, Subject { path, package, policy, data, verifier }))
}

/// Decides one case with the engine; a token that fails verification is denied before the
/// policy runs, as the gateway does (and there is then no request to explain).
fn run_case(subject: &Subject, case: &Case, dir: &Path) -> Result<(Option<Request>, Decision), CliError> {
    match case.input(dir, subject.verifier.as_ref())? {
        CaseInput::Request(request) => {
            let decision = subject
                .policy
                .decide(&request)
                .map_err(|source| CliError::Engine { path: subject.path.clone(), source })?;
            Ok((Some(*request), decision))
        }
        CaseInput::RejectedToken(reason) => Ok((None, subject.policy.deny(reason))),
    }
}

/// What the case expected and the engine did not do, as `-` expected / `+` got line pairs.
fn differences(case: &Case, decision: &Decision) -> Vec<String> {
    let mut lines = Vec::new();
    let got = Verdict::of(decision.allowed);
    if got != case.expect {
        lines.push(format!("- decision: {}", case.expect.word()));
        lines.push(format!("+ decision: {}", got.word()));
    }
    let fired: Vec<String> = decision.fired.iter().map(|rule| rule.name.clone()).collect();
    let checks = [
        (
            "reasons",
            &case.reasons,
            &decision.deny_reasons,
            case.reasons.as_ref().map(|e| reasons_match(e, &decision.deny_reasons)),
        ),
        ("fired", &case.fired, &fired, case.fired.as_ref().map(|e| sorted(e) == sorted(&fired))),
    ];
    for (what, expected, actual, matched) in checks {
        if let (Some(expected), Some(false)) = (expected, matched) {
            lines.push(format!("- {what}: {}", list(expected)));
            lines.push(format!("+ {what}: {}", list(actual)));
        }
    }
    lines
}

/// Whether the expected reason patterns and the reasons pair up one to one, in any order, each
/// pattern matching its reason with `matches` semantics (`*` any run of bytes; a pattern
/// without `*` is the exact reason). A perfect bipartite matching, found by augmenting paths.
fn reasons_match(patterns: &[String], reasons: &[String]) -> bool {
    if patterns.len() != reasons.len() {
        return false;
    }
    let fits = |p: usize, r: usize| match (patterns.get(p), reasons.get(r)) {
        (Some(pattern), Some(reason)) => glob_matches(reason.as_bytes(), pattern.as_bytes()),
        _ => false,
    };
    // `owner[r]`: the pattern reason `r` is paired with so far.
    let mut owner: Vec<Option<usize>> = vec![None; reasons.len()];
    (0..patterns.len()).all(|p| augment(p, &fits, &mut owner, &mut vec![false; reasons.len()]))
}

/// Pairs pattern `p` with a free reason, or with one whose pattern can move to another.
fn augment(p: usize, fits: &dyn Fn(usize, usize) -> bool, owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
    for r in 0..owner.len() {
        if !fits(p, r) || seen.get(r).copied().unwrap_or(true) {
            continue;
        }
        if let Some(visited) = seen.get_mut(r) {
            *visited = true;
        }
        let current = owner.get(r).copied().flatten();
        if current.is_none_or(|other| augment(other, fits, owner, seen)) {
            if let Some(slot) = owner.get_mut(r) {
                *slot = Some(p);
            }
            return true;
        }
    }
    false
}

fn sorted(items: &[String]) -> Vec<&str> {
    let mut items: Vec<&str> = items.iter().map(String::as_str).collect();
    items.sort_unstable();
    items
}

/// `["a", "b"]`: quoted, so empty strings and spaces stay visible.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| Value::from(item.as_ref()).to_string()).collect();
    format!("[{}]", quoted.join(", "))
}

fn print_explanation(subject: &Subject, request: Option<&Request>, decision: &Decision) {
    let fired: Vec<&str> = decision.fired.iter().map(|rule| rule.name.as_str()).collect();
    let verdict = Verdict::of(decision.allowed).word();
    println!("        got {verdict}: fired {}, reasons {}", list(&fired), list(&decision.deny_reasons));
    let Some(request) = request else {
        println!("        the token was refused before the policy ran");
        return;
    };
    println!("        why (reference evaluator):");
    for line in subject.package.explain(request, &subject.data).render().lines() {
        println!("          {line}");
    }
}

/// Lists the rules no case fired; says nothing when no policy could be loaded (the errors say
/// why, and "0 of 0" would only add noise).
fn print_coverage(tally: &Tally) {
    if tally.coverage.is_empty() {
        return;
    }
    let never: Vec<&(String, String, u32)> = tally
        .coverage
        .values()
        .flat_map(|coverage| coverage.rules.iter().filter(|(name, _, _)| !coverage.fired.contains(name)))
        .collect();
    let total: usize = tally.coverage.values().map(|c| c.rules.len()).sum();
    println!("coverage: {} of {total} allow/deny rules fired in some case", total - never.len());
    for (name, file, line) in never {
        println!("  never fired: {file}:{line} {name}");
    }
}
