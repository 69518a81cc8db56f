//! The broadcast policy (steps 07-14): the server as a loudspeaker.
//!
//! Every valid message goes, unchanged, to every other open socket: the two
//! pages of a call need nothing more. With three pages it is chaos, which is
//! what the direct policy of step 15 mends.

use super::Rules;
use crate::signaling::peers::{Delivery, PeerId, Peers};
use crate::signaling::protocol::Request;

pub struct Broadcast;

// ANCHOR: broadcast
impl Rules for Broadcast {
    fn arrived(&mut self, _peers: &mut Peers, _id: &PeerId, _resume: Option<&str>) {}

    fn request(&mut self, peers: &mut Peers, from: &PeerId, request: Request) {
        // The text as it arrived, shared by every queue it goes into.
        let text = request.raw().text();
        let others: Vec<PeerId> = peers.ids().filter(|id| *id != from).cloned().collect();
        for id in &others {
            peers.send(id, text.clone(), Delivery::Needed);
        }
    }

    fn left(&mut self, _peers: &mut Peers, _id: &PeerId) {}
}
// ANCHOR_END: broadcast
