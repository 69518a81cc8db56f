//! The direct policy (steps 15-16): each message to the one peer it names.
//!
//! Each socket gets an id (`welcome`). A page `join`s with a username; the
//! members already there are told (`join`) and call the newcomer. Every
//! other message names one peer in `to` and goes to that peer only, with
//! `from` set by the server: a page can neither reach someone who has not
//! joined nor pass for someone else. Everybody who joins shares one chat of
//! `ROOM_SIZE` people at most. Step 17's rooms policy (`rooms.rs`) gives
//! each named room a `Direct` of its own.

use std::collections::HashMap;

use super::display_names::{checked_name, name_key};
use super::Rules;
use crate::signaling::peers::{Delivery, PeerId, Peers};
use crate::signaling::protocol::{ErrorCode, RawMessage, Request, ServerMessage};

pub struct Direct {
    /// Most members at once.
    size: usize,
    /// What the page calls this group, for the "full" refusal: steps 15-16
    /// say "chat", step 17 "room".
    called: &'static str,
    /// Who has joined, with their checked names.
    members: HashMap<PeerId, String>,
}

impl Direct {
    /// Steps 15-16: the one chat everybody shares, of `size` at most.
    pub fn new(size: usize) -> Direct {
        Direct {
            size,
            called: "chat",
            members: HashMap::new(),
        }
    }

    /// One of step 17's rooms, of `size` at most.
    pub fn room(size: usize) -> Direct {
        Direct {
            called: "room",
            ..Direct::new(size)
        }
    }

    /// Everyone in it but `id`, with their names.
    pub fn others(&self, id: &PeerId) -> Vec<(PeerId, String)> {
        self.members
            .iter()
            .filter(|(member, _)| *member != id)
            .map(|(member, name)| (member.clone(), name.clone()))
            .collect()
    }

    /// True when nobody is in it.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    // ANCHOR: join
    /// Lets `from` in under `username` (already checked against the name
    /// rules) if there is space and the name is free, and tells the members
    /// already here. False, with the refusal sent, if not.
    pub fn join(&mut self, peers: &mut Peers, from: &PeerId, username: String) -> bool {
        if self.members.len() >= self.size {
            peers.refuse(
                from,
                ErrorCode::RoomFull,
                &full_reason(self.called, self.size),
            );
            return false;
        }
        // Two members with one name could not tell who is who: the second asks
        // for another name (compared without case and invisible characters).
        let key = name_key(&username);
        if self.members.values().any(|name| name_key(name) == key) {
            peers.refuse(from, ErrorCode::BadName, &name_taken_reason(&username));
            return false;
        }
        let announcement = ServerMessage::Join {
            from,
            username: &username,
        };
        peers.announce(self.members.keys(), &announcement);
        self.members.insert(from.clone(), username);
        true
    }
    // ANCHOR_END: join

    /// Takes `id` out and tells the others. False if it was not in.
    pub fn leave(&mut self, peers: &mut Peers, id: &PeerId) -> bool {
        if self.members.remove(id).is_none() {
            return false;
        }
        peers.announce(self.members.keys(), &ServerMessage::Leave { from: id });
        true
    }

    // ANCHOR: forward
    /// Delivers `from`'s message to the member its `to` names.
    pub fn forward(&self, peers: &mut Peers, from: &PeerId, to: Option<&str>, raw: &RawMessage) {
        let Some(username) = self.members.get(from) else {
            return peers.refuse(from, ErrorCode::NotJoined, "send join first");
        };
        let Some(to) = to else {
            return peers.refuse(
                from,
                ErrorCode::BadMessage,
                "a message needs a string field \"to\" naming a peer",
            );
        };
        // Only another member, never the sender.
        let target = self.members.get_key_value(to).map(|(id, _)| id);
        let Some(target) = target.filter(|target| *target != from).cloned() else {
            return peers.refuse(from, ErrorCode::UnknownPeer, "no such peer in your room");
        };
        // Step 19: a member whose socket dropped may come back, but what is
        // sent to it meanwhile would be lost: the sender hears so now.
        if peers.is_away(&target) {
            let reason = "that member's connection dropped; it may come back shortly";
            return peers.refuse(from, ErrorCode::PeerAway, reason);
        }
        // Whatever the page claimed, `from` is who really sent it, and a
        // `username` riding along is the one the server checked.
        peers.send(&target, raw.stamped(from, username), Delivery::Needed);
    }
    // ANCHOR_END: forward
}

/// The refusal of a `join` to a full room (or chat, as steps 15-16 say).
pub fn full_reason(called: &str, size: usize) -> String {
    format!("the {called} is full ({size} people at most)")
}

/// The refusal of a `join` under a name someone in the room already has.
pub fn name_taken_reason(username: &str) -> String {
    format!("someone here is already called \"{username}\": choose another name")
}

// ANCHOR: welcome
/// Tells a new socket its id, the one other pages will address it by, and
/// from step 19 its resume token.
pub fn welcome(peers: &mut Peers, id: &PeerId, resume: Option<&str>) {
    peers.send_message(id, &ServerMessage::Welcome { id, resume });
}
// ANCHOR_END: welcome

impl Rules for Direct {
    fn arrived(&mut self, peers: &mut Peers, id: &PeerId, resume: Option<&str>) {
        welcome(peers, id, resume);
    }

    // ANCHOR: route
    fn request(&mut self, peers: &mut Peers, from: &PeerId, request: Request) {
        match request {
            Request::Join { username, .. } => {
                if self.members.contains_key(from) {
                    let reason = "already joined: send leave first";
                    return peers.refuse(from, ErrorCode::BadMessage, reason);
                }
                match checked_name(&username, "username") {
                    Ok(username) => {
                        self.join(peers, from, username);
                    }
                    Err((code, reason)) => peers.refuse(from, code, &reason),
                }
            }
            Request::Leave { .. } => {
                if !self.leave(peers, from) {
                    peers.refuse(from, ErrorCode::NotJoined, "join before leaving");
                }
            }
            // (The hub answers a `resume` itself when the step resumes.)
            Request::Forward { to, raw }
            | Request::Resume { to, raw, .. }
            | Request::Media { to, raw, .. } => self.forward(peers, from, to.as_deref(), &raw),
        }
    }
    // ANCHOR_END: route

    fn left(&mut self, peers: &mut Peers, id: &PeerId) {
        self.leave(peers, id);
    }

    fn room_count(&self) -> usize {
        usize::from(!self.is_empty())
    }

    fn is_member(&self, id: &PeerId) -> bool {
        self.members.contains_key(id)
    }

    fn others_in_room(&self, id: &PeerId) -> Vec<(PeerId, String)> {
        self.others(id)
    }
}
