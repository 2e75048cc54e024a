//! Name resolution and type checking: [`ast::Policy`] to [`CheckedPolicy`], a tree in which
//! every name is resolved against the vocabulary and every value has a known type.
//!
//! Checking keeps going after an error so that one run reports as many problems as it can.
//! The types of `claims.*` / `data.*` paths are inferred from how they are used, over the
//! whole policy (one path, one type): see `types::Inference`.
use std::collections::{HashMap, HashSet, VecDeque};

use crate::ast::{self, BinaryOp, CondKind, ExprKind, Ident, PathPart, Quantifier, Span, Statement};
use crate::diagnostics::{Error, ErrorKind};
use crate::ir::{ActorField, ActorRef, ArithOp, CmpOp, Field, RuleId, RuleKind, Source, Ty};
use crate::limits::MAX_REGEX_CELLS_TOTAL;
use crate::regex_dfa::RegexError;
use crate::rule_graph::{RuleGraph, MAX_HELPER_DEPTH};
use crate::suggest::closest;
use crate::types::{check_types, Inference};

/// A policy whose names and types are known; the input of lowering.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPolicy {
    /// The first `package` name; empty when there is none (an error was reported).
    pub package: String,
    /// Rules in source order; a rule's index is its [`RuleId`].
    pub rules: Vec<CheckedRule>,
    /// Inferred types of claim and data paths (see [`CheckedPolicy::type_of`]).
    dynamic_types: HashMap<Source, Ty>,
}

impl CheckedPolicy {
    /// The type a claim/data source is read as. A source whose use fixed no type (only ever
    /// compared with other unfixed paths) defaults to `Str`.
    pub fn type_of(&self, source: &Source) -> Ty {
        self.dynamic_types.get(source).copied().unwrap_or(Ty::Str)
    }
}

/// One rule with its body checked; mirrors [`crate::ir::Rule`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRule {
    /// The rule's name as written.
    pub name: String,
    /// `allow`, `deny` (with its reason) or helper.
    pub kind: RuleKind,
    /// The conditions that checked without error, a conjunction; when there are errors it can
    /// be shorter than `body_text`.
    pub body: Vec<CheckedCond>,
    /// Source text of each body condition.
    pub body_text: Vec<String>,
    /// 1-based line of the rule head.
    pub line: u32,
}

/// A checked condition, with its place for later diagnostics (unsatisfiable conditions).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedCond {
    /// What the condition says.
    pub kind: CheckedCondKind,
    /// The condition's text in the source.
    pub span: Span,
}

/// Mirrors [`crate::ir::Cond`], with literals still as text.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedCondKind {
    /// [`crate::ir::Cond::Cmp`].
    Cmp(CmpOp, CheckedExpr, CheckedExpr),
    /// [`crate::ir::Cond::In`].
    In(CheckedExpr, CheckedExpr),
    /// [`crate::ir::Cond::Subset`].
    Subset(CheckedExpr, CheckedExpr),
    /// [`crate::ir::Cond::StartsWith`], with the prefix literal.
    StartsWith(CheckedExpr, String),
    /// [`crate::ir::Cond::EndsWith`], with the suffix literal.
    EndsWith(CheckedExpr, String),
    /// [`crate::ir::Cond::Matches`], with the glob literal.
    Matches(CheckedExpr, String),
    /// [`crate::ir::Cond::Truthy`].
    Truthy(CheckedExpr),
    /// [`crate::ir::Cond::Defined`].
    Defined(CheckedExpr),
    /// [`crate::ir::Cond::Not`].
    Not(Box<CheckedCond>),
    /// [`crate::ir::Cond::Rule`]: a helper rule, by its index in [`CheckedPolicy::rules`].
    Rule(RuleId),
    /// [`crate::ir::Cond::Every`].
    Every(Vec<CheckedCond>),
    /// [`crate::ir::Cond::Some`].
    Some(Vec<CheckedCond>),
    /// [`crate::ir::Cond::Regex`], with the pattern literal (already known to compile).
    Regex(CheckedExpr, String),
}

/// A checked value expression, with its place for type errors found after inference.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedExpr {
    /// What the expression is.
    pub kind: CheckedExprKind,
    /// The expression's text in the source.
    pub span: Span,
}

/// Mirrors [`crate::ir::Expr`], with literals still as text and inputs not yet numbered.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedExprKind {
    /// A string literal.
    Str(String),
    /// An integer or duration literal, in seconds for a duration.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// A set literal's members as written (not yet sorted or deduplicated).
    StrSet(Vec<String>),
    /// A request vocabulary field.
    Field(Field),
    /// A `Source::Claim`, `Source::Context` or `Source::Data` path.
    Dynamic(Source),
    /// `data.table[key].field`; `source` is a `Source::DataTable`.
    Lookup {
        /// The table and the field read from its entry.
        source: Source,
        /// The key, a `Str` expression.
        key: Box<CheckedExpr>,
    },
    /// [`crate::ir::Expr::Actor`].
    Actor(ActorRef, ActorField),
    /// `chain.depth`: [`crate::ir::Expr::ChainDepth`].
    ChainDepth,
    /// `hop.claims.a.b`, ...: [`crate::ir::Expr::ActorClaim`]; `source` is a
    /// `Source::ActorClaim` (its type is inferred).
    ActorClaim {
        /// Whose claim.
        actor: ActorRef,
        /// The claim path, shared by every actor.
        source: Source,
    },
    /// `hop.index`: [`crate::ir::Expr::HopIndex`].
    HopIndex,
    /// [`crate::ir::Expr::Arith`].
    Arith(ArithOp, Box<CheckedExpr>, Box<CheckedExpr>),
}

/// Names every policy may use at the start of a path besides the request fields.
const ROOTS: [&str; 5] = ["act", "chain", "claims", "context", "data"];
const ACTOR_FIELDS: [&str; 4] = ["sub", "client_id", "instance", "claims"];
const FUNCTIONS: [&str; 4] = ["startswith", "endswith", "defined", "regex"];

