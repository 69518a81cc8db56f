//! What each step's server offers: one function per step, each the step
//! before plus at most one new piece of the server.
//!
//! `examples/appNN.rs` runs `appNN()`; the tests and benches start the very
//! same [`Step`], so what they check is what a learner runs. Most steps add
//! only to the page (`static/appNN/`); the ones that add to the server say
//! what in their doc comment.

use crate::server::Step;
use crate::signaling::Policy;

// ANCHOR: app01
/// Step 01: set up the project.
///
/// What this step's server offers: only its page folder.
pub fn app01() -> Step {
    Step::new("app01")
}
// ANCHOR_END: app01

// ANCHOR: app02
/// Step 02: start and stop the camera and microphone.
///
/// What this step's server offers: only its page folder.
pub fn app02() -> Step {
    Step::new("app02")
}
// ANCHOR_END: app02

// ANCHOR: app03
/// Step 03: manual signaling, part 1: create the offer SDP.
///
/// What this step's server offers: only its page folder.
pub fn app03() -> Step {
    Step::new("app03")
}
// ANCHOR_END: app03

// ANCHOR: app04
/// Step 04: manual signaling, part 2: create the answer SDP.
///
/// What this step's server offers: only its page folder.
pub fn app04() -> Step {
    Step::new("app04")
}
// ANCHOR_END: app04

// ANCHOR: app05
/// Step 05: manual signaling, part 3: connect.
///
/// What this step's server offers: only its page folder.
pub fn app05() -> Step {
    Step::new("app05")
}
// ANCHOR_END: app05

// ANCHOR: app06
/// Step 06: manual signaling, part 4: remote video and sound.
///
/// What this step's server offers: only its page folder.
pub fn app06() -> Step {
    Step::new("app06")
}
// ANCHOR_END: app06

// ANCHOR: app07
/// Step 07: automatic signaling through the server.
///
/// What this step's server offers: its page folder and the signaling socket.
pub fn app07() -> Step {
    Step::new("app07").with_signaling(Policy::Broadcast)
}
// ANCHOR_END: app07

// ANCHOR: app08
/// Step 08: leave the chat.
///
/// What this step's server offers: its page folder and the signaling socket.
pub fn app08() -> Step {
    Step::new("app08").with_signaling(Policy::Broadcast)
}
// ANCHOR_END: app08

// ANCHOR: app09
/// Step 09: STUN servers.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app09() -> Step {
    Step::new("app09")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app09

// ANCHOR: app10
/// Step 10: trickle ICE.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app10() -> Step {
    Step::new("app10")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app10

// ANCHOR: app11
/// Step 11: send your own data: a text chat.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app11() -> Step {
    Step::new("app11")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app11

// ANCHOR: app12
/// Step 12: stop and resume the camera or microphone mid-call.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app12() -> Step {
    Step::new("app12")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app12

// ANCHOR: app13
/// Step 13: tell the peer when leaving.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app13() -> Step {
    Step::new("app13")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app13

// ANCHOR: app14
/// Step 14: media when only the answering side has a camera or microphone.
///
/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn app14() -> Step {
    Step::new("app14")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
// ANCHOR_END: app14

// ANCHOR: app15
/// Step 15: usernames.
///
/// What this step's server offers: its pages, `/ws` with the direct policy
/// in a chat of two, and the ICE server list.
pub fn app15() -> Step {
    Step::new("app15")
        .with_signaling(Policy::Direct)
        .with_room_size_cap(2)
        .with_ice_servers()
}
// ANCHOR_END: app15

// ANCHOR: app16
/// Step 16: video chat with several people.
///
/// What this step's server offers: its pages, `/ws` with the direct policy,
/// and the ICE server list.
pub fn app16() -> Step {
    Step::new("app16")
        .with_signaling(Policy::Direct)
        .with_ice_servers()
}
// ANCHOR_END: app16

// ANCHOR: app17
/// Step 17: chat rooms.
///
/// What this step's server offers: its pages, `/ws` with the rooms policy,
/// and the ICE server list.
pub fn app17() -> Step {
    Step::new("app17")
        .with_signaling(Policy::Rooms)
        .with_ice_servers()
}
// ANCHOR_END: app17

// ANCHOR: app18
/// Step 18: what people expect from a call.
///
/// What this step's server offers: its pages, `/ws` with the rooms policy,
/// and the ICE server list: the same as step 17's.
pub fn app18() -> Step {
    Step::new("app18")
        .with_signaling(Policy::Rooms)
        .with_ice_servers()
}
// ANCHOR_END: app18

// ANCHOR: app19
/// Step 19: calls that survive.
///
/// What this step's server offers: step 18's, and a held place for a member
/// whose socket drops, which its next socket takes back with the resume
/// token of its `welcome`.
pub fn app19() -> Step {
    Step::new("app19")
        .with_signaling(Policy::Rooms)
        .with_ice_servers()
        .with_resume()
}
// ANCHOR_END: app19

// ANCHOR: app20
/// Step 20: past the mesh, a selective forwarding unit.
///
/// What this step's server offers: step 19's, and the SFU (`src/sfu/`):
/// each page sends its media once, over one connection to the server, which
/// forwards it to every other member of its room; rooms of
/// [`crate::sfu::ROOM_SIZE`].
pub fn app20() -> Step {
    Step::new("app20")
        .with_signaling(Policy::Rooms)
        .with_ice_servers()
        .with_resume()
        .with_sfu()
}
// ANCHOR_END: app20

/// Every step, in order: for tests and tools that
/// go through them all.
pub fn all() -> Vec<Step> {
    vec![
        app01(),
        app02(),
        app03(),
        app04(),
        app05(),
        app06(),
        app07(),
        app08(),
        app09(),
        app10(),
        app11(),
        app12(),
        app13(),
        app14(),
        app15(),
        app16(),
        app17(),
        app18(),
        app19(),
        app20(),
    ]
}
