//! The server over real sockets, no browser: the signaling protocol of each
//! policy, the limits under attack, and the HTTP side. Every test starts
//! the real server on a free loopback port (or runs an example's binary).
//!
//! One test binary for all of them: each binary links the whole dependency
//! tree again, so fewer binaries build faster.

#[path = "../common/mod.rs"]
mod common;

mod hostile_clients;
mod http_server;
mod sfu;
mod signaling_broadcast;
mod signaling_resume;
mod signaling_rooms;
mod signaling_shared;
