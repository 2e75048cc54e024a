//! Deny reasons with values: `deny other "record {resource} belongs to another customer" if …`.
//!
//! A reason is split once, at compile time, into text and placeholders ([`split`]); each
//! placeholder is a request value (never data, never a quantifier variable: a reason goes to
//! the agent and to logs, and every host renders it from the request alone). At decision time
//! [`render`] turns the parts and the values read into the reason text. Every host (the engine,
//! the reference evaluator, the JS and Python hosts) follows the same rules, whose constants
//! are exported to the hosts by the ABI constants generation (`warrant_wasm::abi`):
//!
//! - a string renders as itself, an integer in decimal, a boolean as `true`/`false`, a set as
//!   its elements sorted by bytes and joined by [`SET_SEPARATOR`]; a missing value renders as
//!   [`MISSING`];
//! - control characters (U+0000–U+001F, U+007F–U+009F) of a value render as `\u00XX`, so a
//!   hostile value cannot forge log lines or drive a terminal;
//! - a value longer than [`MAX_VALUE_BYTES`] bytes (after escaping) keeps its longest prefix
//!   of at most that many bytes that ends on a character boundary, followed by [`TRUNCATED`];
//!   the whole reason likewise at [`MAX_REASON_BYTES`].
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use serde_json::Value as Json;

use crate::eval::{Evaluator, Value};
use crate::ir::{Expr, Outcome, Program, RuleId, RuleKind};
use crate::request::Request;

/// Bytes of one rendered placeholder value, beyond which it is truncated.
pub const MAX_VALUE_BYTES: usize = 256;
/// Bytes of one rendered reason, beyond which it is truncated.
pub const MAX_REASON_BYTES: usize = 1024;
/// Appended to a truncated value or reason.
pub const TRUNCATED: &str = "…";
/// What a missing (absent or ill-typed) value renders as.
pub const MISSING: &str = "<missing>";
/// Between the sorted elements of a rendered set.
pub const SET_SEPARATOR: &str = ", ";

/// One part of a deny reason with placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonPart {
    /// Text as written (`{{` and `}}` already turned into single braces).
    Text(String),
    /// A request value: `Expr::Slot` of a non-data slot, `Expr::Actor` (current or first),
    /// `Expr::ChainDepth`.
    Value(Expr),
}

/// A piece of a reason literal as written, before its placeholders are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text, braces unescaped.
    Text(String),
    /// `{…}`: the text between the braces, trimmed, and its byte range in the raw literal.
    Placeholder {
        /// The placeholder text, without braces and surrounding blanks.
        text: String,
        /// Byte offset of `text` in the raw literal.
        start: usize,
    },
}

/// Why a reason literal cannot be split, with the byte range (in the raw literal) to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// What is wrong.
    pub message: &'static str,
    /// Byte range in the raw literal.
    pub start: usize,
    /// End of the byte range in the raw literal.
    pub end: usize,
}

/// Splits the raw text of a reason literal (as in the source, between the quotes, escapes not
/// decoded) at its placeholders. `{{` and `}}` are literal braces; `{` must be closed by `}`
/// and a lone `}` is an error. Text pieces are decoded as JSON string contents: a brace is
/// never part of an escape, so splitting before decoding is exact. `None` inside the `Ok`
/// means the literal holds no placeholder and no escaped brace (a plain reason).
pub fn split(raw: &str) -> Result<Option<Vec<Piece>>, SplitError> {
    if !raw.contains(['{', '}']) {
        return Ok(None);
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = raw.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        match c {
            '{' if rest.peek().map(|&(_, n)| n) == Some('{') => {
                rest.next();
                text.push('{');
            }
            '}' if rest.peek().map(|&(_, n)| n) == Some('}') => {
                rest.next();
                text.push('}');
            }
            '}' => {
                return Err(SplitError { message: "unmatched `}` in a deny reason", start: at, end: at + 1 });
            }
            '{' => {
                let Some(close) = raw.get(at + 1..).and_then(|after| after.find('}')) else {
                    return Err(SplitError { message: "unclosed `{` in a deny reason", start: at, end: raw.len() });
                };
                let inner = raw.get(at + 1..at + 1 + close).unwrap_or("");
                let leading = inner.len() - inner.trim_start().len();
                flush(&mut text, &mut pieces);
                pieces.push(Piece::Placeholder { text: inner.trim().to_string(), start: at + 1 + leading });
                while rest.peek().is_some_and(|&(i, _)| i <= at + 1 + close) {
                    rest.next();
                }
            }
            other => text.push(other),
        }
    }
    flush(&mut text, &mut pieces);
    let decoded: Result<Vec<Piece>, SplitError> = pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(raw_text) => serde_json::from_str::<String>(&format!("\"{raw_text}\""))
                .map(Piece::Text)
                .map_err(|_| SplitError { message: "invalid escape in a deny reason", start: 0, end: raw.len() }),
            placeholder => Ok(placeholder),
        })
        .collect();
    decoded.map(Some)
}

fn flush(text: &mut String, pieces: &mut Vec<Piece>) {
    if !text.is_empty() {
        pieces.push(Piece::Text(std::mem::take(text)));
    }
}

/// The reason of `parts`, each value read by `value` (`None`: missing), rendered as the module
/// documentation says.
pub fn render(parts: &[ReasonPart], mut value: impl FnMut(&Expr) -> Option<Value>) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            ReasonPart::Text(text) => out.push_str(text),
            ReasonPart::Value(expr) => {
                let rendered = match value(expr) {
                    Some(value) => escape(&value_text(&value)),
                    None => MISSING.to_string(),
                };
                out.push_str(&truncate(rendered, MAX_VALUE_BYTES));
            }
        }
    }
    truncate(out, MAX_REASON_BYTES)
}

