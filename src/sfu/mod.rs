//! The selective forwarding unit of step 20, on str0m.
//!
//! In the mesh of steps 16 to 19 each page sends one copy of its camera to
//! every other member and decodes everyone else's. Here each page has one
//! connection, to the server: it sends its tracks once, and the SFU forwards
//! each packet to the other members of its room, without decoding it.
//!
//! The WebRTC stack is str0m: sans I/O, so the SFU owns the one UDP socket
//! (`--media-port`) and hands str0m every datagram and every tick itself.
//! Everything runs in one loop on a thread of its own (`run.rs`), which owns
//! every member's connection (`member.rs`); the signaling side reaches it
//! only through an [`SfuHandle`], with the page's offers and answers, and
//! gets its answers and offers back through a `deliver` function. No second
//! protocol: the SDP travels over `/ws` as `media-offer` and `media-answer`.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`SfuHandle`]: start the loop, send it what the pages say |
//! | `addresses.rs` | where the UDP sockets listen, what they announce |
//! | `member.rs` | one member's connection: its tracks in and out, who offers |
//! | `run.rs` | the loop: UDP in and out, str0m's events, forwarding |

mod addresses;
mod member;
mod run;

pub use addresses::{media_addresses, MediaAddress};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::signaling::peers::PeerId;

/// People in a room of step 20 unless `ROOM_SIZE` says otherwise: each
/// member uploads one copy of its media whatever the room's size, and
/// receives one per other member, so the limit is the downlink and the
/// decoding of eleven pictures on an ordinary laptop, not the uplink as in
/// the mesh (whose rooms hold 4). `ROOM_SIZE` goes up to 16.
pub const ROOM_SIZE: usize = 12;

/// The UDP port the SFU listens on unless told otherwise.
pub const DEFAULT_MEDIA_PORT: u16 = 8443;

/// How the SFU is set up.
#[derive(Clone, Debug)]
pub struct SfuSettings {
    /// Where its UDP sockets bind, and what each announces
    /// ([`media_addresses`] chooses them).
    pub addresses: Vec<MediaAddress>,
    /// How long a member has to bring its connection up (ICE and DTLS)
    /// after its first offer; after that its state goes and the page is
    /// told. `Limits::media_connect_deadline`; tests shorten it.
    pub connect_deadline: Duration,
}

/// Writes `text` to member `id`'s signaling socket.
pub type Deliver = Arc<dyn Fn(&PeerId, String) + Send + Sync>;

/// What the signaling side tells the SFU.
#[derive(Debug)]
pub enum Command {
    /// A page's offer (its first, or a change to what it publishes).
    Offer {
        member: PeerId,
        room: String,
        sdp: String,
    },
    /// A page's answer to the SFU's offer.
    Answer { member: PeerId, sdp: String },
    /// A member left its room or closed its socket.
    Leave { member: PeerId },
}

/// The way to reach the SFU's loop; clone it freely.
#[derive(Clone)]
pub struct SfuHandle {
    commands: mpsc::UnboundedSender<Command>,
    members: Arc<AtomicUsize>,
    local: Vec<SocketAddr>,
}

impl SfuHandle {
    /// Binds the UDP sockets and starts the loop on a thread of its own.
    /// Fails when the first address cannot be bound; any other that cannot
    /// (an address the system is still setting up, say) is left out with a
    /// warning.
    pub fn start(settings: SfuSettings, deliver: Deliver) -> std::io::Result<SfuHandle> {
        // str0m's DTLS and SRTP use the pure-Rust crypto chosen in Cargo.toml.
        str0m::crypto::from_feature_flags().install_process_default();
        let mut sockets = Vec::new();
        for (index, address) in settings.addresses.iter().enumerate() {
            match bind(address.bind) {
                Ok(socket) => sockets.push((socket, address.announced)),
                Err(err) if index == 0 => return Err(err),
                Err(err) => log::warn!("the SFU cannot listen on udp {}: {err}", address.bind),
            }
        }
        if sockets.is_empty() {
            return Err(std::io::Error::other("no address to listen on"));
        }
        let local = sockets
            .iter()
            .map(|(socket, _)| socket.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let (commands, inbox) = mpsc::unbounded_channel();
        let members = Arc::new(AtomicUsize::new(0));
        let counted = members.clone();
        crate::background::spawn("sfu", run::run(sockets, settings, inbox, deliver, counted))?;
        Ok(SfuHandle {
            commands,
            members,
            local,
        })
    }

    /// Hands the loop a page's request; nothing waits.
    pub fn send(&self, command: Command) {
        // The loop ends only with the process.
        let _ = self.commands.send(command);
    }

    /// How many members the SFU holds state for (tests check none is left).
    pub fn member_count(&self) -> usize {
        self.members.load(Ordering::Relaxed)
    }

    /// Where the UDP sockets are bound.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }
}

fn bind(address: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = std::net::UdpSocket::bind(address)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}
