//! Warnings: things that compile but are probably not what the author meant. They never stop a
//! policy from compiling or change a decision; front ends print them (miette warning severity)
//! and may refuse them (`warrant check --deny-warnings`).
//!
//! Two sources: the policy text ([`lint`]: a `matches` pattern that looks like a regular
//! expression), and the inputs of one evaluation ([`input_warnings`]: the policy reads `data`
//! and no data document was given, or reads `now` and the request has none).
use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};

use crate::ast::{BinaryOp, Cond, CondKind, Expr, ExprKind, Policy, Span, Statement};
use crate::diagnostics::{clamp, render_reports};
use crate::ir::{Field, Program, Source};
use crate::request::Request;

/// The kinds of warning; each has its own stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// A `matches` pattern with regular-expression syntax (`^`, `$`, `[0-9]`, `\d`, `.+`,
    /// `.*`, `(a|b)`): a glob knows only `*`, so these characters match themselves.
    RegexLikeGlob,
    /// The policy reads `data.…` and the evaluation was given no data document: every such
    /// value is missing, so allow rules reading it cannot hold and deny rules fire.
    DataNotGiven,
    /// The policy reads `now` and the request has none: every comparison with it is undecided.
    NowNotGiven,
}

impl WarningKind {
    /// Every kind, for tools and tests that enumerate them.
    pub const ALL: [WarningKind; 3] = [WarningKind::RegexLikeGlob, WarningKind::DataNotGiven, WarningKind::NowNotGiven];

    /// The stable code users can search for.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::RegexLikeGlob => "warrant::regex-like-glob",
            WarningKind::DataNotGiven => "warrant::data-not-given",
            WarningKind::NowNotGiven => "warrant::now-not-given",
        }
    }
}

/// One warning, not yet attached to its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind of warning; gives the stable code.
    pub kind: WarningKind,
    /// One-line summary.
    pub message: String,
    /// The source range it points at, with the text shown under it; `None` for warnings about
    /// an evaluation's inputs, which have no place in the text.
    pub at: Option<(Span, String)>,
    /// How to fix it.
    pub help: String,
}

/// A [`Warning`] with the file it points into (if any), so miette can show a snippet.
#[derive(Debug, Clone)]
struct Located {
    warning: Warning,
    source: Option<Arc<NamedSource<String>>>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.warning.message)
    }
}

impl std::error::Error for Located {}

impl Diagnostic for Located {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.warning.kind.code()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.warning.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (span, label) = self.warning.at.as_ref()?;
        let len = self.source.as_ref().map_or(0, |source| source.inner().len());
        let span = clamp(*span, len);
        let label = LabeledSpan::new_primary_with_span(Some(label.clone()), (span.start, span.end - span.start));
        Some(Box::new(std::iter::once(label)))
    }
}

/// Warnings, each with the file it points into.
#[derive(Debug, Clone, Default)]
pub struct Warnings {
    warnings: Vec<Located>,
}

impl Warnings {
    /// Warnings about the files of one policy: each comes with the index in `files` (display
    /// name, text) of the file its span points into.
    pub fn in_files(files: &[(String, &str)], warnings: Vec<(usize, Warning)>) -> Warnings {
        let named: Vec<_> =
            files.iter().map(|(name, text)| Arc::new(NamedSource::new(name.clone(), text.to_string()))).collect();
        let warnings =
            warnings.into_iter().map(|(file, warning)| Located { warning, source: named.get(file).cloned() }).collect();
        Warnings { warnings }
    }

    /// Warnings that point at no text (about an evaluation's inputs).
    pub fn unplaced(warnings: Vec<Warning>) -> Warnings {
        Warnings { warnings: warnings.into_iter().map(|warning| Located { warning, source: None }).collect() }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.warnings.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.warnings.is_empty()
    }

    /// The warnings, in order.
    pub fn warnings(&self) -> impl Iterator<Item = &Warning> {
        self.warnings.iter().map(|located| &located.warning)
    }

    /// Deterministic plain text, as [`crate::Diagnostics::render`] renders errors.
    pub fn render(&self) -> String {
        render_reports(self.warnings.iter().map(|located| located as &dyn Diagnostic))
    }
}

/// The warnings of one parsed policy file: every `matches` pattern that looks like a regular
/// expression, in source order.
pub fn lint(policy: &Policy) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for statement in &policy.statements {
        if let Statement::Rule(rule) = statement {
            lint_conds(&rule.body, &mut warnings);
        }
    }
    warnings
}

