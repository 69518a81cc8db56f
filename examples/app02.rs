//! Step 02: start and stop the camera and microphone.
//!
//! The server is the same as step 01's; what is new is in the page,
//! `static/app02/main.js`: `getUserMedia`, stopping tracks, and a clear
//! message for each way a device can fail.
//!
//! Run it with `cargo run --example app02` and open the URL it prints.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app02())
}
