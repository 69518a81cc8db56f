//! Where a step's signaling state lives: this process's memory (the
//! default, `hub.rs`) or Redis, shared with other processes (`shared/`,
//! with `--redis-url`). The socket loop (`session.rs`) talks to either
//! through [`Backend`], and cannot tell them apart.

use tokio::sync::mpsc;

use super::hub::{AfterSocket, Ending, HubHandle, Registration};
use super::peers::{NoId, Outgoing, PeerId, SocketNumber};
use super::protocol::Request;
use super::shared::SharedHub;

/// The signaling state, in memory or in Redis; clone it freely.
#[derive(Clone)]
pub enum Backend {
    /// One process's rooms (steps 07 on, the default).
    Memory(HubHandle),
    /// Rooms shared through Redis (steps 15 on, with `--redis-url`).
    Shared(SharedHub),
}

impl Backend {
    /// Registers a socket whose outgoing queue is `outbox`, and welcomes it.
    pub fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Result<Registration, NoId> {
        match self {
            Backend::Memory(hub) => hub.join(outbox),
            Backend::Shared(hub) => hub.join(outbox),
        }
    }

    /// A page's request; a successful `resume` (step 19) returns the id the
    /// socket goes by from now on.
    pub async fn request(&self, from: &PeerId, request: Request) -> Option<PeerId> {
        match self {
            Backend::Memory(hub) => hub.request(from, request),
            Backend::Shared(hub) => hub.request(from, request).await,
        }
    }

    /// The socket `socket` of `id` has ended, as `ending` says.
    pub async fn leave(&self, id: &PeerId, socket: SocketNumber, ending: Ending) -> AfterSocket {
        match self {
            Backend::Memory(hub) => hub.leave(id, socket, ending),
            Backend::Shared(hub) => hub.leave(id, socket, ending).await,
        }
    }

    /// Step 19: the grace of a held member is over.
    pub async fn end_hold(&self, id: &PeerId, socket: SocketNumber) {
        match self {
            Backend::Memory(hub) => hub.end_hold(id, socket),
            Backend::Shared(hub) => hub.end_hold(id, socket).await,
        }
    }

    /// How many sockets this process has, held places included.
    pub fn peer_count(&self) -> usize {
        match self {
            Backend::Memory(hub) => hub.peer_count(),
            Backend::Shared(hub) => hub.peer_count(),
        }
    }

    /// How many rooms this process has members in.
    pub fn room_count(&self) -> usize {
        match self {
            Backend::Memory(hub) => hub.room_count(),
            Backend::Shared(hub) => hub.room_count(),
        }
    }

    /// How many resume tokens are in force here.
    pub fn token_count(&self) -> usize {
        match self {
            Backend::Memory(hub) => hub.token_count(),
            Backend::Shared(hub) => hub.token_count(),
        }
    }

    /// The server has stopped: the shared rooms take this process's members
    /// out and stop its Redis thread; nothing to do in memory.
    pub fn stop(&self) {
        if let Backend::Shared(hub) = self {
            hub.stop();
        }
    }
}
