//! Step 12: stop and resume the camera or microphone mid-call.
//!
//! The server is step 11's. New in the page: renegotiation. Turning a device
//! off and on during a call resumes it at the other side, from either side,
//! using `replaceTrack` where a sender exists and "perfect negotiation" (one
//! polite side, rollback of a colliding offer) where the call must change.
//!
//! Run it with `cargo run --example app12`, call from one window to the other,
//! and toggle the checkboxes on either side.

use std::process::ExitCode;

use videochat::signaling::Policy;
use videochat::Step;

fn main() -> ExitCode {
    videochat::run(step())
}

/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn step() -> Step {
    Step::new("app12")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
