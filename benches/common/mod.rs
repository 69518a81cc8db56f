//! What the benches share: step 17's server, run as the child process they
//! measure, and reading its memory.
//!
//! Each bench compiles this module on its own and uses part of it.
#![allow(dead_code)]

pub mod load;

use videochat::config::Config;
use videochat::signaling::{Caps, Limits};
use videochat::steps;

/// The child: step 17's server (the rooms policy) with its limits raised, so
/// the bench measures the relay, not the limiter. Prints its port, then
/// serves until the parent goes away (EOF on stdin).
pub fn serve_step17() {
    let config = Config {
        port: 0,
        // The shared-rooms bench (benches/shared_rooms.rs) runs it on Redis.
        redis_url: std::env::var("VIDEOCHAT_BENCH_REDIS_URL").ok(),
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

/// User + system CPU time process `pid` has used so far (Linux's
/// /proc/PID/stat, in clock ticks).
pub fn cpu_time(pid: u32) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15; here they are 11 and 12.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    std::time::Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// Runs this thread (and the threads it starts) on CPU `cpu` only.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and
    // sched_setaffinity only read and write that local set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
