//! Policies: who gets each message a page sends. One file each, so that
//! each chapter can show the policy its step brings:
//!
//! - [`broadcast`] (steps 07-14): every message, unchanged, to every other socket;
//! - [`direct`] (steps 15-16): ids, `join` and `leave` announced, each
//!   message to the one peer it names, in the one chat everybody shares;
//! - [`rooms`] (step 17): the same inside named rooms, each room a direct
//!   chat of its own.
//!
//! The hub (`hub.rs`) owns the lock and calls the step's [`Rules`]; a policy
//! owns whatever else it needs (members, names) and sends through
//! [`Peers`]. The name rules both direct and rooms apply are in
//! [`display_names`].

pub mod broadcast;
pub mod direct;
pub mod display_names;
pub mod rooms;

use super::limits::Limits;
use super::peers::{PeerId, Peers};
use super::protocol::Request;

/// How a step's server relays messages: the choice a step makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Steps 07-14: every valid message goes, unchanged, to every other socket.
    Broadcast,
    /// Steps 15-16: ids, `join` announced to the others, each message to its `to`.
    Direct,
    /// Step 17: as direct, inside named rooms with a size limit.
    Rooms,
}

impl Policy {
    /// The policy's rules, for rooms no larger than `limits` allow.
    pub fn rules(self, limits: &Limits) -> Box<dyn Rules> {
        match self {
            Policy::Broadcast => Box::new(broadcast::Broadcast),
            Policy::Direct => Box::new(direct::Direct::new(limits.room_size)),
            Policy::Rooms => Box::new(rooms::Rooms::new(limits.room_size)),
        }
    }
}

// ANCHOR: rules
/// What the hub asks of a policy: three events, each with the registry to
/// send through.
pub trait Rules: Send {
    /// A socket has arrived and has its id (and, from step 19, the token
    /// that lets a later socket take its place).
    fn arrived(&mut self, peers: &mut Peers, id: &PeerId, resume: Option<&str>);
    /// `from` sent `request`.
    fn request(&mut self, peers: &mut Peers, from: &PeerId, request: Request);
    /// A socket has gone (closed, dropped, or silent): it is no longer in
    /// `peers`.
    fn left(&mut self, peers: &mut Peers, id: &PeerId);
    /// How many rooms have members now.
    fn room_count(&self) -> usize {
        0
    }
    /// Whether `id` has joined (a room, or the one chat).
    fn is_member(&self, _id: &PeerId) -> bool {
        false
    }
    /// The room `id` is in (step 20's SFU forwards inside rooms).
    fn room_of(&self, _id: &PeerId) -> Option<String> {
        None
    }
    /// The other members of `id`'s room, with their names (step 19's
    /// `resumed` lists them).
    fn others_in_room(&self, _id: &PeerId) -> Vec<(PeerId, String)> {
        Vec::new()
    }
}
// ANCHOR_END: rules
