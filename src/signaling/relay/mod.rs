//! Relay policies: who gets each message a page sends. One file each, so
//! that each chapter can show the policy its step brings:
//!
//! - [`broadcast`] (steps 07-14): every message, unchanged, to every other socket;
//! - [`rooms`] (steps 15-17): ids, `join` and `leave` announced, each message
//!   to the one peer it names; in step 17 inside named rooms, in 15-16 in
//!   the one room everybody shares.
//!
//! The hub ([`super::hub`]) owns the sockets and calls the policy; the
//! policy owns whatever else it needs (rooms, names) and sends through
//! [`Peers`].

pub mod broadcast;
pub mod rooms;

use super::hub::{PeerId, Peers};
use super::message::ClientMessage;

/// What the hub asks of a policy.
pub trait Relay: Send {
    /// A socket has arrived and has its id.
    fn arrived(&mut self, peers: &mut Peers, id: &PeerId);
    /// `from` sent `message`.
    fn message(&mut self, peers: &mut Peers, from: &PeerId, message: ClientMessage);
    /// A socket has gone (closed, dropped, or silent): it is no longer in
    /// `peers`.
    fn left(&mut self, peers: &mut Peers, id: &PeerId);
    /// How many rooms have members now.
    fn room_count(&self) -> usize {
        0
    }
}
