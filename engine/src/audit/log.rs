//! The audit log: decisions hand records to a bounded queue and return at once; one writer
//! thread (`writer.rs`) drains it into the sink. Nothing is lost without a trace: a record the
//! queue cannot take is dropped, counted and noted in the log itself; one the sink refuses is
//! retried once, then counted as failed; either makes the next [`AuditLog::flush`] an error and
//! [`AuditLog::health`] unhealthy until the sink takes records again.
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde::Serialize;

use super::record::AuditRecord;
use super::sink::AuditSink;
use super::writer;

/// Default queue length: about a second of a busy gateway's decisions.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// Default longest wait before written records are flushed: a quiet gateway's records reach
/// the disk within this, a busy one flushes at most this often.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// How a log queues and flushes; [`AuditLog::start`] takes the defaults but the capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditConfig {
    /// Records the queue holds; when it is full, new records are dropped (and counted).
    pub capacity: usize,
    /// The writer flushes the sink once this has passed since the first unflushed write, so
    /// records never sit in a buffer indefinitely. Zero flushes after every record.
    pub flush_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig { capacity: DEFAULT_QUEUE_CAPACITY, flush_interval: DEFAULT_FLUSH_INTERVAL }
    }
}

/// What a gateway does while its audit trail is unhealthy (see [`AuditHealth::healthy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditMode {
    /// Decide as usual; losses are counted and reported by `flush()` and `health()`.
    #[default]
    BestEffort,
    /// Deny every decision, with a reason starting with [`AUDIT_UNAVAILABLE`], for
    /// deployments where an unlogged decision is not acceptable. The denies are logged too,
    /// which is how the trail is seen to recover.
    Required,
}

/// Start of the deny reason of a decision refused under [`AuditMode::Required`].
pub const AUDIT_UNAVAILABLE: &str = "audit trail unavailable";

/// Why the audit log could not start, take a record or confirm a flush. Any of them means the
/// trail may be incomplete; [`AuditMode::Required`] turns that into denies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// [`AuditLog::start`] could not spawn the writer thread; holds the OS error.
    #[error("cannot start the audit writer thread: {0}")]
    Spawn(io::Error),
    /// The writer thread is no longer running, so nothing more can be recorded or flushed.
    #[error("the audit writer thread has stopped")]
    WriterGone,
    /// [`AuditLog::record`] found the queue full: the record was dropped (and counted).
    #[error("the audit queue is full ({capacity} records)")]
    QueueFull {
        /// The queue's length, in records ([`AuditConfig::capacity`]).
        capacity: usize,
    },
    /// Records that did not reach the sink since the previous flush: `failed` the sink refused
    /// (or lost when a flush failed), `dropped` the queue could not take.
    #[error("{failed} audit records failed to write and {dropped} were dropped since the last flush: {last_error}")]
    RecordsLost {
        /// Records the sink refused or lost in a failed flush since the previous flush.
        failed: u64,
        /// Records the full queue dropped since the previous flush.
        dropped: u64,
        /// The most recent sink error message ("no error recorded" when there was none).
        last_error: String,
    },
}

/// Counters since the log started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditStats {
    /// Records the sink accepted and then flushed (so it lags writes by up to a flush interval).
    pub written: u64,
    /// Records lost because the queue was full or the writer had stopped.
    pub dropped: u64,
    /// Records the sink refused, panicked on, or lost in a failed flush.
    pub failed: u64,
}

/// The state of the audit trail, for a gateway's health endpoint (`Serialize`s to JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHealth {
    /// As [`AuditStats::written`].
    pub written: u64,
    /// As [`AuditStats::dropped`].
    pub dropped: u64,
    /// As [`AuditStats::failed`].
    pub failed: u64,
    /// The most recent problem, even one since recovered from or worked around (a write that
    /// succeeded on retry, a blocked rotation): what an operator should look at.
    pub last_error: Option<String>,
    /// When `last_error` happened, Unix milliseconds.
    pub last_error_at_ms: Option<u64>,
    /// False while records are being lost: the writer has stopped; or a drop is not yet noted
    /// in the log; or a sink call failed and no write has since succeeded and been flushed.
    pub healthy: bool,
}

