//! Name resolution and type checking: [`ast::Policy`] to [`CheckedPolicy`], a tree in which
//! every name is resolved against the vocabulary and every value has a known type.
//!
//! Checking keeps going after an error so that one run reports as many problems as it can.
//! The types of `claims.*` / `data.*` paths are inferred from how they are used, over the
//! whole policy (one path, one type): see `types::Inference`.
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::ast::{self, BinaryOp, CondKind, ExprKind, Ident, PathPart, Quantifier, Span, Statement};
use crate::diagnostics::{Error, ErrorKind};
use crate::ir::{ActorField, ActorRef, ArithOp, CaseMap, CmpOp, Field, RuleId, RuleKind, Source, Ty};
use crate::limits::MAX_REGEX_CELLS_TOTAL;
use crate::limits::{count_conditions, MAX_CONDITIONS, MAX_CONDITIONS_PER_RULE};
use crate::regex_dfa::RegexError;
use crate::rule_graph::{RuleGraph, MAX_HELPER_DEPTH};
use crate::suggest::closest;
use crate::types::{check_types, inferred_source, static_type, type_name, Inference, PARAMETER_MARK};

/// A policy whose names and types are known; the input of lowering.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedPolicy {
    /// The first `package` name; empty when there is none (an error was reported).
    pub package: String,
    /// Rules in source order; a rule's index is its [`RuleId`].
    pub rules: Vec<CheckedRule>,
    /// Inferred types of claim and data paths (see [`CheckedPolicy::type_of`]).
    dynamic_types: HashMap<Source, Ty>,
    /// Helper rules with parameters, each checked on its own with its parameters standing for
    /// any value (for their errors and types); never lowered: calls inline them.
    pub(crate) templates: Vec<CheckedRule>,
    /// The deny rules whose reason has placeholders, split (see [`crate::reason`]).
    pub reason_templates: BTreeMap<RuleId, Vec<CheckedReasonPart>>,
}

/// Mirrors [`crate::reason::ReasonPart`]: text, or a request value.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckedReasonPart {
    /// Literal text.
    Text(String),
    /// A request value (no data, no quantifier variable).
    Value(CheckedExpr),
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
    /// [`crate::ir::Cond::StartsWithValue`]: a pattern that is not a literal, or a computed subject.
    StartsWithValue(CheckedExpr, CheckedExpr),
    /// [`crate::ir::Cond::EndsWithValue`].
    EndsWithValue(CheckedExpr, CheckedExpr),
    /// [`crate::ir::Cond::Intersects`].
    Intersects(CheckedExpr, CheckedExpr),
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
    /// [`crate::ir::Cond::Any`]: alternatives, each a conjunction.
    Any(Vec<Vec<CheckedCond>>),
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
    /// [`crate::ir::Expr::Concat`]: `+` with an operand known to be a string.
    Concat(Box<CheckedExpr>, Box<CheckedExpr>),
    /// [`crate::ir::Expr::Case`]: `lower(s)` / `upper(s)`.
    Case(CaseMap, Box<CheckedExpr>),
    /// [`crate::ir::Expr::Count`]: `count(set)`.
    Count(Box<CheckedExpr>),
    /// [`crate::ir::Expr::Intersect`]: `a & b`.
    Intersect(Box<CheckedExpr>, Box<CheckedExpr>),
}

impl CheckedExpr {
    /// Known to be a string without inference: a literal, a string field, an actor field or a
    /// computed string. Decides that `+` concatenates.
    fn is_known_string(&self) -> bool {
        match &self.kind {
            CheckedExprKind::Str(_)
            | CheckedExprKind::Actor(..)
            | CheckedExprKind::Concat(..)
            | CheckedExprKind::Case(..) => true,
            CheckedExprKind::Field(field) => field.ty() == Ty::Str,
            _ => false,
        }
    }

    /// A string built at decision time ([`crate::ir::Expr::is_computed_str`]).
    fn is_computed(&self) -> bool {
        matches!(self.kind, CheckedExprKind::Concat(..) | CheckedExprKind::Case(..))
    }

    /// Several parts ([`crate::ir::Expr::is_concatenation`]).
    fn is_concatenation(&self) -> bool {
        match &self.kind {
            CheckedExprKind::Concat(..) => true,
            CheckedExprKind::Case(_, inner) => inner.is_concatenation(),
            _ => false,
        }
    }
}

/// Names every policy may use at the start of a path besides the request fields.
const ROOTS: [&str; 5] = ["act", "chain", "claims", "context", "data"];
const ACTOR_FIELDS: [&str; 4] = ["sub", "client_id", "instance", "claims"];
const FUNCTIONS: [&str; 5] = ["startswith", "endswith", "defined", "intersects", "regex"];
/// Functions whose result is a value rather than a condition.
const VALUE_FUNCTIONS: [&str; 3] = ["lower", "upper", "count"];

