//! Step 08: leave the chat.
//!
//! The server is step 07's (pages, and `/ws` with the broadcast policy). New in
//! the page: a Leave button closes the connection and clears the remote
//! media; the other side cleans up when its connection state reaches
//! `disconnected` or `failed`.
//!
//! Run it with `cargo run --example app08`, open the URL it prints in two
//! windows, press "Send offer" in one, then "Leave" in either.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app08())
}
