//! The canonical layout of policy text (`warrant fmt`): one statement per paragraph, one
//! condition per line, four-space indents, canonical spacing and literals. Comments survive:
//! the grammar skips them, so they are found in the source text and re-attached by position
//! (above the next statement or condition, or after the code on their line).
//!
//! Formatting is idempotent (formatting its own output changes nothing) and never changes
//! what a policy means: the formatted text compiles to the same rules.
use crate::ast::{
    BinaryOp, Cond, CondKind, Expr, ExprKind, IntLiteral, Path, PathPart, Policy, Quantifier, RuleDecl, RuleKind, Span,
    Statement,
};
use crate::diagnostics::Diagnostics;
use crate::ir::{ArithOp, CmpOp};
use crate::parser;

const INDENT: &str = "    ";

/// Formats a whole policy file. `origin` names the source in diagnostics; text that does not
/// parse is returned as its syntax error, never formatted halfway.
pub fn format(source: &str, origin: &str) -> Result<String, Diagnostics> {
    let policy = parser::parse(source).map_err(|e| Diagnostics::new(source, origin, vec![e]))?;
    let mut printer = Printer { source, comments: comments(source), next_comment: 0, out: String::new() };
    printer.policy(&policy);
    Ok(printer.out)
}

/// A string literal in the language's (JSON) syntax.
pub(crate) fn string_literal(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A `#` comment: `source[start..end]`, without the line break and trailing blanks.
#[derive(Debug, Clone, Copy)]
struct Comment {
    start: usize,
    end: usize,
}

/// Every comment of `source`, in order. The source parsed, so a `#` outside a string literal
/// starts a comment, and string literals cannot span lines.
fn comments(source: &str) -> Vec<Comment> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut in_string = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match (in_string, byte) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'#') => {
                // `#` is ASCII, so `i` is a character boundary and `get` always succeeds.
                let rest = source.get(i..).unwrap_or("");
                let line = rest.split(['\n', '\r']).next().unwrap_or(rest);
                found.push(Comment { start: i, end: i + line.trim_end().len() });
                i += line.len();
            }
            _ => {}
        }
        i += 1;
    }
    found
}

struct Printer<'s> {
    source: &'s str,
    comments: Vec<Comment>,
    /// Comments before this index are printed.
    next_comment: usize,
    out: String,
}

impl<'s> Printer<'s> {
    fn policy(&mut self, policy: &Policy) {
        // Between statements there is always one blank line; around comments, one where the
        // source had at least one.
        let mut previous: Option<(usize, bool)> = None; // (source end, was a statement)
        for statement in &policy.statements {
            let span = statement_span(statement);
            for comment in self.comments_before(span.start) {
                self.top_level_gap(previous, comment.start);
                self.comment_line(comment, 0);
                previous = Some((comment.end, false));
            }
            self.top_level_gap(previous, span.start);
            let end = match statement {
                Statement::Package(name) => {
                    self.out.push_str("package ");
                    self.out.push_str(&name.name);
                    self.end_line(name.span.end)
                }
                Statement::Rule(rule) => self.rule(rule),
            };
            previous = Some((end, true));
        }
        for comment in self.comments_before(self.source.len()) {
            self.top_level_gap(previous, comment.start);
            self.comment_line(comment, 0);
            previous = Some((comment.end, false));
        }
    }

    fn top_level_gap(&mut self, previous: Option<(usize, bool)>, next: usize) {
        match previous {
            Some((_, true)) => self.out.push('\n'),
            Some((end, false)) if self.blank_line_between(end, next) => self.out.push('\n'),
            _ => {}
        }
    }

    /// Prints a rule; returns where it ends in the source (after its trailing comment).
    fn rule(&mut self, rule: &RuleDecl) -> usize {
        let head = match &rule.kind {
            RuleKind::Allow => format!("allow {} if {{", rule.name.name),
            RuleKind::Deny { reason } => {
                format!("deny {} {} if {{", rule.name.name, string_literal(reason))
            }
            RuleKind::Helper if rule.params.is_empty() => format!("rule {} if {{", rule.name.name),
            RuleKind::Helper => {
                let params: Vec<&str> = rule.params.iter().map(|p| p.name.as_str()).collect();
                format!("rule {}({}) if {{", rule.name.name, params.join(", "))
            }
        };
        self.out.push_str(&head);
        if rule.body.is_empty() && !self.has_comment_before(rule.span.end) {
            self.out.push('}');
        } else {
            self.out.push('\n');
            self.body(&rule.body, rule.span.end, 1);
            self.out.push('}');
        }
        self.end_line(rule.span.end)
    }

