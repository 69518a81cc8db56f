//! Rooms shared between server processes through Redis (`--redis-url`).
//!
//! Without it a room lives in one process's memory (`hub.rs`). With it, the
//! direct and rooms policies (steps 15 on) keep their rooms in Redis, so the
//! members of one room may be connected to different processes, and one
//! process may stop without taking the service down. The book's chapter
//! "More than one server" tells the design and what fails when; in short:
//!
//! - **Redis holds the truth** (who is in which room, on which process,
//!   under which name) and every change to it is a Lua script (`scripts.rs`,
//!   `lua/`), which Redis runs in one step: the room size and the name rules
//!   hold across processes with no lock of our own.
//! - **Each process has an inbox**, a pub/sub channel (`inbox.rs`). A
//!   script that lets a message through publishes it to the inbox of the
//!   process its receiver is connected to, which writes it to the socket.
//! - **Pub/sub delivers at most once**: what is published while a process is
//!   not subscribed is lost. So after every (re)subscription a process
//!   *resyncs*: it writes its own members back into Redis (Redis may have
//!   restarted empty) and compares each of its rooms with its own view,
//!   telling its pages the `join`s and `leave`s they missed.
//! - **Processes die**: each says it is alive every second with a key that
//!   expires after three (`liveness.rs`); any process finding one expired
//!   takes that process's members out, announced as `leave`.
//!
//! What stays in each process: its sockets and their queues (`Peers`, as in
//! memory), the room and name of each of its members (to stamp `from` and
//! `username`), and its view of each room it has members in.
//!
//! Each message a page sends costs one script call (a round trip to Redis)
//! and one publish; `benches/compare.rs` measures that beside the
//! in-memory hub.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`SharedHub`]: what it keeps, the counts, stop |
//! | `start.rs` | start: its own thread and runtime, the connection, the two loops |
//! | `scripts.rs`, `lua/` | the Lua scripts: every change to the shared state |
//! | `requests.rs` | what a socket asks: register, join, leave, a message; its end |
//! | `resume.rs` | step 19: a member takes its place back, on any process |
//! | `envelope.rs` | what travels on an inbox channel |
//! | `inbox.rs` | the subscription: deliver, and resubscribe and resync after a loss |
//! | `view.rs` | delivering an envelope; the resync that mends this process's view |
//! | `liveness.rs` | "alive" every second, and the members of dead processes taken out |

mod envelope;
mod inbox;
pub(crate) mod liveness;
mod requests;
mod resume;
mod scripts;
mod start;
mod view;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::{oneshot, Notify};

use super::peers::{short, PeerId, Peers, SocketNumber};
use scripts::SCRIPTS;

/// The room of the one chat everybody shares under the direct policy (steps
/// 15-16), which has no room names.
const THE_CHAT: &str = "chat";

/// Why the shared rooms could not start: one line for the operator.
#[derive(Debug)]
pub struct SharedError(pub String);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that `url` is a Redis URL (`redis://host:port/db`), without
/// connecting: the settings check it at start.
pub fn check_redis_url(url: &str) -> Result<(), String> {
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|err| format!("not a Redis URL ({err}); it looks like redis://127.0.0.1:6379/"))
}

/// The way to reach the shared rooms; clone it freely.
#[derive(Clone)]
pub struct SharedHub {
    shared: Arc<Shared>,
}

struct Shared {
    /// Commands and scripts; reconnects by itself after Redis comes back.
    redis: ConnectionManager,
    /// Opens the inbox's own connection (a subscribed connection can do
    /// nothing else).
    client: redis::Client,
    /// Put in front of every key and channel: `videochat:<step>:`.
    prefix: String,
    /// This process's id: random, new at every start.
    node: String,
    /// Rooms named in `join` (step 17 on) or the one chat (15-16).
    named_rooms: bool,
    room_size: usize,
    /// Step 19: a member whose socket drops keeps its place for this long.
    resume_grace: Option<Duration>,
    local: Mutex<Local>,
    /// Asks the inbox to resync: the liveness loop found this process
    /// forgotten, or a change could not be written.
    resync_wanted: Notify,
    /// Stops the Redis thread (see [`SharedHub::stop`]).
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What this process keeps for itself.
struct Local {
    /// Its sockets, as in memory.
    peers: Peers,
    sockets_opened: SocketNumber,
    /// Its members: room and checked name.
    members: HashMap<PeerId, Membership>,
    /// Each room it has members in, as it last knew it (ids): what a resync
    /// compares Redis with.
    rooms: HashMap<String, HashSet<PeerId>>,
    /// Step 19: each socket's resume token, stored in Redis at `join`.
    tokens: HashMap<PeerId, String>,
    /// Step 19: ids that resumed on another process while their old socket
    /// here was still open; that socket ends as "resumed elsewhere".
    taken: HashSet<PeerId>,
}

#[derive(Clone)]
struct Membership {
    room: String,
    username: String,
    /// True until Redis has answered the `join`.
    pending: bool,
}

impl SharedHub {
    /// Takes this process's remaining members out of their rooms (announced)
    /// and itself off the list of processes, then ends the Redis thread.
    pub fn stop(&self) {
        let stop = self
            .shared
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let thread = self
            .shared
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        self.shared
            .local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn redis(&self) -> ConnectionManager {
        self.shared.redis.clone()
    }

    /// How many sockets this process has, held places included.
    pub fn peer_count(&self) -> usize {
        self.local().peers.len()
    }

    /// How many rooms this process has members in.
    pub fn room_count(&self) -> usize {
        self.local().rooms.len()
    }

    /// How many resume tokens this process has handed out and not retired.
    pub fn token_count(&self) -> usize {
        self.local().tokens.len()
    }

    /// The server is stopping: its members leave (announced) and the other
    /// processes stop counting on it.
    async fn retire(&self) {
        let retired: redis::RedisResult<i64> = SCRIPTS
            .retire
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .invoke_async(&mut self.redis())
            .await;
        if let Err(err) = retired {
            log::warn!("could not take this process's members out of Redis: {err}");
        }
    }
}

/// Whether this process has a member in `room`.
fn has_members_in(local: &Local, room: &str) -> bool {
    local.members.values().any(|member| member.room == room)
}

/// Forgets this process's view of `room` once it has no member there.
fn forget_room_if_empty(local: &mut Local, room: &str) {
    if !has_members_in(local, room) {
        local.rooms.remove(room);
    }
}

/// Step 19: `id` resumed on another process. Its socket here (away, or
/// half-open) lets go without a `leave`: the member is still in its room.
fn take_away(local: &mut Local, id: &str) {
    let Some((id, member)) = local.members.remove_entry(id) else {
        return;
    };
    local.tokens.remove(&id);
    // A socket still open here ends as "resumed on another connection"; one
    // already away is waiting out its grace and finds nothing to end.
    let open = !local.peers.is_away(&id);
    if local.peers.remove(&id) && open {
        local.taken.insert(id.clone());
    }
    forget_room_if_empty(local, &member.room);
    log::info!("peer {} resumed on another process", short(&id));
}

/// The refusal when Redis cannot be reached.
fn unavailable(what: &str) -> String {
    format!("the room service (Redis) is not answering: this {what} was not delivered; try again shortly")
}
