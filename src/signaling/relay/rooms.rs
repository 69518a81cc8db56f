//! The direct policy (steps 15-16) and the rooms policy (step 17).
//!
//! Each socket gets an id (`welcome`). A page `join`s with a username (and in
//! step 17 a room name); the members already there are told (`join`) and
//! call the newcomer. Every other message names one peer in `to` and goes to
//! that peer only, with `from` set by the server: a page can neither reach
//! someone outside its room nor pass for someone else. Steps 15 and 16 have
//! one room that everybody joins; step 17 lets `join` name the room.

use std::collections::{HashMap, HashSet};

use super::Relay;
use crate::signaling::hub::{Delivery, PeerId, Peers};
use crate::signaling::message::{name_key, valid_name, ClientMessage, ErrorCode, ServerMessage};

/// The room every member is in when rooms have no names (steps 15-16).
const THE_ONLY_ROOM: &str = "";

pub struct Rooms {
    /// Whether `join` names a room (step 17) or everybody shares one (15-16).
    named: bool,
    /// Most members a room may have.
    room_size: usize,
    /// The members of each room with anyone in it.
    rooms: HashMap<String, HashSet<PeerId>>,
    /// Who has joined: their room and checked name.
    members: HashMap<PeerId, Member>,
}

struct Member {
    room: String,
    username: String,
}

impl Rooms {
    /// Steps 15-16: one room for everybody, of `room_size` at most.
    pub fn one_room(room_size: usize) -> Rooms {
        Rooms::new(false, room_size)
    }

    /// Step 17: rooms named in `join`, each of `room_size` at most.
    pub fn named(room_size: usize) -> Rooms {
        Rooms::new(true, room_size)
    }

    fn new(named: bool, room_size: usize) -> Rooms {
        Rooms {
            named,
            room_size,
            rooms: HashMap::new(),
            members: HashMap::new(),
        }
    }
}

impl Relay for Rooms {
    // ANCHOR: welcome
    fn arrived(&mut self, peers: &mut Peers, id: &PeerId) {
        peers.send_message(id, &ServerMessage::Welcome { id });
    }
    // ANCHOR_END: welcome

    // ANCHOR: route
    fn message(&mut self, peers: &mut Peers, from: &PeerId, message: ClientMessage) {
        match message.kind.as_str() {
            "join" => self.join(peers, from, &message),
            "leave" => {
                if !self.leave(peers, from) {
                    peers.refuse(from, ErrorCode::NotJoined, "join before leaving");
                }
            }
            _ => {
                let Some(sender) = self.members.get(from) else {
                    return peers.refuse(from, ErrorCode::NotJoined, "send join first");
                };
                let Some(to) = message.to.as_deref() else {
                    return peers.refuse(
                        from,
                        ErrorCode::BadMessage,
                        "a message needs a string field \"to\" naming a peer",
                    );
                };
                // Only a member of the sender's own room, never the sender.
                let in_room = self.rooms.get(&sender.room).and_then(|room| room.get(to));
                let Some(target) = in_room.filter(|target| *target != from).cloned() else {
                    return peers.refuse(from, ErrorCode::UnknownPeer, "no such peer in your room");
                };
                // Whatever the page claimed, `from` is who really sent it, and
                // a `username` riding along is the one the server checked.
                let text = message.relayed(from, &sender.username);
                peers.send(&target, text, Delivery::Relay);
            }
        }
    }
    // ANCHOR_END: route

    fn left(&mut self, peers: &mut Peers, id: &PeerId) {
        self.leave(peers, id);
    }

    fn room_count(&self) -> usize {
        self.rooms.len()
    }
}

impl Rooms {
    // ANCHOR: join
    /// `join`: checks the names and the room's size, tells the members
    /// already there, and adds the newcomer.
    fn join(&mut self, peers: &mut Peers, from: &PeerId, message: &ClientMessage) {
        if self.members.contains_key(from) {
            return peers.refuse(
                from,
                ErrorCode::BadMessage,
                "already joined: send leave first",
            );
        }
        let username = match checked_name(message, "username") {
            Ok(name) => name,
            Err((code, reason)) => return peers.refuse(from, code, &reason),
        };
        let room = match self.room_of(message) {
            Ok(room) => room,
            Err((code, reason)) => return peers.refuse(from, code, &reason),
        };
        let others: Vec<PeerId> = self
            .rooms
            .get(&room)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if others.len() >= self.room_size {
            // Steps 15-16 have one room, which their pages call the chat.
            let place = if self.named { "room" } else { "chat" };
            let reason = format!("the {place} is full ({} people at most)", self.room_size);
            return peers.refuse(from, ErrorCode::RoomFull, &reason);
        }
        // Two members with one name could not tell who is who: the second asks
        // for another name (compared without case and invisible characters).
        let key = name_key(&username);
        let taken = others.iter().any(|id| {
            self.members
                .get(id)
                .is_some_and(|member| name_key(&member.username) == key)
        });
        if taken {
            let reason =
                format!("someone here is already called \"{username}\": choose another name");
            return peers.refuse(from, ErrorCode::BadName, &reason);
        }
        let announcement = ServerMessage::Join {
            from,
            username: &username,
        };
        peers.announce(&others, &announcement);
        self.rooms
            .entry(room.clone())
            .or_default()
            .insert(from.clone());
        self.members.insert(from.clone(), Member { room, username });
    }
    // ANCHOR_END: join

    // ANCHOR: room_name
    /// The room a `join` asks for: its checked `room` (step 17), or the one
    /// room everybody shares (steps 15-16).
    fn room_of(&self, message: &ClientMessage) -> Result<String, (ErrorCode, String)> {
        if self.named {
            checked_name(message, "room")
        } else {
            Ok(THE_ONLY_ROOM.to_string())
        }
    }
    // ANCHOR_END: room_name

    /// Takes `id` out of its room and tells the others. False if it was in none.
    fn leave(&mut self, peers: &mut Peers, id: &PeerId) -> bool {
        let Some(member) = self.members.remove(id) else {
            return false;
        };
        if let Some(room) = self.rooms.get_mut(&member.room) {
            room.remove(id);
            peers.announce(room.iter(), &ServerMessage::Leave { from: id });
            // A room nobody is in is forgotten.
            if room.is_empty() {
                self.rooms.remove(&member.room);
            }
        }
        true
    }
}

/// The name in the message's `field`: a field that is not a string is a
/// `bad-message`, a string that breaks the name rules a `bad-name`.
fn checked_name(message: &ClientMessage, field: &str) -> Result<String, (ErrorCode, String)> {
    match message.string_field(field) {
        Ok(Some(name)) => valid_name(&name, field).map_err(|reason| (ErrorCode::BadName, reason)),
        Ok(None) | Err(_) => Err((
            ErrorCode::BadMessage,
            format!("\"{field}\" must be a string"),
        )),
    }
}
