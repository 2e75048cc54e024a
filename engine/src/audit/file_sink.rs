//! JSON lines appended to a file that rotates by size: `audit.log` is current, `audit.log.1`
//! the previous one, up to `audit.log.N`; the oldest is deleted. A line is never split across
//! files.
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::record::AuditEvent;
use super::sink::AuditSink;

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

pub struct FileSink {
    path: PathBuf,
    rotation: Rotation,
    file: BufWriter<File>,
    size: u64,
}

impl FileSink {
    /// Opens `path` for appending (creating it), keeping what it already holds.
    pub fn open(path: impl Into<PathBuf>, rotation: Rotation) -> io::Result<FileSink> {
        let path = path.into();
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(FileSink { path, rotation, file: BufWriter::new(file), size })
    }

    /// `path.N`: the N-th most recent rotated file.
    pub fn rotated_path(path: &Path, generation: u32) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{generation}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
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
        self.file = BufWriter::new(open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

impl AuditSink for FileSink {
    fn write(&mut self, event: &AuditEvent) -> io::Result<()> {
        let line = event.to_json_line();
        let length = line.len() as u64;
        if self.size > 0 && self.size.saturating_add(length) > self.rotation.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(&line)?;
        self.size = self.size.saturating_add(length);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}