/// Whether `name` is a builtin function, which a helper rule may not be named.
fn is_builtin_function(name: &str) -> bool {
    FUNCTIONS.contains(&name) || VALUE_FUNCTIONS.contains(&name)
}

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
    let pieces: Vec<Vec<ReasonPiece>> = rules
        .iter()
        .map(|rule| reason_pieces(rule, source).unwrap_or_else(|error| vec![ReasonPiece::Invalid(error)]))
        .collect();
    let mut checker = Checker::new(source, &rules, errors);
    let lines = LineIndex::new(source);
    let mut checked_rules = Vec::with_capacity(rules.len());
    let mut reason_templates = BTreeMap::new();
    for (id, rule) in rules.iter().enumerate() {
        // Every definition of a helper rule refers to others as its first definition does.
        checker.current_rule = checker.definition_of.get(id).copied().unwrap_or(id as RuleId);
        checker.expanded = 0;
        checker.expansion_reported = false;
        if let Some(template) = pieces.get(id).and_then(|pieces| checker.reason(pieces)) {
            reason_templates.insert(id as RuleId, template);
        }
        let body = checker.rule_body(id as RuleId, rule);
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
    let is_template: Vec<bool> = rules.iter().map(|r| !r.params.is_empty()).collect();
    let (checked_rules, templates, new_id) = merge_definitions(checked_rules, &checker.definition_of, &is_template);
    // Deny rules are never merged nor templates: their templates follow them to their new ids.
    let reason_templates = reason_templates
        .into_iter()
        .filter_map(|(id, template)| new_id.get(id as usize).filter(|&&to| to != RuleId::MAX).map(|&to| (to, template)))
        .collect();
    let Checker { mut errors, inference, arguments, dropped_silently, .. } = checker;
    let mut checked = CheckedPolicy {
        package: package.unwrap_or_default(),
        rules: checked_rules,
        dynamic_types: HashMap::new(),
        templates,
        reason_templates,
    };
    let inferred = inference.finish(&mut errors, source);
    checked.dynamic_types = inferred.types;
    errors.extend(check_types(&checked, &checked.templates, &inferred.conflicted, source));
    let (argument_errors, bad_calls) = check_arguments(&checked, &arguments, &inferred.conflicted);
    let rule_errors = check_types(&checked, &checked.rules, &inferred.conflicted, source);
    // An argument of the wrong type also makes the inlined body ill typed: report it once, at
    // the argument (the policy is refused either way).
    let template_spans: Vec<Span> = rules.iter().filter(|r| !r.params.is_empty()).map(|r| r.span).collect();
    let inside_template = |e: &Error| template_spans.iter().any(|s| s.start <= e.span.start && e.span.end <= s.end);
    let repeats_argument_error =
        |e: &Error| !argument_errors.is_empty() && (inside_template(e) || bad_calls.contains(&e.span));
    errors.extend(rule_errors.into_iter().filter(|e| !repeats_argument_error(e)));
    errors.extend(argument_errors);
    for rule in checked.rules.iter().chain(&checked.templates) {
        for cond in &rule.body {
            computed_string_positions(cond, &mut errors);
            intersection_positions(cond, &mut errors);
        }
    }
    // Each call inlines the helper's body again: report each of its errors once.
    let mut seen = HashSet::new();
    errors.retain(|e| seen.insert((e.kind, e.span, e.message.clone())));
    if dropped_silently && errors.is_empty() {
        errors.push(Error::new(
            ErrorKind::RecursiveRule,
            Span::default(),
            "internal error: a helper call was not inlined",
            "here",
        ));
    }
    (checked, errors)
}

/// One argument passed to a helper parameter, checked against the parameter's inferred type
/// once inference is done.
struct Argument {
    /// The helper called.
    helper: String,
    /// The parameter's name.
    param: String,
    /// The parameter's stand-in source in the helper's template ([`parameter_source`]).
    source: Source,
    /// The argument, with its place at the call.
    value: CheckedExpr,
    /// The whole call, where the inlined body's own type errors would point.
    call: Span,
    /// Line of the helper definition.
    line: u32,
}

/// The stand-in of parameter `name` of declaration `id` while its body is checked on its own:
/// a claim path no policy can write, so its type is inferred like any path's.
fn parameter_source(id: RuleId, name: &str) -> Source {
    Source::Claim(vec![PARAMETER_MARK.to_string(), id.to_string(), name.to_string()])
}

/// Each argument must have the type its parameter's uses give it. A parameter whose uses fix no
/// type (`rule same(a, b) if { a == b }`) takes any: the inlined body is type-checked as written.
/// Returns the errors and the spans of the calls they are in.
fn check_arguments(
    policy: &CheckedPolicy,
    arguments: &[Argument],
    conflicted: &HashSet<Source>,
) -> (Vec<Error>, HashSet<Span>) {
    let mut errors = Vec::new();
    let mut calls = HashSet::new();
    for argument in arguments {
        let argument_source = inferred_source(&argument.value);
        if conflicted.contains(&argument.source) || argument_source.is_some_and(|s| conflicted.contains(s)) {
            continue;
        }
        let Some(&expected) = policy.dynamic_types.get(&argument.source) else { continue };
        let actual = argument_source.map_or_else(|| static_type(&argument.value), |s| policy.type_of(s));
        if expected != actual {
            calls.insert(argument.call);
            errors.push(
                Error::new(
                    ErrorKind::TypeMismatch,
                    argument.value.span,
                    format!(
                        "`{}` takes `{}` as {}, not {}",
                        argument.helper,
                        argument.param,
                        type_name(expected),
                        type_name(actual)
                    ),
                    format!("{} here", type_name(actual)),
                )
                .with_help(format!(
                    "the body of `{}` (line {}) uses `{}` as {}",
                    argument.helper,
                    argument.line,
                    argument.param,
                    type_name(expected)
                )),
            );
        }
    }
    (errors, calls)
}

/// A helper's parameters: not named like the vocabulary (the body could not read it), each once.
fn check_params(rule: &ast::RuleDecl, errors: &mut Vec<Error>) {
    for (index, param) in rule.params.iter().enumerate() {
        if is_vocabulary_root(&param.name) {
            errors.push(
                Error::new(
                    ErrorKind::QuantifierScope,
                    param.span,
                    format!("parameter `{}` hides a vocabulary name", param.name),
                    "choose another name",
                )
                .with_help(format!("name the parameter for what it holds, e.g. `{}_value`", param.name)),
            );
        } else if rule.params.iter().take(index).any(|earlier| earlier.name == param.name) {
            errors.push(
                Error::new(
                    ErrorKind::QuantifierScope,
                    param.span,
                    format!("parameter `{}` is listed twice", param.name),
                    "second parameter of this name",
                )
                .with_help("give each parameter its own name"),
            );
        }
    }
}

