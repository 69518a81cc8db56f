//! Test networks with real NATs, built from Linux network namespaces.
//!
//! One machine's loopback has no NAT, so a call there always connects on
//! host candidates and proves nothing about STUN. These networks do what the
//! internet does to two people at home:
//!
//! ```text
//!  home A 192.0.2.2 ── router A ──┐                      ┌── router B ── home B 198.51.100.2
//!   (Alice's browser)  192.0.2.1  │ 203.0.113.2    .3    │  198.51.100.1  (Bob's browser)
//!                                 └──── "internet" ──────┘
//!                                  203.0.113.1: the signaling server, coturn
//! ```
//!
//! Each box is a namespace; the links are veth pairs. Each router forwards
//! only from its home to the internet (and the answers to that), and
//! rewrites the home's address with nftables' `masquerade` (see [`Nat`]: a
//! port-restricted cone, which STUN gets through, or symmetric, which only
//! TURN does).
//! Nothing routes out of the namespaces (the internet's default route ends
//! in a link inside it that drops everything), and the addresses are the
//! documentation ranges (RFC 5737), never a real network's.
//!
//! Building them needs root (CI runs as root). The networks last for the
//! test binary's life and are deleted when it exits; a run that was killed
//! leaves its namespaces behind under its process id, and the next run
//! deletes them.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::OnceLock;

/// The internet's one address: the signaling server and coturn listen here.
pub const INTERNET_HOST: &str = "203.0.113.1";
/// The port the step's server listens on inside the internet namespace
/// (a namespace of its own, so it is always free): fixed, so that every
/// browser of the binary can be told once that this origin is a test origin.
pub const SERVER_PORT: u16 = 8080;

/// What the two routers do to their homes' traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nat {
    /// nftables' `masquerade`: the home's port is kept for every
    /// destination and unsolicited packets are dropped (port-restricted
    /// cone). STUN gets through.
    PortRestrictedCone,
    /// `masquerade fully-random`: a new port for every destination
    /// (symmetric). The address STUN learns is useless to the peer; only a
    /// TURN relay gets through.
    Symmetric,
}

impl Nat {
    fn rule(self) -> &'static str {
        match self {
            Nat::PortRestrictedCone => "masquerade",
            Nat::Symmetric => "masquerade fully-random",
        }
    }

    fn letter(self) -> char {
        match self {
            Nat::PortRestrictedCone => 'c',
            Nat::Symmetric => 's',
        }
    }
}

/// One set of networks: an internet and two homes behind routers of one kind.
pub struct Networks {
    prefix: String,
}

static CONE: OnceLock<Networks> = OnceLock::new();
static SYMMETRIC: OnceLock<Networks> = OnceLock::new();
static AT_EXIT: OnceLock<()> = OnceLock::new();

/// The networks whose routers are `nat`, built on first use. Panics with
/// one line that says why when this machine cannot build them (no root, no
/// namespaces, no nft).
pub fn networks(nat: Nat) -> &'static Networks {
    let cell = match nat {
        Nat::PortRestrictedCone => &CONE,
        Nat::Symmetric => &SYMMETRIC,
    };
    cell.get_or_init(|| {
        let networks = Networks {
            prefix: format!("vc{}{}", std::process::id(), nat.letter()),
        };
        AT_EXIT.get_or_init(|| {
            delete_stale();
            // SAFETY: registering a plain `extern "C" fn` with no arguments
            // is what atexit expects; the function only reads statics.
            unsafe {
                libc::atexit(delete_networks_at_exit);
            }
        });
        networks.build(nat);
        networks
    })
}

extern "C" fn delete_networks_at_exit() {
    for networks in [CONE.get(), SYMMETRIC.get()].into_iter().flatten() {
        for name in networks.names() {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
        }
    }
}

