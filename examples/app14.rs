//! Step 14: media when only the answering side has a camera or microphone.
//!
//! The server is step 13's. New in the page: the call starts with one audio
//! and one video transceiver that can both send and receive, on both sides,
//! so whichever side turns a device on (before the call or during it) has a
//! sender waiting for it.
//!
//! Run it with `cargo run --example app14`, and call from a window with no
//! device on to one with its camera on.

use std::process::ExitCode;

use videochat::signaling::Policy;
use videochat::Step;

fn main() -> ExitCode {
    videochat::run(step())
}

/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn step() -> Step {
    Step::new("app14")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
