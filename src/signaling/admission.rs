//! Who may open a signaling socket: caps on open sockets and on new ones.
//!
//! Every socket holds a file descriptor and some memory for as long as it is
//! open, so without caps one address could open sockets until the process
//! runs out of files, and then nobody (not even a page load) gets in. Three
//! caps, each refused with a status and a reason rather than a time-out:
//!
//! - all sockets together ([`Caps::max_sockets`]): 503, the server is full;
//! - open sockets from one address ([`Caps::max_sockets_per_ip`]): 429;
//! - new sockets from one address per minute ([`Caps::new_sockets_per_ip_per_minute`],
//!   a token bucket whose burst is the per-address cap): 429.
//!
//! IPv6 addresses are counted by their /64 network: one host is usually given
//! a whole /64, and could otherwise take a fresh address for every socket.
//! Behind a reverse proxy every socket comes from the proxy's address, so the
//! per-address caps count the proxy: raise them there.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::rate::TokenBucket;

/// The caps, as an operator sets them (`MAX_SOCKETS`, `MAX_SOCKETS_PER_IP`,
/// `NEW_SOCKETS_PER_IP_PER_MINUTE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// `None`: as many as the process's file limit allows (the server works
    /// that ceiling out at start and never admits more, whatever is set).
    pub max_sockets: Option<usize>,
    pub max_sockets_per_ip: usize,
    pub new_sockets_per_ip_per_minute: u32,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            max_sockets: None,
            max_sockets_per_ip: MAX_SOCKETS_PER_IP,
            new_sockets_per_ip_per_minute: NEW_SOCKETS_PER_IP_PER_MINUTE,
        }
    }
}

/// 32 open sockets from one address: a household or an office behind one
/// NAT has a few people with a tab or two each; a whole class behind one
/// address needs more (`MAX_SOCKETS_PER_IP`).
pub const MAX_SOCKETS_PER_IP: usize = 32;
/// 60 new sockets a minute from one address, after a burst of
/// [`MAX_SOCKETS_PER_IP`]: reloads and reconnects stay far below it.
pub const NEW_SOCKETS_PER_IP_PER_MINUTE: u32 = 60;

/// Why a socket was refused; each maps to an HTTP status and a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    ServerFull(usize),
    TooManyFromAddress(usize),
    TooFastFromAddress(u32),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ServerFull(max) => write!(
                f,
                "the server is full ({max} signaling sockets): try again later"
            ),
            Refusal::TooManyFromAddress(max) => write!(
                f,
                "too many signaling sockets from your address ({max} at most): close a tab"
            ),
            Refusal::TooFastFromAddress(rate) => write!(
                f,
                "too many new signaling sockets from your address ({rate} a minute at most): wait a moment"
            ),
        }
    }
}

#[derive(Debug)]
struct Address {
    open: usize,
    new_sockets: TokenBucket,
}

#[derive(Debug, Default)]
struct State {
    open: usize,
    by_address: HashMap<IpAddr, Address>,
}

/// The counts, shared by every worker. Admitting is a few map operations
/// under a lock that is never held across an `.await`.
#[derive(Clone, Debug)]
pub struct Admission {
    caps: Caps,
    /// All sockets together: the configured cap under the file ceiling.
    max_sockets: usize,
    state: Arc<Mutex<State>>,
}

/// One admitted socket; dropping it gives its place back.
#[derive(Debug)]
pub struct Permit {
    address: IpAddr,
    state: Arc<Mutex<State>>,
}

impl Admission {
    /// Counts under `caps`, and never more than `ceiling` sockets in all.
    pub fn new(caps: Caps, ceiling: usize) -> Admission {
        Admission {
            caps,
            max_sockets: caps
                .max_sockets
                .map_or(ceiling, |wanted| wanted.min(ceiling)),
            state: Arc::default(),
        }
    }

    /// The most sockets it admits at once.
    pub fn max_sockets(&self) -> usize {
        self.max_sockets
    }

    /// Admits one more socket from `ip`, or says why not.
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<Permit, Refusal> {
        let address = counted_as(ip);
        let mut state = lock(&self.state);
        state.forget_idle_addresses(now);
        if state.open >= self.max_sockets {
            return Err(Refusal::ServerFull(self.max_sockets));
        }
        let caps = self.caps;
        let entry = state.by_address.entry(address).or_insert_with(|| Address {
            open: 0,
            new_sockets: TokenBucket::per_minute(
                u32::try_from(caps.max_sockets_per_ip).unwrap_or(u32::MAX),
                caps.new_sockets_per_ip_per_minute,
                now,
            ),
        });
        if entry.open >= caps.max_sockets_per_ip {
            return Err(Refusal::TooManyFromAddress(caps.max_sockets_per_ip));
        }
        if !entry.new_sockets.try_take(now) {
            return Err(Refusal::TooFastFromAddress(
                caps.new_sockets_per_ip_per_minute,
            ));
        }
        entry.open += 1;
        state.open += 1;
        Ok(Permit {
            address,
            state: self.state.clone(),
        })
    }

