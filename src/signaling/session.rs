//! One socket's life: a single loop over what the page sends, what the hub
//! queued for it, a heartbeat tick, and the server's shutdown signal.
//!
//! However the loop ends, the socket is unregistered from the hub and closed
//! with a close code that says why.

use std::time::Instant;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use tokio::sync::{mpsc, watch};

use super::hub::{HubHandle, Outgoing, PeerId};
use super::message::{parse_envelope, ErrorCode, ServerMessage};
use super::rate::TokenBucket;
use super::Limits;

// ANCHOR: run
/// Runs one socket until it closes, then unregisters it.
pub async fn run(
    session: Session,
    stream: AggregatedMessageStream,
    hub: HubHandle,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    let (outbox, queued) = mpsc::channel(limits.outgoing_queue);
    let Some(id) = hub.join(outbox).await else {
        let _ = session
            .close(Some(reason(CloseCode::Again, "server is stopping")))
            .await;
        return;
    };
    let mut socket = Socket {
        id: id.clone(),
        session: session.clone(),
        hub: hub.clone(),
        limits,
        bucket: TokenBucket::new(limits.burst, limits.messages_per_second, Instant::now()),
        refused_in_a_row: 0,
    };
    let close = socket.drive(stream, queued, shutdown).await;
    hub.leave(id.clone()).await;
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

struct Socket {
    id: PeerId,
    session: Session,
    hub: HubHandle,
    limits: Limits,
    bucket: TokenBucket,
    refused_in_a_row: u32,
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
            tokio::select! {
                // Checked first, so a stopping server never starts new work.
                biased;
                _ = shutdown.changed() => {
                    return Some(reason(CloseCode::Away, "server is shutting down"));
                }
                frame = stream.recv() => {
                    last_heard = Instant::now();
                    match frame {
                        None => return None,
                        Some(Ok(frame)) => {
                            if let Some(close) = self.on_frame(frame).await {
                                return close;
                            }
                        }
                        Some(Err(actix_ws::ProtocolError::Overflow)) => {
                            return Some(reason(
                                CloseCode::Size,
                                &format!("message too large (limit {} bytes)", self.limits.max_message_bytes),
                            ));
                        }
                        Some(Err(err)) => {
                            log::warn!("peer {}: protocol error: {err}", self.id);
                            return Some(reason(CloseCode::Protocol, "WebSocket protocol error"));
                        }
                    }
                }
                text = queued.recv() => match text {
                    Some(text) => {
                        if !self.send(text.to_string()).await {
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

    /// Handles one frame from the page. `Some(close)` ends the loop.
    async fn on_frame(&mut self, frame: AggregatedMessage) -> Option<Option<CloseReason>> {
        match frame {
            AggregatedMessage::Text(text) => return self.on_text(&text).await,
            AggregatedMessage::Binary(_) => {
                self.refuse(ServerMessage::error(
                    ErrorCode::BadMessage,
                    "binary frames are not accepted: send JSON text",
                ))
                .await;
            }
            AggregatedMessage::Ping(bytes) => {
                if self.session.pong(&bytes).await.is_err() {
                    return Some(None);
                }
            }
            AggregatedMessage::Pong(_) => {}
            AggregatedMessage::Close(close) => return Some(close),
        }
        None
    }

    async fn on_text(&mut self, text: &str) -> Option<Option<CloseReason>> {
        if !self.bucket.try_take(Instant::now()) {
            self.refused_in_a_row += 1;
            if self.refused_in_a_row > self.limits.flood_close_after {
                return Some(Some(reason(CloseCode::Policy, "message flood")));
            }
            self.refuse(ServerMessage::error(
                ErrorCode::RateLimited,
                format!(
                    "more than {} messages a second: this one was dropped",
                    self.limits.messages_per_second
                ),
            ))
            .await;
            return None;
        }
        self.refused_in_a_row = 0;
        match parse_envelope(text) {
            Ok(object) => {
                self.hub
                    .message(self.id.clone(), object, Outgoing::from(text))
                    .await
            }
            Err(refusal) => self.refuse(refusal).await,
        }
        None
    }

    /// Tells the page why its message was refused; the socket stays open.
    async fn refuse(&mut self, refusal: ServerMessage) {
        self.send(refusal.to_text()).await;
    }

    /// Writes to the page, giving up after `send_timeout`: a page that does not
    /// read must not hold this loop (and its heartbeat) forever.
    async fn send(&mut self, text: String) -> bool {
        match tokio::time::timeout(self.limits.send_timeout, self.session.text(text)).await {
            Ok(Ok(())) => true,
            Ok(Err(_closed)) => false,
            Err(_elapsed) => {
                log::warn!("peer {}: write timed out", self.id);
                false
            }
        }
    }
}
