//! Step 19: calls that survive.
//!
//! New on the server: a member whose signaling socket drops keeps its place
//! in the room for a while (`RESUME_GRACE`), and its page's next socket takes
//! it back with the resume token its `welcome` carried. New in the page:
//! restarting ICE when a connection fails or stays interrupted, resuming
//! after a dropped socket, and, after a server restart, joining again while
//! the calls (peer to peer, so still up) go on.
//!
//! Run it with `cargo run --example app19`, open the URL it prints in a few
//! windows, and join with a name and a room in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app19())
}
