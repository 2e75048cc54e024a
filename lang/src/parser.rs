//! Policy text to [`crate::ast::Policy`] with pest. A syntax error stops parsing and becomes one
//! [`Error`] whose message lists, in words, what was expected at that point.
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::Parser;

use grammar::{PolicyParser, Rule};

use crate::ast::{
    BinaryOp, Cond, CondKind, Expr, ExprKind, Ident, IntLiteral, Path, PathPart, Policy, Quantifier, RuleDecl,
    RuleKind, Span, Statement,
};
use crate::diagnostics::{Error, ErrorKind};
use crate::ir::{ArithOp, CmpOp};

/// Deepest nesting of conditions and expressions accepted. Real policies nest a few levels;
/// the bound keeps every later recursive pass (checker, lowering, evaluator) far from the
/// end of the stack whatever the input.
pub const MAX_NESTING: usize = 64;

/// The generated parser, in a private module: pest makes its `Rule` enum public, and it is an
/// implementation detail of this module, not part of the crate's API.
mod grammar {
    use pest_derive::Parser;

    /// pest's parser for `grammar.pest`.
    #[derive(Parser)]
    #[grammar = "grammar.pest"]
    pub(super) struct PolicyParser;
}

/// Parses a whole policy file.
pub fn parse(source: &str) -> Result<Policy, Error> {
    if source.starts_with(crate::escapes::BYTE_ORDER_MARK) {
        let bom = crate::escapes::BYTE_ORDER_MARK.len_utf8();
        return Err(Error::new(
            ErrorKind::Parse,
            Span::new(0, bom),
            "the file starts with a byte order mark",
            "U+FEFF",
        )
        .with_help("save the policy as UTF-8 without a byte order mark"));
    }
    let mut pairs = PolicyParser::parse(Rule::policy, source).map_err(|e| syntax_error(e, source))?;
    let policy = pairs.next().ok_or_else(|| malformed(Span::default()))?;
    let mut statements = Vec::new();
    for pair in policy.into_inner() {
        match pair.as_rule() {
            Rule::package_decl => {
                let name = child(&mut pair.into_inner(), Rule::package_name, span_of_end(source))?;
                statements.push(Statement::Package(ident(name)));
            }
            Rule::rule_decl => statements.push(Statement::Rule(rule_decl(pair)?)),
            _ => {}
        }
    }
    Ok(Policy { statements })
}

fn span_of_end(source: &str) -> Span {
    Span::new(source.len(), source.len())
}

fn span(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn ident(pair: Pair<Rule>) -> Ident {
    Ident { name: pair.as_str().to_string(), span: span(&pair) }
}

/// An internal inconsistency between the grammar and this builder: reported, never a panic.
fn malformed(at: Span) -> Error {
    Error::new(ErrorKind::Parse, at, "internal error: unexpected syntax tree shape", "here")
}

/// The next significant child, which must be of kind `rule`.
fn child<'i>(pairs: &mut Pairs<'i, Rule>, rule: Rule, at: Span) -> Result<Pair<'i, Rule>, Error> {
    match pairs.find(|p| !is_keyword(p.as_rule())) {
        Some(p) if p.as_rule() == rule => Ok(p),
        Some(p) => Err(malformed(span(&p))),
        None => Err(malformed(at)),
    }
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_package
            | Rule::kw_allow
            | Rule::kw_deny
            | Rule::kw_rule
            | Rule::kw_if
            | Rule::kw_not
            | Rule::kw_or
            | Rule::kw_in
            | Rule::kw_chain
    )
}

fn rule_decl(pair: Pair<Rule>) -> Result<RuleDecl, Error> {
    let whole = span(&pair);
    let mut inner = pair.into_inner();
    let head = inner.next().ok_or_else(|| malformed(whole))?;
    let head_rule = head.as_rule();
    let mut head_parts = head.into_inner();
    let name = ident(child(&mut head_parts, Rule::ident, whole)?);
    let mut params = Vec::new();
    let kind = match head_rule {
        Rule::allow_head => RuleKind::Allow,
        Rule::deny_head => {
            let reason = child(&mut head_parts, Rule::string, whole)?;
            RuleKind::Deny { reason: string_value(&reason)? }
        }
        Rule::helper_head => {
            if let Some(list) = head_parts.find(|p| p.as_rule() == Rule::params) {
                params = list.into_inner().map(ident).collect();
            }
            RuleKind::Helper
        }
        _ => return Err(malformed(whole)),
    };
    let body_pair = child(&mut inner, Rule::body, whole)?;
    Ok(RuleDecl { kind, name, params, body: body(body_pair, 0)?, span: whole })
}