/// Checks a parsed policy. `source` is the text it was parsed from (for rule lines and
/// condition text).
pub fn check(policy: &ast::Policy, source: &str) -> Result<CheckedPolicy, Vec<Error>> {
    let (checked, errors) = check_partial(policy, source);
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

/// Like [`check`], but also returns what could be checked when there are errors: the
/// conditions that had errors are left out. Lets later passes (such as the
/// unsatisfiability checks) report their findings in the same run.
pub fn check_partial(policy: &ast::Policy, source: &str) -> (CheckedPolicy, Vec<Error>) {
    let mut errors = Vec::new();
    let package = check_package(policy, &mut errors);
    let rules: Vec<&ast::RuleDecl> = policy
        .statements
        .iter()
        .filter_map(|s| match s {
            Statement::Rule(r) => Some(r),
            Statement::Package(_) => None,
        })
        .collect();
    let mut checker = Checker::new(source, &rules, errors);
    let lines = LineIndex::new(source);
    let mut checked_rules = Vec::with_capacity(rules.len());
    for (id, rule) in rules.iter().enumerate() {
        checker.current_rule = id as RuleId;
        let body = rule.body.iter().filter_map(|c| checker.cond(c, Scope::default())).collect();
        checked_rules.push(CheckedRule {
            name: rule.name.name.clone(),
            kind: match &rule.kind {
                ast::RuleKind::Allow => RuleKind::Allow,
                ast::RuleKind::Deny { reason } => RuleKind::Deny { reason: reason.clone() },
                ast::RuleKind::Helper => RuleKind::Helper,
            },
            body,
            body_text: rule.body.iter().map(|c| c.span.text(source).to_string()).collect(),
            line: lines.line(rule.span.start),
        });
    }
    checker.report_cycles(&rules);
    let Checker { mut errors, inference, .. } = checker;
    let mut checked =
        CheckedPolicy { package: package.unwrap_or_default(), rules: checked_rules, dynamic_types: HashMap::new() };
    let inferred = inference.finish(&mut errors, source);
    checked.dynamic_types = inferred.types;
    errors.extend(check_types(&checked, &inferred.conflicted, source));
    (checked, errors)
}

/// Line numbers of many offsets in one source: the newlines are found once, so numbering every
/// rule of a large policy stays linear.
struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> LineIndex {
        LineIndex { newlines: source.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect() }
    }

    /// 1-based line number of a byte offset.
    fn line(&self, offset: usize) -> u32 {
        u32::try_from(self.newlines.partition_point(|&at| at < offset) + 1).unwrap_or(u32::MAX)
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(source: &str, offset: usize) -> u32 {
    let before = source.get(..offset).unwrap_or(source);
    u32::try_from(before.bytes().filter(|b| *b == b'\n').count() + 1).unwrap_or(u32::MAX)
}

/// The `package` statement must come first, exactly once.
pub(crate) fn check_package(policy: &ast::Policy, errors: &mut Vec<Error>) -> Option<String> {
    let packages: Vec<&Ident> = policy
        .statements
        .iter()
        .filter_map(|s| match s {
            Statement::Package(p) => Some(p),
            Statement::Rule(_) => None,
        })
        .collect();
    match (policy.statements.first(), packages.first()) {
        (_, None) => errors.push(
            Error::new(
                ErrorKind::MissingPackage,
                Span::new(0, 0),
                "missing `package` statement",
                "expected `package NAME` here",
            )
            .with_help("start the policy with its package name, e.g. `package acme.billing`"),
        ),
        (Some(Statement::Rule(_)), Some(first)) => errors.push(
            Error::new(
                ErrorKind::MissingPackage,
                first.span,
                "`package` must be the first statement",
                "declared after a rule",
            )
            .with_help("move this line to the top of the file"),
        ),
        _ => {}
    }
    for extra in packages.iter().skip(1) {
        errors.push(
            Error::new(
                ErrorKind::DuplicatePackage,
                extra.span,
                "a policy declares exactly one `package`",
                "second `package`",
            )
            .with_help("remove this statement; one file is one package"),
        );
    }
    packages.first().map(|p| p.name.clone())
}

/// Where a condition is being checked: inside a quantifier or not.
#[derive(Debug, Clone, Copy, Default)]
struct Scope<'a> {
    quantifier_var: Option<&'a str>,
    in_quantifier: bool,
}

struct Checker<'a> {
    source: &'a str,
    /// First declaration of each rule name.
    rule_ids: HashMap<&'a str, RuleId>,
    rule_kinds: Vec<&'a ast::RuleKind>,
    helper_names: Vec<&'a str>,
    /// Every quantifier variable declared anywhere, to explain uses outside their scope.
    quantifier_vars: HashSet<&'a str>,
    current_rule: RuleId,
    /// Helper-rule references: (from, to, span of the reference).
    helper_refs: Vec<(RuleId, RuleId, Span)>,
    inference: Inference,
    errors: Vec<Error>,
    /// The distinct `regex` patterns accepted so far (each is built once, and the module
    /// stores one table per pattern), and the cells of their tables together.
    regex_patterns: HashSet<String>,
    regex_cells: usize,
}

