//! Property tests: no input text makes the front end panic, and whatever compiles satisfies
//! the IR invariants the backends rely on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::collections::HashSet;

use proptest::prelude::*;
use warrant_lang::ir::{Cond, Expr, Program};
use warrant_lang::{compile, compile_files, SourceFile};

const BILLING: &str = include_str!("policies/billing.warrant");

/// Tokens of the language, so that random sequences get past the lexer often.
const TOKENS: &[&str] = &[
    "package p\n",
    "allow",
    "deny",
    "rule",
    "if",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\n",
    ";",
    " ",
    "not",
    "every",
    "some",
    "hop",
    "in",
    "chain",
    "subset",
    "matches",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    ",",
    ".",
    "sub",
    "act",
    "claims",
    "context",
    "prev",
    "index",
    "data",
    "scope",
    "depth",
    "first",
    "x",
    "\"s\"",
    "\"a*\"",
    "\"^a[0-9].*$\"",
    "1",
    "-9",
    "1h",
    "99999999999999999999",
    "true",
    "startswith",
    "r",
    "\"reason\"",
    "#c",
    "\"\\u0041\"",
    "regex",
    "\"[a-z]+@x\\\\.com\"",
    "\"(a|b\"",
    "\"(?u)\\\\w{40}\"",
];

fn check_invariants(program: &Program) {
    let unique: HashSet<_> = program.literals.iter().collect();
    assert_eq!(unique.len(), program.literals.len(), "duplicate literal");
    let slots: HashSet<_> = program.slots.iter().collect();
    assert_eq!(slots.len(), program.slots.len(), "duplicate slot");
    for rule in &program.rules {
        assert_eq!(rule.body.len(), rule.body_text.len());
        rule.body.iter().for_each(|c| check_cond(program, c));
    }
}

fn check_cond(program: &Program, cond: &Cond) {
    match cond {
        Cond::Cmp(_, a, b) | Cond::In(a, b) | Cond::Subset(a, b) => {
            check_expr(program, a);
            check_expr(program, b);
        }
        Cond::StartsWith(e, lit) | Cond::EndsWith(e, lit) | Cond::Matches(e, lit) => {
            check_expr(program, e);
            assert!((*lit as usize) < program.literals.len());
        }
        Cond::Truthy(e) | Cond::Defined(e) => check_expr(program, e),
        Cond::Not(inner) => check_cond(program, inner),
        Cond::Rule(id) => assert!((*id as usize) < program.rules.len()),
        Cond::Every(body) | Cond::Some(body) => body.iter().for_each(|c| check_cond(program, c)),
        Cond::Regex(e, lit) => {
            check_expr(program, e);
            let pattern = &program.literals[*lit as usize];
            assert!(warrant_lang::regex_dfa::build_dfa(pattern).is_ok(), "accepted regex {pattern:?} must build");
        }
    }
}

fn check_expr(program: &Program, expr: &Expr) {
    match expr {
        Expr::Str(lit) => assert!((*lit as usize) < program.literals.len()),
        Expr::StrSet(ids) => assert!(ids.windows(2).all(|w| w[0] < w[1])),
        Expr::Slot(id) => assert!((*id as usize) < program.slots.len()),
        Expr::Lookup { slot, key } => {
            assert!((*slot as usize) < program.slots.len());
            check_expr(program, key);
        }
        Expr::Arith(_, a, b) => {
            check_expr(program, a);
            check_expr(program, b);
        }
        Expr::ActorClaim(_, slot) => assert!((*slot as usize) < program.slots.len()),
        Expr::Int(_) | Expr::Bool(_) | Expr::Actor(..) | Expr::ChainDepth | Expr::HopIndex => {}
    }
}

fn compile_without_panic(source: &str) {
    match compile(source, "fuzz.warrant") {
        Ok(program) => check_invariants(&program),
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let _rendered = diagnostics.render();
        }
    }
}

/// A package of two files: errors name a file, a program keeps its invariants, warnings render.
fn compile_files_without_panic(first: &str, second: &str) {
    let file = |name: &str, text: &str| SourceFile { name: name.into(), text: text.into() };
    match compile_files("fuzz", &[file("a.warrant", first), file("b.warrant", second)]) {
        Ok(package) => {
            check_invariants(&package.program);
            assert_eq!(package.rule_files.len(), package.program.rules.len());
            let _rendered = package.warnings.render();
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let _rendered = diagnostics.render();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_soup_packages_never_panic(
        first in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40),
        second in proptest::collection::vec(proptest::sample::select(TOKENS), 0..40),
    ) {
        compile_files_without_panic(&first.concat(), &second.concat());
    }

    #[test]
    fn policies_split_anywhere_never_panic(cut in 0..BILLING.len(), insert in "\\PC{0,8}") {
        if let (Some(head), Some(tail)) = (BILLING.get(..cut), BILLING.get(cut..)) {
            compile_files_without_panic(head, &format!("package billing\n{insert}{tail}"));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        compile_without_panic(&source);
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        compile_without_panic(&tokens.concat());
    }

    #[test]
    fn mutated_policies_never_panic(cut in 0..BILLING.len(), len in 0usize..20, insert in "\\PC{0,8}") {
        let end = (cut + len).min(BILLING.len());
        if let (Some(head), Some(tail)) = (BILLING.get(..cut), BILLING.get(end..)) {
            compile_without_panic(&format!("{head}{insert}{tail}"));
        }
    }
}
