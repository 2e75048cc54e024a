//! Where audit events go. A sink runs on the log's writer thread only, so it may block or be
//! slow without slowing any decision.
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use super::record::AuditEvent;

/// A destination for audit events. The log's bookkeeping relies on the contract below, so a
/// sink that buffers must keep it.
pub trait AuditSink: Send + 'static {
    /// Takes one event. An error means this event was not taken (the log retries it once);
    /// events taken before are unaffected until the next `flush` says otherwise.
    fn write(&mut self, event: &AuditEvent) -> io::Result<()>;
    /// Makes everything written so far durable (or visible); called at least every flush
    /// interval while anything is unflushed, on `AuditLog::flush` and at shutdown. An error
    /// means none of the events written since the previous successful flush can be counted
    /// on: the log counts them all as failed.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// A problem the sink worked around without losing an event (e.g. a rotation that
    /// failed, so the file grows past its limit), taken once: the log shows it as
    /// `health().last_error` without marking itself unhealthy.
    fn take_warning(&mut self) -> Option<String> {
        None
    }
}

/// JSON lines on standard output.
#[derive(Default)]
pub struct StdoutSink;

impl AuditSink for StdoutSink {
    fn write(&mut self, event: &AuditEvent) -> io::Result<()> {
        io::stdout().lock().write_all(&event.to_json_line())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

/// Keeps events in memory; clones share them (keep one to read while the log owns another).
#[derive(Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<AuditEvent>>>,
}

impl MemorySink {
    /// An empty sink; clone it before handing it to the log to read the events back.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// A copy of every event written so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl AuditSink for MemorySink {
    fn write(&mut self, event: &AuditEvent) -> io::Result<()> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).push(event.clone());
        Ok(())
    }
}

/// Hands each event to a function (to forward to a SIEM, a metrics pipeline, a test).
pub struct CallbackSink<F>(pub F);

impl<F: FnMut(&AuditEvent) -> io::Result<()> + Send + 'static> AuditSink for CallbackSink<F> {
    fn write(&mut self, event: &AuditEvent) -> io::Result<()> {
        (self.0)(event)
    }
}
