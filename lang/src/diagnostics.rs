//! Compile errors: what went wrong, where, and how to fix it, rendered by miette.
//!
//! One [`Error`] type with an [`ErrorKind`] (rather than one derived type per error) keeps
//! every error's shape identical — code, message, one labelled span, optional help — so the
//! checker can collect them in a plain `Vec` and the renderer treats them all alike.
use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::ast::Span;

/// Width of the plain-text rendering, fixed so that output is deterministic.
const RENDER_WIDTH: usize = 80;

/// The kinds of compile error; each has its own stable diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text does not match the grammar, a string literal is invalid (a lone surrogate
    /// escape), the file starts with a byte order mark, or conditions nest deeper than
    /// [`crate::parser::MAX_NESTING`].
    Parse,
    /// No `package` statement, or one after a rule.
    MissingPackage,
    /// A second `package` statement.
    DuplicatePackage,
    /// A name, attribute or function that is not in the vocabulary (`subject`, `act.foo`,
    /// `startwith(...)`).
    UnknownName,
    /// A value used as a type it does not have (`chain.depth == "3"`), a wrong argument
    /// count, or one claim/data path used as two types.
    TypeMismatch,
    /// A bare name that is no rule.
    UnknownRule,
    /// An `allow`/`deny` rule used as a condition; only helper rules can be.
    NotAHelperRule,
    /// Two rules with one name, or a rule named like a vocabulary name.
    DuplicateRule,
    /// A helper rule that depends on itself, directly or through others.
    RecursiveRule,
    /// A quantifier variable used outside its `every`/`some` body, or named like the
    /// vocabulary.
    QuantifierScope,
    /// An `every`/`some` inside another.
    NestedQuantifier,
    /// The pattern of `matches` is not a string literal (`startswith`/`endswith` take any string).
    NonLiteralPattern,
    /// An index where none is allowed (`claims[sub]`, `data[sub]`) or two in one path.
    InvalidIndex,
    /// An integer or duration literal that does not fit an `i64`.
    IntegerOverflow,
    /// A condition that is always false, or two that cannot both hold, so the rule never fires.
    Unsatisfiable,
    /// A documented size or depth limit is exceeded (`lang/src/rule_graph.rs`, `parser.rs`).
    LimitExceeded,
    /// A string computed at decision time (`+`, `lower`, `upper`) where the module needs an
    /// interned string: a table key, the subject of `matches`, `in` a non-literal set, a
    /// concatenation on both sides of `==`, the subject of `startswith`/`endswith`.
    ComputedString,
    /// A set intersection `A & B` anywhere but `count(A & B)`, `A & B == {}` or `A & B != {}`.
    ComputedSet,
    /// A deny reason placeholder that is not a request value (`{data.x}`, `{"lit"}`), or a
    /// reason whose braces do not pair up (`{` never closed, a lone `}`).
    ReasonPlaceholder,
    /// The pattern of `regex(...)` is not a valid regular expression, or uses a feature the
    /// compiled matcher cannot run; the message is the regex parser's.
    InvalidRegex,
    /// A file of a package whose name holds a NUL byte or a path separator (`/`, `\`), or two
    /// files with one name: names order the files and are part of the policy version, so they
    /// must be plain and unique ([`crate::compile_files`]).
    InvalidFileName,
}

impl ErrorKind {
    /// Every kind, for tools and tests that enumerate them.
    pub const ALL: [ErrorKind; 21] = [
        ErrorKind::Parse,
        ErrorKind::MissingPackage,
        ErrorKind::DuplicatePackage,
        ErrorKind::UnknownName,
        ErrorKind::TypeMismatch,
        ErrorKind::UnknownRule,
        ErrorKind::NotAHelperRule,
        ErrorKind::DuplicateRule,
        ErrorKind::RecursiveRule,
        ErrorKind::QuantifierScope,
        ErrorKind::NestedQuantifier,
        ErrorKind::NonLiteralPattern,
        ErrorKind::InvalidIndex,
        ErrorKind::IntegerOverflow,
        ErrorKind::Unsatisfiable,
        ErrorKind::LimitExceeded,
        ErrorKind::ComputedString,
        ErrorKind::ComputedSet,
        ErrorKind::ReasonPlaceholder,
        ErrorKind::InvalidRegex,
        ErrorKind::InvalidFileName,
    ];

    /// The stable code users can search for.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Parse => "warrant::parse-error",
            ErrorKind::MissingPackage => "warrant::missing-package",
            ErrorKind::DuplicatePackage => "warrant::duplicate-package",
            ErrorKind::UnknownName => "warrant::unknown-name",
            ErrorKind::TypeMismatch => "warrant::type-mismatch",
            ErrorKind::UnknownRule => "warrant::unknown-rule",
            ErrorKind::NotAHelperRule => "warrant::not-a-helper-rule",
            ErrorKind::DuplicateRule => "warrant::duplicate-rule",
            ErrorKind::RecursiveRule => "warrant::recursive-rule",
            ErrorKind::QuantifierScope => "warrant::quantifier-scope",
            ErrorKind::NestedQuantifier => "warrant::nested-quantifier",
            ErrorKind::NonLiteralPattern => "warrant::non-literal-pattern",
            ErrorKind::InvalidIndex => "warrant::invalid-index",
            ErrorKind::IntegerOverflow => "warrant::integer-overflow",
            ErrorKind::Unsatisfiable => "warrant::unsatisfiable",
            ErrorKind::LimitExceeded => "warrant::limit-exceeded",
            ErrorKind::ComputedString => "warrant::computed-string",
            ErrorKind::ComputedSet => "warrant::computed-set",
            ErrorKind::ReasonPlaceholder => "warrant::reason-placeholder",
            ErrorKind::InvalidRegex => "warrant::invalid-regex",
            ErrorKind::InvalidFileName => "warrant::invalid-file-name",
        }
    }
}

