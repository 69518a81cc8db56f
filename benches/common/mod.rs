//! What both benches share: step 17's server, run as the child process they
//! measure, and reading its memory.

use videochat::config::Config;
use videochat::signaling::{Caps, Limits};
use videochat::steps;

/// The child: step 17's server (the rooms policy) with its limits raised, so
/// the bench measures the relay, not the limiter. Prints its port, then
/// serves until the parent goes away (EOF on stdin).
pub fn serve_step17() {
    let config = Config {
        port: 0,
        // Every client of a bench comes from 127.0.0.1: the per-address caps
        // would otherwise stop it at 32 sockets.
        socket_caps: Caps {
            max_sockets_per_ip: usize::MAX,
            new_sockets_per_ip_per_minute: u32::MAX,
            ..Caps::default()
        },
        ..Config::default()
    };
    let step = steps::app17().with_limits(Limits {
        messages_per_second: 1_000_000,
        burst: 1_000_000,
        flood_close_after: u32::MAX,
        outgoing_queue: 1_024,
        ..Limits::default()
    });
    let server = match videochat::server::start(step, &config) {
        Ok(server) => server,
        Err(err) => panic!("the server did not start: {err}"),
    };
    println!("{}", server.addr().port());
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// Resident memory of process `pid`, in KiB (Linux's VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}
