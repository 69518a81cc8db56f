//! Step 17: chat rooms.
//!
//! New on the server: the rooms policy. A `join` names a room; `join` and
//! `leave` are announced only within it, and a `to` outside the sender's room
//! is refused (`unknown-peer`). A room holds at most `ROOM_SIZE` members (4 by
//! default, `--room-size`), since in a mesh each member sends one stream to
//! every other; one more is refused with `room-full`. New in the page: the
//! room field, the room's name on the chat screen, and the refusal in words.
//!
//! Run it with `cargo run --example app17`, open the URL it prints in a few
//! windows, and join with a name and a room in each.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app17())
}
