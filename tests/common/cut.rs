//! Cutting a page's TCP connections from outside, as a lost network does:
//! `ss -K` (iproute2, installed by the project's scripts; it needs root, as
//! the NAT tests do) destroys a socket, so its owner sees the connection
//! aborted and the other end receives a reset. The page's WebSocket then
//! closes with 1006 (no close frame), and the server sees a lost connection,
//! not a page that said goodbye.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use super::deadline::output_within;

const SS_TIMEOUT: Duration = Duration::from_secs(10);

/// The local ports of the established loopback connections to `port` (the
/// browsers' side of them).
pub fn client_ports_to(port: u16) -> BTreeSet<u16> {
    let filter = format!("( dport = :{port} )");
    let output = output_within(
        Command::new("ss").args(["-Htn", "state", "established", &filter]),
        "ss listing connections",
        SS_TIMEOUT,
    );
    assert!(
        output.status.success(),
        "ss failed ({}): `bash scripts/install-deps.sh` installs iproute2",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    // Each line: Recv-Q Send-Q Local:Port Peer:Port.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter_map(|local| local.rsplit_once(':'))
        .filter_map(|(_, port)| port.parse().ok())
        .collect()
}

/// Destroys the connections from the local ports `ports` to `port`.
pub fn cut(ports: &BTreeSet<u16>, port: u16) {
    assert!(!ports.is_empty(), "no connection to cut");
    for local in ports {
        let filter = format!("( sport = :{local} and dport = :{port} )");
        let output = output_within(
            Command::new("ss").args(["-K", "-tn", &filter]),
            "ss cutting a connection",
            SS_TIMEOUT,
        );
        assert!(
            output.status.success(),
            "ss -K failed ({}): cutting a connection needs root",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let left: BTreeSet<u16> = client_ports_to(port).intersection(ports).copied().collect();
    assert!(
        left.is_empty(),
        "ss -K left {left:?} open (a kernel without INET_DIAG_DESTROY?)"
    );
}
