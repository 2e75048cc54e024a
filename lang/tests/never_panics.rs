//! Property tests: no input text makes the front end panic, and whatever compiles satisfies
//! the IR invariants the backends rely on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::collections::HashSet;

use proptest::prelude::*;
use warrant_lang::ir::{ActorRef, CmpOp, Cond, Expr, Outcome, Program, RuleKind};
use warrant_lang::reason::ReasonPart;
use warrant_lang::request::Request;
use warrant_lang::{compile, compile_files, SourceFile};

const BILLING: &str = include_str!("policies/billing.warrant");
/// Concatenation, `lower`/`upper`, computed patterns, `count`, `intersects`, `&`.
const STRINGS: &str = include_str!("../../tests/conformance/strings/policy.warrant");

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
    "or",
    "||",
    "&&",
    "and",
    "rule h if { x }\n",
    "rule h if { sub == \"s\" }\n",
    "rule f(v) if { v == sub }\n",
    "rule f(v, w) if { data.t[v].x == w }\n",
    "f(",
    "f(sub)",
    "rule g(v) if { f(v); f(v) }\n",
    "v",
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
    "endswith",
    "lower",
    "upper",
    "count",
    "intersects",
    "&",
    "{}",
    "{\"a\", \"B\"}",
    "r",
    "\"reason\"",
    "#c",
    "\"\\u0041\"",
    "\"r {sub} {{x}}\"",
    "\"{claims.a.b}\"",
    "\"{data.x}\"",
    "\"{\"",
    "\"}\"",
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
    let names: HashSet<_> = program.rules.iter().map(|r| &r.name).collect();
    assert_eq!(names.len(), program.rules.len(), "duplicate rule name");
    for rule in &program.rules {
        assert_eq!(rule.body.len(), rule.body_text.len());
        rule.body.iter().for_each(|c| check_cond(program, c));
    }
    for (&id, parts) in &program.reason_templates {
        assert!(matches!(program.rules[id as usize].kind, RuleKind::Deny { .. }), "template on a non-deny rule");
        for part in parts {
            if let ReasonPart::Value(expr) = part {
                let request_only = match expr {
                    Expr::Slot(slot) => !program.slots[*slot as usize].source.is_data(),
                    Expr::Actor(which, _) => *which != ActorRef::Hop,
                    Expr::ChainDepth => true,
                    _ => false,
                };
                assert!(request_only, "a reason placeholder reads more than the request: {expr:?}");
            }
        }
    }
    let outcome = Outcome { fired: (0..program.rules.len() as u32).collect(), undecided: vec![] };
    let _reasons = program.rendered_deny_reasons(&outcome, &Request::default());
}

fn check_cond(program: &Program, cond: &Cond) {
    match cond {
        Cond::Cmp(op, a, b) => {
            // Computed strings: never a concatenation on both sides.
            assert!(!(a.is_concatenation() && b.is_concatenation()));
            // An intersection is only compared with `{}`.
            for (side, other) in [(a, b), (b, a)] {
                if let Expr::Intersect(x, y) = side {
                    assert!(matches!(op, CmpOp::Eq | CmpOp::Ne) && *other == Expr::StrSet(vec![]));
                    check_expr(program, x);
                    check_expr(program, y);
                    return;
                }
            }
            check_operand(program, a);
            check_operand(program, b);
        }
        Cond::In(a, b) => {
            assert!(!a.is_computed_str() || matches!(b, Expr::StrSet(_)), "computed string in a non-literal set");
            check_operand(program, a);
            check_expr(program, b);
        }
        Cond::StartsWithValue(a, b) | Cond::EndsWithValue(a, b) => {
            assert!(!a.is_concatenation(), "concatenated startswith/endswith subject");
            check_operand(program, a);
            check_operand(program, b);
        }
        Cond::Subset(a, b) | Cond::Intersects(a, b) => {
            check_expr(program, a);
            check_expr(program, b);
        }
        Cond::StartsWith(e, lit) | Cond::EndsWith(e, lit) | Cond::Matches(e, lit) => {
            check_expr(program, e);
            assert!((*lit as usize) < program.literals.len());
        }
        Cond::Truthy(e) => check_expr(program, e),
        Cond::Defined(e) => check_operand(program, e),
        Cond::Not(inner) => check_cond(program, inner),
        Cond::Rule(id) => assert!((*id as usize) < program.rules.len()),
        Cond::Every(body) | Cond::Some(body) => body.iter().for_each(|c| check_cond(program, c)),
        Cond::Any(branches) => branches.iter().flatten().for_each(|c| check_cond(program, c)),
        Cond::Regex(e, lit) => {
            check_expr(program, e);
            let pattern = &program.literals[*lit as usize];
            assert!(warrant_lang::regex_dfa::build_dfa(pattern).is_ok(), "accepted regex {pattern:?} must build");
        }
    }
}

/// An operand where a computed string is allowed: its parts are checked like any expression.
fn check_operand(program: &Program, expr: &Expr) {
    match expr {
        Expr::Concat(a, b) => {
            check_operand(program, a);
            check_operand(program, b);
        }
        Expr::Case(_, inner) => check_operand(program, inner),
        other => check_expr(program, other),
    }
}

/// An expression in a position that needs an interned string (or no string): never computed.
fn check_expr(program: &Program, expr: &Expr) {
    assert!(!expr.is_computed_str(), "computed string where an id is needed: {expr:?}");
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
        Expr::Count(set) => match &**set {
            Expr::Intersect(x, y) => {
                check_expr(program, x);
                check_expr(program, y);
            }
            other => check_expr(program, other),
        },
        Expr::Concat(..) | Expr::Case(..) => {}
        Expr::Intersect(..) => panic!("intersection outside `count` or `== {{}}`: {expr:?}"),
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
    compile_package_without_panic(&[file("a.warrant", first), file("b.warrant", second)]);
}

/// Any package: errors name a file, a program keeps its invariants, warnings render.
fn compile_package_without_panic(files: &[SourceFile]) {
    match compile_files("fuzz", files) {
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

/// `base` with `len` bytes at `cut` replaced by `insert` (skipped when `cut` splits a character).
fn compile_mutated(base: &str, cut: usize, len: usize, insert: &str) {
    let end = (cut + len).min(base.len());
    if let (Some(head), Some(tail)) = (base.get(..cut), base.get(end..)) {
        compile_without_panic(&format!("{head}{insert}{tail}"));
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
    fn arbitrary_file_names_never_panic(names in proptest::collection::vec("[ab/\\\\\0.]{0,4}", 0..4)) {
        let files: Vec<SourceFile> =
            names.iter().map(|name| SourceFile { name: name.clone(), text: "package p\n".into() }).collect();
        compile_package_without_panic(&files);
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
    fn deny_reasons_never_panic(reason in "([{}. _\\\\]|sub|claims|data|act|chain|depth|first|x|hop|\\\\u00e9|é){0,24}") {
        compile_without_panic(&format!("package p\ndeny d \"{reason}\" if {{ every hop in chain {{ hop.sub == \"x\" }} }}\n"));
    }

    #[test]
    fn mutated_policies_never_panic(cut in 0..BILLING.len(), len in 0usize..20, insert in "\\PC{0,8}") {
        compile_mutated(BILLING, cut, len, &insert);
    }

    #[test]
    fn mutated_string_policies_never_panic(
        cut in 0..STRINGS.len(),
        len in 0usize..20,
        insert in proptest::sample::select(TOKENS),
    ) {
        compile_mutated(STRINGS, cut, len, insert);
    }
}