/// One rule per name: the definitions of a helper rule written several times become one rule
/// whose body is their alternatives ([`CheckedCondKind::Any`]), at the place of the first;
/// rule references are renumbered to match. `definition_of` is [`Checker::definition_of`].
/// Helpers with parameters (`is_template`) are set apart: calls inline them, nothing refers to
/// them. Returns the rules, the templates and each declaration's new id (`RuleId::MAX` for a
/// template).
fn merge_definitions(
    rules: Vec<CheckedRule>,
    definition_of: &[RuleId],
    is_template: &[bool],
) -> (Vec<CheckedRule>, Vec<CheckedRule>, Vec<RuleId>) {
    let mut new_id: Vec<RuleId> = Vec::with_capacity(rules.len());
    let mut merged: Vec<(CheckedRule, Vec<CheckedRule>)> = Vec::new();
    let mut templates = Vec::new();
    for (id, rule) in rules.into_iter().enumerate() {
        let first = definition_of.get(id).copied().unwrap_or(id as RuleId);
        if is_template.get(id).copied().unwrap_or(false) {
            new_id.push(RuleId::MAX);
            templates.push(rule);
            continue;
        }
        match new_id.get(first as usize).copied().filter(|&target| target != RuleId::MAX) {
            Some(target) if first as usize != id => {
                new_id.push(target);
                if let Some((_, others)) = merged.get_mut(target as usize) {
                    others.push(rule);
                }
            }
            _ => {
                new_id.push(merged.len() as RuleId);
                merged.push((rule, Vec::new()));
            }
        }
    }
    let rules = merged
        .into_iter()
        .map(|(first, others)| {
            let mut rule = if others.is_empty() {
                first
            } else {
                // No line numbers: the definitions may lie in different files of a package.
                let definitions = others.len() + 1;
                let span = first.body.first().map_or(Span::default(), |c| c.span);
                let branches = std::iter::once(first.body).chain(others.into_iter().map(|r| r.body)).collect();
                CheckedRule {
                    body: vec![CheckedCond { kind: CheckedCondKind::Any(branches), span }],
                    body_text: vec![format!("any of its {definitions} definitions")],
                    ..first
                }
            };
            renumber_rules(&mut rule.body, &new_id);
            rule
        })
        .collect();
    (rules, templates, new_id)
}

/// Rewrites every [`CheckedCondKind::Rule`] id through `new_id`.
fn renumber_rules(body: &mut [CheckedCond], new_id: &[RuleId]) {
    for cond in body {
        match &mut cond.kind {
            CheckedCondKind::Rule(id) => *id = new_id.get(*id as usize).copied().unwrap_or(*id),
            CheckedCondKind::Not(inner) => renumber_rules(std::slice::from_mut(inner.as_mut()), new_id),
            CheckedCondKind::Every(inner) | CheckedCondKind::Some(inner) => renumber_rules(inner, new_id),
            CheckedCondKind::Any(branches) => branches.iter_mut().for_each(|branch| renumber_rules(branch, new_id)),
            _ => {}
        }
    }
}

/// A piece of a deny reason as written: text, a placeholder parsed as a path, or the error
/// that stops the reason from being split.
#[derive(Debug)]
enum ReasonPiece {
    Text(String),
    Value(ast::Expr),
    Invalid(Error),
}

/// The pieces of a deny rule's reason, read from the source (so that placeholders have exact
/// spans); empty for other rules and for reasons without braces.
fn reason_pieces(rule: &ast::RuleDecl, source: &str) -> Result<Vec<ReasonPiece>, Error> {
    if !matches!(rule.kind, ast::RuleKind::Deny { .. }) {
        return Ok(Vec::new());
    }
    // The head is `deny NAME "REASON" if`: the literal is the first string after the name.
    let after_name = source.get(rule.name.span.end..rule.span.end).unwrap_or("");
    let Some(open) = after_name.find('"').map(|at| rule.name.span.end + at + 1) else { return Ok(Vec::new()) };
    let raw = source.get(open..).map(string_contents).unwrap_or("");
    let pieces = crate::reason::split(raw).map_err(|e| {
        Error::new(ErrorKind::ReasonPlaceholder, Span::new(open + e.start, open + e.end), e.message, "here")
            .with_help("write `{{` and `}}` for literal braces; `{VALUE}` shows a request value")
    })?;
    let Some(pieces) = pieces else { return Ok(Vec::new()) };
    pieces
        .into_iter()
        .map(|piece| match piece {
            crate::reason::Piece::Text(text) => Ok(ReasonPiece::Text(text)),
            crate::reason::Piece::Placeholder { text, start } => {
                placeholder_path(&text, open + start).map(ReasonPiece::Value).ok_or_else(|| {
                    Error::new(
                        ErrorKind::ReasonPlaceholder,
                        placeholder_span(open + start, text.len()),
                        "a deny reason placeholder must name a request value",
                        "not a value name",
                    )
                    .with_help(PLACEHOLDER_HELP)
                })
            }
        })
        .collect()
}

/// The placeholder text at `start`, or the braces around it when it is empty (`{}`).
fn placeholder_span(start: usize, len: usize) -> Span {
    if len == 0 {
        Span::new(start.saturating_sub(1), start + 1)
    } else {
        Span::new(start, start + len)
    }
}

const PLACEHOLDER_HELP: &str = "write a request value between braces, e.g. `{resource}`, `{claims.tenant}`, \
`{context.tool}`, `{act.sub}`, `{act.claims.team}`, `{chain.depth}`; `{{` and `}}` are literal braces";

