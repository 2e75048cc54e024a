//! The syntax tree of a policy, as written. Every node carries the byte range it came from so
//! that diagnostics can point at it; names are not resolved and types are not known yet.
use crate::ir::{ArithOp, CmpOp};

/// A byte range `start..end` in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The text this span covers, or `""` if it does not fit `source`.
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// A name as written, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole policy file: its statements in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Package(Ident),
    Rule(RuleDecl),
}

/// What a rule does; mirrors [`crate::ir::RuleKind`] before checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Allow,
    Deny { reason: String },
    Helper,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub kind: RuleKind,
    pub name: Ident,
    /// Conditions of the body, a conjunction; empty means "always".
    pub body: Vec<Cond>,
    /// The whole rule, head to closing brace.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub kind: CondKind,
    pub span: Span,
}

/// Which binary condition operator was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Cmp(CmpOp),
    In,
    Subset,
    Matches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Every,
    Some,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CondKind {
    /// `lhs OP rhs`.
    Binary {
        op: BinaryOp,
        lhs: Expr,
        rhs: Expr,
    },
    /// `name(args...)`, e.g. `startswith(resource, "https://")`.
    Call {
        function: Ident,
        args: Vec<Expr>,
    },
    Not(Box<Cond>),
    /// `every VAR in chain { BODY }` / `some VAR in chain { BODY }`.
    Quantified {
        quantifier: Quantifier,
        var: Ident,
        body: Vec<Cond>,
    },
    /// An expression alone: a helper-rule name or a Bool value.
    Bare(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// An integer as written: decimal digits (with sign) times a duration unit in seconds.
/// Kept unevaluated so that overflow is reported by the checker with the other errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntLiteral {
    pub digits: String,
    /// 1 for a plain integer, 60 for `m`, 3600 for `h`, 86400 for `d`.
    pub unit_seconds: i64,
}

impl IntLiteral {
    /// The value, or `None` when it does not fit an `i64`.
    pub fn value(&self) -> Option<i64> {
        self.digits.parse::<i64>().ok()?.checked_mul(self.unit_seconds)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Str(String),
    Int(IntLiteral),
    Bool(bool),
    /// `{ "a", "b" }` or `[ "a", "b" ]`: both are string sets.
    StrSet(Vec<String>),
    Path(Path),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
}

/// `root.seg.seg[key].seg`: a vocabulary name, a claim or data path, or a bare name.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Ident,
    pub parts: Vec<PathPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    Field(Ident),
    /// `[expr]`, with the span of the brackets.
    Index(Box<Expr>, Span),
}
