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
    /// `None` while the page is away (step 19): its socket dropped and the
    /// server holds its place for the resume grace. Nothing is queued for
    /// it meanwhile: a message it might never read is not "delivered".
    outbox: Option<mpsc::Sender<Outgoing>>,
    /// Since when its queue has been full, if it is now.
    full_since: Option<Instant>,
    /// Which socket holds this id now: a resume (step 19) hands the id to
    /// a new socket, and the old one must then leave nothing behind.
    socket: SocketNumber,
}

/// Which of the server's sockets holds an id: counted from 1 as they open.
pub type SocketNumber = u64;

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

    /// Registers `id`, whose session (socket number `socket`) reads `outbox`.
    pub fn insert(&mut self, id: PeerId, socket: SocketNumber, outbox: mpsc::Sender<Outgoing>) {
        let peer = Peer {
            outbox: Some(outbox),
            full_since: None,
            socket,
        };
        self.map.insert(id, peer);
    }

    /// Which socket holds `id`, if it is registered.
    pub fn socket_of(&self, id: &PeerId) -> Option<SocketNumber> {
        self.map.get(id).map(|peer| peer.socket)
    }

    /// Marks `id` as away: registered, its socket gone (step 19's grace).
    pub fn set_away(&mut self, id: &PeerId) {
        if let Some(peer) = self.map.get_mut(id) {
            peer.outbox = None;
            peer.full_since = None;
        }
    }

    /// Whether `id` is registered but away.
    pub fn is_away(&self, id: &PeerId) -> bool {
        self.map.get(id).is_some_and(|peer| peer.outbox.is_none())
    }

    /// Step 19's resume: the socket registered as `fresh` takes over `id`.
    /// `fresh` is unregistered, and `id` is written to through `fresh`'s
    /// queue from now on; a socket that still held `id` (its connection
    /// half-open) finds its queue closed and ends. False if either is not
    /// registered.
    pub fn hand_over(&mut self, fresh: &PeerId, id: &PeerId) -> bool {
        if fresh == id || !self.map.contains_key(id) {
            return false;
        }
        let Some(new) = self.map.remove(fresh) else {
            return false;
        };
        if let Some(peer) = self.map.get_mut(id) {
            *peer = new;
        }
        true
    }

    /// Step 19 on several processes: the socket registered as `fresh` goes
    /// by `id` from now on (a member that was connected to another process
    /// resumed here). False if `fresh` is not registered or `id` already is.
    pub fn rename(&mut self, fresh: &PeerId, id: &PeerId) -> bool {
        if self.map.contains_key(id) {
            return false;
        }
        match self.map.remove(fresh) {
            Some(peer) => {
                self.map.insert(id.clone(), peer);
                true
            }
            None => false,
        }
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
        // Away (step 19): nothing waits for it; see `Peer::outbox`.
        let Some(outbox) = &peer.outbox else {
            return;
        };
        match outbox.try_send(text) {
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
