//! Step 18: what people expect from a call.
//!
//! Nothing new on the server: step 17's rooms. New in the page: choosing the
//! camera and the microphone (and switching between a phone's front and back
//! cameras) mid-call, sharing the screen in place of the camera, each tile
//! saying when that member's camera or microphone is off and lighting up when
//! they speak, and your own picture mirrored.
//!
//! Run it with `cargo run --example app18`, open the URL it prints in a few
//! windows, and join with a name and a room in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app18())
}
