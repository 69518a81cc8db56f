//! The broadcast policy (steps 07-14): the server as a loudspeaker.
//!
//! Every valid message goes, unchanged, to every other open socket: the two
//! pages of a call need nothing more. With three pages it is chaos, which is
//! what the rooms policy of step 15 mends.

use super::Relay;
use crate::signaling::hub::{Delivery, PeerId, Peers};
use crate::signaling::message::ClientMessage;

pub struct Broadcast;

// ANCHOR: broadcast
impl Relay for Broadcast {
    fn arrived(&mut self, _peers: &mut Peers, _id: &PeerId) {}

    fn message(&mut self, peers: &mut Peers, from: &PeerId, message: ClientMessage) {
        // The text as it arrived, shared by every queue it goes into.
        let others: Vec<PeerId> = peers.ids().filter(|id| *id != from).cloned().collect();
        for id in &others {
            peers.send(id, message.text.clone(), Delivery::Relay);
        }
    }

    fn left(&mut self, _peers: &mut Peers, _id: &PeerId) {}
}
// ANCHOR_END: broadcast
