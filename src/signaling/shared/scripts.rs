//! The Lua scripts that change the shared state, one file each in `lua/`.
//!
//! Redis runs a script as one step: nothing else happens in between. That
//! is what makes the rules hold across processes without a lock of our own:
//! a room's size is read and its new member written in one step (`join`),
//! a message's sender and receiver are checked against the rooms as they
//! are at that moment (`forward`), and a dead process's members are taken
//! out exactly once however many processes notice (`reap`).
//!
//! Each script is `common.lua` (the key names and the helpers they share)
//! followed by its own body. The redis crate runs a script by its SHA-1
//! (`EVALSHA`) and sends its text again when Redis does not know it, as
//! after a restart.

use std::sync::LazyLock;

use redis::Script;

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Every script, made once.
pub struct Scripts {
    pub join: Script,
    pub leave: Script,
    pub forward: Script,
    pub alive: Script,
    pub reap: Script,
    pub retire: Script,
    pub hold: Script,
    pub resume: Script,
    pub resync: Script,
    pub members: Script,
}

pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    join: script(include_str!("lua/join.lua")),
    leave: script(include_str!("lua/leave.lua")),
    forward: script(include_str!("lua/forward.lua")),
    alive: script(include_str!("lua/alive.lua")),
    reap: script(include_str!("lua/reap.lua")),
    retire: script(include_str!("lua/retire.lua")),
    hold: script(include_str!("lua/hold.lua")),
    resume: script(include_str!("lua/resume.lua")),
    resync: script(include_str!("lua/resync.lua")),
    members: script(include_str!("lua/members.lua")),
});
