//! The audit trail under faults: a blocked rotation, a full disk, a sink that fails or panics,
//! a quiet gateway that never flushes. Each test injects one fault and checks that no record is
//! lost without being counted, reported by `flush()` and visible in `health()`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use warrant_engine::audit::{
    read_events, AuditConfig, AuditError, AuditEvent, AuditLog, AuditMode, AuditRecord, AuditSink, CallbackSink,
    FileSink, MemorySink, Rotation, AUDIT_UNAVAILABLE,
};
use warrant_engine::{Decision, Engine, Gateway, PolicyVersion, Request};

/// A decision record numbered `n` (its `decision_id` is `d{n}`).
fn record(n: usize) -> AuditRecord {
    let version = PolicyVersion { package: "p".into(), hash: "h".into() };
    let decision = Decision::deny_with_reason("test".into(), version);
    let request = Request { action: Some("read".into()), ..Request::default() };
    AuditRecord::new(format!("d{n}"), &request, &decision, SystemTime::now(), Duration::ZERO)
}

/// Queues `record(n)` for each `n`; the queue never fills in these tests.
fn record_all(log: &AuditLog, numbers: std::ops::RangeInclusive<usize>) {
    for n in numbers {
        log.record(record(n)).unwrap();
    }
}

/// A fresh, empty directory under the test target directory.
fn scratch(name: &str) -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// The decision ids in a JSON-lines file (missing file: none).
fn ids_in(path: &Path) -> Vec<String> {
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    read_events(std::io::BufReader::new(file))
        .filter_map(|event| match event.unwrap() {
            AuditEvent::Decision(record) => Some(record.decision_id),
            AuditEvent::RecordsDropped { .. } => None,
        })
        .collect()
}

fn ids_of(sink: &MemorySink) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter_map(|event| match event {
            AuditEvent::Decision(record) => Some(record.decision_id),
            AuditEvent::RecordsDropped { .. } => None,
        })
        .collect()
}

fn numbered(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|n| format!("d{n}")).collect()
}

#[test]
fn a_blocked_rotation_keeps_every_record_in_the_current_file() {
    let directory = scratch("audit_rotation_blocked");
    let path = directory.join("audit.log");
    // The rotation target is a non-empty directory: renaming the log onto it fails.
    std::fs::create_dir_all(FileSink::rotated_path(&path, 1).join("occupied")).unwrap();
    let log = AuditLog::start(FileSink::open(&path, Rotation { max_bytes: 2000, keep: 1 }).unwrap(), 1024).unwrap();
    record_all(&log, 1..=100);
    log.flush().unwrap();
    assert_eq!(ids_in(&path), numbered(1..=100));
    let health = log.health();
    assert_eq!((health.written, health.failed, health.dropped, health.healthy), (100, 0, 0, true));
    let warning = health.last_error.unwrap_or_default();
    assert!(warning.starts_with("cannot rotate") && health.last_error_at_ms.is_some(), "{warning}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_full_disk_counts_every_record_as_failed_and_flush_says_so() {
    let log = AuditLog::start(FileSink::open("/dev/full", Rotation::default()).unwrap(), 4096).unwrap();
    record_all(&log, 1..=1000);
    let flushed = log.flush();
    assert!(matches!(flushed, Err(AuditError::RecordsLost { failed: 1000, dropped: 0, .. })), "{flushed:?}");
    let health = log.health();
    assert_eq!((health.written, health.failed, health.dropped, health.healthy), (0, 1000, 0, false));
    let error = health.last_error.unwrap_or_default();
    assert!(error.contains("No space left on device"), "{error}");
}

#[test]
fn records_reach_the_file_without_an_explicit_flush() {
    let directory = scratch("audit_periodic_flush");
    let path = directory.join("audit.log");
    let log = AuditLog::start(FileSink::open(&path, Rotation::default()).unwrap(), 1024).unwrap();
    record_all(&log, 1..=10);
    // A behaviour check, not a timing claim: the deadline is far above the flush interval.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ids_in(&path).len() < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ids_in(&path), numbered(1..=10), "records still buffered after 5 s");
    drop(log);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_panicking_sink_loses_one_event_and_the_writer_keeps_going() {
    let sink = MemorySink::new();
    let mut forward = sink.clone();
    let calls = AtomicUsize::new(0);
    let log = AuditLog::start(
        CallbackSink(move |event: &AuditEvent| {
            if calls.fetch_add(1, Ordering::SeqCst) == 2 {
                panic!("sink bug on the third event");
            }
            forward.write(event)
        }),
        1024,
    )
    .unwrap();
    record_all(&log, 1..=6);
    let flushed = log.flush();
    assert_eq!(ids_of(&sink), ["d1", "d2", "d4", "d5", "d6"]);
    assert!(matches!(flushed, Err(AuditError::RecordsLost { failed: 1, dropped: 0, .. })), "{flushed:?}");
    let health = log.health();
    assert_eq!((health.written, health.failed, health.healthy), (5, 1, true));
    let error = health.last_error.unwrap_or_default();
    assert!(error.contains("the audit sink panicked: sink bug on the third event"), "{error}");
    log.flush().unwrap();
}

/// A sink that refuses every write while `broken` is set.
fn breakable() -> (MemorySink, Arc<AtomicBool>, impl AuditSink) {
    let sink = MemorySink::new();
    let broken = Arc::new(AtomicBool::new(false));
    let (mut forward, is_broken) = (sink.clone(), Arc::clone(&broken));
    let callback = CallbackSink(move |event: &AuditEvent| {
        if is_broken.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("collector unreachable"));
        }
        forward.write(event)
    });
    (sink, broken, callback)
}

