//! Step 15: usernames.
//!
//! New on the server: the direct policy. Each page gets an unguessable id
//! (`welcome`), `join` is announced to the others, and every other message
//! must name its `to` peer and is delivered to that peer only, with `from`
//! set by the server. New in the page: a join screen asks for a name, both
//! names are shown, and pressing Join starts the call.
//!
//! Run it with `cargo run --example app15`, open the URL it prints in two
//! windows, and join with a name in each.

use std::process::ExitCode;

use videochat::signaling::Policy;
use videochat::Step;

fn main() -> ExitCode {
    videochat::run(step())
}

/// What this step's server offers: its pages, `/ws` with the direct policy,
/// and the ICE server list.
pub fn step() -> Step {
    Step::new("app15")
        .with_signaling(Policy::Direct)
        .with_ice_servers()
}
