//! Step 20: past the mesh, a selective forwarding unit.
//!
//! New on the server: the SFU (`src/sfu/`), on a UDP port of its own
//! (`--media-port`, default 8443): each page sends its camera and microphone
//! once, to the server, which forwards them to every other member of the
//! room without decoding them. Rooms hold 12 people. New in the page: one
//! connection for the whole room instead of one per member, and the chat
//! and the camera state through the signaling server.
//!
//! Run it with `cargo run --example app20`, open the URL it prints in a few
//! windows, and join with a name and a room in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app20())
}