    /// One condition per line at `depth`, with the comments among them; `close` is where the
    /// body ends in the source (comments before it and after the last condition stay inside).
    fn body(&mut self, body: &[Cond], close: usize, depth: usize) {
        let mut previous: Option<usize> = None;
        for cond in body {
            for comment in self.comments_before(cond.span.start) {
                self.body_gap(previous, comment.start);
                self.comment_line(comment, depth);
                previous = Some(comment.end);
            }
            self.body_gap(previous, cond.span.start);
            let end = self.code_end(cond.span);
            // Comments inside a one-line condition (a set literal written over several lines)
            // move above it.
            if !is_quantifier(cond) {
                for comment in self.comments_before(end) {
                    self.comment_line(comment, depth);
                }
            }
            self.out.push_str(&INDENT.repeat(depth));
            self.cond(cond, depth);
            previous = Some(self.end_line(end));
        }
        for comment in self.comments_before(close) {
            self.body_gap(previous, comment.start);
            self.comment_line(comment, depth);
            previous = Some(comment.end);
        }
        self.out.push_str(&INDENT.repeat(depth - 1));
    }

    fn body_gap(&mut self, previous: Option<usize>, next: usize) {
        if let Some(end) = previous {
            if self.blank_line_between(end, next) {
                self.out.push('\n');
            }
        }
    }

