//! Step 11: send your own data: a text chat.
//!
//! The server is step 10's. New in the page: an `RTCDataChannel` labelled
//! `chat`, created by the offering side, carries chat lines straight between
//! the browsers; the server never sees them.
//!
//! Run it with `cargo run --example app11`, call from one window to the other,
//! and type in the chat box.

use std::process::ExitCode;

use videochat::signaling::Policy;
use videochat::Step;

fn main() -> ExitCode {
    videochat::run(step())
}

/// What this step's server offers: its pages, the signaling socket, and the ICE server list.
pub fn step() -> Step {
    Step::new("app11")
        .with_signaling(Policy::Broadcast)
        .with_ice_servers()
}
