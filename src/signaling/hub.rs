//! The hub: one task that owns the open sockets and the rooms.
//!
//! Sessions talk to it through a cloneable [`HubHandle`]; nothing else touches
//! the maps, so there are no locks to get wrong. Each peer has a bounded
//! outgoing queue and the hub only ever `try_send`s to it, so a page that
//! stops reading can never make the hub (and so everyone else) wait. The queue
//! holds everything the room may legitimately send at once
//! ([`super::Limits::outgoing_queue`]), so a reading page never finds it full;
//! a page whose queue stays full for the write timeout has stopped reading,
//! and is dropped.
//!
//! How a message travels depends on the step's [`Policy`]:
//! broadcast (steps 07-14) sends it to everyone else unchanged; direct (15-16)
//! and rooms (17) deliver it to the one peer named in `to`, inside the
//! sender's room, with `from` set by the server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::message::{name_key, valid_name, ErrorCode, ServerMessage};
use super::{Limits, Policy};
use crate::random::random_hex;

/// A socket's id: random and unguessable, so a page cannot address (or
/// impersonate) a peer it was not told about.
pub type PeerId = Arc<str>;

/// Text queued for one socket.
pub type Outgoing = Arc<str>;

/// How many commands may wait for the hub. Sessions wait (not fail) when it is
/// full, which slows the senders down instead of growing memory.
const COMMAND_QUEUE: usize = 1024;

/// The room every member is in under the direct policy, which has no rooms.
const THE_ONLY_ROOM: &str = "";

enum Command {
    Join {
        outbox: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<PeerId>,
    },
    Leave {
        id: PeerId,
    },
    Message {
        from: PeerId,
        object: Map<String, Value>,
        text: Outgoing,
    },
}

/// The way to reach the hub; clone it freely.
#[derive(Clone)]
pub struct HubHandle {
    commands: mpsc::Sender<Command>,
    peers: Arc<AtomicUsize>,
    rooms: Arc<AtomicUsize>,
}

impl HubHandle {
    /// Registers a socket whose outgoing queue is `outbox`. `None` means the
    /// hub has stopped (the server is shutting down).
    pub async fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Option<PeerId> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Join { outbox, reply })
            .await
            .ok()?;
        answer.await.ok()
    }

    /// Unregisters a socket (announcing it to its room). Safe to call for a
    /// peer the hub already dropped.
    pub async fn leave(&self, id: PeerId) {
        // An error means the hub has stopped, and with it every registration.
        let _ = self.commands.send(Command::Leave { id }).await;
    }

    /// Hands the hub a valid message (`object` is `text` parsed) to relay.
    pub async fn message(&self, from: PeerId, object: Map<String, Value>, text: Outgoing) {
        let _ = self
            .commands
            .send(Command::Message { from, object, text })
            .await;
    }

    /// How many sockets are registered now (tests and logs use it).
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::SeqCst)
    }

    /// How many rooms have members now.
    pub fn room_count(&self) -> usize {
        self.rooms.load(Ordering::SeqCst)
    }
}

/// Starts the hub task on the current runtime and returns its handle.
pub fn spawn(policy: Policy, limits: Limits) -> HubHandle {
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let peers = Arc::new(AtomicUsize::new(0));
    let rooms = Arc::new(AtomicUsize::new(0));
    let hub = Hub {
        policy,
        room_size: limits.room_size,
        stalled_after: limits.send_timeout,
        peers: HashMap::new(),
        rooms: HashMap::new(),
        peer_count: peers.clone(),
        room_count: rooms.clone(),
    };
    actix_web::rt::spawn(hub.run(receiver));
    HubHandle {
        commands,
        peers,
        rooms,
    }
}

struct Peer {
    outbox: mpsc::Sender<Outgoing>,
    /// The room it joined, once it has (direct and rooms policies).
    room: Option<String>,
    /// Its validated username, once it has joined.
    username: Option<String>,
    /// Since when its queue has been full, if it is now.
    full_since: Option<Instant>,
}

/// What a queued message is to its receiver, which decides what a full queue means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Something another page or the server needs it to have.
    Relay,
    /// The answer to its own refused message: advice, which it may miss.
    Reply,
}

