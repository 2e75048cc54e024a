//! The syntax tree of a policy, as written. Every node carries the byte range it came from so
//! that diagnostics can point at it; names are not resolved and types are not known yet.
use crate::ir::{ArithOp, CmpOp};

/// A byte range `start..end` in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte covered.
    pub start: usize,
    /// Byte offset just past the last byte covered (`start <= end` for spans the parser makes).
    pub end: usize,
}

impl Span {
    /// The span `start..end`; not checked against any source (see [`Span::text`]).
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
    /// The name exactly as written (dotted for a package name).
    pub name: String,
    /// Where it was written, for diagnostics.
    pub span: Span,
}

/// A whole policy file: its statements in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `package` and rule statements; the parser does not check that `package` comes first.
    pub statements: Vec<Statement>,
}

/// One top-level statement; their order and count are checked later, so that the errors can
/// say more than a parser could.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `package a.b`: the policy's name.
    Package(Ident),
    /// An `allow`, `deny` or helper `rule` declaration.
    Rule(RuleDecl),
}

/// What a rule does; mirrors [`crate::ir::RuleKind`] before checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `allow NAME if { ... }`.
    Allow,
    /// `deny NAME "reason" if { ... }`.
    Deny {
        /// The reason literal, escapes decoded.
        reason: String,
    },
    /// `rule NAME if { ... }`: a named condition for other rules.
    Helper,
}

/// One rule as written: head and body.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    /// `allow`, `deny` (with its reason) or helper `rule`.
    pub kind: RuleKind,
    /// The rule's name; uniqueness is checked later.
    pub name: Ident,
    /// Parameters of a helper rule (`rule owns(record) if ...`), in order; empty for none and
    /// for allow/deny rules.
    pub params: Vec<Ident>,
    /// Conditions of the body, a conjunction; empty means "always".
    pub body: Vec<Cond>,
    /// The whole rule, head to closing brace.
    pub span: Span,
}

/// One condition of a rule or quantifier body.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// What the condition says.
    pub kind: CondKind,
    /// The condition's text (pest's span: it may extend over trailing blanks and a comment).
    pub span: Span,
}

/// Which binary condition operator was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`.
    Cmp(CmpOp),
    /// `elem in set`.
    In,
    /// `set subset set`.
    Subset,
    /// `text matches "glob"`.
    Matches,
}

/// Which quantifier over the delegation chain was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `every`: all actors satisfy the body.
    Every,
    /// `some`: at least one actor satisfies the body.
    Some,
}

/// The shapes a condition can have, before names and types are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum CondKind {
    /// `lhs OP rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Expr,
        /// Right operand.
        rhs: Expr,
    },
    /// `name(args...)`, e.g. `startswith(resource, "https://")`.
    Call {
        /// The function name; unknown names are reported by the checker.
        function: Ident,
        /// Arguments in order; their count is checked by the checker, not the grammar.
        args: Vec<Expr>,
    },
    /// `not COND`.
    Not(Box<Cond>),
    /// `every VAR in chain { BODY }` / `some VAR in chain { BODY }`.
    Quantified {
        /// `every` or `some`.
        quantifier: Quantifier,
        /// The loop variable, naming one actor inside `body` only.
        var: Ident,
        /// Conditions each actor is tested against, a conjunction.
        body: Vec<Cond>,
    },
    /// An expression alone: a helper-rule name or a Bool value.
    Bare(Expr),
    /// `a or b or …`: alternatives, at least two, each one condition (`not a or b` is
    /// `(not a) or b`).
    Or(Vec<Cond>),
}

/// A value expression as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Its text; a parenthesised expression's span includes the parentheses.
    pub span: Span,
}

/// An integer as written: decimal digits (with sign) times a duration unit in seconds.
/// Kept unevaluated so that overflow is reported by the checker with the other errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntLiteral {
    /// The digits as written, with a leading `-` if any and without the unit letter.
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

/// The shapes a value expression can have.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A string literal, escapes decoded.
    Str(String),
    /// An integer or duration literal, not yet evaluated.
    Int(IntLiteral),
    /// `true` or `false`.
    Bool(bool),
    /// `{ "a", "b" }` or `[ "a", "b" ]`: both are string sets.
    StrSet(Vec<String>),
    /// A name or path, resolved by the checker.
    Path(Path),
    /// `lhs + rhs` / `lhs - rhs`; chains fold to the left. The checker decides whether `+`
    /// adds integers or concatenates strings.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `lhs & rhs`: the elements two sets share; folds to the left with `+`/`-`.
    Intersect(Box<Expr>, Box<Expr>),
    /// `name(args...)` used as a value, e.g. `lower(sub)` or `count(scope)`.
    Call {
        /// The function name; unknown names are reported by the checker.
        function: Ident,
        /// Arguments in order; their count is checked by the checker.
        args: Vec<Expr>,
    },
}

/// `root.seg.seg[key].seg`: a vocabulary name, a claim or data path, or a bare name.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The first name (`data`, `claims`, `act`, a field, a rule or a quantifier variable).
    pub root: Ident,
    /// What follows the root, in order; empty for a bare name.
    pub parts: Vec<PathPart>,
}

/// One step of a [`Path`] after its root.
#[derive(Debug, Clone, PartialEq)]
pub enum PathPart {
    /// `.name`.
    Field(Ident),
    /// `[expr]`, with the span of the brackets.
    Index(Box<Expr>, Span),
}