/// Deletes namespaces left by earlier runs that were killed before their
/// exit hook ran (their process no longer exists).
fn delete_stale() {
    let listed = Command::new("ip").args(["netns", "list"]).output();
    let Ok(listed) = listed else { return };
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("vc") else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(pid) = digits.parse::<u32>() else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl Networks {
    /// The namespace of `part`: `inet`, `ra`, `rb`, `a` (Alice's home) or `b`.
    pub fn namespace(&self, part: &str) -> String {
        format!("{}-{part}", self.prefix)
    }

    /// Gives router `part`'s internet side the address `to` in place of
    /// `from` (both `address/24`), as when a home's public address changes:
    /// a phone leaving Wi-Fi for mobile data, a router that reconnects to
    /// its provider. Linux forgets every NAT mapping made with the old
    /// address, so every connection through it dies: calls, and the
    /// signaling socket. The returned guard moves it back.
    pub fn move_router(&self, part: &str, from: &str, to: &str) -> MovedRouter {
        let router = self.namespace(part);
        ip(&["-n", &router, "addr", "del", from, "dev", "wan"]);
        ip(&["-n", &router, "addr", "add", to, "dev", "wan"]);
        MovedRouter {
            router,
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    fn names(&self) -> Vec<String> {
        ["inet", "ra", "rb", "a", "b"]
            .into_iter()
            .map(|part| self.namespace(part))
            .collect()
    }

    fn build(&self, nat: Nat) {
        let [inet, ra, rb, a, b] = ["inet", "ra", "rb", "a", "b"].map(|p| self.namespace(p));
        for name in [&inet, &ra, &rb, &a, &b] {
            ip(&["netns", "add", name]);
            ip(&["-n", name, "link", "set", "lo", "up"]);
        }
        ip(&["-n", &inet, "link", "add", "internet", "type", "bridge"]);
        ip(&[
            "-n",
            &inet,
            "addr",
            "add",
            "203.0.113.1/24",
            "dev",
            "internet",
        ]);
        ip(&["-n", &inet, "link", "set", "internet", "up"]);
        sink_for_home_addresses(&inet);
        let homes = [
            (
                &ra,
                &a,
                "203.0.113.2/24",
                "192.0.2.1/24",
                "192.0.2.2/24",
                "192.0.2.1",
            ),
            (
                &rb,
                &b,
                "203.0.113.3/24",
                "198.51.100.1/24",
                "198.51.100.2/24",
                "198.51.100.1",
            ),
        ];
        for (index, (router, home, wan, lan, address, gateway)) in homes.into_iter().enumerate() {
            let uplink = format!("uplink{index}");
            ip(&[
                "link", "add", "wan", "netns", router, "type", "veth", "peer", "name", &uplink,
                "netns", &inet,
            ]);
            ip(&[
                "-n", &inet, "link", "set", &uplink, "master", "internet", "up",
            ]);
            ip(&[
                "link", "add", "lan", "netns", router, "type", "veth", "peer", "name", "eth0",
                "netns", home,
            ]);
            ip(&["-n", router, "addr", "add", wan, "dev", "wan"]);
            ip(&["-n", router, "addr", "add", lan, "dev", "lan"]);
            ip(&["-n", home, "addr", "add", address, "dev", "eth0"]);
            for (namespace, link) in [(router, "wan"), (router, "lan"), (home, "eth0")] {
                ip(&["-n", namespace, "link", "set", link, "up"]);
            }
            ip(&["-n", home, "route", "add", "default", "via", gateway]);
            in_namespace(router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
            router_rules(router, nat.rule());
        }
    }
}

/// A router moved by [`Networks::move_router`]; moves it back when dropped,
/// for the next test that uses these networks.
pub struct MovedRouter {
    router: String,
    from: String,
    to: String,
}

impl Drop for MovedRouter {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["-n", &self.router, "addr", "del", &self.to, "dev", "wan"])
            .status();
        let _ = Command::new("ip")
            .args(["-n", &self.router, "addr", "add", &self.from, "dev", "wan"])
            .status();
    }
}

/// Gives the internet a default route into a link that leads nowhere, so
/// that packets to the homes' private addresses vanish, as they do on the
/// real internet, instead of failing at once.
///
/// This matters for TURN: ICE has each relay try every candidate of the
/// peer, host addresses included. With no route at all, coturn's send to a
/// home address fails with "Network is unreachable" and coturn closes that
/// whole allocation, the working relayed path with it. A real TURN server
/// has a default route and never sees that error. The link is a veth pair
/// with ARP off (no neighbour to resolve) whose other end drops everything,
/// since the internet does not forward.
fn sink_for_home_addresses(inet: &str) {
    ip(&[
        "-n", inet, "link", "add", "sink", "type", "veth", "peer", "name", "sink-end",
    ]);
    ip(&["-n", inet, "link", "set", "sink", "arp", "off", "up"]);
    ip(&["-n", inet, "link", "set", "sink-end", "up"]);
    ip(&["-n", inet, "route", "add", "default", "dev", "sink"]);
}

/// The router's rules: forward from the home out and the answers back in,
/// nothing else, rewriting the home's address with `how`.
///
/// The `input` chain matters for STUN. When the peer's first check reaches
/// the router before the home's own first packet has gone out, conntrack
/// would record it as a new connection to the router itself; the home's
/// packet to the same peer would then find its port taken and leave from
/// another one, and the peer would never hear it. Dropping unsolicited
/// packets in `input` keeps that entry from ever being confirmed, as a home
/// router's firewall does.
fn router_rules(router: &str, how: &str) {
    let rules = format!(
        "table ip nat {{
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname \"wan\" {how}
  }}
}}
table ip filter {{
  chain forward {{
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname \"lan\" oifname \"wan\" accept
  }}
  chain input {{
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname {{ \"lo\", \"lan\" }} accept
  }}
}}
"
    );
    let path = std::env::temp_dir().join(format!("{router}.nft"));
    std::fs::write(&path, rules).expect("write the router's rules");
    in_namespace(router, &["nft", "-f", &path.display().to_string()]);
    let _ = std::fs::remove_file(path);
}

