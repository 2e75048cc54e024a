//! The decision log: one JSON line per decision, attributed user → agent chain → resource →
//! outcome, written off the decision path (see [`AuditLog`]), and read back ([`read_events`]).
//! Filtering and reports over a log are the CLI's (`warrant audit`). Format: docs/audit.md.
mod file_sink;
mod log;
mod read;
mod record;
mod sink;
mod time;
mod writer;

pub use file_sink::{FileSink, Rotation};
pub use log::{
    AuditConfig, AuditError, AuditHealth, AuditLog, AuditMode, AuditStats, AUDIT_UNAVAILABLE, DEFAULT_FLUSH_INTERVAL,
    DEFAULT_QUEUE_CAPACITY,
};
pub use read::{read_events, AuditReadError};
pub use record::{AuditEvent, AuditRecord, Verdict};
pub use sink::{AuditSink, CallbackSink, MemorySink, StdoutSink};
pub use time::{format_rfc3339_ms, parse_time_ms};

/// Now, in Unix milliseconds.
pub(crate) fn unix_ms_now() -> u64 {
    record::unix_ms(std::time::SystemTime::now())
}