#[test]
fn flush_reports_the_records_that_failed_since_the_previous_flush() {
    let (sink, broken, callback) = breakable();
    let log = AuditLog::start(callback, 1024).unwrap();
    record_all(&log, 1..=1);
    log.flush().unwrap();
    broken.store(true, Ordering::SeqCst);
    record_all(&log, 2..=3);
    let error = log.flush().unwrap_err().to_string();
    assert!(error.starts_with("2 audit records failed to write and 0 were dropped since the last flush"), "{error}");
    assert!(error.ends_with("collector unreachable"), "{error}");
    assert!(!log.health().healthy);
    broken.store(false, Ordering::SeqCst);
    assert!(log.flush().is_ok(), "nothing failed since the previous flush");
    assert!(!log.health().healthy, "no write has succeeded since the failure");
    record_all(&log, 4..=4);
    log.flush().unwrap();
    assert!(log.health().healthy);
    assert_eq!(ids_of(&sink), ["d1", "d4"]);
    assert_eq!((log.stats().written, log.stats().failed), (2, 2));
}

#[test]
fn a_failed_write_is_retried_once() {
    let sink = MemorySink::new();
    let mut forward = sink.clone();
    let calls = AtomicUsize::new(0);
    // Every first attempt fails, every second one succeeds.
    let log = AuditLog::start(
        CallbackSink(move |event: &AuditEvent| {
            if calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                return Err(std::io::Error::other("transient"));
            }
            forward.write(event)
        }),
        1024,
    )
    .unwrap();
    record_all(&log, 1..=5);
    log.flush().unwrap();
    assert_eq!(ids_of(&sink), numbered(1..=5));
    assert_eq!((log.stats().written, log.stats().failed), (5, 0));
}

const READS: &str = "package t\n\nallow reads if {\n    action == \"read\"\n}\n";

fn read_request() -> Request {
    Request { action: Some("read".into()), ..Request::default() }
}

/// A gateway allowing reads, logging to `sink` under `mode`.
fn gateway(sink: impl AuditSink, capacity: usize, mode: AuditMode) -> Gateway {
    let policy = Engine::new().unwrap().compile_policy(READS, "t.warrant").unwrap();
    let log = AuditLog::start_with(sink, AuditConfig { capacity, ..AuditConfig::default() }).unwrap();
    Gateway::new(&policy, serde_json::json!({})).unwrap().with_audit_mode(log, mode)
}

fn flush(gateway: &Gateway) -> Result<(), AuditError> {
    gateway.audit_log().unwrap().flush()
}

#[test]
fn a_gateway_that_requires_its_audit_trail_denies_while_it_fails_and_allows_after() {
    let (sink, broken, callback) = breakable();
    let gateway = gateway(callback, 1024, AuditMode::Required);
    assert!(gateway.decide(&read_request()).decision.allowed);
    flush(&gateway).unwrap();
    broken.store(true, Ordering::SeqCst);
    let unlogged = gateway.decide(&read_request()); // allowed: the failure is not known yet
    assert!(flush(&gateway).is_err());

    let refused = gateway.decide(&read_request()).decision;
    assert!(!refused.allowed);
    assert_eq!(refused.deny_reasons.len(), 1);
    let reason = &refused.deny_reasons[0];
    assert!(reason.starts_with(&format!("{AUDIT_UNAVAILABLE}: the audit sink is failing: ")), "{reason}");
    assert!(reason.ends_with("collector unreachable"), "{reason}");
    let flushed = flush(&gateway);
    assert!(
        matches!(flushed, Err(AuditError::RecordsLost { failed: 1, .. })),
        "the deny is logged, or tried: {flushed:?}"
    );

    broken.store(false, Ordering::SeqCst);
    let first_after = gateway.decide(&read_request()); // still denied: no write has succeeded yet
    assert!(!first_after.decision.allowed);
    flush(&gateway).unwrap(); // its record was written: the trail has recovered
    let allowed = gateway.decide(&read_request());
    assert!(allowed.decision.allowed);
    flush(&gateway).unwrap();

    let logged: Vec<String> = ids_of(&sink);
    assert_eq!(logged.len(), 3, "the first allow, the deny after recovery, the last allow");
    assert!(!logged.contains(&unlogged.decision_id));
    assert_eq!(logged[1..], [first_after.decision_id, allowed.decision_id]);
}

