//! `regex(S, "pattern")`: a whole-string regular-expression test in linear time.
//!
//! Two independent matchers implement it. The compiler turns the pattern into a dense DFA with
//! `regex-automata` ([`build_dfa`]), which the Wasm backend emits as a transition table walked
//! once per subject byte; the reference evaluator matches with the `regex` crate
//! ([`whole_match`]). The differential tests compare the two.
//!
//! Semantics, shared by both: the pattern must match the **whole** subject (it is anchored at
//! both ends, so `^` and `$` are accepted and redundant); matching is **byte-wise** by default
//! (Unicode mode off: `.` is one byte, `\w`, `\d`, `\s` and classes are ASCII), because Unicode
//! classes multiply the states of a DFA; `(?u)` in the pattern turns Unicode mode on, within
//! the size limit [`crate::limits::MAX_REGEX_DFA_CELLS`]. Non-ASCII literal characters match
//! their UTF-8 bytes either way.
use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{dense, Automaton};
use regex_automata::util::primitives::StateID;
use regex_automata::util::{start, syntax};
use regex_automata::{nfa::thompson, Anchored, MatchKind};

use crate::limits::MAX_REGEX_DFA_CELLS;

/// Memory the DFA construction may use (NFA, determinization and DFA, each), so that a
/// pathological pattern is refused quickly instead of exhausting the compiler.
const BUILD_MEMORY_LIMIT: usize = 8 << 20;

/// A pattern's DFA, renumbered for emission: state 0 is the start state, rows are
/// `class_count` wide, and every transition holds its target state already multiplied by
/// `class_count` (the offset of the target's row), so a matcher needs one table load per byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexDfa {
    /// The equivalence class of each byte (bytes no pattern distinguishes share a class).
    pub classes: [u8; 256],
    /// Number of classes: the width of a row of `transitions`.
    pub class_count: usize,
    /// `transitions[row + class]`: the row offset of the next state.
    pub transitions: Vec<u16>,
    /// Per state: whether a subject that ends in this state matches.
    pub accepting: Vec<bool>,
}

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// Not a valid pattern, or one using a feature a DFA cannot run (Unicode `\b` with `(?u)`);
    /// holds the regex parser's message.
    Invalid(String),
    /// The DFA has more than [`MAX_REGEX_DFA_CELLS`] cells (states × byte classes), or its
    /// construction needed more than the build memory limit; holds what was exceeded.
    TooLarge(String),
}

/// The syntax both matchers use: byte-wise unless the pattern says `(?u)`.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// Checks that `pattern` parses under the language's syntax (cheap: no automaton is built).
pub fn validate(pattern: &str) -> Result<(), RegexError> {
    syntax::parse_with(pattern, &syntax_config()).map(|_| ()).map_err(|e| RegexError::Invalid(last_line(&e)))
}

/// The regex crates render errors over several lines (the pattern, a caret, the error); the
/// last line says what is wrong, and the caller's diagnostic already shows where.
fn last_line(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&text);
    line.trim().trim_start_matches("error: ").to_string()
}

/// Builds the anchored DFA of `pattern`, refusing invalid patterns and DFAs over the limit.
pub fn build_dfa(pattern: &str) -> Result<RegexDfa, RegexError> {
    validate(pattern)?;
    let config = dense::Config::new()
        .match_kind(MatchKind::All)
        .start_kind(regex_automata::dfa::StartKind::Anchored)
        .dfa_size_limit(Some(BUILD_MEMORY_LIMIT))
        .determinize_size_limit(Some(BUILD_MEMORY_LIMIT));
    let dfa = dense::Builder::new()
        .configure(config)
        .syntax(syntax_config())
        .thompson(thompson::Config::new().nfa_size_limit(Some(BUILD_MEMORY_LIMIT)))
        .build(pattern)
        .map_err(|e| {
            if e.is_size_limit_exceeded() {
                RegexError::TooLarge(format!("building it needs more than {} MiB", BUILD_MEMORY_LIMIT >> 20))
            } else {
                RegexError::Invalid(last_line(&e))
            }
        })?;
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::Yes))
        .map_err(|e| RegexError::Invalid(last_line(&e)))?;
    renumber(&dfa, start)
}