    /// Writes a condition from the current column; quantifiers with more than one condition
    /// (or with comments) open a block at `depth`.
    fn cond(&mut self, cond: &Cond, depth: usize) {
        match &cond.kind {
            CondKind::Not(inner) => {
                self.out.push_str("not ");
                self.cond(inner, depth);
            }
            CondKind::Quantified { quantifier, var, body } => {
                let word = match quantifier {
                    Quantifier::Every => "every",
                    Quantifier::Some => "some",
                };
                self.out.push_str(&format!("{word} {} in chain {{", var.name));
                let single = match body.as_slice() {
                    [only] if !is_quantifier(only) => Some(only),
                    _ => None,
                };
                if let Some(only) = single.filter(|_| !self.has_comment_before(cond.span.end)) {
                    self.out.push(' ');
                    self.cond(only, depth);
                    self.out.push_str(" }");
                } else {
                    self.out.push('\n');
                    self.body(body, cond.span.end, depth + 1);
                    self.out.push('}');
                }
            }
            CondKind::Binary { op, lhs, rhs } => {
                let text = format!("{} {} {}", self.expr(lhs), binary_op_text(*op), self.expr(rhs));
                self.out.push_str(&text);
            }
            CondKind::Call { function, args } => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                self.out.push_str(&format!("{}({})", function.name, args.join(", ")));
            }
            CondKind::Bare(expr) => {
                let text = self.expr(expr);
                self.out.push_str(&text);
            }
            CondKind::Or(branches) => {
                for (index, branch) in branches.iter().enumerate() {
                    if index > 0 {
                        self.out.push_str(" or ");
                    }
                    self.cond(branch, depth);
                }
            }
        }
    }

    fn expr(&self, expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Str(text) => string_literal(text),
            ExprKind::Int(literal) => self.int(literal, expr.span),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::StrSet(items) => {
                let items: Vec<String> = items.iter().map(|s| string_literal(s)).collect();
                format!("{{{}}}", items.join(", "))
            }
            ExprKind::Path(path) => self.path(path),
            ExprKind::Arith(op, lhs, rhs) => {
                let op = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                };
                // Left-associative: only an arithmetic right operand needs its parentheses.
                let right = self.expr(rhs);
                let right = if matches!(rhs.kind, ExprKind::Arith(..) | ExprKind::Intersect(..)) {
                    format!("({right})")
                } else {
                    right
                };
                format!("{} {op} {right}", self.expr(lhs))
            }
            ExprKind::Call { function, args } => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a)).collect();
                format!("{}({})", function.name, args.join(", "))
            }
            ExprKind::Intersect(lhs, rhs) => {
                let right = self.expr(rhs);
                let right = if matches!(rhs.kind, ExprKind::Arith(..) | ExprKind::Intersect(..)) {
                    format!("({right})")
                } else {
                    right
                };
                format!("{} & {right}", self.expr(lhs))
            }
        }
    }

    /// The digits and unit as written: `1h` stays `1h`, `30s` stays `30s` and `30` stays `30`.
    fn int(&self, literal: &IntLiteral, span: Span) -> String {
        let unit = match literal.unit_seconds {
            60 => "m",
            3600 => "h",
            86400 => "d",
            _ => {
                let written = span.text(self.source).trim_matches(|c| matches!(c, '(' | ')' | ' ' | '\t'));
                if written.ends_with('s') {
                    "s"
                } else {
                    ""
                }
            }
        };
        format!("{}{unit}", literal.digits)
    }

    fn path(&self, path: &Path) -> String {
        let mut text = path.root.name.clone();
        for part in &path.parts {
            match part {
                PathPart::Field(name) => {
                    text.push('.');
                    text.push_str(&name.name);
                }
                PathPart::Index(key, _) => {
                    text.push('[');
                    text.push_str(&self.expr(key));
                    text.push(']');
                }
            }
        }
        text
    }

    /// Ends the current line, appending the comment that follows `end` on the same source
    /// line, if any; returns where the printed source ends.
    fn end_line(&mut self, end: usize) -> usize {
        let mut printed_end = end;
        if let Some(&comment) = self.comments.get(self.next_comment) {
            let between = self.source.get(end..comment.start).unwrap_or("\n");
            if between.chars().all(|c| matches!(c, ' ' | '\t' | ';')) {
                self.next_comment += 1;
                self.out.push_str("  ");
                self.out.push_str(self.comment_text(comment));
                printed_end = comment.end;
            }
        }
        self.out.push('\n');
        printed_end
    }

    fn comment_line(&mut self, comment: Comment, depth: usize) {
        self.out.push_str(&INDENT.repeat(depth));
        self.out.push_str(self.comment_text(comment));
        self.out.push('\n');
    }

    fn comment_text(&self, comment: Comment) -> &'s str {
        self.source.get(comment.start..comment.end).unwrap_or("#")
    }

    /// Where the code of `span` ends: pest's spans of conditions that end in an optional part
    /// also cover the blanks and the comment skipped while trying it.
    fn code_end(&self, span: Span) -> usize {
        let mut end = span.end;
        loop {
            let code = span.text(self.source).get(..end - span.start).unwrap_or("");
            end = span.start + code.trim_end().len();
            match self.comments.iter().find(|c| c.end == end && c.start >= span.start) {
                Some(comment) => end = comment.start,
                None => return end,
            }
        }
    }

    /// Takes the comments not yet printed that start before `position`.
    fn comments_before(&mut self, position: usize) -> Vec<Comment> {
        let taken: Vec<Comment> = self
            .comments
            .get(self.next_comment..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.start < position)
            .copied()
            .collect();
        self.next_comment += taken.len();
        taken
    }

    fn has_comment_before(&self, position: usize) -> bool {
        self.comments.get(self.next_comment).is_some_and(|c| c.start < position)
    }

    /// Whether the source has an empty line between `from` and `to`.
    fn blank_line_between(&self, from: usize, to: usize) -> bool {
        let gap = self.source.get(from..to).unwrap_or("");
        let breaks = gap.matches('\n').count() + gap.matches('\r').count() - gap.matches("\r\n").count();
        breaks >= 2
    }
}

fn statement_span(statement: &Statement) -> Span {
    match statement {
        Statement::Package(name) => name.span,
        Statement::Rule(rule) => rule.span,
    }
}

