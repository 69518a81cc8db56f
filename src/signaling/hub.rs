//! The hub: the one owner of the open sockets, and the step's relay policy.
//!
//! Sessions reach it through a cloneable [`HubHandle`]; nothing else touches
//! its state. The hub keeps the registry ([`Peers`]: each socket's id and
//! bounded outgoing queue) and hands every arrival, message and departure to
//! the step's [`Relay`], which decides who gets what:
//! [`super::relay::broadcast`] for steps 07-14, [`super::relay::rooms`] for
//! 15-17.
//!
//! ## A lock, not a task
//!
//! The state sits behind one mutex, and a session calls the hub directly, on
//! the worker thread that read the message: lock, relay, unlock. Nothing
//! inside ever waits (no `.await` while the lock is held: every call is plain
//! synchronous code), so the lock is held for microseconds and cannot
//! deadlock. An earlier version ran the hub as its own task, reached through
//! a channel: the same single owner, but every message then crossed to the
//! hub's thread and back, two wake-ups and two context switches on top of
//! the relaying itself. The side-by-side bench (`benches/compare.rs`) showed
//! that hop as a large share of the server's CPU per message, so it went.
//!
//! The hub only ever `try_send`s to a queue, so a page that stops reading can
//! never make the hub (and so everyone else) wait. The queue holds everything
//! the room may legitimately send at once ([`super::Limits::outgoing_queue`]),
//! so a reading page never finds it full; a page whose queue stays full for
//! the write timeout has stopped reading, and is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::message::{ClientMessage, ErrorCode, ServerMessage};
use super::relay::Relay;
use super::{Limits, Policy};
use crate::random::random_hex;

/// A socket's id: random and unguessable, so a page cannot address (or
/// impersonate) a peer it was not told about.
pub type PeerId = Arc<str>;

/// Text queued for one socket. A `ByteString` is what the socket writes, and
/// its clones share one buffer: a message for a whole room is one allocation.
pub type Outgoing = bytestring::ByteString;

/// The hub could not make an id for a new socket (the system's random
/// source failed); that one socket is refused, everyone else goes on.
#[derive(Debug, PartialEq, Eq)]
pub struct NoId;

/// The way to reach the hub; clone it freely.
#[derive(Clone)]
pub struct HubHandle {
    hub: Arc<Mutex<Hub>>,
}

impl HubHandle {
    /// The hub, for the length of one synchronous call.
    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic inside a relay policy is a bug, but it must not take every
        // later socket down with it: carry on with the state as it was left.
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket whose outgoing queue is `outbox`, and returns its id.
    pub fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Result<PeerId, NoId> {
        self.lock().register(outbox)
    }

    /// Unregisters a socket (announcing it to its room). Safe to call for a
    /// peer the hub already dropped.
    pub fn leave(&self, id: &PeerId) {
        self.lock().leave(id);
    }

    /// Relays a page's parsed message.
    pub fn message(&self, from: &PeerId, message: ClientMessage) {
        self.lock().relay(from, message);
    }

    /// How many sockets are registered now (tests and logs use it).
    pub fn peer_count(&self) -> usize {
        self.lock().peers.map.len()
    }

    /// How many rooms have members now.
    pub fn room_count(&self) -> usize {
        self.lock().relay.room_count()
    }
}

/// Makes the hub for `policy` and returns its handle.
pub fn create(policy: Policy, limits: Limits) -> HubHandle {
    create_with_ids(policy, limits, new_peer_id)
}

/// [`create`], with ids from `make_id` (tests make it fail).
pub fn create_with_ids(
    policy: Policy,
    limits: Limits,
    make_id: impl FnMut() -> Result<PeerId, NoId> + Send + 'static,
) -> HubHandle {
    let hub = Hub {
        peers: Peers {
            map: HashMap::new(),
            stalled_after: limits.send_timeout,
            stalled: Vec::new(),
        },
        relay: policy.relay(limits.room_size),
        make_id: Box::new(make_id),
    };
    HubHandle {
        hub: Arc::new(Mutex::new(hub)),
    }
}

struct Peer {
    outbox: mpsc::Sender<Outgoing>,
    /// Since when its queue has been full, if it is now.
    full_since: Option<Instant>,
}

/// What a queued message is to its receiver, which decides what a full queue means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Something another page or the server needs it to have.
    Relay,
    /// The answer to its own refused message: advice, which it may miss.
    Reply,
}

/// The registry: every open socket's queue. Relay policies send through it.
pub struct Peers {
    map: HashMap<PeerId, Peer>,
    /// How long a queue may stay full before its peer counts as gone.
    stalled_after: Duration,
    /// Peers found stalled while sending, dropped once the command is done.
    stalled: Vec<PeerId>,
}

impl Peers {
    /// Every registered id.
    pub fn ids(&self) -> impl Iterator<Item = &PeerId> {
        self.map.keys()
    }

