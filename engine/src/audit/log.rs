//! The audit log: decisions hand records to a bounded queue and return at once; one writer
//! thread drains it into the sink. When the queue is full the record is dropped and counted,
//! and the writer logs how many were lost as soon as it catches up: the decision path never
//! waits on disk, and no loss goes unrecorded.
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::record::{AuditEvent, AuditRecord};
use super::sink::AuditSink;

/// Default queue length: about a second of a busy gateway's decisions.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot start the audit writer thread: {0}")]
    Spawn(io::Error),
    #[error("the audit writer thread has stopped")]
    WriterGone,
    #[error("the audit sink failed to flush: {0}")]
    Flush(io::Error),
}

/// Counters since the log started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditStats {
    /// Records the sink accepted.
    pub written: u64,
    /// Records lost because the queue was full or the writer had stopped.
    pub dropped: u64,
    /// Events the sink refused (I/O errors).
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

enum Message {
    Record(Box<AuditRecord>),
    /// Write out everything queued before this, flush the sink, then answer.
    Flush(SyncSender<io::Result<()>>),
}

/// A running audit log. `Send + Sync`: share it (in an `Arc` or a gateway) between threads.
/// Dropping it writes out the queue and stops the writer.
pub struct AuditLog {
    queue: Option<SyncSender<Message>>,
    counters: Arc<Counters>,
    writer: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Starts the writer thread draining a queue of `capacity` records into `sink`.
    pub fn start(sink: impl AuditSink, capacity: usize) -> Result<AuditLog, AuditError> {
        let (queue, receiver) = mpsc::sync_channel(capacity);
        let counters = Arc::new(Counters::default());
        let writer_counters = Arc::clone(&counters);
        let writer = thread::Builder::new()
            .name("warrant-audit".into())
            .spawn(move || run_writer(sink, &receiver, &writer_counters))
            .map_err(AuditError::Spawn)?;
        Ok(AuditLog { queue: Some(queue), counters, writer: Some(writer) })
    }

    /// Queues `record` without ever blocking; counts it as dropped if the queue is full.
    pub fn record(&self, record: AuditRecord) {
        let sent = match &self.queue {
            Some(queue) => queue.try_send(Message::Record(Box::new(record))),
            None => Err(TrySendError::Disconnected(Message::Record(Box::new(record)))),
        };
        if sent.is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Blocks until every record queued before the call is written and the sink flushed.
    pub fn flush(&self) -> Result<(), AuditError> {
        let queue = self.queue.as_ref().ok_or(AuditError::WriterGone)?;
        let (answer, answered) = mpsc::sync_channel(1);
        queue.send(Message::Flush(answer)).map_err(|_| AuditError::WriterGone)?;
        answered.recv().map_err(|_| AuditError::WriterGone)?.map_err(AuditError::Flush)
    }

    pub fn stats(&self) -> AuditStats {
        AuditStats {
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
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

/// The writer thread: drains the queue until every sender is gone.
fn run_writer(mut sink: impl AuditSink, receiver: &Receiver<Message>, counters: &Counters) {
    let mut reported_drops = 0;
    while let Ok(message) = receiver.recv() {
        report_drops(&mut sink, counters, &mut reported_drops);
        match message {
            Message::Record(record) => write(&mut sink, counters, &AuditEvent::Decision(*record), true),
            Message::Flush(answer) => {
                let _ = answer.send(sink.flush());
            }
        }
    }
    report_drops(&mut sink, counters, &mut reported_drops);
    if sink.flush().is_err() {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Logs how many records were dropped since the last notice.
fn report_drops(sink: &mut impl AuditSink, counters: &Counters, reported: &mut u64) {
    let dropped = counters.dropped.load(Ordering::Relaxed);
    if dropped > *reported {
        write(sink, counters, &AuditEvent::records_dropped(dropped - *reported), false);
        *reported = dropped;
    }
}

fn write(sink: &mut impl AuditSink, counters: &Counters, event: &AuditEvent, is_record: bool) {
    match sink.write(event) {
        Ok(()) if is_record => {
            counters.written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(()) => {}
        Err(_) => {
            counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
