//! Rules that can never fire: a condition over literals only that is false (`"a" == "b"`,
//! `3 > 5`), or one conjunction requiring the same value to equal two different literals.
//! Cheap checks on the lowered program; constant conditions are decided by the reference
//! evaluator itself so that compile-time and run-time semantics cannot drift apart.
use std::collections::HashMap;

use serde_json::Value;

use crate::ast::Span;
use crate::check::{CheckedCond, CheckedCondKind, CheckedPolicy};
use crate::diagnostics::{Error, ErrorKind};
use crate::eval::{condition_truth, Truth};
use crate::ir::{CaseMap, CmpOp, Cond, Expr, LitId, Program};
use crate::request::Request;

/// Errors for never-true conditions; `checked` is the policy `program` was lowered from
/// (same shape), which supplies the spans.
pub fn check(program: &Program, checked: &CheckedPolicy, source: &str) -> Vec<Error> {
    let mut errors = Vec::new();
    for (rule, checked_rule) in program.rules.iter().zip(&checked.rules) {
        conjunction(program, &rule.body, &checked_rule.body, &rule.name, source, &mut errors);
    }
    errors
}

fn conjunction(
    program: &Program,
    body: &[Cond],
    spans: &[CheckedCond],
    rule: &str,
    source: &str,
    errors: &mut Vec<Error>,
) {
    let mut required: HashMap<&Expr, (LitId, Span)> = HashMap::new();
    for (cond, checked) in body.iter().zip(spans) {
        if is_constant(cond) && condition_truth(program, &Request::default(), &Value::Null, cond) == Truth::False {
            errors.push(
                Error::new(ErrorKind::Unsatisfiable, checked.span, "this condition is always false", "never holds")
                    .with_help(format!("rule `{rule}` can never fire; fix or remove the condition")),
            );
        }
        if let Some((case, literal)) = case_mapped_equality(program, cond) {
            let mapped = case.apply(literal);
            errors.push(
                Error::new(
                    ErrorKind::Unsatisfiable,
                    checked.span,
                    format!("`{}(...)` never equals {}", case.name(), crate::fmt::string_literal(literal)),
                    "never holds",
                )
                .with_help(format!(
                    "`{}` maps every ASCII letter; compare with {} (rule `{rule}` can never fire as written)",
                    case.name(),
                    crate::fmt::string_literal(&mapped)
                )),
            );
        }
        if let Some((value, literal)) = equality_with_literal(cond) {
            match required.get(value) {
                Some(&(earlier, earlier_span)) if earlier != literal => errors.push(
                    Error::new(
                        ErrorKind::Unsatisfiable,
                        checked.span,
                        "conflicting requirements: a value cannot equal two different strings",
                        "contradicts an earlier condition",
                    )
                    .with_help(format!(
                        "`{}` already requires another value; rule `{rule}` can never fire",
                        earlier_span.text(source)
                    )),
                ),
                Some(_) => {}
                None => {
                    required.insert(value, (literal, checked.span));
                }
            }
        }
        if let (
            Cond::Every(inner) | Cond::Some(inner),
            CheckedCondKind::Every(inner_spans) | CheckedCondKind::Some(inner_spans),
        ) = (cond, &checked.kind)
        {
            conjunction(program, inner, inner_spans, rule, source, errors);
        }
    }
}

/// `lower(x) == "Lit"` / `upper(x) == "lit"` (either way round) with a literal the mapping
/// changes: never true.
fn case_mapped_equality<'p>(program: &'p Program, cond: &Cond) -> Option<(CaseMap, &'p str)> {
    let (Cond::Cmp(CmpOp::Eq, Expr::Case(case, _), Expr::Str(lit))
    | Cond::Cmp(CmpOp::Eq, Expr::Str(lit), Expr::Case(case, _))) = cond
    else {
        return None;
    };
    let literal = program.literals.get(*lit as usize)?;
    (case.apply(literal) != *literal).then_some((*case, literal.as_str()))
}

/// `value == "lit"` (either way round) where `value` reads an input.
fn equality_with_literal(cond: &Cond) -> Option<(&Expr, LitId)> {
    match cond {
        Cond::Cmp(CmpOp::Eq, Expr::Str(lit), value) | Cond::Cmp(CmpOp::Eq, value, Expr::Str(lit))
            if !value.is_constant() =>
        {
            Some((value, *lit))
        }
        _ => None,
    }
}

/// A condition that reads no input (so its value is known at compile time).
fn is_constant(cond: &Cond) -> bool {
    match cond {
        Cond::Not(inner) => is_constant(inner),
        Cond::Rule(_) | Cond::Every(_) | Cond::Some(_) | Cond::Any(_) => false,
        atomic => atomic.operands().all(Expr::is_constant),
    }
}