fn body(pair: Pair<Rule>, depth: usize) -> Result<Vec<Cond>, Error> {
    pair.into_inner()
        .filter(|p| !matches!(p.as_rule(), Rule::separator | Rule::body_close))
        .map(|c| alternatives(c, depth + 1))
        .collect()
}

/// `a or b or …` (a `condition` pair): one condition alone, or [`CondKind::Or`] of several.
fn alternatives(pair: Pair<Rule>, depth: usize) -> Result<Cond, Error> {
    let at = span(&pair);
    let mut branches: Vec<Cond> = pair
        .into_inner()
        .filter(|p| !is_keyword(p.as_rule()))
        .map(|c| condition(c, depth + 1))
        .collect::<Result<_, _>>()?;
    if branches.len() == 1 {
        return branches.pop().ok_or_else(|| malformed(at));
    }
    Ok(Cond { kind: CondKind::Or(branches), span: at })
}

fn too_deep(at: Span) -> Error {
    Error::new(ErrorKind::Parse, at, "policy nests too deeply", "nesting limit reached here")
        .with_help(format!("conditions and expressions may nest at most {MAX_NESTING} levels"))
}

fn condition(pair: Pair<Rule>, depth: usize) -> Result<Cond, Error> {
    let mut at = span(&pair);
    let text = pair.as_str();
    if depth > MAX_NESTING {
        return Err(too_deep(at));
    }
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let kind = match rule {
        Rule::not_cond => {
            let operand = inner.find(|p| !is_keyword(p.as_rule())).ok_or_else(|| malformed(at))?;
            CondKind::Not(Box::new(condition(operand, depth + 1)?))
        }
        Rule::quantifier => {
            let word = inner.next().ok_or_else(|| malformed(at))?;
            let quantifier = match word.as_rule() {
                Rule::kw_every => Quantifier::Every,
                Rule::kw_some => Quantifier::Some,
                _ => return Err(malformed(at)),
            };
            let var = ident(child(&mut inner, Rule::ident, at)?);
            let conds = body(child(&mut inner, Rule::body, at)?, depth)?;
            CondKind::Quantified { quantifier, var, body: conds }
        }
        Rule::call_cond => {
            let function = ident(child(&mut inner, Rule::ident, at)?);
            let args: Vec<Expr> = inner.map(|e| expr(e, depth + 1)).collect::<Result<_, _>>()?;
            // The lookahead after `)` skips blanks and comments: the condition ends at the `)`.
            let last_end = args.last().map_or(at.start, |arg| arg.span.end);
            let close = text.get(last_end.saturating_sub(at.start)..).and_then(|rest| rest.find(')'));
            if let Some(offset) = close {
                at = Span::new(at.start, last_end + offset + 1);
            }
            CondKind::Call { function, args }
        }
        Rule::binary_cond => {
            let lhs = expr(child(&mut inner, Rule::expr, at)?, depth + 1)?;
            match inner.next() {
                None => CondKind::Bare(lhs),
                Some(op) => {
                    let op = binary_op(op.as_str()).ok_or_else(|| malformed(at))?;
                    let rhs = expr(child(&mut inner, Rule::expr, at)?, depth + 1)?;
                    CondKind::Binary { op, lhs, rhs }
                }
            }
        }
        _ => return Err(malformed(at)),
    };
    Ok(Cond { kind, span: at })
}

