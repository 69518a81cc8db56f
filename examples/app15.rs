//! Step 15: usernames.
//!
//! New on the server: the direct policy. Each page gets an unguessable id
//! (`welcome`), `join` is announced to the others, and every other message
//! must name its `to` peer and is delivered to that peer only, with `from`
//! set by the server. New in the page: a join screen asks for a name, both
//! names are shown, and pressing Join starts the call.
//!
//! The page calls one other person, so this step's chat holds two: a third
//! is refused with `room-full` and told so on the join screen. (`ROOM_SIZE`
//! matters from step 16, whose page calls everyone.)
//!
//! Run it with `cargo run --example app15`, open the URL it prints in two
//! windows, and join with a name in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app15())
}