    /// Open sockets now (all addresses).
    #[cfg(test)]
    fn open(&self) -> usize {
        lock(&self.state).open
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        state.open = state.open.saturating_sub(1);
        if let Some(entry) = state.by_address.get_mut(&self.address) {
            entry.open = entry.open.saturating_sub(1);
        }
    }
}

impl State {
    /// Forgets addresses that hold nothing and whose rate has refilled, once
    /// there are many of them: the map stays about as small as the open
    /// sockets, and an address that opens and closes sockets in a loop is
    /// still remembered (and limited) until its bucket has refilled.
    fn forget_idle_addresses(&mut self, now: Instant) {
        if self.by_address.len() > 2 * self.open + FORGET_AFTER_IDLE_ADDRESSES {
            self.by_address
                .retain(|_, address| address.open > 0 || !address.new_sockets.is_full(now));
        }
    }
}

/// How many idle addresses may be remembered before they are swept.
const FORGET_AFTER_IDLE_ADDRESSES: usize = 1024;

/// The state is only counts: a panic elsewhere while it was locked leaves
/// nothing half-done, so a poisoned lock is used as it is.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address a socket is counted under: IPv4 as it is, IPv6 by its /64.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn caps(max: usize, per_ip: usize, per_minute: u32) -> Admission {
        Admission::new(
            Caps {
                max_sockets: Some(max),
                max_sockets_per_ip: per_ip,
                new_sockets_per_ip_per_minute: per_minute,
            },
            usize::MAX,
        )
    }

    #[test]
    fn the_file_ceiling_holds_whatever_is_configured() {
        let wanted = |max| Caps {
            max_sockets: max,
            ..Caps::default()
        };
        assert_eq!(Admission::new(wanted(None), 500).max_sockets(), 500);
        assert_eq!(Admission::new(wanted(Some(900)), 500).max_sockets(), 500);
        assert_eq!(Admission::new(wanted(Some(20)), 500).max_sockets(), 20);
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn per_address_cap_leaves_other_addresses_in() {
        let admission = caps(100, 2, 1000);
        let now = Instant::now();
        let _a = admission.admit(ip("127.0.0.1"), now).unwrap();
        let b = admission.admit(ip("127.0.0.1"), now).unwrap();
        assert_eq!(
            admission.admit(ip("127.0.0.1"), now).unwrap_err(),
            Refusal::TooManyFromAddress(2)
        );
        assert!(admission.admit(ip("127.0.0.2"), now).is_ok());
        drop(b);
        let later = now + Duration::from_secs(1);
        assert!(admission.admit(ip("127.0.0.1"), later).is_ok());
    }

    #[test]
    fn global_cap_counts_every_address() {
        let admission = caps(2, 10, 1000);
        let now = Instant::now();
        let _a = admission.admit(ip("192.0.2.1"), now).unwrap();
        let _b = admission.admit(ip("192.0.2.2"), now).unwrap();
        assert_eq!(
            admission.admit(ip("192.0.2.3"), now).unwrap_err(),
            Refusal::ServerFull(2)
        );
        assert_eq!(admission.open(), 2);
    }

    #[test]
    fn new_sockets_are_rate_limited_per_address() {
        let admission = caps(100, 3, 60);
        let start = Instant::now();
        let mut held = Vec::new();
        // The burst is the per-address cap; each one closes at once.
        for _ in 0..3 {
            held.push(admission.admit(ip("198.51.100.1"), start).unwrap());
        }
        held.truncate(2);
        assert_eq!(
            admission.admit(ip("198.51.100.1"), start).unwrap_err(),
            Refusal::TooFastFromAddress(60)
        );
        // One a second comes back.
        assert!(admission
            .admit(ip("198.51.100.1"), start + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn ipv6_is_counted_by_its_64() {
        let admission = caps(100, 1, 1000);
        let now = Instant::now();
        let _a = admission.admit(ip("2001:db8::1"), now).unwrap();
        assert!(admission.admit(ip("2001:db8::2"), now).is_err());
        assert!(admission.admit(ip("2001:db8:0:1::1"), now).is_ok());
    }

    #[test]
    fn closing_and_reopening_does_not_reset_the_rate() {
        let admission = caps(100, 2, 60);
        let now = Instant::now();
        for _ in 0..2 {
            drop(admission.admit(ip("198.51.100.9"), now).unwrap());
        }
        assert_eq!(
            admission.admit(ip("198.51.100.9"), now).unwrap_err(),
            Refusal::TooFastFromAddress(60)
        );
    }

    #[test]
    fn idle_addresses_are_forgotten_once_refilled() {
        let admission = caps(100_000, 1, 60);
        let start = Instant::now();
        for n in 0..=FORGET_AFTER_IDLE_ADDRESSES as u32 {
            drop(
                admission
                    .admit(IpAddr::from(n.to_be_bytes()), start)
                    .unwrap(),
            );
        }
        assert_eq!(admission.open(), 0);
        // A minute later every bucket is full again: the next admission sweeps them.
        let later = start + Duration::from_secs(60);
        drop(admission.admit(ip("203.0.113.1"), later).unwrap());
        assert_eq!(lock(&admission.state).by_address.len(), 1);
    }
}
