//! Step 10: trickle ICE.
//!
//! The server is step 09's (pages, `/ws` with the broadcast policy, and
//! `/ice-servers`). New in the page: the SDP is sent right after
//! `setLocalDescription`, and each ICE candidate follows in its own message
//! as it is found, so a slow or silent STUN server no longer delays the call.
//!
//! Run it with `cargo run --example app10`, open the URL it prints in two
//! windows, and press "Send offer" in one of them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app10())
}