    /// Queues `text` for `to`, never waiting.
    ///
    /// A full queue means the page is behind by more than its whole room may
    /// send at once. The message is not queued; a reply (advice about the
    /// peer's own refused message) is simply skipped, and a peer whose queue
    /// has stayed full for the write timeout has stopped reading and is
    /// dropped. (Its session's own write timeout usually gets there first.)
    pub fn send(&mut self, to: &PeerId, text: Outgoing, delivery: Delivery) {
        let Some(peer) = self.map.get_mut(to) else {
            return;
        };
        match peer.outbox.try_send(text) {
            Ok(()) => peer.full_since = None,
            // Its session has ended and is about to unregister it.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) if delivery == Delivery::Reply => {
                log::debug!("peer {}: a reply skipped, its queue is full", short(to));
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
        self.send(to, Outgoing::from(message.to_text()), Delivery::Relay);
    }

    /// Sends one message to each of `members`, serialized once.
    pub fn announce<'a>(
        &mut self,
        members: impl IntoIterator<Item = &'a PeerId>,
        message: &ServerMessage<'_>,
    ) {
        let text = Outgoing::from(message.to_text());
        for id in members {
            self.send(id, text.clone(), Delivery::Relay);
        }
    }

    /// Tells `to` why its message was refused.
    pub fn refuse(&mut self, to: &PeerId, code: ErrorCode, message: &str) {
        let text = ServerMessage::error(code, message).to_text();
        self.send(to, Outgoing::from(text), Delivery::Reply);
    }
}

struct Hub {
    peers: Peers,
    relay: Box<dyn Relay>,
    make_id: Box<dyn FnMut() -> Result<PeerId, NoId> + Send>,
}

impl Hub {
    fn register(&mut self, outbox: mpsc::Sender<Outgoing>) -> Result<PeerId, NoId> {
        let id = (self.make_id)().inspect_err(|NoId| {
            log::error!("no id for a new socket: the system random source failed");
        })?;
        let peer = Peer {
            outbox,
            full_since: None,
        };
        self.peers.map.insert(id.clone(), peer);
        self.relay.arrived(&mut self.peers, &id);
        log::info!(
            "peer {} connected ({} open)",
            short(&id),
            self.peers.map.len()
        );
        self.drop_stalled();
        Ok(id)
    }

    fn relay(&mut self, from: &PeerId, message: ClientMessage) {
        self.relay.message(&mut self.peers, from, message);
        self.drop_stalled();
    }

    fn leave(&mut self, id: &PeerId) {
        self.unregister(id);
        self.drop_stalled();
    }

    fn unregister(&mut self, id: &PeerId) {
        // Removed first, so that nothing the relay announces goes to it.
        if self.peers.map.remove(id).is_some() {
            self.relay.left(&mut self.peers, id);
            log::info!("peer {} left ({} open)", short(id), self.peers.map.len());
        }
    }

    /// Peers found stalled while relaying leave like any other.
    fn drop_stalled(&mut self) {
        while let Some(id) = self.peers.stalled.pop() {
            self.unregister(&id);
        }
    }
}

/// 128 random bits as hex.
fn new_peer_id() -> Result<PeerId, NoId> {
    random_hex(16).map(Arc::from).map_err(|_| NoId)
}

/// The first characters of an id, enough to follow one peer in the logs.
fn short(id: &str) -> &str {
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

    /// If no id can be made for one socket, that socket is refused and the
    /// others keep their registrations and their messages.
    #[test]
    fn a_failed_id_refuses_one_join_and_nothing_else() {
        actix_web::rt::System::new().block_on(async {
            let mut made = 0;
            let hub = create_with_ids(Policy::Broadcast, Limits::default(), move || {
                made += 1;
                if made == 2 {
                    Err(NoId)
                } else {
                    Ok(Arc::from(format!("peer-{made}")))
                }
            });
            let (alice_out, mut alice_in) = mpsc::channel(8);
            let (bob_out, _bob_in) = mpsc::channel(8);
            let (carol_out, mut carol_in) = mpsc::channel(8);
            let alice = hub.join(alice_out).unwrap();
            assert_eq!(hub.join(bob_out), Err(NoId));
            let carol = hub.join(carol_out).unwrap();
            hub.message(
                &alice,
                ClientMessage::parse(r#"{"type":"chat","text":"hi"}"#).unwrap(),
            );
            assert_eq!(
                &*carol_in.recv().await.unwrap(),
                r#"{"type":"chat","text":"hi"}"#
            );
            hub.message(
                &carol,
                ClientMessage::parse(r#"{"type":"chat","text":"back"}"#).unwrap(),
            );
            assert_eq!(
                &*alice_in.recv().await.unwrap(),
                r#"{"type":"chat","text":"back"}"#
            );
            assert_eq!(hub.peer_count(), 2);
        });
    }
}
