//! The rooms policy (step 17): named rooms, each a direct chat of its own.
//!
//! A `join` names a room as well as a username. Inside a room everything
//! works as in steps 15-16 (`direct.rs`): `join` and `leave` are announced
//! to its members only, and a `to` outside the sender's room is refused
//! (`unknown-peer`). A room exists while someone is in it.

use std::collections::HashMap;

use super::direct::{welcome, Direct};
use super::display_names::checked_name;
use super::Rules;
use crate::signaling::peers::{PeerId, Peers};
use crate::signaling::protocol::{ErrorCode, Field, Request};

pub struct Rooms {
    /// Most members of one room.
    room_size: usize,
    /// Each room with anyone in it, by name.
    rooms: HashMap<String, Direct>,
    /// The room each member is in.
    room_of: HashMap<PeerId, String>,
}

impl Rooms {
    /// Rooms named in `join`, each of `room_size` at most.
    pub fn new(room_size: usize) -> Rooms {
        Rooms {
            room_size,
            rooms: HashMap::new(),
            room_of: HashMap::new(),
        }
    }

    // ANCHOR: room_name
    /// `join`: checks both names, then lets the room (created if new) take
    /// the newcomer.
    fn join(&mut self, peers: &mut Peers, from: &PeerId, username: &Field, room: &Field) {
        if self.room_of.contains_key(from) {
            let reason = "already joined: send leave first";
            return peers.refuse(from, ErrorCode::BadMessage, reason);
        }
        let names = checked_name(username, "username")
            .and_then(|username| Ok((username, checked_name(room, "room")?)));
        let (username, room) = match names {
            Ok(names) => names,
            Err((code, reason)) => return peers.refuse(from, code, &reason),
        };
        let room_size = self.room_size;
        let chat = self
            .rooms
            .entry(room.clone())
            .or_insert_with(|| Direct::room(room_size));
        if chat.join(peers, from, username) {
            self.room_of.insert(from.clone(), room);
        } else if chat.is_empty() {
            self.rooms.remove(&room);
        }
    }
    // ANCHOR_END: room_name

    /// Takes `id` out of its room and tells the others. False if it was in none.
    fn leave(&mut self, peers: &mut Peers, id: &PeerId) -> bool {
        let Some(room) = self.room_of.remove(id) else {
            return false;
        };
        if let Some(chat) = self.rooms.get_mut(&room) {
            chat.leave(peers, id);
            // A room nobody is in is forgotten.
            if chat.is_empty() {
                self.rooms.remove(&room);
            }
        }
        true
    }
}

impl Rules for Rooms {
    fn arrived(&mut self, peers: &mut Peers, id: &PeerId, resume: Option<&str>) {
        welcome(peers, id, resume);
    }

    fn request(&mut self, peers: &mut Peers, from: &PeerId, request: Request) {
        match request {
            Request::Join { username, room, .. } => self.join(peers, from, &username, &room),
            Request::Leave { .. } => {
                if !self.leave(peers, from) {
                    peers.refuse(from, ErrorCode::NotJoined, "join before leaving");
                }
            }
            // (The hub answers a `resume` itself when the step resumes.)
            Request::Forward { to, raw }
            | Request::Resume { to, raw, .. }
            | Request::Media { to, raw, .. } => {
                let room = self.room_of.get(from).and_then(|room| self.rooms.get(room));
                match room {
                    Some(chat) => chat.forward(peers, from, to.as_deref(), &raw),
                    None => peers.refuse(from, ErrorCode::NotJoined, "send join first"),
                }
            }
        }
    }

    fn left(&mut self, peers: &mut Peers, id: &PeerId) {
        self.leave(peers, id);
    }

    fn room_count(&self) -> usize {
        self.rooms.len()
    }

    fn is_member(&self, id: &PeerId) -> bool {
        self.room_of.contains_key(id)
    }

    fn room_of(&self, id: &PeerId) -> Option<String> {
        self.room_of.get(id).cloned()
    }

    fn others_in_room(&self, id: &PeerId) -> Vec<(PeerId, String)> {
        let room = self.room_of.get(id).and_then(|room| self.rooms.get(room));
        room.map_or_else(Vec::new, |chat| chat.others(id))
    }
}
