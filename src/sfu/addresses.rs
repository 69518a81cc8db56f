//! Where the SFU listens for media, and which addresses it announces to the
//! browsers in its candidates.
//!
//! The SFU is ICE-lite: it gathers nothing and only answers the browsers'
//! connectivity checks, on the addresses it announced. So the announced
//! addresses must be ones the browsers will actually try:
//!
//! - `--media-address` given (behind a 1:1 NAT, in a container): the socket
//!   listens on every address of that family and announces the given one.
//! - The server listens on one address that is not loopback: that one.
//! - The server listens on loopback (the default, `127.0.0.1`) or on every
//!   address (`0.0.0.0`): one socket on each of the machine's addresses,
//!   loopback included. Loopback alone is not enough, even when everyone is
//!   on this machine: Firefox pairs a loopback candidate only with a
//!   loopback candidate of its own and gathers none unless a hidden
//!   preference says so, so its checks would never start.
//!
//! The UDP port answers only checks that carry the credentials of an offer
//! the server answered over the signaling socket, so listening on more
//! addresses than the HTTP server does exposes nothing a stranger can use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One UDP socket of the SFU: where it binds, and the address its candidate
/// announces (what the browsers send to, and what str0m is told the packets
/// arrived at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaAddress {
    pub bind: SocketAddr,
    pub announced: IpAddr,
}

/// The SFU's sockets for a server listening on `listener`, with the media
/// `port` and the `announced` address from the settings; `machine` lists
/// this machine's addresses (`host_names::interface_addresses`).
pub fn media_addresses(
    listener: IpAddr,
    port: u16,
    announced: Option<IpAddr>,
    machine: &[IpAddr],
) -> Vec<MediaAddress> {
    if let Some(announced) = announced {
        let any: IpAddr = match announced {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        return vec![MediaAddress {
            bind: SocketAddr::new(any, port),
            announced,
        }];
    }
    if !listener.is_loopback() && !listener.is_unspecified() {
        return vec![MediaAddress {
            bind: SocketAddr::new(listener, port),
            announced: listener,
        }];
    }
    let mut addresses: Vec<IpAddr> = machine
        .iter()
        .copied()
        .filter(|ip| !is_link_local(ip))
        .collect();
    // Loopback first, and always there (even where interfaces cannot be listed).
    let loopback: IpAddr = match listener {
        IpAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        IpAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
    };
    addresses.retain(|ip| *ip != loopback);
    addresses.insert(0, loopback);
    addresses
        .into_iter()
        .map(|ip| MediaAddress {
            bind: SocketAddr::new(ip, port),
            announced: ip,
        })
        .collect()
}

/// Link-local addresses (169.254/16, fe80::/10) need an interface name to be
/// reached and browsers do not pair them with ordinary ones: never announced.
fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    const MACHINE: [&str; 5] = ["127.0.0.1", "::1", "192.0.2.2", "fe80::1", "169.254.0.9"];

    fn machine() -> Vec<IpAddr> {
        MACHINE.iter().map(|text| ip(text)).collect()
    }

    #[test]
    fn a_given_address_is_announced_and_every_address_listened_on() {
        let sockets = media_addresses(ip("127.0.0.1"), 8443, Some(ip("203.0.113.7")), &machine());
        assert_eq!(
            sockets,
            vec![MediaAddress {
                bind: "0.0.0.0:8443".parse().expect("an address"),
                announced: ip("203.0.113.7"),
            }]
        );
    }

    #[test]
    fn a_server_on_one_public_address_uses_that_one() {
        let sockets = media_addresses(ip("198.51.100.4"), 0, None, &machine());
        assert_eq!(sockets.len(), 1);
        assert_eq!(sockets[0].announced, ip("198.51.100.4"));
        assert_eq!(
            sockets[0].bind,
            "198.51.100.4:0".parse().expect("an address")
        );
    }

    #[test]
    fn a_server_on_loopback_listens_on_every_address_but_link_local() {
        let announced: Vec<IpAddr> = media_addresses(ip("127.0.0.1"), 8443, None, &machine())
            .iter()
            .map(|socket| socket.announced)
            .collect();
        assert_eq!(announced, vec![ip("127.0.0.1"), ip("::1"), ip("192.0.2.2")]);
    }

    #[test]
    fn loopback_is_there_even_when_interfaces_cannot_be_listed() {
        let sockets = media_addresses(ip("0.0.0.0"), 8443, None, &[]);
        assert_eq!(sockets.len(), 1);
        assert_eq!(
            sockets[0].bind,
            "127.0.0.1:8443".parse().expect("an address")
        );
    }
}
