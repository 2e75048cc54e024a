//! Types of values: inference of claim/data path types from their uses, then checking that
//! every operator gets operands of the types it takes. Separate from name resolution
//! (`check.rs`) because the typing rules change for different reasons than the vocabulary.
use std::collections::{HashMap, HashSet};

use crate::ast::Span;
use crate::check::{
    is_ordering, line_of, CheckedCond, CheckedCondKind, CheckedExpr, CheckedExprKind, CheckedPolicy, CheckedRule,
};
use crate::diagnostics::{Error, ErrorKind};
use crate::ir::{Source, Ty};

/// Type errors of a policy whose path types have been inferred. `conflicted` paths already
/// have an error for being used as two types; their uses are not reported again.
/// `rules` are the policy's rules or its templates (helper rules with parameters).
pub(crate) fn check_types(
    policy: &CheckedPolicy,
    rules: &[CheckedRule],
    conflicted: &HashSet<Source>,
    source: &str,
) -> Vec<Error> {
    let mut checker = TypeChecker { policy, conflicted, source, errors: Vec::new() };
    for rule in rules {
        checker.body(&rule.body);
    }
    checker.errors
}

/// Infers the types of claim and data paths from their uses across the whole policy.
#[derive(Debug, Default)]
pub(crate) struct Inference {
    /// Type fixed by a use, and where.
    fixed: HashMap<Source, (Ty, Span)>,
    /// Pairs of paths compared with each other: they must share a type.
    same: Vec<(Source, Source, Span)>,
    /// Paths used as two different types (already reported).
    conflicted: HashSet<Source>,
}

/// The result of inference.
pub(crate) struct Inferred {
    pub types: HashMap<Source, Ty>,
    pub conflicted: HashSet<Source>,
}

/// A source whose type is inferred: claim/data paths and table lookups.
pub(crate) fn inferred_source(expr: &CheckedExpr) -> Option<&Source> {
    match &expr.kind {
        CheckedExprKind::Dynamic(s)
        | CheckedExprKind::Lookup { source: s, .. }
        | CheckedExprKind::ActorClaim { source: s, .. } => Some(s),
        _ => None,
    }
}

impl Inference {
    /// `expr` is used where a `ty` is required.
    pub(crate) fn demand(&mut self, expr: &CheckedExpr, ty: Ty, errors: &mut Vec<Error>, source: &str) {
        if let Some(s) = inferred_source(expr) {
            self.fix(s.clone(), ty, expr.span, errors, source);
        }
    }

    /// `l OP r`: both sides share a type; integers for ordering.
    pub(crate) fn relate(
        &mut self,
        l: &CheckedExpr,
        r: &CheckedExpr,
        ordering: bool,
        errors: &mut Vec<Error>,
        source: &str,
    ) {
        match (inferred_source(l), inferred_source(r)) {
            (Some(a), Some(b)) if ordering => {
                self.fix(a.clone(), Ty::Int, l.span, errors, source);
                self.fix(b.clone(), Ty::Int, r.span, errors, source);
            }
            (Some(a), Some(b)) => self.same.push((a.clone(), b.clone(), Span::new(l.span.start, r.span.end))),
            (Some(_), None) => self.demand(l, static_type(r), errors, source),
            (None, Some(_)) => self.demand(r, static_type(l), errors, source),
            (None, None) => {}
        }
    }

    fn fix(&mut self, s: Source, ty: Ty, span: Span, errors: &mut Vec<Error>, source: &str) {
        match self.fixed.get(&s) {
            Some(&(earlier, earlier_span)) if earlier != ty => {
                errors.push(conflicting_use(&s, ty, earlier, span, earlier_span, source));
                self.conflicted.insert(s);
            }
            Some(_) => {}
            None => {
                self.fixed.insert(s, (ty, span));
            }
        }
    }

    /// Spreads fixed types across compared pairs; returns the final table.
    pub(crate) fn finish(mut self, errors: &mut Vec<Error>, source: &str) -> Inferred {
        let mut pending = std::mem::take(&mut self.same);
        loop {
            let before = pending.len();
            let mut still = Vec::new();
            for (a, b, span) in pending {
                match (self.fixed.get(&a).map(|f| f.0), self.fixed.get(&b).map(|f| f.0)) {
                    (Some(t), None) => self.fix(b, t, span, errors, source),
                    (None, Some(t)) => self.fix(a, t, span, errors, source),
                    (Some(_), Some(_)) => {} // a mismatch is reported by the type checker
                    (None, None) => still.push((a, b, span)),
                }
            }
            pending = still;
            if pending.len() == before {
                break;
            }
        }
        Inferred { types: self.fixed.into_iter().map(|(s, (ty, _))| (s, ty)).collect(), conflicted: self.conflicted }
    }
}

