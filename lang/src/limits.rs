//! The size limits a policy must respect, checked before any other pass so that whatever
//! `warrant check` accepts also builds, loads and decides in time proportional to its size.
//! Each limit is refused with [`ErrorKind::LimitExceeded`] naming it. (Nesting depth is bounded
//! by the parser, [`crate::parser::MAX_NESTING`]; helper chains by
//! [`crate::rule_graph::MAX_HELPER_DEPTH`].)
use crate::ast::{CondKind, Policy, Statement};
use crate::diagnostics::{Error, ErrorKind};

/// Conditions in one rule, counting those inside `not` and quantifiers. Wasm compilers need
/// superlinear time on very large functions: measured with `warrant eval`, 1 000 conditions in
/// one rule load in 0.4 s, 4 000 in 8 s and 575 MB, 100 000 exhaust 24 GiB.
pub const MAX_CONDITIONS_PER_RULE: usize = 256;

/// Conditions in the whole policy.
pub const MAX_CONDITIONS: usize = 20_000;

/// Work allowed for one `matches` test: subject bytes × pattern bytes. Above it the test is
/// undecided (a deny rule using it fires, an allow rule does not), so no host needs an
/// external deadline to stop a pathological match (at most ~16 M steps of the matcher).
pub const MAX_GLOB_WORK: u64 = 1 << 24;

/// Cells of the transition table of one `regex(...)` pattern: DFA states × byte classes. The
/// table is part of the module (2 bytes a cell, so at most 64 KiB a pattern); over it the
/// pattern is refused at compile time (Unicode classes under `(?u)` are the usual cause).
pub const MAX_REGEX_DFA_CELLS: usize = 1 << 15;

/// Cells of the tables of all the distinct `regex(...)` patterns of a policy (512 KiB of
/// module), so that the module's size and build time stay proportional to the policy's.
pub const MAX_REGEX_CELLS_TOTAL: usize = 1 << 18;

/// Refuses a policy over [`MAX_CONDITIONS_PER_RULE`] or [`MAX_CONDITIONS`].
pub fn check_limits(policy: &Policy) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut total = 0usize;
    for statement in &policy.statements {
        let Statement::Rule(rule) = statement else { continue };
        let count = count_conditions(&rule.body);
        total = total.saturating_add(count);
        if count > MAX_CONDITIONS_PER_RULE {
            errors.push(
                Error::new(
                    ErrorKind::LimitExceeded,
                    rule.name.span,
                    format!("rule `{}` has {count} conditions", rule.name.name),
                    "this rule is too large",
                )
                .with_help(format!(
                    "a rule may have at most {MAX_CONDITIONS_PER_RULE} conditions; split it, or move a long \
                     list of values into a set (`x in {{...}}`) or into data"
                )),
            );
        }
        if total > MAX_CONDITIONS {
            errors.push(
                Error::new(
                    ErrorKind::LimitExceeded,
                    rule.name.span,
                    format!("the policy has more than {MAX_CONDITIONS} conditions"),
                    "the limit is passed in this rule",
                )
                .with_help("move long lists of values into sets or data, or split the policy"),
            );
            break;
        }
    }
    errors
}

/// Conditions of a body, nested ones included (nesting is bounded by the parser).
pub(crate) fn count_conditions(body: &[crate::ast::Cond]) -> usize {
    body.iter()
        .map(|cond| match &cond.kind {
            CondKind::Not(inner) => 1 + count_conditions(std::slice::from_ref(inner.as_ref())),
            CondKind::Quantified { body, .. } => 1 + count_conditions(body),
            CondKind::Or(branches) => 1 + count_conditions(branches),
            CondKind::Binary { .. } | CondKind::Call { .. } | CondKind::Bare(_) => 1,
        })
        .fold(0, usize::saturating_add)
}
