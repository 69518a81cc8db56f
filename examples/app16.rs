//! Step 16: video chat with several people.
//!
//! The server is step 15's without its cap of two: the direct policy already
//! routes each message to the one peer it names, which is all a mesh needs. New in the page: one
//! peer connection per other member, each in its own tile; whoever is there
//! first calls each newcomer. The room size limit (4 by default, `ROOM_SIZE`)
//! keeps the mesh small enough for each member to send a stream to everyone.
//!
//! Run it with `cargo run --example app16`, open the URL it prints in three
//! windows, and join with a name in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app16())
}