/// First segment of the claim path that stands for a helper parameter while the helper's body
/// is checked on its own (`check.rs`): no claim name can contain a NUL, so it names no claim.
pub(crate) const PARAMETER_MARK: &str = "\u{0}parameter";

/// The type of an expression whose type does not depend on inference.
pub(crate) fn static_type(expr: &CheckedExpr) -> Ty {
    match &expr.kind {
        CheckedExprKind::Str(_)
        | CheckedExprKind::Actor(..)
        | CheckedExprKind::Concat(..)
        | CheckedExprKind::Case(..) => Ty::Str,
        CheckedExprKind::Int(_)
        | CheckedExprKind::ChainDepth
        | CheckedExprKind::HopIndex
        | CheckedExprKind::Arith(..)
        | CheckedExprKind::Count(_) => Ty::Int,
        CheckedExprKind::Bool(_) => Ty::Bool,
        CheckedExprKind::StrSet(_) | CheckedExprKind::Intersect(..) => Ty::StrSet,
        CheckedExprKind::Field(f) => f.ty(),
        // Only called on non-inferred expressions; `Str` is the documented default.
        CheckedExprKind::Dynamic(_) | CheckedExprKind::Lookup { .. } | CheckedExprKind::ActorClaim { .. } => Ty::Str,
    }
}

fn source_name(s: &Source) -> String {
    match s {
        Source::Claim(p) if p.first().is_some_and(|first| first == PARAMETER_MARK) => {
            format!("parameter {}", p.last().map_or("?", String::as_str))
        }
        Source::Field(f) => f.name().to_string(),
        Source::Claim(p) => format!("claims.{}", p.join(".")),
        Source::Context(p) => format!("context.{}", p.join(".")),
        Source::ActorClaim(p) => format!("(actor).claims.{}", p.join(".")),
        Source::Data(p) => format!("data.{}", p.join(".")),
        Source::DataTable { table, field } => {
            let mut name = format!("data.{}[…]", table.join("."));
            for f in field {
                name.push('.');
                name.push_str(f);
            }
            name
        }
    }
}

fn conflicting_use(s: &Source, ty: Ty, earlier: Ty, span: Span, earlier_span: Span, source: &str) -> Error {
    Error::new(
        ErrorKind::TypeMismatch,
        span,
        format!("`{}` is used as {} here but as {} elsewhere", source_name(s), type_name(ty), type_name(earlier)),
        format!("used as {}", type_name(ty)),
    )
    .with_help(format!(
        "a path has one type; line {} uses it as {}",
        line_of(source, earlier_span.start),
        type_name(earlier)
    ))
}

/// How a type is named in messages.
pub fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::Int => "an integer",
        Ty::Bool => "a boolean",
        Ty::StrSet => "a set of strings",
    }
}

/// Second pass: with every type known, checks that each operator gets what it takes.
struct TypeChecker<'p> {
    policy: &'p CheckedPolicy,
    conflicted: &'p HashSet<Source>,
    source: &'p str,
    errors: Vec<Error>,
}

