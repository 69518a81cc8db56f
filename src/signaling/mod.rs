//! The signaling socket: `GET /ws` (introduced by step 07).
//!
//! Pages send JSON text messages; the server checks the envelope and relays
//! them according to the step's [`Policy`]. The socket's loop is in
//! [`session`], the shared state in [`hub`], the wire types in [`message`].

pub mod hub;
pub mod message;
pub mod origin;
pub mod rate;
pub mod session;

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use tokio::sync::watch;

/// How the server relays messages (protocol.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Steps 07-14: every valid message goes, unchanged, to every other socket.
    Broadcast,
    /// Steps 15-16: ids, `join` announced to the others, each message to its `to`.
    Direct,
    /// Step 17: as direct, inside named rooms with a size limit.
    Rooms,
}

/// The limits every socket lives under. Each default is a constant with the
/// reason for its value; tests shorten the timings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted; a larger frame closes the socket with 1009.
    pub max_message_bytes: usize,
    /// Sustained messages per second a socket may send.
    pub messages_per_second: u32,
    /// Messages a socket may send at once before the rate applies.
    pub burst: u32,
    /// Refused messages in a row after which the socket is closed (1008).
    pub flood_close_after: u32,
    /// Messages that may wait for one socket before it counts as too slow.
    pub outgoing_queue: usize,
    /// How often the server pings each socket.
    pub heartbeat_interval: Duration,
    /// Silence after which a socket is considered dead and closed.
    pub client_timeout: Duration,
    /// Longest a single write to a socket may take.
    pub send_timeout: Duration,
    /// Most members a room may have (direct and rooms policies).
    pub room_size: usize,
}

/// 64 KiB: an SDP with many candidates is under 10 KiB, and a chat line far
/// less. It is also actix-ws's default frame limit.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// 20 a second sustained: trickle ICE sends a dozen candidates per connection
/// in a second or two, and a person chats far slower.
pub const MESSAGES_PER_SECOND: u32 = 20;
/// 100 at once: a newcomer to a full room of 4 answers three offers and
/// trickles their candidates at the same moment (3 x
/// [`SETUP_MESSAGES_PER_PEER`] = 75). Larger rooms raise it, see
/// [`Limits::with_room_size`].
pub const BURST: u32 = 100;
/// Messages one connection's setup may send at once: the offer or answer and
/// its trickled candidates (a dozen is typical, more on machines with several
/// network interfaces).
pub const SETUP_MESSAGES_PER_PEER: u32 = 25;
// Checked when compiling: the default burst covers a newcomer to a default room.
const _: () = assert!((ROOM_SIZE as u32 - 1) * SETUP_MESSAGES_PER_PEER <= BURST);
/// 200 refusals in a row is a flood, not a burst: close the socket.
pub const FLOOD_CLOSE_AFTER: u32 = 200;
/// 64 queued messages: a page that is that far behind has stopped reading,
/// and holding more would only grow the server's memory.
pub const OUTGOING_QUEUE: usize = 64;
/// Ping every 10 s: proxies and NATs commonly drop idle TCP after 30-60 s.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// 30 s without a frame (three missed pings) means the page is gone.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// 10 s for one write: longer means the page's connection is stuck.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// 4 people: in a mesh each member uploads one stream per other member, so
/// a room of 4 uploads 3 streams from every laptop; more needs an SFU.
pub const ROOM_SIZE: usize = 4;

impl Limits {
    /// These limits for rooms of `room_size` members. The burst grows with
    /// the room so that a newcomer can answer every member at once without
    /// being rate-limited: a refused candidate could cost a connection.
    pub fn with_room_size(self, room_size: usize) -> Limits {
        let others = u32::try_from(room_size.saturating_sub(1)).unwrap_or(u32::MAX);
        Limits {
            room_size,
            burst: self
                .burst
                .max(others.saturating_mul(SETUP_MESSAGES_PER_PEER)),
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: MAX_MESSAGE_BYTES,
            messages_per_second: MESSAGES_PER_SECOND,
            burst: BURST,
            flood_close_after: FLOOD_CLOSE_AFTER,
            outgoing_queue: OUTGOING_QUEUE,
            heartbeat_interval: HEARTBEAT_INTERVAL,
            client_timeout: CLIENT_TIMEOUT,
            send_timeout: SEND_TIMEOUT,
            room_size: ROOM_SIZE,
        }
    }
}

/// Everything the `/ws` route needs, shared by the server's workers.
#[derive(Clone)]
pub struct Signaling {
    pub hub: hub::HubHandle,
    pub limits: Limits,
    pub allowed_origins: Vec<String>,
    pub shutdown: watch::Receiver<bool>,
}

/// `GET /ws`: checks the origin, upgrades, and runs the socket's loop.
pub async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    signaling: web::Data<Signaling>,
) -> actix_web::Result<HttpResponse> {
    if !origin::is_allowed(&req, &signaling.allowed_origins) {
        log::warn!(
            "refused a socket from origin {:?}",
            req.headers().get(actix_web::http::header::ORIGIN)
        );
        return Ok(HttpResponse::Forbidden().body("origin not allowed\n"));
    }
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let limits = signaling.limits;
    let stream = stream
        .max_frame_size(limits.max_message_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_message_bytes);
    // actix-ws's stream is not Send: it must run on this worker's own runtime.
    actix_web::rt::spawn(session::run(
        session,
        stream,
        signaling.hub.clone(),
        limits,
        signaling.shutdown.clone(),
    ));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_covers_a_newcomer_answering_a_full_room() {
        // The default room of 4 fits in the default burst...
        let small = Limits::default().with_room_size(ROOM_SIZE);
        assert_eq!(small.burst, BURST);
        // ...and a room of 16 raises it to 15 connections' worth.
        let large = Limits::default().with_room_size(16);
        assert_eq!(large.room_size, 16);
        assert_eq!(large.burst, 15 * SETUP_MESSAGES_PER_PEER);
        assert_eq!(large.messages_per_second, MESSAGES_PER_SECOND);
    }
}
