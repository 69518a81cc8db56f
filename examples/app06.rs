//! Step 06: manual signaling, part 4: remote video and sound.
//!
//! The server is the same as step 01's: it serves the page. What is new is
//! in `static/app06/main.js`: `ontrack` shows the other window's video and plays its sound.
//!
//! Run it with `cargo run --example app06`, open the URL it prints in two
//! windows, and copy the SDP texts between them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app06())
}