impl TypeChecker<'_> {
    fn ty(&self, expr: &CheckedExpr) -> Ty {
        match inferred_source(expr) {
            Some(s) => self.policy.type_of(s),
            None => static_type(expr),
        }
    }

    fn body(&mut self, body: &[CheckedCond]) {
        for cond in body {
            self.cond(cond);
        }
    }

    fn cond(&mut self, cond: &CheckedCond) {
        match &cond.kind {
            CheckedCondKind::Cmp(op, l, r) => {
                self.expr(l);
                self.expr(r);
                let (tl, tr) = (self.ty(l), self.ty(r));
                if tl != tr && !self.is_conflicted(l) && !self.is_conflicted(r) {
                    self.mismatch(
                        cond.span,
                        format!("cannot compare {} with {}", type_name(tl), type_name(tr)),
                        "operands of different types",
                        comparison_help(tl, tr),
                    );
                } else if is_ordering(*op) && tl != Ty::Int {
                    self.mismatch(
                        cond.span,
                        format!("only integers can be ordered, not {}", type_name(tl)),
                        "ordering needs integers",
                        "strings, booleans and sets take only `==` and `!=`",
                    );
                }
            }
            CheckedCondKind::In(l, r) => {
                self.expect(l, Ty::Str, "the left side of `in`", "to compare two sets use `subset` or `==`");
                self.expect(r, Ty::StrSet, "the right side of `in`", "to compare two strings use `==`");
            }
            CheckedCondKind::Subset(l, r) => {
                self.expect(l, Ty::StrSet, "the left side of `subset`", "to test one string use `in`");
                self.expect(r, Ty::StrSet, "the right side of `subset`", "write a set like {\"a\", \"b\"}");
            }
            CheckedCondKind::StartsWith(s, _)
            | CheckedCondKind::EndsWith(s, _)
            | CheckedCondKind::Matches(s, _)
            | CheckedCondKind::Regex(s, _) => {
                self.expect(
                    s,
                    Ty::Str,
                    "a pattern's subject",
                    "patterns apply to single strings; for sets use `in` or `subset`",
                );
            }
            CheckedCondKind::StartsWithValue(s, p) | CheckedCondKind::EndsWithValue(s, p) => {
                self.expect(s, Ty::Str, "a pattern's subject", "patterns apply to single strings; for sets use `in`");
                self.expect(p, Ty::Str, "a pattern", "a prefix or suffix is a string");
            }
            CheckedCondKind::Intersects(a, b) => {
                self.expect(a, Ty::StrSet, "an argument of `intersects`", "to test one string use `in`");
                self.expect(b, Ty::StrSet, "an argument of `intersects`", "write a set like {\"a\", \"b\"}");
            }
            CheckedCondKind::Truthy(e) => {
                self.expect(e, Ty::Bool, "a condition", "compare it with something, e.g. `== \"value\"`");
            }
            CheckedCondKind::Defined(e) => self.expr(e),
            CheckedCondKind::Not(inner) => self.cond(inner),
            CheckedCondKind::Every(body) | CheckedCondKind::Some(body) => self.body(body),
            CheckedCondKind::Any(branches) => branches.iter().for_each(|branch| self.body(branch)),
            CheckedCondKind::Rule(_) => {}
        }
    }

    fn expr(&mut self, expr: &CheckedExpr) {
        match &expr.kind {
            CheckedExprKind::Arith(_, a, b) => {
                self.expect(a, Ty::Int, "an operand of `+`/`-`", "arithmetic works on integers and durations");
                self.expect(b, Ty::Int, "an operand of `+`/`-`", "arithmetic works on integers and durations");
            }
            CheckedExprKind::Concat(a, b) => {
                let help = "`+` concatenates strings when an operand is a string; both must be strings";
                self.expect(a, Ty::Str, "an operand of string `+`", help);
                self.expect(b, Ty::Str, "an operand of string `+`", help);
            }
            CheckedExprKind::Case(case, inner) => {
                let role = format!("the argument of `{}`", case.name());
                self.expect(inner, Ty::Str, &role, "case mapping applies to single strings");
            }
            CheckedExprKind::Intersect(a, b) => {
                self.expect(a, Ty::StrSet, "an operand of `&`", "`&` intersects two sets");
                self.expect(b, Ty::StrSet, "an operand of `&`", "`&` intersects two sets");
            }
            CheckedExprKind::Count(inner) => {
                self.expect(inner, Ty::StrSet, "the argument of `count`", "`count` counts the elements of a set");
            }
            CheckedExprKind::Lookup { key, .. } => {
                self.expect(key, Ty::Str, "a table key", "keys are strings, e.g. `data.agents[act.client_id]`")
            }
            _ => {}
        }
    }

    fn is_conflicted(&self, expr: &CheckedExpr) -> bool {
        inferred_source(expr).is_some_and(|s| self.conflicted.contains(s))
    }

    fn expect(&mut self, expr: &CheckedExpr, want: Ty, role: &str, help: &str) {
        self.expr(expr);
        let got = self.ty(expr);
        if got != want && !self.is_conflicted(expr) {
            let text = expr.span.text(self.source);
            self.mismatch(
                expr.span,
                format!("{role} must be {}, but `{text}` is {}", type_name(want), type_name(got)),
                type_name(got),
                help,
            );
        }
    }

    fn mismatch(&mut self, span: Span, message: String, label: impl Into<String>, help: impl Into<String>) {
        self.errors.push(Error::new(ErrorKind::TypeMismatch, span, message, label).with_help(help));
    }
}

fn comparison_help(l: Ty, r: Ty) -> &'static str {
    match (l, r) {
        (Ty::Int, Ty::Str) | (Ty::Str, Ty::Int) => "numbers are written without quotes",
        (Ty::StrSet, Ty::Str) | (Ty::Str, Ty::StrSet) => "to test membership write `\"value\" in set`",
        _ => "both sides of a comparison must have the same type",
    }
}
