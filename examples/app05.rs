//! Step 05: manual signaling, part 3: connect.
//!
//! The server is the same as step 01's: it serves the page. What is new is
//! in `static/app05/main.js`: pasting the answer back into the offering window; the
//! connection state reaches `connected`.
//!
//! Run it with `cargo run --example app05`, open the URL it prints in two
//! windows, and copy the SDP texts between them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app05())
}