/// One compile error, not yet attached to its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of error; gives the stable code.
    pub kind: ErrorKind,
    /// One-line summary, shown first.
    pub message: String,
    /// The source range underlined; may fall outside the source (rendering clamps it).
    pub span: Span,
    /// Text shown under the underlined span.
    pub label: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl Error {
    /// An error without help text.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>, label: impl Into<String>) -> Error {
        Error { kind, message: message.into(), span, label: label.into(), help: None }
    }

    /// The same error with `help` as its fix-it text.
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        self.help = Some(help.into());
        self
    }
}

/// An [`Error`] together with the source it points into, so miette can show a snippet.
#[derive(Debug, Clone)]
pub struct Located {
    /// The error itself.
    pub error: Error,
    source: Arc<NamedSource<String>>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error.message)
    }
}

impl std::error::Error for Located {}

impl Diagnostic for Located {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.error.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.error.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source.as_ref())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = clamp(self.error.span, self.source.inner().len());
        let label =
            LabeledSpan::new_primary_with_span(Some(self.error.label.clone()), (span.start, span.end - span.start));
        Some(Box::new(std::iter::once(label)))
    }
}

/// Keeps a span inside the source so rendering never indexes out of bounds.
pub(crate) fn clamp(span: Span, len: usize) -> Span {
    let start = span.start.min(len);
    Span { start, end: span.end.clamp(start, len) }
}

/// Renders `reports` as deterministic plain text (no colours, 80 columns).
pub(crate) fn render_reports<'a>(reports: impl Iterator<Item = &'a dyn Diagnostic>) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(RENDER_WIDTH)
        .with_links(false);
    let mut out = String::new();
    for report in reports {
        if handler.render_report(&mut out, report).is_err() {
            // Rendering into a String cannot fail; keep the message if it ever does.
            out.push_str(&report.to_string());
            out.push('\n');
        }
    }
    out
}

/// Every error found in one policy file.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    origin: String,
    errors: Vec<Located>,
}

impl Diagnostics {
    /// Attaches `errors` (sorted by position) to the source they were found in.
    pub fn new(source: &str, origin: &str, mut errors: Vec<Error>) -> Diagnostics {
        errors.sort_by_key(|e| (e.span.start, e.span.end));
        let named = Arc::new(NamedSource::new(origin, source.to_string()));
        let errors = errors.into_iter().map(|error| Located { error, source: Arc::clone(&named) }).collect();
        Diagnostics { origin: origin.to_string(), errors }
    }

    /// Errors found in the files of one package: each error comes with the index in `files`
    /// (display name, text) of the file its span points into, so that every snippet shows the
    /// right file. `origin` names the whole package (its folder). Sorted by file, then position.
    pub fn in_files(origin: &str, files: &[(String, &str)], mut errors: Vec<(usize, Error)>) -> Diagnostics {
        errors.sort_by_key(|(file, e)| (*file, e.span.start, e.span.end));
        let named: Vec<_> =
            files.iter().map(|(name, text)| Arc::new(NamedSource::new(name.clone(), text.to_string()))).collect();
        let unknown = Arc::new(NamedSource::new(origin, String::new()));
        let errors = errors
            .into_iter()
            .map(|(file, error)| Located { error, source: Arc::clone(named.get(file).unwrap_or(&unknown)) })
            .collect();
        Diagnostics { origin: origin.to_string(), errors }
    }

    /// How many errors were found.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether none were found (`compile` never returns an empty set as an error).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, sorted by position in the source.
    pub fn errors(&self) -> impl Iterator<Item = &Error> {
        self.errors.iter().map(|l| &l.error)
    }

    /// Deterministic plain text (no colours, 80 columns): each error with its code,
    /// `origin:line:col`, an underlined snippet and help.
    pub fn render(&self) -> String {
        render_reports(self.errors.iter().map(|located| located as &dyn Diagnostic))
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "{} error{} in {}", n, if n == 1 { "" } else { "s" }, self.origin)
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostic for Diagnostics {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|l| l as &dyn Diagnostic)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_and_rendered_without_colour() {
        let source = "package p\nallow a if { x }\n";
        let late = Error::new(ErrorKind::UnknownRule, Span::new(23, 24), "late", "here");
        let early = Error::new(ErrorKind::MissingPackage, Span::new(0, 7), "early", "there").with_help("fix it");
        let diagnostics = Diagnostics::new(source, "f.warrant", vec![late, early]);
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(diagnostics.to_string(), "2 errors in f.warrant");
        let kinds: Vec<_> = diagnostics.errors().map(|e| e.kind).collect();
        assert_eq!(kinds, [ErrorKind::MissingPackage, ErrorKind::UnknownRule]);
        let text = diagnostics.render();
        assert!(text.contains("f.warrant:1:1") && text.contains("f.warrant:2:14"), "{text}");
        assert!(text.contains("help: fix it"));
        assert!(!text.contains('\u{1b}'));
        assert_eq!(text, diagnostics.render(), "deterministic");
    }

    #[test]
    fn spans_outside_the_source_are_clamped() {
        let error = Error::new(ErrorKind::Parse, Span::new(50, 10), "m", "l");
        let text = Diagnostics::new("abc", "f", vec![error]).render();
        assert!(text.contains("warrant::parse-error"), "{text}");
    }

    #[test]
    fn codes_are_distinct() {
        let codes: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }
}
