//! The registry of open sockets: each one's id and bounded outgoing queue.
//!
//! A policy (`policy/`) decides who gets a message and sends it through
//! [`Peers`]; each socket's session writes out what its queue holds. Sending
//! only ever `try_send`s, so a page that stops reading can never make the
//! sender (and so everyone else) wait. The queue holds everything the room
//! may legitimately send at once (`Limits::outgoing_queue`), so a reading
//! page never finds it full; a page whose queue stays full for the write
//! timeout has stopped reading, and is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::protocol::{ErrorCode, ServerMessage};
use crate::random::random_hex;

/// A socket's id: random and unguessable, so a page cannot address (or
/// impersonate) a peer it was not told about.
pub type PeerId = Arc<str>;

/// Text queued for one socket. A `ByteString` is what the socket writes, and
/// its clones share one buffer: a message for a whole room is one allocation.
pub type Outgoing = bytestring::ByteString;

/// No id could be made for a new socket (the system's random source
/// failed); that one socket is refused, everyone else goes on.
#[derive(Debug, PartialEq, Eq)]
pub struct NoId;

/// What a queued message is to its receiver, which decides what a full queue means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Something another page or the server needs it to have.
    Needed,
    /// The answer to its own refused message: advice, which it may miss.
    Advice,
}

struct Peer {
    outbox: mpsc::Sender<Outgoing>,
    /// Since when its queue has been full, if it is now.
    full_since: Option<Instant>,
}

/// Every open socket's queue.
pub struct Peers {
    map: HashMap<PeerId, Peer>,
    /// How long a queue may stay full before its peer counts as gone.
    stalled_after: Duration,
    /// Peers found stalled while sending, for the hub to drop once the
    /// request at hand is done.
    stalled: Vec<PeerId>,
}

impl Peers {
    /// An empty registry whose queues may stay full for `stalled_after`.
    pub fn new(stalled_after: Duration) -> Peers {
        Peers {
            map: HashMap::new(),
            stalled_after,
            stalled: Vec::new(),
        }
    }

    /// Registers `id`, whose session reads `outbox`.
    pub fn insert(&mut self, id: PeerId, outbox: mpsc::Sender<Outgoing>) {
        let peer = Peer {
            outbox,
            full_since: None,
        };
        self.map.insert(id, peer);
    }

    /// Unregisters `id`; false if it was not registered.
    pub fn remove(&mut self, id: &PeerId) -> bool {
        self.map.remove(id).is_some()
    }

    /// How many are registered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Every registered id.
    pub fn ids(&self) -> impl Iterator<Item = &PeerId> {
        self.map.keys()
    }

    /// One peer found to have stopped reading since the last call, if any.
    pub fn take_stalled(&mut self) -> Option<PeerId> {
        self.stalled.pop()
    }

    /// Queues `text` for `to`, never waiting.
    ///
    /// A full queue means the page is behind by more than its whole room may
    /// send at once. The message is not queued; advice (about the peer's own
    /// refused message) is simply skipped, and a peer whose queue has stayed
    /// full for the write timeout has stopped reading and is dropped. (Its
    /// session's own write timeout usually gets there first.)
    pub fn send(&mut self, to: &PeerId, text: Outgoing, delivery: Delivery) {
        let Some(peer) = self.map.get_mut(to) else {
            return;
        };
        match peer.outbox.try_send(text) {
            Ok(()) => peer.full_since = None,
            // Its session has ended and is about to unregister it.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) if delivery == Delivery::Advice => {
                log::debug!("peer {}: advice skipped, its queue is full", short(to));
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                let now = Instant::now();
                let since = *peer.full_since.get_or_insert(now);
                if now.duration_since(since) >= self.stalled_after {
                    log::info!(
                        "peer {} dropped: its queue stayed full for {:?} (not reading)",
                        short(to),
                        self.stalled_after
                    );
                    self.stalled.push(to.clone());
                } else {
                    log::warn!(
                        "peer {}: queue full, a message for it was not queued",
                        short(to)
                    );
                }
            }
        }
    }

    /// Sends `message` to `to`.
    pub fn send_message(&mut self, to: &PeerId, message: &ServerMessage<'_>) {
        self.send(to, Outgoing::from(message.to_text()), Delivery::Needed);
    }

    /// Sends one message to each of `members`, serialized once.
    pub fn announce<'a>(
        &mut self,
        members: impl IntoIterator<Item = &'a PeerId>,
        message: &ServerMessage<'_>,
    ) {
        let text = Outgoing::from(message.to_text());
        for id in members {
            self.send(id, text.clone(), Delivery::Needed);
        }
    }

    /// Tells `to` why its message was refused.
    pub fn refuse(&mut self, to: &PeerId, code: ErrorCode, message: &str) {
        let text = ServerMessage::error(code, message).to_text();
        self.send(to, Outgoing::from(text), Delivery::Advice);
    }
}

/// A new peer id: 128 random bits as hex.
pub fn new_peer_id() -> Result<PeerId, NoId> {
    random_hex(16).map(Arc::from).map_err(|_| NoId)
}

/// The first characters of an id, enough to follow one peer in the logs.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_are_long_random_and_distinct() {
        let a = new_peer_id().unwrap();
        let b = new_peer_id().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