/// A quantifier, possibly under `not`: the conditions that may print as a block.
fn is_quantifier(cond: &Cond) -> bool {
    match &cond.kind {
        CondKind::Quantified { .. } => true,
        CondKind::Not(inner) => is_quantifier(inner),
        CondKind::Or(branches) => branches.iter().any(is_quantifier),
        _ => false,
    }
}

fn binary_op_text(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Cmp(CmpOp::Eq) => "==",
        BinaryOp::Cmp(CmpOp::Ne) => "!=",
        BinaryOp::Cmp(CmpOp::Lt) => "<",
        BinaryOp::Cmp(CmpOp::Le) => "<=",
        BinaryOp::Cmp(CmpOp::Gt) => ">",
        BinaryOp::Cmp(CmpOp::Ge) => ">=",
        BinaryOp::In => "in",
        BinaryOp::Subset => "subset",
        BinaryOp::Matches => "matches",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ir::Program;

    fn fmt(source: &str) -> String {
        format(source, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()))
    }

    /// The program without what depends on layout (hash, condition text, lines).
    fn meaning(source: &str) -> Program {
        let mut program = crate::compile(source, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
        program.source_hash.clear();
        for rule in &mut program.rules {
            rule.body_text.clear();
            rule.line = 0;
        }
        program
    }

    const MESSY: &str = "# Header comment\n\n\n# second header block\npackage   acme.billing # the package\nrule trusted if { every hop in chain {hop.sub matches \"spiffe://acme.com/*\"} }\n\n\n\nallow read if {   # opens the body\n  trusted ; chain.depth<=2\n\n\n   action in [\"b\",\n   # inside a set\n   \"a\",]   # trailing\n  exp-(iat+1)<=(1h) ; now < exp - 30s\n  not   some hop in chain { hop.sub == sub\n   # last in quantifier\n   hop.instance == \"i\\u00e9\" }\n  # end of body\n}\ndeny d \"why \\\"quoted\\\"\" if {startswith(resource,\"https://\")}\nallow empty if { }\n# trailing file comment\n";

    const CANONICAL: &str = r#"# Header comment

# second header block
package acme.billing  # the package

rule trusted if {
    every hop in chain { hop.sub matches "spiffe://acme.com/*" }
}

allow read if {
    # opens the body
    trusted
    chain.depth <= 2

    # inside a set
    action in {"b", "a"}  # trailing
    exp - (iat + 1) <= 1h
    now < exp - 30s
    not some hop in chain {
        hop.sub == sub
        # last in quantifier
        hop.instance == "ié"
    }
    # end of body
}

deny d "why \"quoted\"" if {
    startswith(resource, "https://")
}

allow empty if {}

# trailing file comment
"#;

    #[test]
    fn alternatives_and_helper_definitions_round_trip() {
        let messy = "package p\nrule h if {\"a\" in scope}\nrule h if { sub==\"x\" }\nallow a if {\n  not   action==\"r\"   or h or every hop in chain { hop.sub == sub; hop.instance == \"i\" }\n}\n";
        let canonical = "package p\n\nrule h if {\n    \"a\" in scope\n}\n\nrule h if {\n    sub == \"x\"\n}\n\nallow a if {\n    not action == \"r\" or h or every hop in chain {\n        hop.sub == sub\n        hop.instance == \"i\"\n    }\n}\n";
        assert_eq!(fmt(messy), canonical);
        assert_eq!(fmt(canonical), canonical);
        assert_eq!(meaning(messy), meaning(canonical));
        let messy =
            "package p\nrule owns( record ,who ) if { data.r[record].c == who }\nallow a if { owns(resource,sub) }\n";
        let canonical = "package p\n\nrule owns(record, who) if {\n    data.r[record].c == who\n}\n\nallow a if {\n    owns(resource, sub)\n}\n";
        assert_eq!(fmt(messy), canonical);
        assert_eq!(meaning(messy), meaning(canonical));
    }

    #[test]
    fn messy_policy_gets_the_canonical_layout() {
        assert_eq!(fmt(MESSY), CANONICAL);
    }

    #[test]
    fn formatting_is_idempotent_and_keeps_the_meaning() {
        let once = fmt(MESSY);
        assert_eq!(fmt(&once), once);
        assert_eq!(meaning(&once), meaning(MESSY));
    }

    #[test]
    fn every_comment_survives_in_order() {
        let comments_of =
            |text: &str| -> Vec<String> { comments(text).iter().map(|c| text[c.start..c.end].to_string()).collect() };
        assert_eq!(comments_of(&fmt(MESSY)), comments_of(MESSY));
        assert_eq!(comments_of(MESSY).len(), 9);
    }

    #[test]
    fn comments_end_at_any_line_break_without_trailing_blanks() {
        let source = "# a \r\n#b\t\r# c\n\"#\" # d  ";
        let texts: Vec<&str> = comments(source).iter().map(|c| &source[c.start..c.end]).collect();
        assert_eq!(texts, ["# a", "#b", "# c", "# d"]);
    }

    #[test]
    fn hashes_inside_strings_are_not_comments() {
        let source =
            "package p\n\nallow a if {\n    resource == \"https://x/#frag\"  # real\n    sub == \"a\\\"#b\"\n}\n";
        assert_eq!(fmt(source), source);
        assert_eq!(comments(source).len(), 1);
    }

    #[test]
    fn example_policies_are_already_canonical_or_become_stable() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policies");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(source) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(once) = format(&source, "example") else {
                continue;
            };
            seen += 1;
            assert_eq!(fmt(&once), once, "{}", path.display());
            if crate::compile(&source, "example").is_ok() {
                assert_eq!(meaning(&once), meaning(&source), "{}", path.display());
            }
        }
        assert!(seen > 0, "no example policies found");
    }

    /// Conditions, and what may follow one (separators, comments, blank lines).
    const CONDS: &[&str] = &[
        "sub == \"x\"",
        "h",
        "not h",
        "chain.depth <= 2",
        "exp - (iat - 1) <= 1h",
        "action in [\"a\",\n# in set\n\"b\",]",
        "startswith(resource, \"h#\")",
        "data.t[sub].f == act.sub",
        "every hop in chain { hop.sub matches \"s*\" }",
        "not some v in chain {\n# q\nv.sub == sub; v.instance != \"i\" }",
    ];
    const GAPS: &[&str] = &["\n", ";", "\n\n\n", "  # tail\n", "\n# note\n", " ; # c\n\n"];

    fn rule_text((kind, opening, body): (usize, usize, Vec<(usize, usize)>), index: usize) -> String {
        let head = match kind {
            0 => format!("allow a{index} if {{"),
            1 => format!("deny d{index} \"no #{index}\" if {{"),
            _ => format!("rule r{index} if {{"),
        };
        let body: String = body.iter().map(|&(c, g)| format!("{}{}", CONDS[c], GAPS[g])).collect();
        format!("{head}{}{body}}}", GAPS[opening])
    }

    proptest::proptest! {
        /// Policies with comments anywhere, `;`, blank lines, multi-line sets and quantifiers
        /// format idempotently, keep every comment in order and compile to the same program.
        #[test]
        fn any_layout_formats_stably(
            rules in proptest::collection::vec(
                (0usize..3, 0..GAPS.len(), proptest::collection::vec((0..CONDS.len(), 0..GAPS.len()), 0..5)),
                0..5,
            ),
            gaps in proptest::collection::vec(0..GAPS.len(), 5),
        ) {
            let mut source = String::from("# head\npackage p\nrule h if { sub == \"y\" }\n");
            for (index, rule) in rules.into_iter().enumerate() {
                source.push_str(&rule_text(rule, index));
                source.push_str(GAPS[gaps[index]].trim_start_matches(';'));
                source.push('\n');
            }
            let once = fmt(&source);
            proptest::prop_assert_eq!(fmt(&once), once.clone());
            let texts = |text: &str| -> Vec<String> {
                comments(text).iter().map(|c| text[c.start..c.end].to_string()).collect()
            };
            proptest::prop_assert_eq!(texts(&once), texts(&source));
            proptest::prop_assert_eq!(meaning(&once), meaning(&source));
        }
    }

    #[test]
    fn syntax_errors_are_reported_not_formatted() {
        let err = format("package p\nallow a { }", "bad.warrant").unwrap_err();
        assert!(err.render().contains("bad.warrant"), "{}", err.render());
    }
}