fn lint_conds(conds: &[Cond], warnings: &mut Vec<Warning>) {
    for cond in conds {
        match &cond.kind {
            CondKind::Binary { op: BinaryOp::Matches, rhs: Expr { kind: ExprKind::Str(pattern), span }, .. } => {
                warnings.extend(regex_like(pattern, *span));
            }
            CondKind::Not(inner) => lint_conds(std::slice::from_ref(inner.as_ref()), warnings),
            CondKind::Quantified { body, .. } => lint_conds(body, warnings),
            _ => {}
        }
    }
}

/// The regular-expression syntax a glob pattern seems to use, if any: what it is, and what to
/// write instead.
fn regex_syntax(pattern: &str) -> Option<(&'static str, &'static str)> {
    let between = |open: char, close: char| {
        pattern.find(open).is_some_and(|at| pattern.get(at..).is_some_and(|rest| rest.contains(close)))
    };
    if pattern.starts_with('^') || pattern.ends_with('$') {
        Some(("`^` and `$` anchor nothing here", "a glob always matches the whole text; drop them"))
    } else if pattern.contains(".+") || pattern.match_indices(".*").any(|(at, _)| !after_a_word(pattern, at)) {
        // `records.*` is a sound glob (a dot, then anything); `/.*` or a leading `.*` is not.
        Some(("a glob's `.` is a literal dot", "write `*` for any run of characters"))
    } else if ["\\d", "\\w", "\\s", "\\."].iter().any(|class| pattern.contains(class)) {
        Some(("`\\` classes are literal text here", "a glob has no character classes; use `*`"))
    } else if between('[', ']') {
        Some(("`[...]` is literal text here", "a glob has no character classes; use `*`"))
    } else if between('(', ')') && pattern.contains('|') {
        Some(("`(a|b)` is literal text here", "write one `matches` per alternative"))
    } else {
        None
    }
}

/// Whether the text before byte `at` of `pattern` ends with a letter or digit.
fn after_a_word(pattern: &str, at: usize) -> bool {
    pattern.get(..at).and_then(|before| before.chars().last()).is_some_and(char::is_alphanumeric)
}

fn regex_like(pattern: &str, span: Span) -> Option<Warning> {
    let (what, instead) = regex_syntax(pattern)?;
    Some(Warning {
        kind: WarningKind::RegexLikeGlob,
        message: "this `matches` pattern looks like a regular expression".to_string(),
        at: Some((span, what.to_string())),
        help: format!(
            "`matches` takes a glob: only `*` is special (any run of characters); {instead}; or, for a \
             regular expression, write `regex(VALUE, \"pattern\")`"
        ),
    })
}

/// The warnings of one evaluation: [`data_not_given`] and [`now_not_given`].
pub fn input_warnings(program: &Program, request: &Request, data_given: bool) -> Vec<Warning> {
    data_not_given(program, data_given).into_iter().chain(now_not_given(program, request)).collect()
}

/// A warning when `program` reads `data.…` (other than the host's revocation lists, which read
/// as empty) and no data document was given (`data_given` false).
pub fn data_not_given(program: &Program, data_given: bool) -> Option<Warning> {
    let reads_data = program.slots.iter().any(|slot| slot.source.is_data() && !slot.absent_is_empty());
    (reads_data && !data_given).then(|| Warning {
        kind: WarningKind::DataNotGiven,
        message: "the policy reads `data` but no data document was given".to_string(),
        at: None,
        help: "every `data.…` value is missing: give the document (`--data FILE`, or `\"data\"` in a test file)"
            .to_string(),
    })
}

/// A warning when `program` reads `now` and `request` has none.
pub fn now_not_given(program: &Program, request: &Request) -> Option<Warning> {
    let reads_now = program.slots.iter().any(|slot| slot.source == Source::Field(Field::Now));
    (reads_now && request.now.is_none()).then(|| Warning {
        kind: WarningKind::NowNotGiven,
        message: "the policy reads `now` but the request has none".to_string(),
        at: None,
        help: "conditions on `now` are undecided: add `\"now\": SECONDS` to the request".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_syntax_is_recognised_and_globs_are_not() {
        for pattern in ["^spiffe://a/*", "x/*$", "/a/.*", ".*", "a.+b", "id-\\d", "v[0-9]", "(read|write)"] {
            assert!(regex_syntax(pattern).is_some(), "{pattern}");
        }
        for pattern in ["spiffe://acme.com/agents/*", "*.acme.com", "records.*", "a|b", "(x)", "[x", "^"] {
            assert_eq!(regex_syntax(pattern).is_some(), pattern == "^", "{pattern}");
        }
    }

    #[test]
    fn codes_are_distinct() {
        let codes: std::collections::HashSet<_> = WarningKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), WarningKind::ALL.len());
    }
}
