//! STUN and TURN servers for the ICE tests, on loopback only (the tests have no internet).

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::free_port;

/// Debian's coturn on a free loopback port, logging every request verbosely
/// to a file. Stopped when dropped.
pub struct Coturn {
    child: Child,
    /// The address it listens on.
    host: String,
    port: u16,
    log: PathBuf,
    userdb: PathBuf,
}

impl Coturn {
    /// A STUN-only server.
    pub fn start() -> Coturn {
        Coturn::launch(&["--stun-only".to_string()], None)
    }

    /// A STUN-only server on `host`, port 3478, inside the network namespace
    /// `namespace` (the NAT tests' internet).
    pub fn start_stun_in(namespace: &str, host: &str) -> Coturn {
        Coturn::launch(&["--stun-only".to_string()], Some((namespace, host)))
    }

    /// A TURN server (relaying on loopback) that accepts the short-lived
    /// credentials made from `secret` (coturn's `use-auth-secret`).
    pub fn start_turn(secret: &str) -> Coturn {
        Coturn::launch(
            &[
                "--use-auth-secret".to_string(),
                format!("--static-auth-secret={secret}"),
                "--realm=videochat.test".to_string(),
                "--relay-ip=127.0.0.1".to_string(),
                // The test's two ends are on this machine too; coturn refuses
                // to relay to loopback addresses unless told otherwise.
                "--allow-loopback-peers".to_string(),
            ],
            None,
        )
    }

    /// A TURN server on `host`, port 3478, inside the network namespace
    /// `namespace` (the NAT tests' internet), relaying from `host` and
    /// accepting the short-lived credentials made from `secret`.
    pub fn start_turn_in(namespace: &str, host: &str, secret: &str) -> Coturn {
        Coturn::launch(
            &[
                "--use-auth-secret".to_string(),
                format!("--static-auth-secret={secret}"),
                "--realm=videochat.test".to_string(),
                format!("--relay-ip={host}"),
            ],
            Some((namespace, host)),
        )
    }

    /// Starts coturn with `mode`, on a free loopback port, or on port 3478
    /// of `host` inside `namespace`.
    fn launch(mode: &[String], inside: Option<(&str, &str)>) -> Coturn {
        let (port, host) = match inside {
            Some((_, host)) => (3478, host.to_string()),
            None => (free_udp_port(), "127.0.0.1".to_string()),
        };
        let log = std::env::temp_dir().join(format!(
            "videochat-coturn-{}-{port}.log",
            std::process::id()
        ));
        // Append mode: stdout and stderr share the file without overwriting each other.
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .append(true)
            .open(&log)
            .expect("create the coturn log");
        // coturn opens a user database even when it needs none: keep it
        // out of /var/lib/turn.
        let userdb = log.with_extension("db");
        let mut command = match inside {
            Some((namespace, _)) => super::netns::command_in(namespace, "turnserver"),
            None => Command::new("turnserver"),
        };
        let child = super::deadline::spawn(
            command
                .args(["-n", "--no-cli", "--no-tls", "--no-dtls", "-V", "--simple-log"])
                .args(mode)
                .arg(format!("--userdb={}", userdb.display()))
                .arg(format!("--listening-ip={host}"))
                .arg(format!("--listening-port={port}"))
                .arg("--log-file=stdout")
                .stdout(Stdio::from(log_file.try_clone().expect("clone the log handle")))
                .stderr(Stdio::from(log_file)),
        )
        .unwrap_or_else(|e| {
                panic!("cannot start turnserver ({e}): install Debian's coturn (`bash scripts/install-deps.sh` does)")
            });
        let coturn = Coturn {
            child,
            host,
            port,
            log,
            userdb,
        };
        let listening = format!("UDP listener opened on: {}", coturn.host);
        coturn.wait_for_log(&listening, Duration::from_secs(10));
        coturn
    }

    /// The URL a page puts in `iceServers`.
    pub fn url(&self) -> String {
        format!("stun:{}:{}", self.host, self.port)
    }

    /// The same server as a TURN URL (over UDP).
    pub fn turn_url(&self) -> String {
        format!("turn:{}:{}?transport=udp", self.host, self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`, polling the file.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "coturn never logged {needle:?}; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(&self.userdb);
    }
}

/// A UDP port on loopback that receives and never answers: a STUN server
/// that has gone silent (no "port unreachable" either, unlike a closed port).
pub struct SilentStun {
    socket: UdpSocket,
}

impl SilentStun {
    pub fn start() -> SilentStun {
        SilentStun {
            socket: UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port"),
        }
    }

    pub fn url(&self) -> String {
        let port = self.socket.local_addr().expect("local address").port();
        format!("stun:127.0.0.1:{port}")
    }
}

/// A loopback UDP port free right now (the TCP helper checks TCP only).
fn free_udp_port() -> u16 {
    loop {
        let port = free_port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