/// The reason a fired deny rule reports: its template rendered (else its reason as written),
/// followed by what could not be read when its body was undecided. The one composition every
/// Rust entry point (reference evaluator, engine) uses.
pub fn fired_reason(
    reason: &str,
    template: Option<&[ReasonPart]>,
    undecided: Option<&str>,
    value: impl FnMut(&Expr) -> Option<Value>,
) -> String {
    let reason = match template {
        Some(parts) => render(parts, value),
        None => reason.to_string(),
    };
    match undecided {
        Some(message) => crate::undecided::undecided_reason(&reason, message),
        None => reason,
    }
}

impl Program {
    /// The reasons of the deny rules that fired, in rule order, rendered for `request`: what
    /// the reference evaluator reports, and what every host must report too.
    pub fn rendered_deny_reasons(&self, outcome: &Outcome, request: &Request) -> Vec<String> {
        // Placeholders never read data (the checker refuses it), so no document is needed.
        let evaluator = Evaluator::new(self, request, &Json::Null);
        outcome
            .fired
            .iter()
            .filter_map(|&id| {
                let RuleKind::Deny { reason } = &self.rules.get(id as usize)?.kind else { return None };
                let undecided = outcome.undecided.iter().find(|(rule, _)| *rule == id).map(|(_, m)| m.as_str());
                Some(fired_reason(reason, self.template(id), undecided, |expr| evaluator.value(expr, None)))
            })
            .collect()
    }

    /// The template of deny rule `id`, if its reason has placeholders.
    pub fn template(&self, id: RuleId) -> Option<&[ReasonPart]> {
        self.reason_templates.get(&id).map(Vec::as_slice)
    }
}

/// A value's text before escaping and truncation.
fn value_text(value: &Value) -> String {
    match value {
        Value::Str(text) => text.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        // A `BTreeSet<String>` iterates in byte order, which is what every host sorts by.
        Value::StrSet(items) => items.iter().map(String::as_str).collect::<Vec<_>>().join(SET_SEPARATOR),
    }
}

/// Control characters as `\u00XX` (lowercase hex); everything else as is.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` cut to at most `max` bytes at a character boundary, plus [`TRUNCATED`], if longer.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(TRUNCATED);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholder(text: &str, start: usize) -> Piece {
        Piece::Placeholder { text: text.into(), start }
    }

    #[test]
    fn splits_at_placeholders_and_unescapes_braces() {
        assert_eq!(split("plain reason"), Ok(None));
        assert_eq!(
            split("record { resource } of {{x}}: \\u00e9{sub}"),
            Ok(Some(vec![
                Piece::Text("record ".into()),
                placeholder("resource", 9),
                Piece::Text(" of {x}: é".into()),
                placeholder("sub", 37),
            ]))
        );
        assert_eq!(split("{{}}"), Ok(Some(vec![Piece::Text("{}".into())])));
        assert_eq!(split("a {sub").map_err(|e| (e.message, e.start)), Err(("unclosed `{` in a deny reason", 2)));
        assert_eq!(split("a } b").map_err(|e| (e.message, e.start)), Err(("unmatched `}` in a deny reason", 2)));
    }

    #[test]
    fn renders_every_type_missing_values_and_escapes() {
        let parts = |n: usize| {
            let mut parts = vec![ReasonPart::Text("v=".into())];
            parts.extend((0..n).map(|_| ReasonPart::Value(Expr::ChainDepth)));
            parts
        };
        let set = Value::StrSet(BTreeSet::from(["b".to_string(), "a".to_string(), "B".to_string()]));
        assert_eq!(render(&parts(1), |_| Some(set.clone())), "v=B, a, b");
        assert_eq!(render(&parts(1), |_| Some(Value::Int(-7))), "v=-7");
        assert_eq!(render(&parts(1), |_| Some(Value::Bool(true))), "v=true");
        assert_eq!(render(&parts(1), |_| None), "v=<missing>");
        assert_eq!(
            render(&parts(1), |_| Some(Value::Str("a\nb\u{1b}[31m\u{85}".into()))),
            "v=a\\u000ab\\u001b[31m\\u0085"
        );
    }

    #[test]
    fn truncates_values_and_reasons_at_character_boundaries() {
        let one = [ReasonPart::Value(Expr::ChainDepth)];
        // 255 ASCII bytes then a 2-byte character: the cut falls inside it, so it goes.
        let text = format!("{}é", "x".repeat(MAX_VALUE_BYTES - 1));
        let rendered = render(&one, |_| Some(Value::Str(text.clone())));
        assert_eq!(rendered, format!("{}{TRUNCATED}", "x".repeat(MAX_VALUE_BYTES - 1)));
        let exact = "é".repeat(MAX_VALUE_BYTES / 2);
        assert_eq!(render(&one, |_| Some(Value::Str(exact.clone()))), exact);
        let many = vec![ReasonPart::Value(Expr::ChainDepth); 10];
        let rendered = render(&many, |_| Some(Value::Str("€".repeat(200))));
        assert!(rendered.ends_with(TRUNCATED));
        assert!(rendered.len() <= MAX_REASON_BYTES + TRUNCATED.len());
        // Escapes count toward the cap.
        let controls = render(&one, |_| Some(Value::Str("\n".repeat(100))));
        assert_eq!(controls.len(), MAX_VALUE_BYTES + TRUNCATED.len());
    }
}