fn binary_op(text: &str) -> Option<BinaryOp> {
    Some(match text {
        "==" => BinaryOp::Cmp(CmpOp::Eq),
        "!=" => BinaryOp::Cmp(CmpOp::Ne),
        "<" => BinaryOp::Cmp(CmpOp::Lt),
        "<=" => BinaryOp::Cmp(CmpOp::Le),
        ">" => BinaryOp::Cmp(CmpOp::Gt),
        ">=" => BinaryOp::Cmp(CmpOp::Ge),
        "in" => BinaryOp::In,
        "subset" => BinaryOp::Subset,
        "matches" => BinaryOp::Matches,
        _ => return None,
    })
}

/// `operand (("+" | "-") operand)*`, folded left-associatively.
fn expr(pair: Pair<Rule>, depth: usize) -> Result<Expr, Error> {
    let at = span(&pair);
    if depth > MAX_NESTING {
        return Err(too_deep(at));
    }
    let mut inner = pair.into_inner();
    let first = inner.next().ok_or_else(|| malformed(at))?;
    let mut acc = operand(first, depth + 1)?;
    // Each operator nests the sum one level deeper (it folds left): `a + b + … + z` counts as
    // deep as its operator count, so every later pass can recurse over it safely.
    let mut nesting = depth;
    while let Some(op) = inner.next() {
        nesting += 1;
        if nesting > MAX_NESTING {
            return Err(too_deep(span(&op)));
        }
        let op = match op.as_str() {
            "+" => Some(ArithOp::Add),
            "-" => Some(ArithOp::Sub),
            "&" => None,
            _ => return Err(malformed(span(&op))),
        };
        let rhs = operand(inner.next().ok_or_else(|| malformed(at))?, depth + 1)?;
        let joined = Span::new(acc.span.start, rhs.span.end);
        let kind = match op {
            Some(op) => ExprKind::Arith(op, Box::new(acc), Box::new(rhs)),
            None => ExprKind::Intersect(Box::new(acc), Box::new(rhs)),
        };
        acc = Expr { kind, span: joined };
    }
    Ok(acc)
}

fn operand(pair: Pair<Rule>, depth: usize) -> Result<Expr, Error> {
    let at = span(&pair);
    let kind = match pair.as_rule() {
        Rule::string => ExprKind::Str(string_value(&pair)?),
        Rule::integer => ExprKind::Int(IntLiteral { digits: pair.as_str().to_string(), unit_seconds: 1 }),
        Rule::duration => ExprKind::Int(duration(pair.as_str())),
        Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
        Rule::set_lit | Rule::list_lit => {
            ExprKind::StrSet(pair.into_inner().map(|s| string_value(&s)).collect::<Result<_, _>>()?)
        }
        Rule::paren => {
            let inner = child(&mut pair.into_inner(), Rule::expr, at)?;
            return Ok(Expr { span: at, ..expr(inner, depth + 1)? });
        }
        Rule::path => ExprKind::Path(path(pair, depth)?),
        Rule::call_expr => {
            let mut inner = pair.into_inner();
            let function = ident(child(&mut inner, Rule::ident, at)?);
            let args = inner.map(|e| expr(e, depth + 1)).collect::<Result<_, _>>()?;
            ExprKind::Call { function, args }
        }
        _ => return Err(malformed(at)),
    };
    Ok(Expr { kind, span: at })
}

/// `30s`, `15m`, `1h`, `7d`: the digits and the unit's length in seconds.
fn duration(text: &str) -> IntLiteral {
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let unit_seconds = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => 1,
    };
    IntLiteral { digits: digits.to_string(), unit_seconds }
}

fn path(pair: Pair<Rule>, depth: usize) -> Result<Path, Error> {
    let at = span(&pair);
    let mut inner = pair.into_inner();
    let root = ident(child(&mut inner, Rule::ident, at)?);
    let mut parts = Vec::new();
    for part in inner {
        match part.as_rule() {
            Rule::segment => parts.push(PathPart::Field(ident(part))),
            Rule::index => {
                let brackets = span(&part);
                let key = child(&mut part.into_inner(), Rule::expr, brackets)?;
                parts.push(PathPart::Index(Box::new(expr(key, depth + 1)?), brackets));
            }
            _ => return Err(malformed(span(&part))),
        }
    }
    Ok(Path { root, parts })
}

