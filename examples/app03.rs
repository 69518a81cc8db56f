//! Step 03: manual signaling, part 1: create the offer SDP.
//!
//! The server is the same as step 01's: it serves the page. What is new is
//! in `static/app03/main.js`: `RTCPeerConnection`, `createOffer`, and waiting for ICE gathering
//! (vanilla ICE) before showing the offer to copy.
//!
//! Run it with `cargo run --example app03`, open the URL it prints in two
//! windows, and copy the SDP texts between them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app03())
}
