//! One socket's life: a single loop over what the page sends, what the hub
//! queued for it, a heartbeat tick, and the server's shutdown signal.
//!
//! However the loop ends, the socket is unregistered from the hub and closed
//! with a close code that says why.

use std::time::{Duration, Instant};

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use bytestring::ByteString;
use tokio::sync::{mpsc, watch};

use super::admission::Permit;
use super::backend::Backend;
use super::frame_guard::Tripped;
use super::hub::{AfterSocket, Ending, Registration};
use super::limits::Limits;
use super::peers::{NoId, Outgoing, PeerId};
use super::protocol::{ErrorCode, Request, ServerMessage};
use super::rate::TokenBucket;

/// One upgraded socket, as the `/ws` route hands it over.
pub struct Connection {
    /// Writes to the page.
    pub session: Session,
    /// What the page sends.
    pub stream: AggregatedMessageStream,
    /// Set when the page declared a frame over the size limit.
    pub oversized: Tripped,
    /// Its place under the connection caps, given back as it leaves the hub.
    pub permit: Permit,
}

// ANCHOR: run
/// Runs one socket until it closes, then unregisters it (or, from step 19,
/// holds its member's place for the grace, then unregisters it unless
/// another socket took the place back).
pub async fn run(
    connection: Connection,
    hub: Backend,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let Connection {
        session,
        stream,
        oversized,
        permit,
    } = connection;
    let (outbox, queued) = mpsc::channel(limits.outgoing_queue);
    let Registration { id, socket: number } = match hub.join(outbox) {
        Ok(registration) => registration,
        Err(NoId) => {
            let _ = session
                .close(Some(reason(CloseCode::Error, "server error: try again")))
                .await;
            return;
        }
    };
    let mut socket = Socket {
        id,
        session: session.clone(),
        hub: hub.clone(),
        limits,
        bucket: TokenBucket::new(limits.burst, limits.messages_per_second, Instant::now()),
        refused_in_a_row: 0,
        oversized,
    };
    let (close, ending) = socket.drive(stream, queued, shutdown.clone()).await;
    // The id may have changed: a `resume` (step 19) takes an older one over.
    let id = socket.id;
    let after = hub.leave(&id, number, ending).await;
    // Its place under the caps goes back as it leaves the hub, so that the
    // caps never count a socket the hub no longer has.
    drop(permit);
    let close = match after {
        AfterSocket::Replaced => Some(reason(CloseCode::Normal, "resumed on another connection")),
        _ => close,
    };
    if let Some(close) = &close {
        log::info!(
            "peer {id} closed: {:?} {}",
            close.code,
            close.description.as_deref().unwrap_or("")
        );
    }
    // An error means the page already went away: nothing left to close.
    let _ = session.close(close).await;
    if let AfterSocket::Held { grace } = after {
        wait_unless_shutting_down(grace, shutdown).await;
        hub.end_hold(&id, number).await;
    }
}
// ANCHOR_END: run

/// Sleeps for `grace`, or less if the server stops meanwhile.
async fn wait_unless_shutting_down(grace: Duration, mut shutdown: watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(grace) => {}
        _ = shutdown.changed() => {}
    }
}

fn reason(code: CloseCode, text: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(text.to_string()),
    }
}

/// How the loop ended: the close frame to send (`None`: a close frame with
/// no reason, or nothing at all when the connection is already gone), and
/// whether the page closed or was lost.
type Exit = (Option<CloseReason>, Ending);

/// What the loop does after one frame from the page.
enum AfterFrame {
    /// Go on reading.
    KeepGoing,
    /// End the loop.
    Stop(Exit),
}

struct Socket {
    id: PeerId,
    session: Session,
    hub: Backend,
    limits: Limits,
    bucket: TokenBucket,
    refused_in_a_row: u32,
    oversized: Tripped,
}