/// State shared by the log handle and its writer thread.
pub(super) struct Shared {
    pub(super) written: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) failed: AtomicU64,
    /// Drops the writer has noted in the log (a `records_dropped` event); only it stores.
    pub(super) drops_noted: AtomicU64,
    /// Cleared by a failed sink call, set by a flush that succeeds after a successful write.
    pub(super) sink_ok: AtomicBool,
    /// Cleared when the writer thread ends, however it ends.
    pub(super) writer_running: AtomicBool,
    /// The last problem and when (Unix milliseconds).
    last_error: Mutex<Option<(String, u64)>>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            drops_noted: AtomicU64::new(0),
            sink_ok: AtomicBool::new(true),
            writer_running: AtomicBool::new(true),
            last_error: Mutex::new(None),
        }
    }

    /// Remembers `message` as the last problem, stamped now.
    pub(super) fn note_error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some((message, super::unix_ms_now()));
    }

    /// The last problem and when it happened.
    pub(super) fn last_error(&self) -> Option<(String, u64)> {
        self.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Why records are being lost now, or `None` when the trail is healthy. Lock-free when
    /// healthy: a gateway asks before every decision.
    fn problem(&self) -> Option<String> {
        if !self.writer_running.load(Ordering::SeqCst) {
            return Some(AuditError::WriterGone.to_string());
        }
        let unnoted = self.dropped.load(Ordering::SeqCst).saturating_sub(self.drops_noted.load(Ordering::SeqCst));
        if unnoted > 0 {
            return Some(format!("{unnoted} records dropped: the audit queue is full"));
        }
        if !self.sink_ok.load(Ordering::SeqCst) {
            let cause = self.last_error().map_or_else(|| "unknown error".to_string(), |(message, _)| message);
            return Some(format!("the audit sink is failing: {cause}"));
        }
        None
    }
}

/// What the log handle sends its writer.
pub(super) enum Message {
    Record(Box<AuditRecord>),
    /// Write out everything queued before this, flush the sink, then answer.
    Flush(SyncSender<Result<(), AuditError>>),
}

/// A running audit log. `Send + Sync`: share it (in an `Arc` or a gateway) between threads.
/// Dropping it writes out the queue and stops the writer.
pub struct AuditLog {
    queue: Option<SyncSender<Message>>,
    shared: Arc<Shared>,
    capacity: usize,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Starts the writer thread draining a queue of `capacity` records into `sink`, flushing
    /// it every [`DEFAULT_FLUSH_INTERVAL`].
    pub fn start(sink: impl AuditSink, capacity: usize) -> Result<AuditLog, AuditError> {
        AuditLog::start_with(sink, AuditConfig { capacity, ..AuditConfig::default() })
    }

    /// Starts the writer thread with every setting explicit.
    pub fn start_with(sink: impl AuditSink, config: AuditConfig) -> Result<AuditLog, AuditError> {
        let (queue, receiver) = mpsc::sync_channel(config.capacity);
        let shared = Arc::new(Shared::new());
        let writer_shared = Arc::clone(&shared);
        let writer = thread::Builder::new()
            .name("warrant-audit".into())
            .spawn(move || writer::run(sink, &receiver, &writer_shared, config.flush_interval))
            .map_err(AuditError::Spawn)?;
        Ok(AuditLog { queue: Some(queue), shared, capacity: config.capacity, writer: Some(writer) })
    }

    /// Queues `record` without ever blocking. When the queue is full or the writer has
    /// stopped, the record is dropped, counted, and the error says which.
    pub fn record(&self, record: AuditRecord) -> Result<(), AuditError> {
        let sent = match &self.queue {
            Some(queue) => queue.try_send(Message::Record(Box::new(record))),
            None => Err(TrySendError::Disconnected(Message::Record(Box::new(record)))),
        };
        sent.map_err(|error| {
            self.shared.dropped.fetch_add(1, Ordering::SeqCst);
            match error {
                TrySendError::Full(_) => AuditError::QueueFull { capacity: self.capacity },
                TrySendError::Disconnected(_) => AuditError::WriterGone,
            }
        })
    }

    /// Blocks until every record queued before the call is written and the sink flushed.
    /// [`AuditError::RecordsLost`] when any record failed or was dropped since the previous
    /// `flush` (or the start): `Ok` means nothing was lost in between.
    pub fn flush(&self) -> Result<(), AuditError> {
        let queue = self.queue.as_ref().ok_or(AuditError::WriterGone)?;
        let (answer, answered) = mpsc::sync_channel(1);
        queue.send(Message::Flush(answer)).map_err(|_| AuditError::WriterGone)?;
        answered.recv().map_err(|_| AuditError::WriterGone)?
    }

    /// The counters since the log started.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            written: self.shared.written.load(Ordering::SeqCst),
            dropped: self.shared.dropped.load(Ordering::SeqCst),
            failed: self.shared.failed.load(Ordering::SeqCst),
        }
    }

    /// The counters, the last problem and whether records are being lost now.
    pub fn health(&self) -> AuditHealth {
        let stats = self.stats();
        let (last_error, last_error_at_ms) = self.shared.last_error().unzip();
        AuditHealth {
            written: stats.written,
            dropped: stats.dropped,
            failed: stats.failed,
            last_error,
            last_error_at_ms,
            healthy: self.shared.problem().is_none(),
        }
    }

    /// Why the trail is unhealthy (see [`AuditHealth::healthy`]), or `None`; cheap when
    /// healthy, so a gateway can ask before every decision.
    pub(crate) fn unavailable(&self) -> Option<String> {
        self.shared.problem()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the queue lets the writer drain it and stop.
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