/// Walks the states reachable from `start` breadth-first, numbering them in visit order.
fn renumber(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Result<RegexDfa, RegexError> {
    let byte_classes = dfa.byte_classes();
    let mut classes = [0u8; 256];
    let mut representatives: Vec<u8> = Vec::new();
    for (byte, class) in (0..=u8::MAX).zip(classes.iter_mut()) {
        *class = byte_classes.get(byte);
        if usize::from(*class) == representatives.len() {
            representatives.push(byte);
        }
    }
    let class_count = representatives.len();
    let too_large = |states: usize| {
        RegexError::TooLarge(format!(
            "its DFA needs at least {states} states × {class_count} byte classes, over {MAX_REGEX_DFA_CELLS} cells"
        ))
    };
    let mut index: HashMap<StateID, usize> = HashMap::from([(start, 0)]);
    let mut queue = VecDeque::from([start]);
    let mut transitions = Vec::new();
    let mut accepting = Vec::new();
    while let Some(state) = queue.pop_front() {
        if dfa.is_quit_state(state) {
            return Err(RegexError::Invalid("the pattern needs a feature a DFA cannot run".into()));
        }
        accepting.push(dfa.is_match_state(dfa.next_eoi_state(state)));
        for &byte in &representatives {
            let next = dfa.next_state(state, byte);
            let known = index.len();
            let number = *index.entry(next).or_insert_with(|| {
                queue.push_back(next);
                known
            });
            if index.len().saturating_mul(class_count) > MAX_REGEX_DFA_CELLS {
                return Err(too_large(index.len()));
            }
            let offset = number.saturating_mul(class_count);
            transitions.push(u16::try_from(offset).map_err(|_| too_large(index.len()))?);
        }
    }
    Ok(RegexDfa { classes, class_count, transitions, accepting })
}

#[cfg(test)]
impl RegexDfa {
    /// Whether the whole of `subject` matches: the walk the Wasm matcher performs, so the
    /// table's format is tested apart from the code generator.
    pub fn matches(&self, subject: &[u8]) -> bool {
        let mut row = 0usize;
        for &byte in subject {
            let class = self.classes.get(usize::from(byte)).copied().unwrap_or(0);
            match self.transitions.get(row + usize::from(class)) {
                Some(&next) => row = usize::from(next),
                None => return false,
            }
        }
        self.class_count > 0 && self.accepting.get(row / self.class_count).copied().unwrap_or(false)
    }
}

/// The reference matcher: whether the whole of `subject` matches `pattern`, with the `regex`
/// crate; `None` when the pattern does not compile (a malformed program: the caller fails
/// closed).
pub fn whole_match(pattern: &str, subject: &[u8]) -> Option<bool> {
    // Validated alone first, so that wrapping cannot make an unbalanced pattern (`a)|(b`) valid.
    validate(pattern).ok()?;
    let regex = regex::bytes::RegexBuilder::new(&format!(r"\A(?:{pattern})\z")).unicode(false).build().ok()?;
    Some(regex.is_match(subject))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const PATTERNS: [&str; 14] = [
        "",
        "a",
        "a|ab",
        "[a-z0-9._-]+@acme\\.com",
        "^x.*y$",
        "(?i)abc",
        "\\d{2,3}",
        "\\bfoo\\b",
        "(a|b)*abb",
        ".",
        "(?u).",
        "é+",
        "(?m)^a$\\n^b$",
        "(?s)a.b",
    ];

    const SUBJECTS: [&str; 16] = [
        "",
        "a",
        "ab",
        "abb",
        "aabb",
        "bob@acme.com",
        "bob@acme.comx",
        "xy",
        "x\ny",
        "ABC",
        "12",
        "1234",
        "foo",
        "é",
        "a\nb",
        "ééé",
    ];

    #[test]
    fn the_dfa_walk_agrees_with_the_regex_crate() {
        for pattern in PATTERNS {
            let dfa = build_dfa(pattern).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
            for subject in SUBJECTS {
                assert_eq!(
                    Some(dfa.matches(subject.as_bytes())),
                    whole_match(pattern, subject.as_bytes()),
                    "{pattern:?} on {subject:?}"
                );
            }
        }
    }

    #[test]
    fn matching_is_anchored_and_byte_wise_by_default() {
        assert_eq!(whole_match("a|ab", b"ab"), Some(true));
        assert_eq!(whole_match("b", b"abc"), Some(false));
        assert_eq!(whole_match(".", "é".as_bytes()), Some(false));
        assert_eq!(whole_match("..", "é".as_bytes()), Some(true));
        assert_eq!(whole_match("(?u).", "é".as_bytes()), Some(true));
    }

    #[test]
    fn invalid_patterns_are_refused_by_both_matchers() {
        for pattern in ["(", "a)|(b", "[z-a]", "x{2,1}", "(?u)\\bx"] {
            assert!(matches!(build_dfa(pattern), Err(RegexError::Invalid(_))), "{pattern}");
        }
        assert_eq!(whole_match("a)|(b", b"b"), None);
    }

    #[test]
    fn pathological_patterns_are_refused_not_built() {
        for pattern in ["a{1000}{1000}", "(?u)\\w{200}", "[ab]*a[ab]{30}"] {
            assert!(build_dfa(pattern).is_err(), "{pattern}");
        }
    }

    #[test]
    fn large_dfas_are_refused() {
        assert!(matches!(build_dfa("(?u)\\w{50}"), Err(RegexError::TooLarge(_))));
        assert!(matches!(build_dfa("[ab]*a[ab]{20}"), Err(RegexError::TooLarge(_))));
    }
}
