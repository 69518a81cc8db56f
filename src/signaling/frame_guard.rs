//! A size guard on the raw bytes of a WebSocket, in front of actix-ws.
//!
//! A WebSocket frame starts with a header that declares its payload length,
//! up to 2^63 bytes. actix-http's frame parser only compares that length with
//! the size limit once the whole payload has arrived, and actix-ws buffers
//! whatever arrives until then: one client declaring a huge frame and then
//! streaming bytes could make the server hold gigabytes. This guard reads
//! each header as it passes, and refuses the connection the moment a frame
//! (or the fragments of one message, added up) declares more than the limit,
//! before a byte of that payload is buffered. The session sees the refusal
//! through the [`Tripped`] flag and closes with 1009 "message too big".
//!
//! The same check belongs in actix-http's parser itself; until it does its
//! size check on the header, this guard keeps every socket's memory bounded.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use futures_core::Stream;

/// The longest header: 2 bytes, 8 of extended length, 4 of mask.
const MAX_HEADER: usize = 14;
const OPCODE_CONTINUATION: u8 = 0x0;
const FIRST_CONTROL_OPCODE: u8 = 0x8;

/// Tells the session that the guard refused the stream for its size.
#[derive(Clone, Debug, Default)]
pub struct Tripped(Rc<Cell<bool>>);

impl Tripped {
    pub fn get(&self) -> bool {
        self.0.get()
    }
}

/// Where the guard is within the byte stream.
#[derive(Debug)]
enum Position {
    /// Reading a frame header; `have` bytes of it so far.
    Header {
        bytes: [u8; MAX_HEADER],
        have: usize,
    },
    /// Passing `remaining` payload bytes of the current frame.
    Payload { remaining: u64 },
}

/// Reads WebSocket frame headers as the bytes go by (see the module docs).
#[derive(Debug)]
pub struct SizeCheck {
    limit: u64,
    position: Position,
    /// Payload bytes of the message being received in fragments so far.
    message_so_far: u64,
}

impl SizeCheck {
    pub fn new(limit: usize) -> SizeCheck {
        SizeCheck {
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            position: Position::Header {
                bytes: [0; MAX_HEADER],
                have: 0,
            },
            message_so_far: 0,
        }
    }

