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
//! | `member.rs` | one member's connection: its tracks in and out, who offers |
//! | `run.rs` | the loop: UDP in and out, str0m's events, forwarding |

mod member;
mod run;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::signaling::peers::PeerId;

/// The UDP port the SFU listens on unless told otherwise.
pub const DEFAULT_MEDIA_PORT: u16 = 8443;

/// How the SFU is set up.
#[derive(Clone, Debug)]
pub struct SfuSettings {
    /// Where the UDP socket binds.
    pub bind: SocketAddr,
    /// The address announced in the SFU's candidate, when the bound one is
    /// not what browsers reach (behind a 1:1 NAT, in a container).
    pub announced: Option<IpAddr>,
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
    local: SocketAddr,
}

impl SfuHandle {
    /// Binds the UDP socket and starts the loop on a thread of its own.
    pub fn start(settings: SfuSettings, deliver: Deliver) -> std::io::Result<SfuHandle> {
        // str0m's DTLS and SRTP use the pure-Rust crypto chosen in Cargo.toml.
        str0m::crypto::from_feature_flags().install_process_default();
        let socket = std::net::UdpSocket::bind(settings.bind)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let (commands, inbox) = mpsc::unbounded_channel();
        let members = Arc::new(AtomicUsize::new(0));
        let counted = members.clone();
        crate::background::spawn("sfu", run::run(socket, settings, inbox, deliver, counted))?;
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

    /// Where the UDP socket is bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}
