//! Signaling as JSON lines: one `{"from": …, "to": …, "iq": …}` object per line.
//!
//! This is how `proxy-connection send`/`receive` talk to whatever carries the
//! signaling (a relay, a WebSocket bridge, an XMPP client): each outgoing `<iq>` is
//! written as one line on stdout, each incoming one is read as one line on stdin.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Longest signaling line a [`LineReader`] accepts, in bytes (4x the core's default message limit).
pub const MAX_LINE_LEN: usize = 1024 * 1024;

/// One signaling message as a JSON line: `{"from": …, "to": …, "iq": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalLine {
    /// Full JID of the sender.
    pub from: String,
    /// Full JID of the addressee (optional when reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The stringified `<iq>`.
    pub iq: String,
}

/// Why a signaling line could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line is longer than [`MAX_LINE_LEN`]; it was skipped.
    #[error("line longer than {MAX_LINE_LEN} bytes, skipped")]
    TooLong,
    /// The line is not a JSON object with string `from` and `iq`.
    #[error("not a signaling line: {0}")]
    Json(#[from] serde_json::Error),
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

impl SignalLine {
    /// Encodes as one JSON line, with the trailing newline.
    pub fn to_line(&self) -> String {
        // Serializing a struct of strings cannot fail.
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Decodes one line (surrounding whitespace allowed).
    pub fn from_line(line: &[u8]) -> Result<SignalLine, LineError> {
        Ok(serde_json::from_slice(line.trim_ascii())?)
    }
}

/// Reads [`SignalLine`]s, one per line, of at most [`MAX_LINE_LEN`] bytes.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Wraps a buffered reader.
    pub fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::new(),
        }
    }

    /// The next non-blank line as a [`SignalLine`]; `None` at end of input.
    /// A bad line yields `Some(Err(_))` and reading can go on.
    pub async fn next_signal(&mut self) -> Option<Result<SignalLine, LineError>> {
        loop {
            match self.next_line().await {
                None => return None,
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(())) if self.buf.trim_ascii().is_empty() => continue,
                Some(Ok(())) => return Some(SignalLine::from_line(&self.buf)),
            }
        }
    }

    /// Reads the next line into `self.buf`.
    async fn next_line(&mut self) -> Option<Result<(), LineError>> {
        self.buf.clear();
        let limit = MAX_LINE_LEN as u64 + 1;
        let n = match (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .await
        {
            Ok(n) => n,
            Err(e) => return Some(Err(e.into())),
        };
        if n == 0 {
            return None;
        }
        if self.buf.len() > MAX_LINE_LEN && self.buf.last() != Some(&b'\n') {
            // Skip the rest of the overlong line, bounded memory.
            loop {
                let mut sink = Vec::new();
                match (&mut self.inner)
                    .take(64 * 1024)
                    .read_until(b'\n', &mut sink)
                    .await
                {
                    Ok(0) => break,
                    Ok(_) if sink.last() == Some(&b'\n') => break,
                    Ok(_) => continue,
                    Err(e) => return Some(Err(e.into())),
                }
            }
            return Some(Err(LineError::TooLong));
        }
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_escaping() {
        let line = SignalLine {
            from: "a@x/1".into(),
            to: Some("b@x/2".into()),
            iq: "<iq xmlns='jabber:client' type=\"set\">\n</iq>".into(),
        };
        let text = line.to_line();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        assert_eq!(SignalLine::from_line(text.as_bytes()).unwrap(), line);
    }

    #[test]
    fn to_is_optional_and_garbage_is_an_error() {
        let l = SignalLine::from_line(br#"{"from":"a","iq":"<iq/>"}"#).unwrap();
        assert_eq!(l.to, None);
        assert!(SignalLine::from_line(b"{\"from\":1,\"iq\":\"x\"}").is_err());
        assert!(SignalLine::from_line(b"not json").is_err());
        assert!(SignalLine::from_line(b"[]").is_err());
    }

    #[tokio::test]
    async fn reader_skips_blank_and_overlong_lines() {
        let mut input = Vec::new();
        input.extend_from_slice(b"\n  \n");
        input.extend_from_slice(br#"{"from":"a","iq":"1"}"#);
        input.push(b'\n');
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_LEN + 10));
        input.push(b'\n');
        input.extend_from_slice(b"oops\n");
        input.extend_from_slice(br#"{"from":"b","to":"c","iq":"2"}"#); // no final newline
        let mut r = LineReader::new(&input[..]);
        assert_eq!(r.next_signal().await.unwrap().unwrap().iq, "1");
        assert!(matches!(
            r.next_signal().await,
            Some(Err(LineError::TooLong))
        ));
        assert!(matches!(
            r.next_signal().await,
            Some(Err(LineError::Json(_)))
        ));
        let last = r.next_signal().await.unwrap().unwrap();
        assert_eq!((last.from.as_str(), last.iq.as_str()), ("b", "2"));
        assert!(r.next_signal().await.is_none());
    }
}
