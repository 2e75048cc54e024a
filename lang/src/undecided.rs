//! Why a condition could not be decided, in words every backend agrees on.
//!
//! A condition that reads a missing or ill-typed value, or whose integer arithmetic overflows,
//! is *undecided* (docs/language.md, "Missing and ill-typed values"). A deny rule whose body is
//! undecided denies, and its reason names the value: [`undecided_reason`]. The reference
//! evaluator words the message with [`missing`] / [`overflow`]; the Wasm backend cannot carry
//! strings, so it reports an index into [`messages`], the sorted table of every message the
//! program can produce, which the manifest ships. Both backends pick the same message when
//! several values are missing (see `crate::eval::Truth`): the table's order is the messages' order.
use std::collections::BTreeSet;

use crate::ir::{Cond, Expr, LitId, Program, Source, Ty};
use crate::text::expr_text;

/// The deny reason of a deny rule that fired because its body could not be decided.
pub fn undecided_reason(reason: &str, message: &str) -> String {
    format!("{reason} (cannot be decided: {message})")
}

/// The message for `expr` reading as missing (`expr` is a slot, a table lookup, an actor field
/// or an actor's claim).
pub fn missing(program: &Program, expr: &Expr) -> String {
    let text = expr_text(program, expr);
    let ty = match expr {
        Expr::Slot(slot) | Expr::Lookup { slot, .. } | Expr::ActorClaim(_, slot) => {
            program.slots.get(*slot as usize).map(|s| s.ty)
        }
        _ => None,
    };
    match ty {
        Some(Ty::Str) => format!("{text} is missing or not a string"),
        Some(Ty::Int) => format!("{text} is missing or not an integer"),
        Some(Ty::Bool) => format!("{text} is missing or not a boolean"),
        Some(Ty::StrSet) => format!("{text} is missing or not a set of strings"),
        None => format!("{text} is missing"),
    }
}

/// The message for the integer expression `expr` overflowing 64 bits.
pub fn overflow(program: &Program, expr: &Expr) -> String {
    format!("{} overflows a 64-bit integer", expr_text(program, expr))
}

/// The message for `expr matches "pattern"` whose subject is too long for the matching budget
/// ([`crate::limits::MAX_GLOB_WORK`]).
pub fn glob_too_long(program: &Program, expr: &Expr, pattern: LitId) -> String {
    let pattern = program.literals.get(pattern as usize).map_or("?", String::as_str);
    format!(
        "{} is too long to match against a {}-byte pattern (limit: {} bytes × pattern bytes)",
        expr_text(program, expr),
        pattern.len(),
        crate::limits::MAX_GLOB_WORK
    )
}

/// Every message `program` can produce, sorted and unique: the table the Wasm backend indexes.
pub fn messages(program: &Program) -> Vec<String> {
    let mut found = BTreeSet::new();
    for rule in &program.rules {
        for cond in &rule.body {
            cond_messages(program, cond, &mut found);
        }
    }
    found.into_iter().collect()
}

fn cond_messages(program: &Program, cond: &Cond, out: &mut BTreeSet<String>) {
    match cond {
        Cond::Not(inner) => cond_messages(program, inner, out),
        Cond::Every(body) | Cond::Some(body) => body.iter().for_each(|c| cond_messages(program, c, out)),
        Cond::Any(branches) => branches.iter().flatten().for_each(|c| cond_messages(program, c, out)),
        Cond::Rule(_) => {}
        atomic => {
            atomic.operands().for_each(|e| expr_messages(program, e, out));
            if let Cond::Matches(e, pattern) = atomic {
                out.insert(glob_too_long(program, e, *pattern));
            }
        }
    }
}

fn expr_messages(program: &Program, expr: &Expr, out: &mut BTreeSet<String>) {
    match expr {
        Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) | Expr::StrSet(_) | Expr::ChainDepth | Expr::HopIndex => {}
        Expr::Slot(slot) => {
            let is_table =
                program.slots.get(*slot as usize).is_some_and(|s| matches!(s.source, Source::DataTable { .. }));
            if !is_table {
                out.insert(missing(program, expr));
            }
        }
        Expr::Actor(..) | Expr::ActorClaim(..) => {
            out.insert(missing(program, expr));
        }
        Expr::Lookup { key, .. } => {
            expr_messages(program, key, out);
            out.insert(missing(program, expr));
        }
        Expr::Arith(_, a, b) => {
            expr_messages(program, a, out);
            expr_messages(program, b, out);
            out.insert(overflow(program, expr));
        }
        // Missing exactly when a part is: no message of their own.
        Expr::Concat(a, b) | Expr::Intersect(a, b) => {
            expr_messages(program, a, out);
            expr_messages(program, b, out);
        }
        Expr::Case(_, inner) | Expr::Count(inner) => expr_messages(program, inner, out),
    }
}
