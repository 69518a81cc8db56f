//! Step 11: send your own data: a text chat.
//!
//! The server is step 10's. New in the page: an `RTCDataChannel` labelled
//! `chat`, created by the offering side, carries chat lines straight between
//! the browsers; the server never sees them.
//!
//! Run it with `cargo run --example app11`, call from one window to the other,
//! and type in the chat box.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app11())
}
