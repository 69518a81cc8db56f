//! One socket's life: a single loop over what the page sends, what the hub
//! queued for it, a heartbeat tick, and the server's shutdown signal.
//!
//! However the loop ends, the socket is unregistered from the hub and closed
//! with a close code that says why.

use std::time::Instant;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use bytestring::ByteString;
use tokio::sync::{mpsc, watch};

use super::admission::Permit;
use super::frame_guard::Tripped;
use super::hub::HubHandle;
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
/// Runs one socket until it closes, then unregisters it.
pub async fn run(
    connection: Connection,
    hub: HubHandle,
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
    let id = match hub.join(outbox) {
        Ok(id) => id,
        Err(NoId) => {
            let _ = session
                .close(Some(reason(CloseCode::Error, "server error: try again")))
                .await;
            return;
        }
    };
    let mut socket = Socket {
        id: id.clone(),
        session: session.clone(),
        hub: hub.clone(),
        limits,
        bucket: TokenBucket::new(limits.burst, limits.messages_per_second, Instant::now()),
        refused_in_a_row: 0,
        oversized,
    };
    let close = socket.drive(stream, queued, shutdown).await;
    hub.leave(&id);
    // Its place under the caps goes back as it leaves the hub, so that the
    // caps never count a socket the hub no longer has.
    drop(permit);
    if let Some(close) = &close {
        log::info!(
            "peer {id} closed: {:?} {}",
            close.code,
            close.description.as_deref().unwrap_or("")
        );
    }
    // An error means the page already went away: nothing left to close.
    let _ = session.close(close).await;
}
// ANCHOR_END: run

fn reason(code: CloseCode, text: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(text.to_string()),
    }
}

/// What the loop does after one frame from the page.
enum AfterFrame {
    /// Go on reading.
    KeepGoing,
    /// End the loop, closing with this reason (`None`: a close frame with no
    /// reason, or nothing at all when the connection is already gone).
    Stop(Option<CloseReason>),
}

struct Socket {
    id: PeerId,
    session: Session,
    hub: HubHandle,
    limits: Limits,
    bucket: TokenBucket,
    refused_in_a_row: u32,
    oversized: Tripped,
}

impl Socket {
    /// The loop. Returns the close frame to send, or `None` when the
    /// connection is already gone.
    async fn drive(
        &mut self,
        mut stream: AggregatedMessageStream,
        mut queued: mpsc::Receiver<Outgoing>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Option<CloseReason> {
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
                    return Some(reason(CloseCode::Away, "server is shutting down"));
                }
                frame = stream.recv() => {
                    last_heard = Instant::now();
                    match frame {
                        None => return None,
                        Some(Ok(frame)) => {
                            if let AfterFrame::Stop(close) = self.on_frame(frame).await {
                                return close;
                            }
                        }
                        Some(Err(err)) => return self.on_error(err),
                    }
                }
                text = queued.recv() => match text {
                    Some(text) => {
                        if !self.send(text).await {
                            return None;
                        }
                    }
                    // The hub dropped this peer because its queue was full.
                    None => return Some(reason(CloseCode::Policy, "not reading messages fast enough")),
                },
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() > self.limits.client_timeout {
                        log::info!("peer {}: no answer to pings for {:?}", self.id, self.limits.client_timeout);
                        return Some(reason(CloseCode::Normal, "heartbeat timeout"));
                    }
                    if self.session.ping(b"").await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Why reading failed, as the close frame to send (`None`: the page is gone).
    fn on_error(&self, err: actix_ws::ProtocolError) -> Option<CloseReason> {
        let too_large = || {
            Some(reason(
                CloseCode::Size,
                &format!(
                    "message too large (limit {} bytes)",
                    self.limits.max_message_bytes
                ),
            ))
        };
        match err {
            // Declared too large (the guard, which also adds up fragments),
            // or one frame too large (the parser, should it get there first).
            _ if self.oversized.get() => too_large(),
            actix_ws::ProtocolError::Overflow => too_large(),
            actix_ws::ProtocolError::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                Some(reason(CloseCode::Invalid, "text frames must be UTF-8"))
            }
            // The connection dropped without a close frame: a closed laptop
            // lid or a lost network, an everyday event rather than a fault.
            // The hub's "left" line is its one line in the log.
            actix_ws::ProtocolError::Io(io) => {
                log::debug!("peer {}: connection lost ({io})", self.id);
                None
            }
            err => {
                log::info!("peer {}: protocol error: {err}", self.id);
                Some(reason(CloseCode::Protocol, "WebSocket protocol error"))
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
                    return AfterFrame::Stop(None);
                }
            }
            AggregatedMessage::Pong(_) => {}
            // The page closed: answer with its own reason.
            AggregatedMessage::Close(close) => return AfterFrame::Stop(close),
        }
        AfterFrame::KeepGoing
    }

    async fn on_text(&mut self, text: ByteString) -> AfterFrame {
        if !self.bucket.try_take(Instant::now()) {
            self.refused_in_a_row += 1;
            if self.refused_in_a_row > self.limits.flood_close_after {
                return AfterFrame::Stop(Some(reason(CloseCode::Policy, "message flood")));
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
            Ok(request) => self.hub.request(&self.id, request),
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
