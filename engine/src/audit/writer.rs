//! The audit writer thread. It drains the queue into the sink and keeps the books:
//! - a record counts as written only once a flush after its write succeeds; a failed flush
//!   turns every record written since the previous flush into a failure (the sink contract,
//!   [`AuditSink::flush`]);
//! - it flushes once the flush interval has passed since the first unflushed write (a quiet
//!   gateway's records reach the sink without anyone calling `flush`), and right after every
//!   write while the sink is failing, so recovery is noticed at once;
//! - a write that fails is retried once (a `FileSink` reopens its file for it); one that
//!   panics is not retried: the panic is caught, the record counted as failed, and the
//!   writer carries on with the next.
use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::log::{AuditError, Message, Shared};
use super::record::AuditEvent;
use super::sink::AuditSink;

/// Runs until every sender is gone, then drains, flushes and returns.
pub(super) fn run(sink: impl AuditSink, receiver: &Receiver<Message>, shared: &Shared, flush_interval: Duration) {
    let _running = Running(shared);
    let mut writer = Writer {
        sink,
        shared,
        unflushed: 0,
        dirty: false,
        wrote_since_failure: false,
        noted_at_last_flush: 0,
        last_flush: Instant::now(),
        reported: (0, 0),
    };
    loop {
        let next = if writer.dirty {
            receiver.recv_timeout(flush_interval.saturating_sub(writer.last_flush.elapsed()))
        } else {
            receiver.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match next {
            Ok(Message::Record(record)) => writer.record(&AuditEvent::Decision(*record)),
            Ok(Message::Flush(answer)) => {
                let _ = answer.send(writer.flush_for_caller());
            }
            Err(RecvTimeoutError::Timeout) => writer.flush(),
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let failing = !shared.sink_ok.load(Ordering::SeqCst);
        if writer.dirty && (failing || writer.last_flush.elapsed() >= flush_interval) {
            writer.flush();
        }
    }
    writer.note_drops();
    writer.flush();
}

/// Marks the writer stopped when the thread ends, even by a panic outside a sink call.
struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.writer_running.store(false, Ordering::SeqCst);
    }
}

struct Writer<'a, S> {
    sink: S,
    shared: &'a Shared,
    /// Records written since the last flush: counted written or failed by the next one.
    unflushed: u64,
    /// Whether anything (records or notices) was written since the last flush.
    dirty: bool,
    /// Whether a write succeeded since the last failed sink call: a flush then proves recovery.
    wrote_since_failure: bool,
    /// `drops_noted` at the last successful flush: a failed flush loses the notices written
    /// since, so it goes back to this and they are written again.
    noted_at_last_flush: u64,
    last_flush: Instant,
    /// `(failed, dropped)` totals already reported by a caller's flush.
    reported: (u64, u64),
}

/// Why a sink call did not succeed.
enum SinkFailure {
    Io(io::Error),
    Panic(String),
}

impl std::fmt::Display for SinkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkFailure::Io(error) => write!(f, "{error}"),
            SinkFailure::Panic(message) => write!(f, "the audit sink panicked: {message}"),
        }
    }
}

impl<S: AuditSink> Writer<'_, S> {
    fn record(&mut self, event: &AuditEvent) {
        self.note_drops();
        if self.write(event) {
            self.unflushed += 1;
        } else {
            self.shared.failed.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Writes a `records_dropped` notice for drops not yet noted; retried with the next event
    /// if it fails.
    fn note_drops(&mut self) {
        let dropped = self.shared.dropped.load(Ordering::SeqCst);
        let noted = self.shared.drops_noted.load(Ordering::SeqCst);
        if dropped > noted {
            self.shared.note_error(format!("{} records dropped: the audit queue was full", dropped - noted));
            if self.write(&AuditEvent::records_dropped(dropped - noted)) {
                self.shared.drops_noted.store(dropped, Ordering::SeqCst);
            }
        }
    }

    /// Writes `event`, retrying once after an I/O error. Whether the sink took it.
    fn write(&mut self, event: &AuditEvent) -> bool {
        let mut outcome = self.call(|sink| sink.write(event));
        if let Err(SinkFailure::Io(error)) = &outcome {
            self.failing(format!("cannot write an audit event (retrying once): {error}"));
            outcome = self.call(|sink| sink.write(event));
        }
        if let Ok(Some(warning)) = guarded(|| self.sink.take_warning()) {
            self.shared.note_error(warning);
        }
        match outcome {
            Ok(()) => {
                self.dirty = true;
                self.wrote_since_failure = true;
                true
            }
            Err(failure) => {
                self.failing(format!("cannot write an audit event: {failure}"));
                false
            }
        }
    }

    /// Flushes the sink and settles the records written since the last flush.
    fn flush(&mut self) {
        let unflushed = std::mem::take(&mut self.unflushed);
        match self.call(AuditSink::flush) {
            Ok(()) => {
                self.shared.written.fetch_add(unflushed, Ordering::SeqCst);
                self.noted_at_last_flush = self.shared.drops_noted.load(Ordering::SeqCst);
                if self.wrote_since_failure {
                    self.shared.sink_ok.store(true, Ordering::SeqCst);
                }
            }
            Err(failure) => {
                self.shared.failed.fetch_add(unflushed, Ordering::SeqCst);
                self.shared.drops_noted.store(self.noted_at_last_flush, Ordering::SeqCst);
                self.failing(format!("cannot flush the audit sink ({unflushed} records lost): {failure}"));
            }
        }
        self.dirty = false;
        self.last_flush = Instant::now();
    }

    /// A caller's flush: `Ok` only if nothing failed or was dropped since the previous one.
    fn flush_for_caller(&mut self) -> Result<(), AuditError> {
        self.note_drops();
        self.flush();
        let totals = (self.shared.failed.load(Ordering::SeqCst), self.shared.dropped.load(Ordering::SeqCst));
        let (failed, dropped) = (totals.0.saturating_sub(self.reported.0), totals.1.saturating_sub(self.reported.1));
        self.reported = totals;
        if failed == 0 && dropped == 0 {
            return Ok(());
        }
        let last_error =
            self.shared.last_error().map_or_else(|| "no error recorded".to_string(), |(message, _)| message);
        Err(AuditError::RecordsLost { failed, dropped, last_error })
    }

    /// Records a failed sink call: unhealthy until a later write is flushed.
    fn failing(&mut self, message: String) {
        self.wrote_since_failure = false;
        self.shared.sink_ok.store(false, Ordering::SeqCst);
        self.shared.note_error(message);
    }

    /// Calls the sink, turning a panic into a failure so the writer survives it.
    fn call(&mut self, operation: impl FnOnce(&mut S) -> io::Result<()>) -> Result<(), SinkFailure> {
        match guarded(|| operation(&mut self.sink)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(SinkFailure::Io(error)),
            Err(message) => Err(SinkFailure::Panic(message)),
        }
    }
}

/// Runs `operation`, catching a panic as its message. Sinks are arbitrary user code; after a
/// panic the sink may be half-updated, which is why the event is counted failed, not retried.
fn guarded<T>(operation: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(operation)).map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(message), _) => (*message).to_string(),
        (_, Some(message)) => message.clone(),
        _ => "(no message)".to_string(),
    }
}