    /// Follows `chunk`; false as soon as a frame declares more than the limit.
    pub fn accept(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            match &mut self.position {
                Position::Payload { remaining } => {
                    let skip = chunk
                        .len()
                        .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    *remaining -= skip as u64;
                    chunk = &chunk[skip..];
                    if *remaining == 0 {
                        self.position = Position::Header {
                            bytes: [0; MAX_HEADER],
                            have: 0,
                        };
                    }
                }
                Position::Header { bytes, have } => {
                    let wanted = header_length(&bytes[..*have]);
                    let take = (wanted - *have).min(chunk.len());
                    bytes[*have..*have + take].copy_from_slice(&chunk[..take]);
                    *have += take;
                    chunk = &chunk[take..];
                    // Two bytes tell how long the header is; only then is it complete.
                    if *have == header_length(&bytes[..*have]) && *have >= 2 {
                        let header = *bytes;
                        if !self.on_header(&header) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// Checks one complete header and moves on to its payload.
    fn on_header(&mut self, header: &[u8; MAX_HEADER]) -> bool {
        let fin = header[0] & 0x80 != 0;
        let opcode = header[0] & 0x0f;
        let length = payload_length(header);
        if opcode < FIRST_CONTROL_OPCODE {
            // A data frame starts a message; a continuation adds to it.
            self.message_so_far = if opcode == OPCODE_CONTINUATION {
                self.message_so_far.saturating_add(length)
            } else {
                length
            };
            if self.message_so_far > self.limit {
                return false;
            }
            if fin {
                self.message_so_far = 0;
            }
        } else if length > self.limit {
            // Control frames may carry 125 bytes; the parser refuses more,
            // but only once they have arrived.
            return false;
        }
        self.position = if length == 0 {
            Position::Header {
                bytes: [0; MAX_HEADER],
                have: 0,
            }
        } else {
            Position::Payload { remaining: length }
        };
        true
    }
}

/// How long the header that starts with `start` is (2 until two bytes are known).
fn header_length(start: &[u8]) -> usize {
    let Some(&second) = start.get(1) else {
        return 2;
    };
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// The payload length a complete header declares.
fn payload_length(header: &[u8; MAX_HEADER]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => {
            let mut eight = [0; 8];
            eight.copy_from_slice(&header[2..10]);
            u64::from_be_bytes(eight)
        }
        short => u64::from(short),
    }
}

/// `body` with a [`FrameGuard`] in front, in the type actix-ws takes, and
/// the flag that tells whether the guard refused it.
pub async fn guard(
    req: &HttpRequest,
    body: web::Payload,
    limit: usize,
) -> actix_web::Result<(web::Payload, Tripped)> {
    let (guarded, tripped) = FrameGuard::new(body.into_inner(), limit);
    let guarded: Pin<Box<dyn Stream<Item = _>>> = Box::pin(guarded);
    // `web::Payload` has no public constructor; extracting it from a
    // payload we built is the supported way to make one.
    let body = web::Payload::from_request(req, &mut Payload::from(guarded)).await?;
    Ok((body, tripped))
}

/// The request body of an upgraded socket, passed through a [`SizeCheck`].
pub struct FrameGuard<S> {
    inner: S,
    check: SizeCheck,
    tripped: Tripped,
}

impl<S> FrameGuard<S> {
    /// Guards `inner` with a limit of `limit` bytes per message.
    pub fn new(inner: S, limit: usize) -> (FrameGuard<S>, Tripped) {
        let tripped = Tripped::default();
        let guard = FrameGuard {
            inner,
            check: SizeCheck::new(limit),
            tripped: tripped.clone(),
        };
        (guard, tripped)
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.tripped.get() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) if !this.check.accept(&chunk) => {
                // Not one byte of the oversized frame goes further.
                this.tripped.0.set(true);
                Poll::Ready(Some(Err(PayloadError::Overflow)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header for `opcode` declaring `length`.
    fn header(fin: bool, opcode: u8, length: u64) -> Vec<u8> {
        let mut bytes = vec![if fin { 0x80 } else { 0 } | opcode];
        if length < 126 {
            bytes.push(0x80 | length as u8);
        } else if length <= u64::from(u16::MAX) {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(length as u16).to_be_bytes());
        } else {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&length.to_be_bytes());
        }
        bytes.extend_from_slice(&[1, 2, 3, 4]); // the mask
        bytes
    }

    fn frame(fin: bool, opcode: u8, length: usize) -> Vec<u8> {
        let mut bytes = header(fin, opcode, length as u64);
        bytes.extend(std::iter::repeat_n(b'x', length));
        bytes
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_chunking() {
        let mut stream = frame(true, 1, 100);
        stream.extend(frame(true, 9, 4)); // a ping between messages
        stream.extend(frame(true, 1, 1000));
        stream.extend(frame(true, 2, 70_000));
        for chunk_size in [1, 3, 13, 64, 4096, stream.len()] {
            let mut check = SizeCheck::new(70_000);
            assert!(
                stream.chunks(chunk_size).all(|c| check.accept(c)),
                "chunks of {chunk_size}"
            );
        }
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_at_the_header() {
        let mut check = SizeCheck::new(64 * 1024);
        assert!(!check.accept(&header(true, 1, 1 << 62)));
        let mut check = SizeCheck::new(64 * 1024);
        assert!(!check.accept(&header(true, 1, 100_000)));
        // Split inside the extended length: refused once the header is whole.
        let mut check = SizeCheck::new(64 * 1024);
        let bytes = header(true, 2, 100_000);
        assert!(check.accept(&bytes[..3]));
        assert!(!check.accept(&bytes[3..]));
    }

    #[test]
    fn fragments_are_added_up() {
        let mut check = SizeCheck::new(64 * 1024);
        assert!(check.accept(&frame(false, 1, 40 * 1024)));
        assert!(check.accept(&frame(true, 9, 0))); // control frames may interleave
        assert!(!check.accept(&header(true, 0, 40 * 1024)));
        // A finished message starts the count again.
        let mut check = SizeCheck::new(64 * 1024);
        assert!(check.accept(&frame(false, 1, 40 * 1024)));
        assert!(check.accept(&frame(true, 0, 20 * 1024)));
        assert!(check.accept(&frame(true, 1, 40 * 1024)));
    }

    #[test]
    fn an_oversized_control_frame_is_refused() {
        let mut check = SizeCheck::new(1024);
        assert!(!check.accept(&header(true, 9, 5000)));
    }
}