/// Decodes a JSON-style string literal (the grammar already checked its escapes).
fn string_value(pair: &Pair<Rule>) -> Result<String, Error> {
    serde_json::from_str::<String>(pair.as_str()).map_err(|e| {
        let label = match crate::escapes::lone_surrogate(pair.as_str()) {
            Some(escape) => format!("`{escape}` is a lone surrogate"),
            None => e.to_string(),
        };
        Error::new(ErrorKind::Parse, span(pair), "invalid string literal", label)
            .with_help("strings use JSON escapes; a `\\u` escape must not be a lone surrogate")
    })
}

/// Turns pest's "expected one of these rules" into words; `source` is the text parsed, to
/// recognise other languages' operators at the error and name the form Warrant uses.
fn syntax_error(error: pest::error::Error<Rule>, source: &str) -> Error {
    let at = match error.location {
        InputLocation::Pos(p) => Span::new(p, p),
        InputLocation::Span((s, e)) => Span::new(s, e),
    };
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            words.sort_unstable();
            words.dedup();
            words
        }
        // pest's only custom error is its guard against exhausting the native stack: input
        // nested far beyond `MAX_NESTING` (100 000 `not`s or parentheses).
        ErrorVariant::CustomError { .. } => return too_deep(at),
    };
    let message = if expected.is_empty() {
        "syntax error".to_string()
    } else {
        format!("syntax error: expected {}", one_of(&expected))
    };
    let label = if expected.is_empty() { "unexpected input".to_string() } else { "unexpected here".to_string() };
    let error = Error::new(ErrorKind::Parse, at, message, label);
    let before = source.get(..at.start).unwrap_or("").trim_end_matches([' ', '\t']);
    let dangling_or = before.strip_suffix("or").is_some_and(|head| head.ends_with([' ', '\t']));
    let help = if dangling_or {
        Some("`or` joins two conditions on one line: write the next alternative on the same line as `or`")
    } else {
        foreign_connective(source.get(at.start..).unwrap_or(""))
    };
    match help {
        Some(help) => error.with_help(help),
        None => error,
    }
}

/// Help for a logical operator other languages use, written where a Warrant condition ended.
fn foreign_connective(rest: &str) -> Option<&'static str> {
    let word = |w: &str| {
        rest.strip_prefix(w).is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    };
    if rest.starts_with("||") || word("OR") {
        Some("write alternatives with `or`: `action == \"read\" or \"admin\" in scope`")
    } else if rest.starts_with("&&") || word("and") || word("AND") {
        Some("conditions on separate lines (or separated by `;`) must all hold: write the second condition on its own line; for alternatives write `a or b`")
    } else {
        None
    }
}