struct Hub {
    policy: Policy,
    room_size: usize,
    /// How long a queue may stay full before its peer counts as gone.
    stalled_after: Duration,
    peers: HashMap<PeerId, Peer>,
    rooms: HashMap<String, HashSet<PeerId>>,
    peer_count: Arc<AtomicUsize>,
    room_count: Arc<AtomicUsize>,
}

impl Hub {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Join { outbox, reply } => self.register(outbox, reply),
                Command::Leave { id } => self.unregister(&id),
                Command::Message { from, object, text } => match self.policy {
                    Policy::Broadcast => self.broadcast(&from, text),
                    Policy::Direct | Policy::Rooms => self.route(&from, object),
                },
            }
            self.peer_count.store(self.peers.len(), Ordering::SeqCst);
            self.room_count.store(self.rooms.len(), Ordering::SeqCst);
        }
    }

    fn register(&mut self, outbox: mpsc::Sender<Outgoing>, reply: oneshot::Sender<PeerId>) {
        let id = new_peer_id();
        if reply.send(id.clone()).is_err() {
            return; // the session gave up while waiting
        }
        self.peers.insert(
            id.clone(),
            Peer {
                outbox,
                room: None,
                username: None,
                full_since: None,
            },
        );
        if self.policy != Policy::Broadcast {
            self.send(&id, json!({ "type": "welcome", "id": &*id }));
        }
        log::info!("peer {} connected ({} open)", short(&id), self.peers.len());
    }

    fn unregister(&mut self, id: &PeerId) {
        self.leave_room(id);
        if self.peers.remove(id).is_some() {
            log::info!("peer {} left ({} open)", short(id), self.peers.len());
        }
    }

    fn broadcast(&mut self, from: &PeerId, text: Outgoing) {
        let others: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|id| *id != from)
            .cloned()
            .collect();
        for id in others {
            self.send_text(&id, text.clone(), Delivery::Relay);
        }
    }

    /// Direct and rooms policies: `join`, `leave`, or a message for one peer.
    fn route(&mut self, from: &PeerId, mut object: Map<String, Value>) {
        match object.get("type").and_then(Value::as_str) {
            Some("join") => self.join_room(from, &object),
            Some("leave") => {
                if !self.leave_room(from) {
                    self.refuse(from, ErrorCode::NotJoined, "join before leaving");
                }
            }
            _ => {
                let Some(room) = self.peers.get(from).and_then(|p| p.room.clone()) else {
                    return self.refuse(from, ErrorCode::NotJoined, "send join first");
                };
                let Some(Value::String(to)) = object.get("to") else {
                    return self.refuse(
                        from,
                        ErrorCode::BadMessage,
                        "a message needs a string field \"to\" naming a peer",
                    );
                };
                let target: PeerId = Arc::from(to.as_str());
                let in_room = self.rooms.get(&room).is_some_and(|m| m.contains(&target));
                if !in_room || target == *from {
                    return self.refuse(from, ErrorCode::UnknownPeer, "no such peer in your room");
                }
                // Whatever the page claimed, `from` is who really sent it, and
                // a `username` riding along is the one the server checked.
                object.insert("from".into(), Value::String(from.to_string()));
                if object.contains_key("username") {
                    let checked = self.peers.get(from).and_then(|p| p.username.clone());
                    object.insert(
                        "username".into(),
                        checked.map_or(Value::Null, Value::String),
                    );
                }
                self.send(&target, Value::Object(object));
            }
        }
    }

    fn join_room(&mut self, from: &PeerId, object: &Map<String, Value>) {
        if self.peers.get(from).is_some_and(|p| p.room.is_some()) {
            return self.refuse(
                from,
                ErrorCode::BadMessage,
                "already joined: send leave first",
            );
        }
        let username = match checked_name(object, "username") {
            Ok(name) => name,
            Err((code, reason)) => return self.refuse(from, code, &reason),
        };
        let room = match self.policy {
            Policy::Rooms => match checked_name(object, "room") {
                Ok(name) => name,
                Err((code, reason)) => return self.refuse(from, code, &reason),
            },
            _ => THE_ONLY_ROOM.to_string(),
        };
        let members = self.rooms.get(&room).map_or(0, HashSet::len);
        if members >= self.room_size {
            let message = format!("the room is full ({} people at most)", self.room_size);
            return self.refuse(from, ErrorCode::RoomFull, &message);
        }
        let others: Vec<PeerId> = self
            .rooms
            .get(&room)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        // Two members with one name could not tell who is who: the second asks
        // for another name (compared without case and invisible characters).
        let key = name_key(&username);
        let taken = others.iter().any(|id| {
            self.peers
                .get(id)
                .and_then(|p| p.username.as_deref())
                .is_some_and(|name| name_key(name) == key)
        });
        if taken {
            let message =
                format!("someone here is already called \"{username}\": choose another name");
            return self.refuse(from, ErrorCode::BadName, &message);
        }
        self.announce(
            others,
            json!({ "type": "join", "from": &**from, "username": username }),
        );
        self.rooms
            .entry(room.clone())
            .or_default()
            .insert(from.clone());
        if let Some(peer) = self.peers.get_mut(from) {
            peer.room = Some(room);
            peer.username = Some(username);
        }
    }

    /// Takes `id` out of its room and tells the others. False if it was in none.
    fn leave_room(&mut self, id: &PeerId) -> bool {
        let Some(peer) = self.peers.get_mut(id) else {
            return false;
        };
        peer.username = None;
        let Some(room) = peer.room.take() else {
            return false;
        };
        let mut others = Vec::new();
        if let Some(members) = self.rooms.get_mut(&room) {
            members.remove(id);
            others = members.iter().cloned().collect();
            if members.is_empty() {
                self.rooms.remove(&room);
            }
        }
        self.announce(others, json!({ "type": "leave", "from": &**id }));
        true
    }

    fn refuse(&mut self, to: &PeerId, code: ErrorCode, message: &str) {
        let text = ServerMessage::error(code, message).to_text();
        self.send_text(to, Outgoing::from(text), Delivery::Reply);
    }

    /// Sends one message to each of `members`, serialized once.
    fn announce(&mut self, members: Vec<PeerId>, message: Value) {
        let text = Outgoing::from(message.to_string());
        for id in members {
            self.send_text(&id, text.clone(), Delivery::Relay);
        }
    }

    fn send(&mut self, to: &PeerId, message: Value) {
        self.send_text(to, Outgoing::from(message.to_string()), Delivery::Relay);
    }

    /// Queues `text` for one peer, never waiting.
    ///
    /// A full queue means the page is behind by more than its whole room may
    /// send at once. The message is not queued; a reply (advice about the
    /// peer's own refused message) is simply skipped, and a peer whose queue
    /// has stayed full for the write timeout has stopped reading and is
    /// dropped. (Its session's own write timeout usually gets there first.)
    fn send_text(&mut self, to: &PeerId, text: Outgoing, delivery: Delivery) {
        let Some(peer) = self.peers.get_mut(to) else {
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
                    // Dropping its queue's sender tells its session to close the socket.
                    self.unregister(to);
                } else {
                    log::warn!(
                        "peer {}: queue full, a message for it was not queued",
                        short(to)
                    );
                }
            }
        }
    }
}

/// The name in `object[field]`: a field that is not a string is a
/// `bad-message`, a string that breaks the name rules a `bad-name`.
fn checked_name(object: &Map<String, Value>, field: &str) -> Result<String, (ErrorCode, String)> {
    let Some(Value::String(name)) = object.get(field) else {
        return Err((
            ErrorCode::BadMessage,
            format!("\"{field}\" must be a string"),
        ));
    };
    valid_name(name, field).map_err(|reason| (ErrorCode::BadName, reason))
}

/// 128 random bits as hex. If the system's random source fails (it does not
/// on any supported platform), the process cannot safely hand out ids.
fn new_peer_id() -> PeerId {
    match random_hex(16) {
        Ok(hex) => Arc::from(hex),
        Err(err) => panic!("the system random source failed: {err}"),
    }
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
        let a = new_peer_id();
        let b = new_peer_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
