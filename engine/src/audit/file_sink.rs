//! JSON lines appended to a file that rotates by size: `audit.log` is current, `audit.log.1`
//! the previous one, up to `audit.log.N`; the oldest is deleted. A line is never split across
//! files, nor torn.
//!
//! Lines are buffered and written out when the buffer fills or the log flushes. When writing
//! or syncing fails, every line since the last successful flush is discarded and the file is
//! truncated back to where that flush left it (so it ends on a whole line), the file is reopened
//! by the next write, and the next flush reports the loss — the [`AuditSink::flush`] contract.
//! A rotation that fails (a rename refused) keeps appending to the current file past its size
//! limit, reports a warning, and is retried a second later: a size limit is not worth
//! a lost record. The file belongs to one `FileSink`: two writers would corrupt each other.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::record::AuditEvent;
use super::sink::AuditSink;

/// Lines buffered before they are written out without waiting for a flush.
const BUFFER_BYTES: usize = 64 * 1024;

/// After a failed rotation, how long the file grows past its limit before rotating is tried
/// again (not on every line: each attempt syncs the file).
const ROTATION_RETRY: Duration = Duration::from_secs(1);

/// Rotation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a line would make the current file larger than this (a single longer
    /// line still gets written, alone in its file).
    pub max_bytes: u64,
    /// Rotated files kept besides the current one.
    pub keep: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation { max_bytes: 64 * 1024 * 1024, keep: 8 }
    }
}

/// The audit log's own file, rotated by size; see the module notes for failures.
pub struct FileSink {
    path: PathBuf,
    rotation: Rotation,
    /// The current file; `None` after a failure, until the next write reopens it.
    file: Option<File>,
    /// Lines not yet written to the file.
    buffer: Vec<u8>,
    /// Length of the file at the last successful flush (or open): what a failure truncates to.
    flushed_len: u64,
    /// Length the file will have once the buffer is written out.
    size: u64,
    /// Why lines were discarded since the last flush; the next flush reports it.
    lost: Option<io::Error>,
    /// A failed rotation, until the writer takes it.
    warning: Option<String>,
    /// No rotation is tried before this, after one failed.
    rotation_paused_until: Option<Instant>,
}

impl FileSink {
    /// Opens `path` for appending (creating it), keeping what it already holds.
    pub fn open(path: impl Into<PathBuf>, rotation: Rotation) -> io::Result<FileSink> {
        let mut sink = FileSink {
            path: path.into(),
            rotation,
            file: None,
            buffer: Vec::new(),
            flushed_len: 0,
            size: 0,
            lost: None,
            warning: None,
            rotation_paused_until: None,
        };
        sink.reopen_if_closed()?;
        Ok(sink)
    }

    /// `path.N`: the N-th most recent rotated file.
    pub fn rotated_path(path: &Path, generation: u32) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{generation}"));
        PathBuf::from(name)
    }

    fn reopen_if_closed(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
            let length = file.metadata()?.len();
            (self.flushed_len, self.size) = (length, length);
            self.file = Some(file);
        }
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.reopen_if_closed()?;
        let length = line.len() as u64;
        let too_big = self.size > 0 && self.size.saturating_add(length) > self.rotation.max_bytes;
        if too_big && self.rotation_paused_until.is_none_or(|until| Instant::now() >= until) {
            // The old file is complete and durable before it is renamed.
            self.commit()?;
            if let Err(error) = self.rotate() {
                self.warning = Some(format!(
                    "cannot rotate {}: {error}; writing on past {} bytes",
                    self.path.display(),
                    self.rotation.max_bytes
                ));
                self.rotation_paused_until = Some(Instant::now() + ROTATION_RETRY);
            }
            self.reopen_if_closed()?;
        }
        self.buffer.extend_from_slice(line);
        self.size = self.size.saturating_add(length);
        if self.buffer.len() >= BUFFER_BYTES {
            self.write_out()?;
        }
        Ok(())
    }

    /// Renames the generations and starts a new current file.
    fn rotate(&mut self) -> io::Result<()> {
        if self.rotation.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for generation in (1..self.rotation.keep).rev() {
                let older = FileSink::rotated_path(&self.path, generation);
                if older.exists() {
                    fs::rename(&older, FileSink::rotated_path(&self.path, generation + 1))?;
                }
            }
            fs::rename(&self.path, FileSink::rotated_path(&self.path, 1))?;
        }
        // The renamed file is done with; the next line goes to a new one.
        self.file = None;
        self.rotation_paused_until = None;
        self.reopen_if_closed()
    }

    fn write_out(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            match &mut self.file {
                Some(file) => file.write_all(&self.buffer)?,
                None => return Err(io::Error::other("the audit file is not open")),
            }
            self.buffer.clear();
        }
        Ok(())
    }

    /// Writes out the buffer and syncs: everything so far is durable.
    fn commit(&mut self) -> io::Result<()> {
        self.write_out()?;
        if let Some(file) = &self.file {
            file.sync_data()?;
        }
        self.flushed_len = self.size;
        Ok(())
    }

    /// Drops every line since the last flush: the buffer, and what reached the file (best
    /// effort: a file that cannot be truncated keeps them, though they are counted lost).
    /// The file is closed; the next write reopens it.
    fn abandon(&mut self) {
        self.buffer.clear();
        if let Some(file) = self.file.take() {
            let _ = file.set_len(self.flushed_len);
        }
        self.size = self.flushed_len;
    }
}

impl AuditSink for FileSink {
    fn write(&mut self, event: &AuditEvent) -> io::Result<()> {
        let appended = self.append(&event.to_json_line());
        if let Err(error) = &appended {
            self.abandon();
            self.lost.get_or_insert_with(|| io::Error::new(error.kind(), error.to_string()));
        }
        appended
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = match self.lost.take() {
            Some(lost) => Err(lost),
            None => self.commit(),
        };
        if flushed.is_err() {
            self.abandon();
        }
        flushed
    }

    fn take_warning(&mut self) -> Option<String> {
        self.warning.take()
    }
}
