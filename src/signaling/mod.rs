//! The signaling socket: `GET /ws` (introduced by step 07).
//!
//! Pages send JSON text messages; the server checks each one and relays it
//! according to the step's [`Policy`]. The files form a one-way chain, each
//! using only the ones above it, so they read in this order:
//!
//! | file | job |
//! |---|---|
//! | `limits.rs` | the limits every socket lives under, with the reason for each value |
//! | `protocol.rs` | the wire types: a page's `Request`, the `ServerMessage`s; `splice.rs` keeps a message's own bytes for relaying |
//! | `peers.rs` | the registry: each socket's id and bounded outgoing queue |
//! | `resume.rs` | step 19's resume tokens: which member each one lets back in |
//! | `policy/` | who gets each message: `broadcast.rs` (07-14), `direct.rs` (15-16), `rooms.rs` (17), and the name rules (`display_names.rs`) |
//! | `hub.rs` | the one lock around the registry and the policy, and step 19's held places |
//! | `shared/` | the same rooms kept in Redis, so several processes share them (`--redis-url`) |
//! | `backend.rs` | the one the sockets use: `hub.rs` (the default) or `shared/` |
//! | `session.rs` | one socket's loop: read, heartbeat, rate limit, write |
//! | `route.rs` | the HTTP side: `Origin` check (`origin.rs`), caps (`admission.rs`), frame sizes (`frame_guard.rs`), the upgrade |
//!
//! `rate.rs` (a token bucket) serves both the session and the caps.
//! Only what a step, a test or an operator chooses is public here: the
//! [`Policy`], the [`Limits`] and their defaults, and the connection [`Caps`].

pub(crate) mod admission;
pub(crate) mod backend;
mod frame_guard;
pub(crate) mod hub;
mod limits;
mod origin;
pub(crate) mod peers;
mod policy;
pub(crate) mod protocol;
mod rate;
mod resume;
pub(crate) mod route;
mod session;
pub(crate) mod shared;
mod splice;

pub use admission::{Caps, MAX_SOCKETS_PER_IP, NEW_SOCKETS_PER_IP_PER_MINUTE};
pub use limits::{
    Limits, BURST, CLIENT_TIMEOUT, FLOOD_CLOSE_AFTER, HEARTBEAT_INTERVAL, MAX_MESSAGE_BYTES,
    MEDIA_CONNECT_DEADLINE, MESSAGES_PER_SECOND, OUTGOING_QUEUE, RESUME_GRACE, ROOM_SIZE,
    SEND_TIMEOUT, SETUP_MESSAGES_PER_PEER,
};
pub use policy::Policy;
pub use shared::check_redis_url;
pub use shared::liveness::DEAD_PROCESS_NOTICED_WITHIN;
