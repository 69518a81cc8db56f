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

fn main() -> ExitCode {
    videochat::run(videochat::steps::app14())
}
