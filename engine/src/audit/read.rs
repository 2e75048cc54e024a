//! Reading an audit log back, line by line, into [`AuditEvent`]s. The engine owns the line
//! format, so it owns its parser too: tools that review logs (`warrant audit`) and tests that
//! check no record was lost read through this one function.
use std::io::BufRead;

use super::record::AuditEvent;

/// A line of the log that is not an audit event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditReadError {
    /// The line could not be read (I/O error, or not UTF-8).
    #[error("line {line}: cannot read: {source}")]
    Io {
        /// 1-based line number.
        line: usize,
        /// The underlying read error.
        source: std::io::Error,
    },
    /// The line is not the JSON of an audit event.
    #[error("line {line}: not an audit event: {source}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// What the JSON parser refused.
        source: serde_json::Error,
    },
}

/// The events of a JSON-lines log, in order; blank lines are skipped.
pub fn read_events(reader: impl BufRead) -> impl Iterator<Item = Result<AuditEvent, AuditReadError>> {
    reader.lines().enumerate().filter_map(|(index, line)| {
        let line_number = index + 1;
        match line {
            Err(source) => Some(Err(AuditReadError::Io { line: line_number, source })),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => {
                Some(serde_json::from_str(&text).map_err(|source| AuditReadError::Json { line: line_number, source }))
            }
        }
    })
}