impl<'a> Checker<'a> {
    fn new(source: &'a str, rules: &[&'a ast::RuleDecl], mut errors: Vec<Error>) -> Checker<'a> {
        let mut rule_ids = HashMap::new();
        for (id, rule) in rules.iter().enumerate() {
            if is_vocabulary_root(&rule.name.name) {
                errors.push(
                    Error::new(
                        ErrorKind::DuplicateRule,
                        rule.name.span,
                        format!("rule name `{}` is taken by the vocabulary", rule.name.name),
                        "already a vocabulary name",
                    )
                    .with_help("a rule named like a request field could never be used; rename it"),
                );
            }
            // Ids in `rule_ids` are indices of earlier rules, so the lookup always finds one.
            let first = rule_ids.get(rule.name.name.as_str()).and_then(|&first| rules.get(first as usize));
            if let Some(first) = first {
                errors.push(
                    Error::new(
                        ErrorKind::DuplicateRule,
                        rule.name.span,
                        format!("rule `{}` is defined twice", rule.name.name),
                        "second definition",
                    )
                    .with_help(format!(
                        "first defined on line {}; rule names must be unique",
                        line_of(source, first.span.start)
                    )),
                );
            } else {
                rule_ids.insert(rule.name.name.as_str(), id as RuleId);
            }
        }
        let mut quantifier_vars = HashSet::new();
        for rule in rules {
            collect_quantifier_vars(&rule.body, &mut quantifier_vars);
        }
        Checker {
            source,
            rule_ids,
            rule_kinds: rules.iter().map(|r| &r.kind).collect(),
            helper_names: rules
                .iter()
                .filter(|r| r.kind == ast::RuleKind::Helper)
                .map(|r| r.name.name.as_str())
                .collect(),
            quantifier_vars,
            current_rule: 0,
            helper_refs: Vec::new(),
            inference: Inference::default(),
            errors,
            regex_patterns: HashSet::new(),
            regex_cells: 0,
        }
    }

    fn error(&mut self, error: Error) -> Option<CheckedCond> {
        self.errors.push(error);
        None
    }

    fn cond(&mut self, cond: &'a ast::Cond, scope: Scope<'a>) -> Option<CheckedCond> {
        let kind = match &cond.kind {
            CondKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, scope)?,
            CondKind::Call { function, args } => return self.call(cond.span, function, args, scope),
            CondKind::Not(inner) => CheckedCondKind::Not(Box::new(self.cond(inner, scope)?)),
            CondKind::Quantified { quantifier, var, body } => {
                if scope.in_quantifier {
                    return self.error(
                        Error::new(ErrorKind::NestedQuantifier, quantifier_head(cond, var), "quantifiers cannot be nested", "inside another `every`/`some`")
                            .with_help("move the inner condition into a helper rule, or check a single end of the chain with `chain.first` / `chain.last`"),
                    );
                }
                if is_vocabulary_root(&var.name) {
                    self.errors.push(
                        Error::new(
                            ErrorKind::QuantifierScope,
                            var.span,
                            format!("quantifier variable `{}` hides a vocabulary name", var.name),
                            "choose another name",
                        )
                        .with_help("name the variable e.g. `hop`"),
                    );
                }
                let inner = Scope { quantifier_var: Some(&var.name), in_quantifier: true };
                let conds: Vec<_> = body.iter().filter_map(|c| self.cond(c, inner)).collect();
                match quantifier {
                    Quantifier::Every => CheckedCondKind::Every(conds),
                    Quantifier::Some => CheckedCondKind::Some(conds),
                }
            }
            CondKind::Bare(expr) => match bare_rule_name(expr, scope) {
                Some(name) => return self.rule_reference(name, cond.span),
                None => {
                    let e = self.expr(expr, scope)?;
                    self.demand(&e, Ty::Bool);
                    CheckedCondKind::Truthy(e)
                }
            },
        };
        Some(CheckedCond { kind, span: cond.span })
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &'a ast::Expr,
        rhs: &'a ast::Expr,
        scope: Scope<'a>,
    ) -> Option<CheckedCondKind> {
        Some(match op {
            BinaryOp::Matches => {
                // The right side is a pattern literal, not a value to resolve.
                let pattern = self.pattern(rhs, "matches");
                let subject = self.expr(lhs, scope)?;
                self.demand(&subject, Ty::Str);
                CheckedCondKind::Matches(subject, pattern?)
            }
            BinaryOp::Cmp(cmp) => {
                let (l, r) = self.operands(lhs, rhs, scope)?;
                self.inference.relate(&l, &r, is_ordering(cmp), &mut self.errors, self.source);
                CheckedCondKind::Cmp(cmp, l, r)
            }
            BinaryOp::In => {
                let (l, r) = self.operands(lhs, rhs, scope)?;
                self.demand(&l, Ty::Str);
                self.demand(&r, Ty::StrSet);
                CheckedCondKind::In(l, r)
            }
            BinaryOp::Subset => {
                let (l, r) = self.operands(lhs, rhs, scope)?;
                self.demand(&l, Ty::StrSet);
                self.demand(&r, Ty::StrSet);
                CheckedCondKind::Subset(l, r)
            }
        })
    }

    /// Resolves both sides, reporting the errors of both before giving up.
    fn operands(
        &mut self,
        lhs: &'a ast::Expr,
        rhs: &'a ast::Expr,
        scope: Scope<'a>,
    ) -> Option<(CheckedExpr, CheckedExpr)> {
        let (l, r) = (self.expr(lhs, scope), self.expr(rhs, scope));
        Some((l?, r?))
    }

    /// Records that `expr` is used where a `ty` is required (see [`Inference`]).
    fn demand(&mut self, expr: &CheckedExpr, ty: Ty) {
        self.inference.demand(expr, ty, &mut self.errors, self.source);
    }

    /// `startswith(s, "lit")` / `endswith(s, "lit")` / `regex(s, "pattern")`.
    fn call(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let make: fn(CheckedExpr, String) -> CheckedCondKind = match function.name.as_str() {
            "startswith" => CheckedCondKind::StartsWith,
            "endswith" => CheckedCondKind::EndsWith,
            "regex" => CheckedCondKind::Regex,
            "defined" => return self.defined(span, function, args, scope),
            other => {
                let mut error = Error::new(
                    ErrorKind::UnknownName,
                    function.span,
                    format!("unknown function `{other}`"),
                    "not a function",
                );
                if let Some(near) = closest(other, FUNCTIONS) {
                    error = error.with_help(format!("did you mean `{near}`?"));
                }
                return self.error(error);
            }
        };
        let [subject, pattern_expr] = args else {
            return self.error(
                Error::new(
                    ErrorKind::TypeMismatch,
                    span,
                    format!("`{}` takes two arguments", function.name),
                    format!("{} given", args.len()),
                )
                .with_help(format!("write `{}(VALUE, \"literal\")`", function.name)),
            );
        };
        let subject = self.expr(subject, scope);
        let pattern = self.pattern(pattern_expr, &function.name)?;
        if function.name == "regex" {
            self.regex_pattern(&pattern, pattern_expr.span)?;
        }
        let subject = subject?;
        self.demand(&subject, Ty::Str);
        Some(CheckedCond { kind: make(subject, pattern), span })
    }

    /// A `regex` pattern must compile to a DFA within [`crate::limits::MAX_REGEX_DFA_CELLS`],
    /// and the policy's distinct patterns within [`MAX_REGEX_CELLS_TOTAL`] together.
    fn regex_pattern(&mut self, pattern: &str, span: Span) -> Option<()> {
        if self.regex_patterns.contains(pattern) {
            return Some(());
        }
        let error = match crate::regex_dfa::build_dfa(pattern) {
            Ok(dfa) => {
                let total = self.regex_cells.saturating_add(dfa.transitions.len());
                if total <= MAX_REGEX_CELLS_TOTAL {
                    self.regex_cells = total;
                    self.regex_patterns.insert(pattern.to_string());
                    return Some(());
                }
                Error::new(
                    ErrorKind::LimitExceeded,
                    span,
                    "the policy's regular expressions are too large together",
                    format!("with this one, their DFAs have {total} cells, over {MAX_REGEX_CELLS_TOTAL}"),
                )
                .with_help("share patterns between rules (a helper rule), or simplify the largest ones")
            }
            Err(RegexError::Invalid(message)) => {
                Error::new(ErrorKind::InvalidRegex, span, format!("invalid regular expression: {message}"), message)
                    .with_help(
                        "the syntax is the Rust `regex` crate's (https://docs.rs/regex); escape a literal \
                         metacharacter with `\\\\`, e.g. \"a\\\\.b\"",
                    )
            }
            Err(RegexError::TooLarge(why)) => {
                Error::new(ErrorKind::LimitExceeded, span, "this regular expression is too large to compile", why)
                    .with_help(
                        "shorten counted repetitions (`{n}`), avoid Unicode classes (`(?u)`), or split the \
                         test into several conditions",
                    )
            }
        };
        self.errors.push(error);
        None
    }

    /// Patterns are compiled into the policy, so they must be string literals.
    fn pattern(&mut self, expr: &ast::Expr, operator: &str) -> Option<String> {
        if let ExprKind::Str(s) = &expr.kind {
            return Some(s.clone());
        }
        self.errors.push(
            Error::new(
                ErrorKind::NonLiteralPattern,
                expr.span,
                format!("the pattern of `{operator}` must be a string literal"),
                "not a string literal",
            )
            .with_help("patterns are fixed when the policy is compiled; write it in quotes, e.g. \"https://*\""),
        );
        None
    }

    /// `defined(VALUE)`: the value reads (present, of the type the policy uses it at, no
    /// overflow). Never undecided: it is how a policy says what absence means.
    fn defined(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let [value] = args else {
            return self.error(
                Error::new(
                    ErrorKind::TypeMismatch,
                    span,
                    format!("`{}` takes one argument", function.name),
                    format!("{} given", args.len()),
                )
                .with_help("write `defined(claims.tenant)`"),
            );
        };
        let value = self.expr(value, scope)?;
        Some(CheckedCond { kind: CheckedCondKind::Defined(value), span })
    }

    fn rule_reference(&mut self, name: &'a Ident, span: Span) -> Option<CheckedCond> {
        let Some(&id) = self.rule_ids.get(name.name.as_str()) else {
            if self.quantifier_vars.contains(name.name.as_str()) {
                return self.error(out_of_scope(name));
            }
            let mut error = Error::new(
                ErrorKind::UnknownRule,
                name.span,
                format!("unknown rule `{}`", name.name),
                "no helper rule has this name",
            );
            if let Some(near) = closest(&name.name, self.helper_names.iter().copied()) {
                error = error.with_help(format!("did you mean `{near}`?"));
            } else {
                error = error.with_help("define it with `rule NAME if { ... }`");
            }
            return self.error(error);
        };
        if self.rule_kinds.get(id as usize) != Some(&&ast::RuleKind::Helper) {
            return self.error(
                Error::new(
                    ErrorKind::NotAHelperRule,
                    name.span,
                    format!("`{}` is an allow/deny rule, not a helper", name.name),
                    "cannot be used as a condition",
                )
                .with_help("move the shared conditions into a `rule NAME if { ... }` helper and use it from both"),
            );
        }
        self.helper_refs.push((self.current_rule, id, name.span));
        Some(CheckedCond { kind: CheckedCondKind::Rule(id), span })
    }

    fn expr(&mut self, expr: &'a ast::Expr, scope: Scope<'a>) -> Option<CheckedExpr> {
        let kind = match &expr.kind {
            ExprKind::Str(s) => CheckedExprKind::Str(s.clone()),
            ExprKind::Bool(b) => CheckedExprKind::Bool(*b),
            ExprKind::StrSet(items) => CheckedExprKind::StrSet(items.clone()),
            ExprKind::Int(lit) => match lit.value() {
                Some(v) => CheckedExprKind::Int(v),
                None => {
                    self.errors.push(
                        Error::new(
                            ErrorKind::IntegerOverflow,
                            expr.span,
                            "integer literal out of range",
                            "does not fit in 64 bits",
                        )
                        .with_help(format!(
                            "integers (and durations in seconds) range from {} to {}",
                            i64::MIN,
                            i64::MAX
                        )),
                    );
                    return None;
                }
            },
            ExprKind::Arith(op, a, b) => {
                let (a, b) = (self.expr(a, scope), self.expr(b, scope));
                let (a, b) = (a?, b?);
                self.demand(&a, Ty::Int);
                self.demand(&b, Ty::Int);
                CheckedExprKind::Arith(*op, Box::new(a), Box::new(b))
            }
            ExprKind::Path(path) => self.path(path, scope)?,
        };
        Some(CheckedExpr { kind, span: expr.span })
    }

    fn path(&mut self, path: &'a ast::Path, scope: Scope<'a>) -> Option<CheckedExprKind> {
        let root = path.root.name.as_str();
        if scope.quantifier_var == Some(root) {
            return self.hop_path(&path.root, &path.parts);
        }
        match root {
            "act" => self.actor_field(ActorRef::Current, &path.root, &path.parts),
            "chain" => self.chain(path),
            "claims" => {
                let names = self.plain_segments(&path.root, &path.parts, "claims")?;
                Some(CheckedExprKind::Dynamic(Source::Claim(names)))
            }
            "context" => {
                let names = self.plain_segments(&path.root, &path.parts, "context")?;
                Some(CheckedExprKind::Dynamic(Source::Context(names)))
            }
            "data" => self.data(path, scope),
            _ => {
                if let Some(field) = Field::from_name(root) {
                    if let Some(part) = path.parts.first() {
                        self.errors.push(no_attributes(root, part_span(part)));
                        return None;
                    }
                    return Some(CheckedExprKind::Field(field));
                }
                self.errors.push(self.unknown_root(&path.root, scope));
                None
            }
        }
    }

    fn unknown_root(&self, name: &Ident, scope: Scope<'a>) -> Error {
        if self.quantifier_vars.contains(name.name.as_str()) {
            return out_of_scope(name);
        }
        if self.rule_ids.contains_key(name.name.as_str()) {
            return Error::new(
                ErrorKind::UnknownName,
                name.span,
                format!("rule `{}` used as a value", name.name),
                "a rule, not a value",
            )
            .with_help("a helper rule is a condition on its own line, e.g. `trusted_chain`");
        }
        let candidates = Field::ALL.iter().map(|f| f.name()).chain(ROOTS).chain(scope.quantifier_var);
        let error = Error::new(
            ErrorKind::UnknownName,
            name.span,
            format!("unknown name `{}`", name.name),
            "not in the vocabulary",
        );
        match closest(&name.name, candidates) {
            Some(near) => error.with_help(format!("did you mean `{near}`?")),
            None => error.with_help("see docs/language.md for the vocabulary"),
        }
    }

    /// The quantifier variable: `hop.index`, `hop.prev.F`, or an actor field of `hop`.
    fn hop_path(&mut self, hop: &Ident, parts: &[PathPart]) -> Option<CheckedExprKind> {
        match parts.split_first() {
            Some((PathPart::Field(f), rest)) if f.name == "index" => match rest.first() {
                None => Some(CheckedExprKind::HopIndex),
                Some(extra) => {
                    self.errors.push(no_attributes(&qualified(hop, f).name, part_span(extra)));
                    None
                }
            },
            Some((PathPart::Field(f), rest)) if f.name == "prev" => {
                self.actor_field(ActorRef::Prev, &qualified(hop, f), rest)
            }
            _ => self.actor_field(ActorRef::Hop, hop, parts),
        }
    }

    /// `act.sub`, `hop.client_id`, `chain.last.instance`: exactly one actor field; or
    /// `act.claims.a.b`: a claim of the actor, by path.
    fn actor_field(&mut self, actor: ActorRef, owner: &Ident, parts: &[PathPart]) -> Option<CheckedExprKind> {
        match parts {
            [PathPart::Field(f), rest @ ..] if f.name == "claims" => {
                let claims = qualified(owner, f);
                let names = self.plain_segments(&claims, rest, &claims.name)?;
                Some(CheckedExprKind::ActorClaim { actor, source: Source::ActorClaim(names) })
            }
            [PathPart::Field(f), ..] if matches!(f.name.as_str(), "prev" | "index") => {
                self.errors.push(unknown_attribute(&owner.name, f, &ACTOR_FIELDS).with_help(format!(
                    "only the quantifier variable has `prev` and `index`: `some hop in chain {{ hop.{} ... }}`",
                    f.name
                )));
                None
            }
            [PathPart::Field(f)] => match actor_field_named(&f.name) {
                Some(field) => Some(CheckedExprKind::Actor(actor, field)),
                None => {
                    self.errors.push(unknown_attribute(&owner.name, f, &ACTOR_FIELDS));
                    None
                }
            },
            [] => {
                self.errors.push(
                    Error::new(
                        ErrorKind::UnknownName,
                        owner.span,
                        format!("`{}` is an actor, not a value", owner.name),
                        "needs an attribute",
                    )
                    .with_help(format!("use `{0}.sub`, `{0}.client_id` or `{0}.instance`", owner.name)),
                );
                None
            }
            [_, extra, ..] | [extra @ PathPart::Index(..), ..] => {
                self.errors.push(no_attributes(&owner.name, part_span(extra)));
                None
            }
        }
    }

    /// `chain.depth`, `chain.first.F`, `chain.last.F`.
    fn chain(&mut self, path: &ast::Path) -> Option<CheckedExprKind> {
        const CHAIN_ATTRIBUTES: [&str; 3] = ["depth", "first", "last"];
        match path.parts.split_first() {
            Some((PathPart::Field(f), rest)) => match (f.name.as_str(), rest) {
                ("depth", []) => Some(CheckedExprKind::ChainDepth),
                ("depth", [extra, ..]) => {
                    self.errors.push(no_attributes("chain.depth", part_span(extra)));
                    None
                }
                ("first", _) => self.actor_field(ActorRef::First, &qualified(&path.root, f), rest),
                ("last", _) => self.actor_field(ActorRef::Current, &qualified(&path.root, f), rest),
                _ => {
                    self.errors.push(unknown_attribute("chain", f, &CHAIN_ATTRIBUTES));
                    None
                }
            },
            _ => {
                self.errors.push(
                    Error::new(
                        ErrorKind::UnknownName,
                        path.root.span,
                        "`chain` is not a value on its own",
                        "needs an attribute",
                    )
                    .with_help(
                        "use `chain.depth`, `chain.first.sub`, `chain.last.sub`, or `every hop in chain { ... }`",
                    ),
                );
                None
            }
        }
    }

    /// `claims.a.b`: one or more names, no index.
    fn plain_segments(&mut self, root: &Ident, parts: &[PathPart], what: &str) -> Option<Vec<String>> {
        if parts.is_empty() {
            self.errors.push(
                Error::new(
                    ErrorKind::UnknownName,
                    root.span,
                    format!("`{what}` is not a value on its own"),
                    "needs a path",
                )
                .with_help(format!("name what to read, e.g. `{what}.tenant`")),
            );
            return None;
        }
        let mut names = Vec::with_capacity(parts.len());
        for part in parts {
            match part {
                PathPart::Field(f) => names.push(f.name.clone()),
                PathPart::Index(_, span) => {
                    self.errors.push(
                        Error::new(
                            ErrorKind::InvalidIndex,
                            *span,
                            format!("`{what}` paths cannot be indexed here"),
                            "unexpected `[...]`",
                        )
                        .with_help("only a data table takes a key: `data.table[KEY].field`"),
                    );
                    return None;
                }
            }
        }
        Some(names)
    }

    /// `data.a.b` or `data.table[KEY].field`.
    fn data(&mut self, path: &'a ast::Path, scope: Scope<'a>) -> Option<CheckedExprKind> {
        let Some(index_at) = path.parts.iter().position(|p| matches!(p, PathPart::Index(..))) else {
            let names = self.plain_segments(&path.root, &path.parts, "data")?;
            return Some(CheckedExprKind::Dynamic(Source::Data(names)));
        };
        let (table_parts, rest) = path.parts.split_at(index_at);
        let Some((PathPart::Index(key, brackets), field_parts)) = rest.split_first() else {
            return None;
        };
        if table_parts.is_empty() {
            self.errors.push(
                Error::new(
                    ErrorKind::InvalidIndex,
                    *brackets,
                    "`data` itself cannot be indexed",
                    "name the table first",
                )
                .with_help("write `data.table[KEY]`"),
            );
            return None;
        }
        let table = self.plain_segments(&path.root, table_parts, "data")?;
        let key = self.expr(key, scope)?;
        self.demand(&key, Ty::Str);
        let field =
            if field_parts.is_empty() { Vec::new() } else { self.plain_segments(&path.root, field_parts, "data")? };
        Some(CheckedExprKind::Lookup { source: Source::DataTable { table, field }, key: Box::new(key) })
    }

    /// Reports each cycle of helper rules once, at one of its references; for an acyclic
    /// graph, a chain of helpers deeper than [`MAX_HELPER_DEPTH`]. Linear in the number of
    /// references unless there is a cycle (then only the rules that may lie on one are searched).
    fn report_cycles(&mut self, rules: &[&ast::RuleDecl]) {
        let graph = RuleGraph::new(self.helper_refs.iter().map(|&(from, to, _)| (from, to)));
        let candidates = graph.cycle_candidates();
        if candidates.is_empty() {
            self.report_depth(&graph, rules);
            return;
        }
        let mut edges: HashMap<RuleId, Vec<RuleId>> = HashMap::new();
        for &(from, to, _) in &self.helper_refs {
            if candidates.contains(&from) && candidates.contains(&to) {
                edges.entry(from).or_default().push(to);
            }
        }
        let mut reported: HashSet<RuleId> = HashSet::new();
        for &(from, to, span) in &self.helper_refs {
            if reported.contains(&from) || !edges.contains_key(&from) {
                continue;
            }
            let Some(back) = path_between(&edges, to, from) else {
                continue;
            };
            let name = |id: RuleId| rules.get(id as usize).map_or("?", |r| r.name.name.as_str());
            let mut names = vec![name(from)];
            names.extend(back.iter().map(|&id| name(id)));
            reported.extend(back.iter().copied());
            reported.insert(from);
            self.errors.push(
                Error::new(
                    ErrorKind::RecursiveRule,
                    span,
                    format!("helper rule `{}` depends on itself", name(from)),
                    "this reference closes the cycle",
                )
                .with_help(format!(
                    "cycle: {}; helper rules must not refer to themselves, directly or not",
                    names.join(" → ")
                )),
            );
        }
    }
}

