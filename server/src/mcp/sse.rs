//! Server-sent events (the WHATWG `text/event-stream` format), read just enough to rewrite the
//! JSON-RPC messages in them: the stream is cut into events at blank lines, and an event's
//! `data` lines are the message. An event the gateway does not rewrite goes out byte for byte.
use bytes::{Bytes, BytesMut};

/// Cuts a byte stream into whole events, however the chunks fall.
#[derive(Default)]
pub struct EventSplitter {
    buffer: BytesMut,
}

impl EventSplitter {
    /// Adds a chunk; returns the events it completed, each with its terminating blank line.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.buffer) {
            events.push(self.buffer.split_to(end).freeze());
        }
        events
    }

    /// Bytes of an event not yet complete.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

/// The end (exclusive) of the first event: after the first blank line (`\n\n`, `\n\r\n`).
fn event_end(buffer: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(offset) = buffer.get(at..)?.iter().position(|byte| *byte == b'\n') {
        let after = at + offset + 1;
        match buffer.get(after..) {
            Some([b'\n', ..]) => return Some(after + 1),
            Some([b'\r', b'\n', ..]) => return Some(after + 2),
            _ => at = after,
        }
    }
    None
}

/// The `data` of an event: its `data:` lines (one leading space dropped) joined with `\n`;
/// `None` when it has none or is not UTF-8.
pub fn data(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data"))
        .filter_map(|rest| if rest.is_empty() { Some(rest) } else { rest.strip_prefix(':') })
        .map(|value| value.strip_prefix(' ').unwrap_or(value))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// `event` with its data replaced by `data` (one line: JSON has no raw newline), its other
/// fields (`id`, `event`, `retry`, comments) kept.
pub fn with_data(event: &[u8], data: &str) -> Bytes {
    let text = String::from_utf8_lossy(event);
    let mut out = String::with_capacity(text.len() + data.len());
    let mut written = false;
    for line in text.lines().filter(|line| !line.is_empty()) {
        if line.starts_with("data:") || line == "data" {
            if !written {
                out.push_str("data: ");
                out.push_str(data);
                out.push('\n');
                written = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    Bytes::from(out)
}

/// One event carrying `data` (a message the gateway adds to the stream).
pub fn event(data: &str) -> Bytes {
    Bytes::from(format!("event: message\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cut_at_blank_lines_whatever_the_chunks() {
        let stream = b"id: 1\ndata: {\"a\":1}\n\n: comment\r\ndata: x\r\n\r\ndata: y\n";
        for size in 1..stream.len() {
            let mut splitter = EventSplitter::default();
            let events: Vec<Bytes> = stream.chunks(size).flat_map(|chunk| splitter.push(chunk)).collect();
            assert_eq!(events.len(), 2, "chunks of {size}");
            assert_eq!(&events[0][..], b"id: 1\ndata: {\"a\":1}\n\n");
            assert_eq!(&events[1][..], b": comment\r\ndata: x\r\n\r\n");
            assert_eq!(splitter.pending(), b"data: y\n".len());
        }
    }

    #[test]
    fn data_lines_are_joined_and_replaced_keeping_other_fields() {
        assert_eq!(data(b"event: message\ndata: {\"a\":\ndata:1}\n\n").as_deref(), Some("{\"a\":\n1}"));
        assert_eq!(data(b"id: 4\n\n"), None);
        assert_eq!(data(b"dataset: x\n\n"), None);
        let rewritten = with_data(b"id: 4\r\nevent: message\r\ndata: old\r\ndata: more\r\n\r\n", "{}");
        assert_eq!(&rewritten[..], b"id: 4\nevent: message\ndata: {}\n\n");
    }
}
