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

fn main() -> ExitCode {
    videochat::run(videochat::steps::app12())
}