impl Checker<'_> {
    /// Refuses a chain of helper rules deeper than [`MAX_HELPER_DEPTH`], at the reference that
    /// starts it.
    fn report_depth(&mut self, graph: &RuleGraph, rules: &[&ast::RuleDecl]) {
        let Some(top) = graph.too_deep() else { return };
        let Some(&(_, _, span)) = self.helper_refs.iter().find(|(from, _, _)| *from == top) else { return };
        let name = rules.get(top as usize).map_or("?", |r| r.name.name.as_str());
        self.errors.push(
            Error::new(
                ErrorKind::LimitExceeded,
                span,
                format!("helper rules nest deeper than {MAX_HELPER_DEPTH} below `{name}`"),
                "this reference starts the chain",
            )
            .with_help(format!(
                "a rule may reach at most {MAX_HELPER_DEPTH} helper rules one inside another; \
                 flatten the chain (a helper may list several conditions)"
            )),
        );
    }
}

/// Shortest path `from → … → to` in the helper graph, listing the rules after `from`.
fn path_between(edges: &HashMap<RuleId, Vec<RuleId>>, from: RuleId, to: RuleId) -> Option<Vec<RuleId>> {
    let mut parent: HashMap<RuleId, RuleId> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = HashSet::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![node];
            let mut at = node;
            while let Some(&p) = parent.get(&at) {
                path.push(p);
                at = p;
            }
            path.reverse();
            return Some(path);
        }
        for &next in edges.get(&node).into_iter().flatten() {
            if seen.insert(next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

fn collect_quantifier_vars<'a>(body: &'a [ast::Cond], vars: &mut HashSet<&'a str>) {
    for cond in body {
        match &cond.kind {
            CondKind::Quantified { var, body, .. } => {
                vars.insert(&var.name);
                collect_quantifier_vars(body, vars);
            }
            CondKind::Not(inner) => collect_quantifier_vars(std::slice::from_ref(inner.as_ref()), vars),
            _ => {}
        }
    }
}

/// A lone name that is not a value in scope: a helper-rule reference.
fn bare_rule_name<'a>(expr: &'a ast::Expr, scope: Scope<'_>) -> Option<&'a Ident> {
    let ExprKind::Path(path) = &expr.kind else {
        return None;
    };
    let name = path.root.name.as_str();
    let is_value = scope.quantifier_var == Some(name) || is_vocabulary_root(name);
    (path.parts.is_empty() && !is_value).then_some(&path.root)
}

fn is_vocabulary_root(name: &str) -> bool {
    ROOTS.contains(&name) || Field::ALL.iter().any(|f| f.name() == name)
}

pub(crate) fn is_ordering(op: CmpOp) -> bool {
    !matches!(op, CmpOp::Eq | CmpOp::Ne)
}

fn actor_field_named(name: &str) -> Option<ActorField> {
    match name {
        "sub" => Some(ActorField::Sub),
        "client_id" => Some(ActorField::ClientId),
        "instance" => Some(ActorField::Instance),
        _ => None,
    }
}

fn part_span(part: &PathPart) -> Span {
    match part {
        PathPart::Field(f) => f.span,
        PathPart::Index(_, span) => *span,
    }
}

/// `chain.first` as one name, for messages.
fn qualified(root: &Ident, attribute: &Ident) -> Ident {
    Ident { name: format!("{}.{}", root.name, attribute.name), span: Span::new(root.span.start, attribute.span.end) }
}

/// `every hop in chain`, without the body.
fn quantifier_head(cond: &ast::Cond, var: &Ident) -> Span {
    Span::new(cond.span.start, var.span.end)
}

fn unknown_attribute(owner: &str, attribute: &Ident, known: &[&str]) -> Error {
    let error = Error::new(
        ErrorKind::UnknownName,
        attribute.span,
        format!("`{owner}` has no attribute `{}`", attribute.name),
        "unknown attribute",
    );
    match closest(&attribute.name, known.iter().copied()) {
        Some(near) => error.with_help(format!("did you mean `{near}`?")),
        None => error.with_help(format!("`{owner}` has: {}", known.join(", "))),
    }
}

fn no_attributes(owner: &str, at: Span) -> Error {
    Error::new(ErrorKind::UnknownName, at, format!("`{owner}` has no attributes"), "unexpected attribute")
        .with_help(format!("`{owner}` is a plain value; remove what follows it"))
}

fn out_of_scope(name: &Ident) -> Error {
    Error::new(
        ErrorKind::QuantifierScope,
        name.span,
        format!("`{}` is only defined inside its `every`/`some` block", name.name),
        "used outside its quantifier",
    )
    .with_help(format!(
        "move this condition inside `every {} in chain {{ ... }}`, or use `act` for the current actor",
        name.name
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn checked(source: &str) -> Result<CheckedPolicy, Vec<Error>> {
        check(&parse(source).unwrap_or_else(|e| panic!("{e:?}")), source)
    }

    fn error_kinds(source: &str) -> Vec<ErrorKind> {
        let mut kinds: Vec<_> = checked(source).err().unwrap_or_default().into_iter().map(|e| e.kind).collect();
        kinds.sort_by_key(|k| k.code());
        kinds
    }

    #[test]
    fn regex_tables_are_limited_per_policy_and_repeated_patterns_count_once() {
        // Over 16 000 cells each (2^12 states × 4 or 5 byte classes).
        let pattern = |i: usize| format!("x{{{i}}}[ab]*a[ab]{{10}}");
        let policy = |patterns: &[String]| -> String {
            let rules: String = patterns
                .iter()
                .enumerate()
                .map(|(i, p)| format!("allow r{i} if {{ regex(sub, \"{p}\") }}\n"))
                .collect();
            format!("package p\n{rules}")
        };
        let mut total = 0;
        let fit = (0..40)
            .take_while(|&i| {
                total += crate::regex_dfa::build_dfa(&pattern(i)).unwrap().transitions.len();
                total <= MAX_REGEX_CELLS_TOTAL
            })
            .count();
        assert!((2..40).contains(&fit), "{fit}");
        let patterns: Vec<String> = (0..=fit).map(pattern).collect();
        assert_eq!(error_kinds(&policy(&patterns[..fit])), []);
        assert_eq!(error_kinds(&policy(&patterns)), [ErrorKind::LimitExceeded]);
        let repeated = vec![pattern(0); 3 * fit];
        assert_eq!(error_kinds(&policy(&repeated)), [], "a repeated pattern counts once");
    }

    #[test]
    fn reports_several_errors_in_one_run() {
        let errors =
            checked("package p\nallow a if {\n subject == \"x\"\n chain.depth == \"3\"\n nope\n}\nallow a if { }")
                .unwrap_err();
        let kinds: HashSet<_> = errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            HashSet::from([
                ErrorKind::UnknownName,
                ErrorKind::TypeMismatch,
                ErrorKind::UnknownRule,
                ErrorKind::DuplicateRule
            ])
        );
    }

    #[test]
    fn resolves_the_vocabulary() {
        let policy = checked(
            "package p\nallow a if { act.sub == chain.first.sub; chain.last.instance == sub; chain.depth > 1 }",
        )
        .unwrap();
        let body = &policy.rules[0].body;
        let CheckedCondKind::Cmp(_, l, r) = &body[0].kind else { panic!() };
        assert_eq!(l.kind, CheckedExprKind::Actor(ActorRef::Current, ActorField::Sub));
        assert_eq!(r.kind, CheckedExprKind::Actor(ActorRef::First, ActorField::Sub));
        let CheckedCondKind::Cmp(_, l, r) = &body[1].kind else { panic!() };
        assert_eq!(l.kind, CheckedExprKind::Actor(ActorRef::Current, ActorField::Instance));
        assert_eq!(r.kind, CheckedExprKind::Field(Field::Sub));
    }

    #[test]
    fn infers_path_types_from_use() {
        let policy = checked(
            "package p\nallow a if {\n claims.a in data.b\n data.c subset scope\n claims.d\n startswith(claims.e, \"x\")\n claims.f + 1 > 2\n data.t[claims.k].v == 3\n}",
        )
        .unwrap();
        let claim = |n: &str| Source::Claim(vec![n.into()]);
        let data = |n: &str| Source::Data(vec![n.into()]);
        assert_eq!(policy.type_of(&claim("a")), Ty::Str);
        assert_eq!(policy.type_of(&data("b")), Ty::StrSet);
        assert_eq!(policy.type_of(&data("c")), Ty::StrSet);
        assert_eq!(policy.type_of(&claim("d")), Ty::Bool);
        assert_eq!(policy.type_of(&claim("e")), Ty::Str);
        assert_eq!(policy.type_of(&claim("f")), Ty::Int);
        assert_eq!(policy.type_of(&claim("k")), Ty::Str);
        assert_eq!(policy.type_of(&Source::DataTable { table: vec!["t".into()], field: vec!["v".into()] }), Ty::Int);
    }

    #[test]
    fn compared_paths_share_a_type_through_chains_of_comparisons() {
        let policy =
            checked("package p\nallow a if { claims.a == claims.b; claims.b == data.c; data.c in scope }").unwrap();
        for s in [Source::Claim(vec!["a".into()]), Source::Claim(vec!["b".into()]), Source::Data(vec!["c".into()])] {
            assert_eq!(policy.type_of(&s), Ty::Str, "{s:?}");
        }
        assert_eq!(
            error_kinds("package p\nallow a if { claims.a == claims.b; claims.a > 1; claims.b in scope }"),
            [ErrorKind::TypeMismatch]
        );
    }

    #[test]
    fn one_path_one_type() {
        assert!(error_kinds("package p\nallow a if { claims.x == 1 }\nallow b if { claims.x == \"s\" }")
            .contains(&ErrorKind::TypeMismatch));
    }

    #[test]
    fn quantifier_rules() {
        assert!(checked("package p\nallow a if { every hop in chain { hop.sub == act.sub } }").is_ok());
        assert_eq!(
            error_kinds("package p\nallow a if { every h in chain { h.name == \"x\" } }"),
            [ErrorKind::UnknownName]
        );
        assert_eq!(error_kinds("package p\nallow a if { every h in chain { h == \"x\" } }"), [ErrorKind::UnknownName]);
        assert_eq!(
            error_kinds("package p\nallow a if { every h in chain { not some g in chain { } } }"),
            [ErrorKind::NestedQuantifier]
        );
        assert_eq!(
            error_kinds("package p\nallow a if { every h in chain { }\n h.sub == \"x\" }"),
            [ErrorKind::QuantifierScope]
        );
    }

    #[test]
    fn rules_and_packages() {
        assert_eq!(error_kinds("allow a if { }"), [ErrorKind::MissingPackage]);
        assert_eq!(error_kinds("allow a if { }\npackage p"), [ErrorKind::MissingPackage]);
        assert_eq!(error_kinds("package p\npackage q"), [ErrorKind::DuplicatePackage]);
        assert_eq!(error_kinds("package p\nrule scope if { }"), [ErrorKind::DuplicateRule]);
        assert_eq!(
            error_kinds("package p\nrule h if { h2 }\nrule h2 if { h }\nallow a if { h }"),
            [ErrorKind::RecursiveRule]
        );
        assert_eq!(error_kinds("package p\nallow a if { }\nallow b if { a }"), [ErrorKind::NotAHelperRule]);
        let policy = checked("package p\nrule h if { }\nallow a if { h }").unwrap();
        assert_eq!(policy.rules[1].body[0].kind, CheckedCondKind::Rule(0));
        assert_eq!(policy.rules[1].line, 3);
    }

    #[test]
    fn literals_and_operators() {
        assert_eq!(error_kinds("package p\nallow a if { sub matches resource }"), [ErrorKind::NonLiteralPattern]);
        assert_eq!(error_kinds("package p\nallow a if { endswith(sub) }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { startwith(sub, \"x\") }"), [ErrorKind::UnknownName]);
        assert_eq!(error_kinds("package p\nallow a if { exp < 9223372036854775808 }"), [ErrorKind::IntegerOverflow]);
        assert_eq!(error_kinds("package p\nallow a if { exp < 106751991167301d }"), [ErrorKind::IntegerOverflow]);
        assert!(checked("package p\nallow a if { exp < -9223372036854775808 }").is_ok());
        assert_eq!(error_kinds("package p\nallow a if { sub + 1 > 2 }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { sub }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { scope matches \"x\" }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { data.t[exp].x == \"y\" }"), [ErrorKind::TypeMismatch]);
    }

    #[test]
    fn suggestions_name_the_closest_word() {
        let errors = checked("package p\nallow a if { act.clientid == \"x\"; chain.dept > 1 }").unwrap_err();
        let helps: Vec<_> = errors.iter().filter_map(|e| e.help.as_deref()).collect();
        assert_eq!(helps, ["did you mean `client_id`?", "did you mean `depth`?"]);
    }
}
