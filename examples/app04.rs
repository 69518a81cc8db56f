//! Step 04: manual signaling, part 2: create the answer SDP.
//!
//! The server is the same as step 01's: it serves the page. What is new is
//! in `static/app04/main.js`: pasting an offer, `setRemoteDescription`, `createAnswer`, and
//! showing the answer once ICE gathering completes.
//!
//! Run it with `cargo run --example app04`, open the URL it prints in two
//! windows, and copy the SDP texts between them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app04())
}