/// Runs `ip args`, failing the test with one line if it cannot.
fn ip(args: &[&str]) {
    run("ip", args);
}

/// A command that runs `program` inside `namespace` (`ip netns exec`),
/// for the caller to add arguments to and start.
pub fn command_in(namespace: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", namespace]).arg(program);
    command
}

/// Runs `job` on a thread of its own that has joined `namespace`'s network,
/// and returns what it returns. Sockets the job opens belong to the
/// namespace (they keep working after the thread ends); the rest of the
/// process stays on this machine's network.
pub fn inside<T: Send + 'static>(namespace: &str, job: impl FnOnce() -> T + Send + 'static) -> T {
    let namespace = namespace.to_string();
    std::thread::spawn(move || {
        enter(&namespace);
        job()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A free port on this machine's loopback that leads to the same port on
/// the loopback of `namespace`, for the lifetime of the test binary: the
/// caller starts a server on that port inside the namespace.
///
/// This is how a test reaches a browser's driver that runs inside a home
/// (geckodriver, and Firefox's WebDriver BiDi socket): it carries only the
/// test's commands, never call traffic, and gives the home no new address
/// or route. The number is the same on both sides because both servers
/// refuse a request whose `Host` header names another port. A thread that
/// has joined the namespace makes the inner connection for each connection
/// accepted outside, and two more copy the bytes across.
pub fn loopback_link(namespace: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener
        .local_addr()
        .expect("the listener's address")
        .port();
    let namespace = namespace.to_string();
    std::thread::spawn(move || {
        enter(&namespace);
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            // Refused (nothing listens yet): the client sees its connection
            // close, as it would have seen it refused.
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            copy_both_ways(client, upstream);
        }
    });
    port
}

fn copy_both_ways(client: TcpStream, upstream: TcpStream) {
    let (Ok(from_client), Ok(from_upstream)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    for (mut from, mut to) in [(from_client, upstream), (from_upstream, client)] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}

/// Moves the calling thread, and only it, into `namespace`'s network
/// (setns(2) with CLONE_NEWNET affects the calling thread alone).
fn enter(namespace: &str) {
    let path = format!("/run/netns/{namespace}");
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("cannot open {path} ({e}): the NAT tests need root"));
    // SAFETY: setns is given an open namespace file of the right type; it
    // changes which network the calling thread's new sockets belong to.
    let status = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        status,
        0,
        "cannot join the network of {namespace}: {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `command` inside `namespace`.
fn in_namespace(namespace: &str, command: &[&str]) {
    let mut args = vec!["netns", "exec", namespace];
    args.extend_from_slice(command);
    run("ip", &args);
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output();
    match output {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "cannot build the NAT test networks (they need root and network namespaces): `{program} {}` said: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(err) => panic!(
            "cannot build the NAT test networks: cannot run {program} ({err}): `bash scripts/install-deps.sh` installs iproute2 and nftables"
        ),
    }
}
