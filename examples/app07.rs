//! Step 07: automatic signaling through the server.
//!
//! New on the server: the WebSocket at `/ws`. Each page connects to it, and
//! the server relays every message to every other connected page (the
//! broadcast policy), so the offer and answer travel through the server
//! instead of being copied by hand.
//!
//! Run it with `cargo run --example app07`, open the URL it prints in two
//! windows, and press "Send offer" in one of them.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app07())
}