/// The contents of the string literal whose opening quote precedes `text`: up to the first
/// unescaped `"`.
fn string_contents(text: &str) -> &str {
    let mut escaped = false;
    for (at, byte) in text.bytes().enumerate() {
        match byte {
            b'"' if !escaped => return text.get(..at).unwrap_or(""),
            b'\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    text
}

/// `NAME(.NAME)*` at byte offset `at` of the source, as a path expression; `None` for anything
/// else (a literal, an index, an operator, an empty placeholder).
fn placeholder_path(text: &str, at: usize) -> Option<ast::Expr> {
    let mut idents = Vec::new();
    let mut start = at;
    for name in text.split('.') {
        let mut chars = name.chars();
        let first = chars.next()?;
        if !(first.is_ascii_alphabetic() || first == '_') || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        idents.push(Ident { name: name.to_string(), span: Span::new(start, start + name.len()) });
        start += name.len() + 1;
    }
    let mut idents = idents.into_iter();
    let root = idents.next()?;
    let parts = idents.map(PathPart::Field).collect();
    Some(ast::Expr { kind: ExprKind::Path(ast::Path { root, parts }), span: Span::new(at, at + text.len()) })
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
    /// For each declaration, the first declaration of its name when both are helper rules
    /// (several definitions of one helper mean any of them), else itself.
    definition_of: Vec<RuleId>,
    /// Helper-rule references: (from, to, span of the reference).
    helper_refs: Vec<(RuleId, RuleId, Span)>,
    inference: Inference,
    errors: Vec<Error>,
    /// Parameters of each declaration (empty for none).
    params: Vec<&'a [Ident]>,
    /// Body of each declaration, to inline calls of helpers with parameters.
    bodies: Vec<&'a [ast::Cond]>,
    /// 1-based line of each declaration.
    lines: Vec<u32>,
    /// Every definition of each helper rule, in source order.
    definitions: HashMap<&'a str, Vec<RuleId>>,
    /// Parameter values of the helper bodies being checked, innermost last; a body sees only
    /// its own parameters.
    bindings: Vec<HashMap<&'a str, CheckedExpr>>,
    /// Helpers being inlined, outermost first: stops a recursive call (reported by the rule
    /// graph) from being inlined forever.
    inlining: Vec<RuleId>,
    /// Conditions inlined into the rule being checked, and into the whole policy.
    expanded: usize,
    expanded_total: usize,
    /// Whether the rule being checked already has its expansion-limit error.
    expansion_reported: bool,
    /// Every argument passed to a helper parameter, checked after inference.
    arguments: Vec<Argument>,
    /// A recursive call was left out, relying on the rule graph to report the cycle: if no
    /// error appears, the policy is still refused.
    dropped_silently: bool,
    /// The distinct `regex` patterns accepted so far (each is built once, and the module
    /// stores one table per pattern), and the cells of their tables together.
    regex_patterns: HashSet<String>,
    regex_cells: usize,
}

impl<'a> Checker<'a> {
    fn new(source: &'a str, rules: &[&'a ast::RuleDecl], mut errors: Vec<Error>) -> Checker<'a> {
        let mut rule_ids = HashMap::new();
        let mut definition_of = Vec::with_capacity(rules.len());
        for (id, rule) in rules.iter().enumerate() {
            definition_of.push(id as RuleId);
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
            if rule.kind == ast::RuleKind::Helper && is_builtin_function(&rule.name.name) {
                errors.push(
                    Error::new(
                        ErrorKind::DuplicateRule,
                        rule.name.span,
                        format!("rule name `{}` is taken by a builtin function", rule.name.name),
                        "a builtin function",
                    )
                    .with_help("a call with this name would call the builtin; rename the rule"),
                );
            }
            // Ids in `rule_ids` are indices of earlier rules, so the lookup always finds one.
            let first =
                rule_ids.get(rule.name.name.as_str()).and_then(|&first| Some((first, rules.get(first as usize)?)));
            if let Some((first_id, first)) = first {
                if first.kind == ast::RuleKind::Helper && rule.kind == ast::RuleKind::Helper {
                    if let Some(slot) = definition_of.last_mut() {
                        *slot = first_id;
                    }
                    if first.params.len() != rule.params.len() {
                        errors.push(
                            Error::new(
                                ErrorKind::DuplicateRule,
                                rule.name.span,
                                format!(
                                    "this definition of `{}` takes {} parameters, the first takes {}",
                                    rule.name.name,
                                    rule.params.len(),
                                    first.params.len()
                                ),
                                "different parameter count",
                            )
                            .with_help(format!(
                                "first defined on line {}; the definitions of one helper rule are alternatives \
                                 and take the same parameters",
                                line_of(source, first.span.start)
                            )),
                        );
                    }
                    continue;
                }
                errors.push(
                    Error::new(
                        ErrorKind::DuplicateRule,
                        rule.name.span,
                        format!("rule `{}` is defined twice", rule.name.name),
                        "second definition",
                    )
                    .with_help(format!(
                        "first defined on line {}; allow and deny names are unique (rules with different names \
                         already combine); only a helper `rule` may have several definitions, meaning any of them",
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
        let mut definitions: HashMap<&str, Vec<RuleId>> = HashMap::new();
        for (id, rule) in rules.iter().enumerate() {
            if rule.kind == ast::RuleKind::Helper {
                definitions.entry(rule.name.name.as_str()).or_default().push(id as RuleId);
            }
            check_params(rule, &mut errors);
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
            definition_of,
            helper_refs: Vec::new(),
            inference: Inference::default(),
            errors,
            params: rules.iter().map(|r| r.params.as_slice()).collect(),
            bodies: rules.iter().map(|r| r.body.as_slice()).collect(),
            lines: {
                let index = LineIndex::new(source);
                rules.iter().map(|r| index.line(r.span.start)).collect()
            },
            definitions,
            bindings: Vec::new(),
            inlining: Vec::new(),
            expanded: 0,
            expanded_total: 0,
            expansion_reported: false,
            arguments: Vec::new(),
            dropped_silently: false,
            regex_patterns: HashSet::new(),
            regex_cells: 0,
        }
    }

    /// The checked body of declaration `id`. A helper with parameters is checked on its own,
    /// each parameter standing for a value of the type its uses give it ([`parameter_source`]).
    fn rule_body(&mut self, id: RuleId, rule: &'a ast::RuleDecl) -> Vec<CheckedCond> {
        if rule.params.is_empty() {
            return rule.body.iter().filter_map(|c| self.cond(c, Scope::default())).collect();
        }
        let frame = rule
            .params
            .iter()
            .map(|p| {
                let kind = CheckedExprKind::Dynamic(parameter_source(id, &p.name));
                (p.name.as_str(), CheckedExpr { kind, span: p.span })
            })
            .collect();
        self.bindings.push(frame);
        self.inlining.push(self.current_rule);
        let body = rule.body.iter().filter_map(|c| self.cond(c, Scope::default())).collect();
        self.inlining.pop();
        self.bindings.pop();
        body
    }

    /// Checks the placeholders of a deny reason: each must be a request value. `None` when the
    /// reason has none (or errors were reported).
    fn reason(&mut self, pieces: &'a [ReasonPiece]) -> Option<Vec<CheckedReasonPart>> {
        let mut parts = Vec::with_capacity(pieces.len());
        let mut ok = true;
        for piece in pieces {
            match piece {
                ReasonPiece::Text(text) => parts.push(CheckedReasonPart::Text(text.clone())),
                ReasonPiece::Invalid(error) => {
                    self.errors.push(error.clone());
                    ok = false;
                }
                ReasonPiece::Value(expr) => match self.expr(expr, Scope::default()) {
                    Some(checked) if reads_data(&checked.kind) => {
                        self.errors.push(
                            Error::new(
                                ErrorKind::ReasonPlaceholder,
                                expr.span,
                                "a deny reason cannot show a data value",
                                "reads the data document",
                            )
                            .with_help(
                                "a reason goes to the agent and to logs, and every host renders it from the request \
                                 alone; show a request value instead (e.g. `{resource}`)",
                            ),
                        );
                        ok = false;
                    }
                    Some(checked) if !renders_from_the_request(&checked.kind) => {
                        self.errors.push(
                            Error::new(
                                ErrorKind::ReasonPlaceholder,
                                expr.span,
                                "a deny reason cannot show this value",
                                "not a request value",
                            )
                            .with_help(PLACEHOLDER_HELP),
                        );
                        ok = false;
                    }
                    Some(checked) => parts.push(CheckedReasonPart::Value(checked)),
                    None => ok = false,
                },
            }
        }
        (ok && !parts.is_empty()).then_some(parts)
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
            CondKind::Or(branches) => {
                // Check every branch (to report all their errors) before giving up on one.
                let checked: Vec<Option<CheckedCond>> = branches.iter().map(|c| self.cond(c, scope)).collect();
                CheckedCondKind::Any(checked.into_iter().map(|c| c.map(|c| vec![c])).collect::<Option<_>>()?)
            }
            CondKind::Bare(expr) => match bare_rule_name(expr, scope).filter(|n| self.parameter(&n.name).is_none()) {
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

    /// `startswith(s, p)` / `endswith(s, p)`, and dispatch of the other function calls.
    fn call(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let is_starts = match function.name.as_str() {
            "startswith" => true,
            "endswith" => false,
            "defined" => return self.defined(span, function, args, scope),
            "intersects" => return self.intersects(span, function, args, scope),
            "regex" => return self.regex(span, function, args, scope),
            other if VALUE_FUNCTIONS.contains(&other) => {
                return self.error(
                    Error::new(
                        ErrorKind::TypeMismatch,
                        span,
                        format!("`{other}(...)` is a value, not a condition"),
                        "used as a condition",
                    )
                    .with_help(format!("compare it with something, e.g. `{other}(...) == ...`")),
                );
            }
            name if self.definitions.contains_key(name) => return self.inline_call(span, function, args, scope),
            other => {
                let mut error = Error::new(
                    ErrorKind::UnknownName,
                    function.span,
                    format!("unknown function `{other}`"),
                    "not a function",
                );
                if let Some(near) = closest(other, FUNCTIONS.into_iter().chain(VALUE_FUNCTIONS)) {
                    error = error.with_help(format!("did you mean `{near}`?"));
                }
                return self.error(error);
            }
        };
        let [subject, pattern] =
            self.two_arguments(span, function, args, format!("write `{}(VALUE, PREFIX)`", function.name))?;
        let (subject, pattern) = self.operands(subject, pattern, scope)?;
        self.demand(&subject, Ty::Str);
        self.demand(&pattern, Ty::Str);
        // A literal pattern on a stored subject keeps the fast path (pattern bytes in the module).
        let kind = match (&pattern.kind, subject.is_computed(), is_starts) {
            (CheckedExprKind::Str(p), false, true) => CheckedCondKind::StartsWith(subject, p.clone()),
            (CheckedExprKind::Str(p), false, false) => CheckedCondKind::EndsWith(subject, p.clone()),
            (_, _, true) => CheckedCondKind::StartsWithValue(subject, pattern),
            (_, _, false) => CheckedCondKind::EndsWithValue(subject, pattern),
        };
        Some(CheckedCond { kind, span })
    }

    /// The two arguments of `function`, or a `type-mismatch` error with `help` (how to call it).
    fn two_arguments(
        &mut self,
        span: Span,
        function: &Ident,
        args: &'a [ast::Expr],
        help: impl Into<String>,
    ) -> Option<[&'a ast::Expr; 2]> {
        match args {
            [a, b] => Some([a, b]),
            _ => {
                let error = Error::new(
                    ErrorKind::TypeMismatch,
                    span,
                    format!("`{}` takes two arguments", function.name),
                    format!("{} given", args.len()),
                )
                .with_help(help);
                self.errors.push(error);
                None
            }
        }
    }

    /// `regex(s, "pattern")`: a literal pattern whose DFA fits the limits.
    fn regex(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let [subject, pattern_expr] =
            self.two_arguments(span, function, args, format!("write `{}(VALUE, \"pattern\")`", function.name))?;
        let subject = self.expr(subject, scope);
        let pattern = self.pattern(pattern_expr, &function.name)?;
        self.regex_pattern(&pattern, pattern_expr.span)?;
        let subject = subject?;
        self.demand(&subject, Ty::Str);
        Some(CheckedCond { kind: CheckedCondKind::Regex(subject, pattern), span })
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

    /// `intersects(A, B)`: the two sets share an element.
    fn intersects(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let [a, b] = self.two_arguments(span, function, args, "write `intersects(scope, {\"read\", \"write\"})`")?;
        let (a, b) = self.operands(a, b, scope)?;
        self.demand(&a, Ty::StrSet);
        self.demand(&b, Ty::StrSet);
        Some(CheckedCond { kind: CheckedCondKind::Intersects(a, b), span })
    }

    /// `lower(s)`, `upper(s)`, `count(set)`: a function whose result is a value.
    fn call_value(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedExpr> {
        let name = function.name.as_str();
        let case = match name {
            "lower" => Some(CaseMap::Lower),
            "upper" => Some(CaseMap::Upper),
            "count" => None,
            _ => {
                let error = if FUNCTIONS.contains(&name) {
                    Error::new(
                        ErrorKind::TypeMismatch,
                        span,
                        format!("`{name}(...)` is a condition, not a value"),
                        "used as a value",
                    )
                    .with_help("write it as a condition on its own line")
                } else {
                    let error = Error::new(
                        ErrorKind::UnknownName,
                        function.span,
                        format!("unknown function `{name}`"),
                        "not a function",
                    );
                    match closest(name, VALUE_FUNCTIONS.into_iter().chain(FUNCTIONS)) {
                        Some(near) => error.with_help(format!("did you mean `{near}`?")),
                        None => error.with_help("value functions are `lower`, `upper` and `count`"),
                    }
                };
                self.errors.push(error);
                return None;
            }
        };
        let [arg] = args else {
            let example = if case.is_some() { "lower(sub)" } else { "count(scope)" };
            self.errors.push(
                Error::new(
                    ErrorKind::TypeMismatch,
                    span,
                    format!("`{name}` takes one argument"),
                    format!("{} given", args.len()),
                )
                .with_help(format!("write `{example}`")),
            );
            return None;
        };
        let arg = self.expr(arg, scope)?;
        let kind = match case {
            Some(case) => {
                self.demand(&arg, Ty::Str);
                CheckedExprKind::Case(case, Box::new(arg))
            }
            None => {
                self.demand(&arg, Ty::StrSet);
                CheckedExprKind::Count(Box::new(arg))
            }
        };
        Some(CheckedExpr { kind, span })
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
        if let Some(params) = self.params.get(id as usize).filter(|p| !p.is_empty()) {
            return self.error(arity(name, params.len(), 0));
        }
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

    /// The value of parameter `name` of the helper body being checked, if it is one.
    fn parameter(&self, name: &str) -> Option<CheckedExpr> {
        self.bindings.last().and_then(|frame| frame.get(name)).cloned()
    }

    /// `helper(args...)`: the helper's body with the arguments in place of its parameters (every
    /// definition, as alternatives), checked where the call is, so an argument may be the
    /// variable of an enclosing quantifier.
    fn inline_call(
        &mut self,
        span: Span,
        function: &'a Ident,
        args: &'a [ast::Expr],
        scope: Scope<'a>,
    ) -> Option<CheckedCond> {
        let definitions = self.definitions.get(function.name.as_str()).cloned().unwrap_or_default();
        let first = *definitions.first()?;
        let param_count = self.params.get(first as usize).map_or(0, |p| p.len());
        if param_count != args.len() {
            return self.error(arity(function, param_count, args.len()));
        }
        if definitions.iter().any(|&d| self.params.get(d as usize).map_or(0, |p| p.len()) != param_count) {
            return None; // reported at the definition whose parameters differ
        }
        let values: Vec<Option<CheckedExpr>> = args.iter().map(|a| self.expr(a, scope)).collect();
        let values: Vec<CheckedExpr> = values.into_iter().collect::<Option<_>>()?;
        self.helper_refs.push((self.current_rule, first, function.span));
        if self.inlining.contains(&first) || self.inlining.len() >= MAX_HELPER_DEPTH {
            // A cycle or too deep a chain: the rule graph reports it (`report_cycles`).
            self.dropped_silently = true;
            return None;
        }
        let size = definitions.iter().filter_map(|&d| self.bodies.get(d as usize)).map(|b| count_conditions(b)).sum();
        if !self.expand(size, function) {
            return None;
        }
        let inner = Scope { quantifier_var: None, in_quantifier: scope.in_quantifier };
        let mut branches = Vec::with_capacity(definitions.len());
        let mut complete = true;
        self.inlining.push(first);
        for &definition in &definitions {
            let params = self.params.get(definition as usize).copied().unwrap_or_default();
            let body = self.bodies.get(definition as usize).copied().unwrap_or_default();
            let line = self.lines.get(definition as usize).copied().unwrap_or_default();
            for (param, value) in params.iter().zip(&values) {
                self.arguments.push(Argument {
                    helper: function.name.clone(),
                    param: param.name.clone(),
                    source: parameter_source(definition, &param.name),
                    value: value.clone(),
                    call: span,
                    line,
                });
            }
            self.bindings.push(params.iter().map(|p| p.name.as_str()).zip(values.iter().cloned()).collect());
            let conds: Vec<CheckedCond> = body.iter().filter_map(|c| self.cond(c, inner)).collect();
            self.bindings.pop();
            complete &= conds.len() == body.len();
            branches.push(conds);
        }
        self.inlining.pop();
        if !complete {
            return None;
        }
        let kind = match branches.as_mut_slice() {
            [only] if only.len() == 1 => only.pop()?.kind,
            _ => CheckedCondKind::Any(branches),
        };
        Some(CheckedCond { kind, span })
    }

    /// Counts `size` more inlined conditions; past the per-rule or per-policy limit, reports it
    /// (once per rule) at the call `at` and returns false.
    fn expand(&mut self, size: usize, at: &Ident) -> bool {
        self.expanded = self.expanded.saturating_add(size);
        self.expanded_total = self.expanded_total.saturating_add(size);
        if self.expanded <= MAX_CONDITIONS_PER_RULE && self.expanded_total <= MAX_CONDITIONS {
            return true;
        }
        if !self.expansion_reported {
            self.expansion_reported = true;
            self.errors.push(
                Error::new(
                    ErrorKind::LimitExceeded,
                    at.span,
                    format!("calls of helper rules expand past the size limit at `{}`", at.name),
                    "inlining this call passes the limit",
                )
                .with_help(format!(
                    "each call copies the helper's body: a rule may expand to at most \
                     {MAX_CONDITIONS_PER_RULE} conditions and a policy to {MAX_CONDITIONS}; call helpers fewer times \
                     or use a helper without parameters, which is evaluated once"
                )),
            );
        }
        false
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
            ExprKind::Call { function, args } => return self.call_value(expr.span, function, args, scope),
            ExprKind::Intersect(a, b) => {
                let (a, b) = self.operands(a, b, scope)?;
                self.demand(&a, Ty::StrSet);
                self.demand(&b, Ty::StrSet);
                CheckedExprKind::Intersect(Box::new(a), Box::new(b))
            }
            ExprKind::Arith(op, a, b) => {
                let (a, b) = (self.expr(a, scope), self.expr(b, scope));
                let (a, b) = (a?, b?);
                if *op == ArithOp::Add && (a.is_known_string() || b.is_known_string()) {
                    // An operand known to be a string makes `+` concatenation.
                    self.demand(&a, Ty::Str);
                    self.demand(&b, Ty::Str);
                    return Some(CheckedExpr {
                        kind: CheckedExprKind::Concat(Box::new(a), Box::new(b)),
                        span: expr.span,
                    });
                }
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
        if let Some(value) = self.parameter(root) {
            if let Some(part) = path.parts.first() {
                self.errors.push(no_attributes(root, part_span(part)));
                return None;
            }
            return Some(value.kind);
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

/// Computed strings (`+` on strings, `lower`, `upper`) have no interned id, so the module can
/// only compare them byte by byte: refuses them wherever an id is needed (docs/language.md,
/// "Computed strings"), so that no backend ever sees one there.
fn computed_string_positions(cond: &CheckedCond, errors: &mut Vec<Error>) {
    let concat = CheckedExpr::is_concatenation;
    match &cond.kind {
        CheckedCondKind::Cmp(_, l, r) => {
            if concat(l) && concat(r) {
                errors.push(
                    Error::new(
                        ErrorKind::ComputedString,
                        cond.span,
                        "both sides of a comparison are concatenations",
                        "concatenations on both sides",
                    )
                    .with_help("keep one side a single string (take the common literal parts out of both sides)"),
                );
            }
            computed_inside(l, None, errors);
            computed_inside(r, None, errors);
        }
        CheckedCondKind::In(elem, set) => {
            let literal = matches!(set.kind, CheckedExprKind::StrSet(_));
            computed_inside(elem, (!literal).then_some("tested `in` a set that is not a literal"), errors);
            computed_inside(set, None, errors);
        }
        CheckedCondKind::StartsWithValue(subject, pattern) | CheckedCondKind::EndsWithValue(subject, pattern) => {
            let position = concat(subject).then_some("the subject of `startswith`/`endswith`");
            computed_inside(subject, position, errors);
            computed_inside(pattern, None, errors);
        }
        CheckedCondKind::Matches(subject, _) => computed_inside(subject, Some("the subject of `matches`"), errors),
        CheckedCondKind::Regex(subject, _) => computed_inside(subject, Some("the subject of `regex`"), errors),
        CheckedCondKind::StartsWith(e, _)
        | CheckedCondKind::EndsWith(e, _)
        | CheckedCondKind::Truthy(e)
        | CheckedCondKind::Defined(e) => computed_inside(e, None, errors),
        CheckedCondKind::Subset(a, b) | CheckedCondKind::Intersects(a, b) => {
            computed_inside(a, None, errors);
            computed_inside(b, None, errors);
        }
        CheckedCondKind::Not(inner) => computed_string_positions(inner, errors),
        CheckedCondKind::Every(body) | CheckedCondKind::Some(body) => {
            body.iter().for_each(|c| computed_string_positions(c, errors))
        }
        CheckedCondKind::Any(branches) => branches.iter().flatten().for_each(|c| computed_string_positions(c, errors)),
        CheckedCondKind::Rule(_) => {}
    }
}

/// Refuses `expr` when it is computed and `refused` names its position; then checks the
/// positions inside it (a table key needs an id).
fn computed_inside(expr: &CheckedExpr, refused: Option<&str>, errors: &mut Vec<Error>) {
    if let (true, Some(position)) = (expr.is_computed(), refused) {
        errors.push(
            Error::new(
                ErrorKind::ComputedString,
                expr.span,
                format!("a computed string cannot be {position}"),
                "built at decision time",
            )
            .with_help(
                "a string built with `+`, `lower` or `upper` can be compared (`==`, `!=`, `in {\"a\", \"b\"}`) \
                 or tested with `startswith`/`endswith`; see \"Computed strings\" in docs/language.md",
            ),
        );
        return;
    }
    match &expr.kind {
        CheckedExprKind::Concat(a, b) | CheckedExprKind::Arith(_, a, b) | CheckedExprKind::Intersect(a, b) => {
            computed_inside(a, None, errors);
            computed_inside(b, None, errors);
        }
        CheckedExprKind::Case(_, inner) | CheckedExprKind::Count(inner) => computed_inside(inner, None, errors),
        CheckedExprKind::Lookup { key, .. } => computed_inside(key, Some("a table key"), errors),
        _ => {}
    }
}

/// A set intersection is never built: it may only be counted (`count(A & B)`) or compared
/// with the empty set (`A & B == {}`, `!= {}`), which the module answers by searching one set
/// in the other. Refused anywhere else.
fn intersection_positions(cond: &CheckedCond, errors: &mut Vec<Error>) {
    let empty = |e: &CheckedExpr| matches!(&e.kind, CheckedExprKind::StrSet(items) if items.is_empty());
    match &cond.kind {
        CheckedCondKind::Cmp(op, l, r) => {
            let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
            intersections_inside(l, equality && empty(r), errors);
            intersections_inside(r, equality && empty(l), errors);
        }
        CheckedCondKind::In(a, b)
        | CheckedCondKind::Subset(a, b)
        | CheckedCondKind::Intersects(a, b)
        | CheckedCondKind::StartsWithValue(a, b)
        | CheckedCondKind::EndsWithValue(a, b) => {
            intersections_inside(a, false, errors);
            intersections_inside(b, false, errors);
        }
        CheckedCondKind::StartsWith(e, _)
        | CheckedCondKind::EndsWith(e, _)
        | CheckedCondKind::Matches(e, _)
        | CheckedCondKind::Regex(e, _)
        | CheckedCondKind::Truthy(e)
        | CheckedCondKind::Defined(e) => intersections_inside(e, false, errors),
        CheckedCondKind::Not(inner) => intersection_positions(inner, errors),
        CheckedCondKind::Every(body) | CheckedCondKind::Some(body) => {
            body.iter().for_each(|c| intersection_positions(c, errors))
        }
        CheckedCondKind::Any(branches) => branches.iter().flatten().for_each(|c| intersection_positions(c, errors)),
        CheckedCondKind::Rule(_) => {}
    }
}

/// Refuses an intersection in `expr` unless `allowed` (for `expr` itself) or under `count`.
fn intersections_inside(expr: &CheckedExpr, allowed: bool, errors: &mut Vec<Error>) {
    match &expr.kind {
        CheckedExprKind::Intersect(a, b) => {
            if !allowed {
                errors.push(
                    Error::new(
                        ErrorKind::ComputedSet,
                        expr.span,
                        "a set intersection can only be counted or compared with `{}`",
                        "intersection used here",
                    )
                    .with_help("write `count(A & B)`, `A & B != {}` (or `intersects(A, B)`), or `A & B == {}`"),
                );
                return;
            }
            intersections_inside(a, false, errors);
            intersections_inside(b, false, errors);
        }
        CheckedExprKind::Count(inner) => intersections_inside(inner, true, errors),
        CheckedExprKind::Concat(a, b) | CheckedExprKind::Arith(_, a, b) => {
            intersections_inside(a, false, errors);
            intersections_inside(b, false, errors);
        }
        CheckedExprKind::Case(_, inner) | CheckedExprKind::Lookup { key: inner, .. } => {
            intersections_inside(inner, false, errors)
        }
        _ => {}
    }
}

fn collect_quantifier_vars<'a>(body: &'a [ast::Cond], vars: &mut HashSet<&'a str>) {
    for cond in body {
        match &cond.kind {
            CondKind::Quantified { var, body, .. } => {
                vars.insert(&var.name);
                collect_quantifier_vars(body, vars);
            }
            CondKind::Not(inner) => collect_quantifier_vars(std::slice::from_ref(inner.as_ref()), vars),
            CondKind::Or(branches) => collect_quantifier_vars(branches, vars),
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

/// Whether a placeholder's value comes from the data document rather than the request.
/// Whether a reason placeholder's value is one every host renders from the request alone: a
/// field, a claim or context path, the current or first actor's field or claim, the chain depth.
fn renders_from_the_request(kind: &CheckedExprKind) -> bool {
    let named_actor = |actor: &ActorRef| matches!(actor, ActorRef::Current | ActorRef::First);
    match kind {
        CheckedExprKind::Field(_) | CheckedExprKind::ChainDepth => true,
        CheckedExprKind::Dynamic(source) => matches!(source, Source::Claim(_) | Source::Context(_)),
        CheckedExprKind::Actor(actor, _) | CheckedExprKind::ActorClaim { actor, .. } => named_actor(actor),
        _ => false,
    }
}

fn reads_data(kind: &CheckedExprKind) -> bool {
    match kind {
        CheckedExprKind::Dynamic(source) => source.is_data(),
        CheckedExprKind::Lookup { .. } => true,
        _ => false,
    }
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

/// A helper called with the wrong number of arguments.
fn arity(helper: &Ident, expected: usize, given: usize) -> Error {
    let usage = if expected == 0 {
        format!("write `{}` alone on its line", helper.name)
    } else {
        let values = vec!["VALUE"; expected].join(", ");
        format!("call it as `{}({values})`", helper.name)
    };
    Error::new(
        ErrorKind::TypeMismatch,
        helper.span,
        format!("helper rule `{}` takes {expected} argument{}", helper.name, if expected == 1 { "" } else { "s" }),
        format!("{given} given"),
    )
    .with_help(usage)
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
        assert_eq!(error_kinds("package p\nallow a if { sub - 1 > 2 }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { sub }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { scope matches \"x\" }"), [ErrorKind::TypeMismatch]);
        assert_eq!(error_kinds("package p\nallow a if { data.t[exp].x == \"y\" }"), [ErrorKind::TypeMismatch]);
    }

    #[test]
    fn helpers_with_parameters_are_inlined_at_each_call() {
        let policy = checked(
            "package p\nrule owns(record) if { data.records[record].customer == sub }\n\
             allow a if { owns(resource)\n every hop in chain { owns(hop.sub) } }",
        )
        .unwrap();
        assert_eq!(policy.rules.len(), 1, "helpers with parameters are not rules of the program");
        let CheckedCondKind::Cmp(CmpOp::Eq, lookup, _) = &policy.rules[0].body[0].kind else { panic!() };
        let CheckedExprKind::Lookup { key, .. } = &lookup.kind else { panic!() };
        assert_eq!(key.kind, CheckedExprKind::Field(Field::Resource));
        let CheckedCondKind::Every(inner) = &policy.rules[0].body[1].kind else { panic!() };
        let CheckedCondKind::Cmp(_, lookup, _) = &inner[0].kind else { panic!() };
        let CheckedExprKind::Lookup { key, .. } = &lookup.kind else { panic!() };
        assert_eq!(key.kind, CheckedExprKind::Actor(ActorRef::Hop, ActorField::Sub));
        // An argument's type follows from the parameter's use, like a path's.
        let policy =
            checked("package p\nrule recent(at) if { now - at < 1h }\nallow a if { recent(claims.t) }").unwrap();
        assert_eq!(policy.type_of(&Source::Claim(vec!["t".into()])), Ty::Int);
        // A parameter whose uses fix no type takes any; the inlined body is checked as written.
        let both = "package p\nrule both(x, y) if { x == y }\n";
        assert!(checked(&format!("{both}allow a if {{ both(chain.depth, 3) }}")).is_ok());
        assert!(checked(&format!("{both}allow a if {{ both(sub, act.sub) }}")).is_ok());
        assert_eq!(error_kinds(&format!("{both}allow a if {{ both(chain.depth, sub) }}")), [ErrorKind::TypeMismatch]);
    }

    #[test]
    fn inlining_is_bounded_by_the_size_limits() {
        // Each helper calls the next twice: 2^40 conditions if nothing stopped the expansion.
        let mut source = String::from("package p\nrule h40(x) if { x == \"a\" }\n");
        for level in (0..40).rev() {
            source.push_str(&format!("rule h{level}(x) if {{ h{}(x)\n h{}(x) }}\n", level + 1, level + 1));
        }
        source.push_str("allow a if { h0(resource) }\n");
        assert!(error_kinds(&source).contains(&ErrorKind::LimitExceeded));
        // A helper called within the limit compiles.
        assert!(checked(
            "package p\nrule h1(x) if { x == \"a\" }\nrule h0(x) if { h1(x); h1(x) }\nallow a if { h0(sub) }"
        )
        .is_ok());
    }

    #[test]
    fn suggestions_name_the_closest_word() {
        let errors = checked("package p\nallow a if { act.clientid == \"x\"; chain.dept > 1 }").unwrap_err();
        let helps: Vec<_> = errors.iter().filter_map(|e| e.help.as_deref()).collect();
        assert_eq!(helps, ["did you mean `client_id`?", "did you mean `depth`?"]);
    }
}