impl Socket {
    /// The loop, until the socket ends.
    async fn drive(
        &mut self,
        mut stream: AggregatedMessageStream,
        mut queued: mpsc::Receiver<Outgoing>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Exit {
        use Ending::{Closed, Lost};
        let every = self.limits.heartbeat_interval;
        // The first ping goes out one interval after connecting, not at once.
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut last_heard = Instant::now();
        loop {
            // No `biased;`: select! polls the branches in a random order, so
            // a page that sends without pause cannot starve its own queue
            // (what others send it) or its heartbeat, nor the other way round.
            tokio::select! {
                _ = shutdown.changed() => {
                    return (Some(reason(CloseCode::Away, "server is shutting down")), Closed);
                }
                frame = stream.recv() => {
                    last_heard = Instant::now();
                    match frame {
                        // Gone without a close frame.
                        None => return (None, Lost),
                        Some(Ok(frame)) => {
                            if let AfterFrame::Stop(exit) = self.on_frame(frame).await {
                                return exit;
                            }
                        }
                        Some(Err(err)) => return self.on_error(err),
                    }
                }
                text = queued.recv() => match text {
                    Some(text) => {
                        if !self.send(text).await {
                            return (None, Lost);
                        }
                    }
                    // The hub dropped this peer because its queue was full
                    // (or, from step 19, another socket resumed its place:
                    // `run` tells the two apart).
                    None => return (Some(reason(CloseCode::Policy, "not reading messages fast enough")), Closed),
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.limits.client_timeout {
                        log::info!("peer {}: no answer to pings for {:?}", self.id, self.limits.client_timeout);
                        return (Some(reason(CloseCode::Normal, "heartbeat timeout")), Lost);
                    }
                    if self.session.ping(b"").await.is_err() {
                        return (None, Lost);
                    }
                }
            }
        }
    }

    /// Why reading failed, as the close frame to send (`None`: the page is gone).
    fn on_error(&self, err: actix_ws::ProtocolError) -> Exit {
        let too_large = || {
            let text = format!(
                "message too large (limit {} bytes)",
                self.limits.max_message_bytes
            );
            (Some(reason(CloseCode::Size, &text)), Ending::Closed)
        };
        match err {
            // Declared too large (the guard, which also adds up fragments),
            // or one frame too large (the parser, should it get there first).
            _ if self.oversized.get() => too_large(),
            actix_ws::ProtocolError::Overflow => too_large(),
            actix_ws::ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => (
                Some(reason(CloseCode::Invalid, "text frames must be UTF-8")),
                Ending::Closed,
            ),
            // The connection dropped without a close frame: a closed laptop
            // lid or a lost network, an everyday event rather than a fault.
            // The hub's "left" line is its one line in the log.
            actix_ws::ProtocolError::Io(io) => {
                log::debug!("peer {}: connection lost ({io})", self.id);
                (None, Ending::Lost)
            }
            err => {
                log::info!("peer {}: protocol error: {err}", self.id);
                let close = reason(CloseCode::Protocol, "WebSocket protocol error");
                (Some(close), Ending::Closed)
            }
        }
    }

    /// Handles one frame from the page.
    async fn on_frame(&mut self, frame: AggregatedMessage) -> AfterFrame {
        match frame {
            AggregatedMessage::Text(text) => return self.on_text(text).await,
            AggregatedMessage::Binary(_) => {
                self.refuse(ServerMessage::error(
                    ErrorCode::BadMessage,
                    "binary frames are not accepted: send JSON text",
                ))
                .await;
            }
            AggregatedMessage::Ping(bytes) => {
                if self.session.pong(&bytes).await.is_err() {
                    return AfterFrame::Stop((None, Ending::Lost));
                }
            }
            AggregatedMessage::Pong(_) => {}
            // The page closed: answer with its own reason.
            AggregatedMessage::Close(close) => return AfterFrame::Stop((close, Ending::Closed)),
        }
        AfterFrame::KeepGoing
    }

    async fn on_text(&mut self, text: ByteString) -> AfterFrame {
        if !self.bucket.try_take(Instant::now()) {
            self.refused_in_a_row += 1;
            if self.refused_in_a_row > self.limits.flood_close_after {
                let close = reason(CloseCode::Policy, "message flood");
                return AfterFrame::Stop((Some(close), Ending::Closed));
            }
            self.refuse(ServerMessage::error(
                ErrorCode::RateLimited,
                format!(
                    "more than {} messages a second: this one was dropped",
                    self.limits.messages_per_second
                ),
            ))
            .await;
            return AfterFrame::KeepGoing;
        }
        self.refused_in_a_row = 0;
        match Request::parse(text) {
            Ok(request) => {
                if let Some(resumed) = self.hub.request(&self.id, request).await {
                    self.id = resumed;
                }
            }
            Err(refusal) => self.refuse(refusal).await,
        }
        AfterFrame::KeepGoing
    }

    /// Tells the page why its message was refused; the socket stays open.
    async fn refuse(&mut self, refusal: ServerMessage<'_>) {
        self.send(refusal.to_text().into()).await;
    }

    /// Writes to the page, giving up after `send_timeout`: a page that does not
    /// read must not hold this loop (and its heartbeat) forever.
    async fn send(&mut self, text: ByteString) -> bool {
        match tokio::time::timeout(self.limits.send_timeout, self.session.text(text)).await {
            Ok(Ok(())) => true,
            Ok(Err(_closed)) => false,
            Err(_elapsed) => {
                log::info!(
                    "peer {}: a write took over {:?}: it stopped reading",
                    self.id,
                    self.limits.send_timeout
                );
                false
            }
        }
    }
}