#[test]
fn a_best_effort_gateway_keeps_deciding_while_its_audit_trail_fails() {
    let (_, broken, callback) = breakable();
    let gateway = gateway(callback, 1024, AuditMode::BestEffort);
    broken.store(true, Ordering::SeqCst);
    assert!(gateway.decide(&read_request()).decision.allowed);
    assert!(flush(&gateway).is_err());
    assert!(gateway.decide(&read_request()).decision.allowed);
    assert!(!gateway.audit_log().unwrap().health().healthy);
}

#[test]
fn a_gateway_that_requires_its_audit_trail_denies_what_it_cannot_queue() {
    let (entered, writer_is_busy) = std::sync::mpsc::channel();
    let (open_gate, gate) = std::sync::mpsc::channel::<()>();
    let sink = MemorySink::new();
    let mut forward = sink.clone();
    let mut first = true;
    let held = CallbackSink(move |event: &AuditEvent| {
        if std::mem::take(&mut first) {
            let _ = entered.send(());
            // Bounded, so a failing assertion (which drops the log, joining the writer) cannot hang.
            let _ = gate.recv_timeout(std::time::Duration::from_secs(10));
        }
        forward.write(event)
    });
    let gateway = gateway(held, 1, AuditMode::Required);
    assert!(gateway.decide(&read_request()).decision.allowed);
    writer_is_busy.recv().unwrap(); // the writer holds the first record; the queue is empty
    assert!(gateway.decide(&read_request()).decision.allowed); // fills the queue
    let refused = gateway.decide(&read_request()).decision; // cannot be queued
    assert_eq!(refused.deny_reasons, [format!("{AUDIT_UNAVAILABLE}: the audit queue is full (1 records)")]);
    let refused = gateway.decide(&read_request()).decision; // the drop is not yet in the log
    assert_eq!(refused.deny_reasons, [format!("{AUDIT_UNAVAILABLE}: 1 records dropped: the audit queue is full")]);
    open_gate.send(()).unwrap();
    assert!(matches!(flush(&gateway), Err(AuditError::RecordsLost { failed: 0, dropped: 2, .. })));
    assert!(gateway.decide(&read_request()).decision.allowed);
    flush(&gateway).unwrap();
}

/// Buffers events until flushed, as a file does; a failed flush loses the buffer (the
/// `AuditSink::flush` contract). The first write waits at `hold`, if any, so the queue fills.
struct Buffering {
    buffer: Vec<AuditEvent>,
    out: MemorySink,
    fail_next_flush: Arc<AtomicBool>,
    hold: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>,
}

impl AuditSink for Buffering {
    fn write(&mut self, event: &AuditEvent) -> std::io::Result<()> {
        if let Some((entered, gate)) = self.hold.take() {
            let _ = entered.send(());
            let _ = gate.recv_timeout(Duration::from_secs(10));
        }
        self.buffer.push(event.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let events = std::mem::take(&mut self.buffer);
        if self.fail_next_flush.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("disk gone"));
        }
        events.iter().try_for_each(|event| self.out.write(event))
    }
}

#[test]
fn a_drop_notice_lost_in_a_failed_flush_is_written_again() {
    let (entered, writer_is_busy) = std::sync::mpsc::channel();
    let (open_gate, gate) = std::sync::mpsc::channel();
    let (out, fail_next_flush) = (MemorySink::new(), Arc::new(AtomicBool::new(false)));
    let sink = Buffering {
        buffer: Vec::new(),
        out: out.clone(),
        fail_next_flush: Arc::clone(&fail_next_flush),
        hold: Some((entered, gate)),
    };
    // Only explicit flushes, so which records each one covers is certain.
    let log =
        AuditLog::start_with(sink, AuditConfig { capacity: 1, flush_interval: Duration::from_secs(3600) }).unwrap();
    log.record(record(1)).unwrap();
    writer_is_busy.recv().unwrap();
    log.record(record(2)).unwrap();
    assert!(log.record(record(3)).is_err());
    fail_next_flush.store(true, Ordering::SeqCst);
    open_gate.send(()).unwrap();
    let flushed = log.flush();
    assert!(matches!(flushed, Err(AuditError::RecordsLost { failed: 2, dropped: 1, .. })), "{flushed:?}");
    assert!(out.events().is_empty());

    log.record(record(4)).unwrap();
    log.flush().unwrap();
    let events = out.events();
    assert!(matches!(events[..], [AuditEvent::RecordsDropped { count: 1, .. }, AuditEvent::Decision(_)]), "{events:?}");
}
