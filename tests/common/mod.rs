//! Helpers shared by the two test binaries (`tests/server/` and
//! `tests/pages/`): a server on port 0 for any step, sockets that speak the
//! protocol, and real headless browsers to drive the pages.
//!
//! Each binary compiles this module on its own and the server tests use no
//! browser, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod browser;
pub mod call;
pub mod cut;
pub mod deadline;
pub mod http;
pub mod netns;
pub mod nginx;
pub mod process;
pub mod raw_ws;
pub mod redis;
pub mod rooms;
pub mod str0m_peer;
pub mod stun;
pub mod ws;

use videochat::config::Config;
use videochat::server::{self, Server, Step};
use videochat::signaling::Limits;

/// Starts `step`'s server on a free loopback port, as the example would.
pub fn serve(step: Step) -> Server {
    serve_with(step, Config::default())
}

/// Starts `step`'s server with signaling `limits` that a test shortens
/// (heartbeats, queues, rate, room size) and default settings otherwise.
pub fn serve_with_limits(step: Step, limits: Limits) -> Server {
    serve(step.with_limits(limits))
}

/// Starts `step`'s server with `config`, on a loopback port the test binds
/// itself (port 0: a free one).
pub fn serve_with(step: Step, config: Config) -> Server {
    serve_on_port(step, config, 0)
}

/// Starts `step`'s server again on the `port` a stopped one used, as a
/// restarted server comes back at the same address.
pub fn serve_again_on(step: Step, port: u16) -> Server {
    serve_on_port(step, Config::default(), port)
}

fn serve_on_port(step: Step, config: Config, port: u16) -> Server {
    // Step 20's SFU on a free UDP port too: tests run side by side.
    let config = Config {
        media_port: 0,
        ..config
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind a loopback port");
    match server::start_on(listener, step, &config) {
        Ok(server) => server,
        Err(err) => panic!("the server did not start: {err}"),
    }
}