/// "a", "a or b", "a, b or c".
fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// How a grammar rule is named in a syntax error; `None` for rules users never see.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::package_decl | Rule::kw_package => "`package`",
        Rule::package_name => "a package name",
        Rule::rule_decl | Rule::allow_head | Rule::deny_head | Rule::helper_head => {
            "a rule (`allow`, `deny` or `rule`)"
        }
        Rule::kw_allow => "`allow`",
        Rule::kw_deny => "`deny`",
        Rule::kw_rule => "`rule`",
        Rule::kw_if => "`if`",
        Rule::kw_in => "`in`",
        Rule::kw_or => "`or`",
        Rule::kw_chain => "`chain`",
        Rule::body => "`{`",
        Rule::body_close => "`}`",
        Rule::separator => "end of line",
        Rule::not_cond
        | Rule::quantifier
        | Rule::call_cond
        | Rule::binary_cond
        | Rule::kw_not
        | Rule::kw_every
        | Rule::kw_some => "a condition",
        Rule::binary_op | Rule::kw_subset | Rule::kw_matches => "an operator",
        Rule::arith_op => "an operator",
        Rule::expr | Rule::paren | Rule::path | Rule::set_lit | Rule::list_lit | Rule::call_expr => "a value",
        Rule::string => "a string literal",
        Rule::integer | Rule::duration => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::ident | Rule::segment | Rule::identifier_raw => "a name",
        Rule::index => "`[`",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn only_rule(source: &str) -> RuleDecl {
        let policy = parse(source).unwrap_or_else(|e| panic!("{e:?}"));
        match policy.statements.into_iter().nth(1) {
            Some(Statement::Rule(r)) => r,
            other => panic!("expected a rule, got {other:?}"),
        }
    }

    #[test]
    fn parses_package_and_rules_with_comments_and_separators() {
        let policy =
            parse("# hi\npackage acme.billing # c\n\nallow a if { }\ndeny b \"why\" if { x; y\n\n z }\n").unwrap();
        assert_eq!(policy.statements.len(), 3);
        assert!(matches!(&policy.statements[0], Statement::Package(p) if p.name == "acme.billing"));
        let Statement::Rule(deny) = &policy.statements[2] else { panic!() };
        assert_eq!(deny.kind, RuleKind::Deny { reason: "why".into() });
        assert_eq!(deny.body.len(), 3);
    }

    #[test]
    fn arithmetic_is_left_associative_and_durations_are_seconds() {
        let rule = only_rule("package p\nallow a if { exp - iat + 1 <= 2h }");
        let CondKind::Binary { op: BinaryOp::Cmp(CmpOp::Le), lhs, rhs } = &rule.body[0].kind else { panic!() };
        let ExprKind::Arith(ArithOp::Add, left, _) = &lhs.kind else { panic!("{lhs:?}") };
        assert!(matches!(left.kind, ExprKind::Arith(ArithOp::Sub, _, _)));
        let ExprKind::Int(lit) = &rhs.kind else { panic!() };
        assert_eq!(lit.value(), Some(7200));
    }

    #[test]
    fn paths_keep_index_expressions_and_spans() {
        let src = "package p\nallow a if { data.agents[act.client_id].owner == sub }";
        let rule = only_rule(src);
        let CondKind::Binary { lhs, .. } = &rule.body[0].kind else { panic!() };
        assert_eq!(lhs.span.text(src), "data.agents[act.client_id].owner");
        let ExprKind::Path(path) = &lhs.kind else { panic!() };
        assert_eq!(path.parts.len(), 3);
        assert!(matches!(&path.parts[1], PathPart::Index(..)));
    }

    #[test]
    fn keywords_quantifiers_calls_sets() {
        let rule = only_rule(
            "package p\nallow a if {\n not x in {\"a\", \"b\"}\n every hop in chain { hop.sub matches \"s*\" }\n startswith(resource, \"h\")\n}",
        );
        assert!(
            matches!(&rule.body[0].kind, CondKind::Not(c) if matches!(c.kind, CondKind::Binary { op: BinaryOp::In, .. }))
        );
        assert!(
            matches!(&rule.body[1].kind, CondKind::Quantified { quantifier: Quantifier::Every, var, .. } if var.name == "hop")
        );
        assert!(matches!(&rule.body[2].kind, CondKind::Call { args, .. } if args.len() == 2));
    }

    #[test]
    fn strings_use_json_escapes() {
        let rule = only_rule("package p\nallow a if { sub == \"a\\\"\\u00e9\\n\" }");
        let CondKind::Binary { rhs, .. } = &rule.body[0].kind else { panic!() };
        assert_eq!(rhs.kind, ExprKind::Str("a\"é\n".into()));
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        let err = parse("package p\nallow a { }").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Parse);
        assert!(err.message.contains("`if`"), "{}", err.message);
        assert_eq!(err.span.start, "package p\nallow a ".len());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("package p\nallow a if {{ {}x }}", "not ".repeat(10_000));
        assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::Parse);
        let src = format!("package p\nallow a if {{ {}1{} == 1 }}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(parse(&src).unwrap_err().kind, ErrorKind::Parse);
        for deep in
            [format!("{}x", "not ".repeat(100_000)), format!("{}1{} == 1", "(".repeat(100_000), ")".repeat(100_000))]
        {
            let message = parse(&format!("package p\nallow a if {{ {deep} }}")).unwrap_err().message;
            assert_eq!(message, "policy nests too deeply");
        }
    }
}
