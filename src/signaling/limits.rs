//! The limits every signaling socket lives under, each a constant with the
//! reason for its value. Tests shorten the timings through
//! `Step::with_limits`; an operator sets only the room size (`ROOM_SIZE`).

use std::time::Duration;

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
    /// Messages that may wait for one socket; see [`Limits::outgoing_queue_for`].
    pub outgoing_queue: usize,
    /// How often the server pings each socket.
    pub heartbeat_interval: Duration,
    /// Silence after which a socket is considered dead and closed.
    pub client_timeout: Duration,
    /// Longest a single write to a socket may take.
    pub send_timeout: Duration,
    /// Most members a room may have (direct and rooms policies).
    pub room_size: usize,
    /// Step 19: how long the place of a member whose socket dropped is
    /// held for it to resume (steps without resume ignore it).
    pub resume_grace: Duration,
    /// Step 20: how long a member has to bring its media connection to the
    /// SFU up (ICE and DTLS) after its first offer.
    pub media_connect_deadline: Duration,
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
/// The queue for the default room and burst: see [`Limits::outgoing_queue_for`].
pub const OUTGOING_QUEUE: usize = Limits::outgoing_queue_for(ROOM_SIZE, BURST);
/// Ping every 10 s: proxies and NATs commonly drop idle TCP after 30-60 s.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// 30 s without a frame (three missed pings) means the page is gone.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// 10 s for one write: longer means the page's connection is stuck.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// 4 people: in a mesh each member uploads one stream per other member, so
/// a room of 4 uploads 3 streams from every laptop; more needs an SFU.
pub const ROOM_SIZE: usize = 4;
/// 20 s to resume (step 19): a page's reconnect attempts come after 1, 2, 4
/// and 8 s (its backoff), 15 s in all; longer would leave the others looking
/// at the tile of someone who has really gone.
pub const RESUME_GRACE: Duration = Duration::from_secs(20);

/// Step 20: ICE and DTLS take a second or two, and ICE's own checks give up
/// after about 30 s; a member not connected by then never will be, and the
/// SFU forgets it (the page is told why).
pub const MEDIA_CONNECT_DEADLINE: Duration = Duration::from_secs(30);

impl Limits {
    /// These limits for rooms of `room_size` members. The burst grows with
    /// the room so that a newcomer can answer every member at once without
    /// being rate-limited: a refused candidate could cost a connection.
    pub fn with_room_size(self, room_size: usize) -> Limits {
        let others = u32::try_from(room_size.saturating_sub(1)).unwrap_or(u32::MAX);
        let burst = self
            .burst
            .max(others.saturating_mul(SETUP_MESSAGES_PER_PEER));
        Limits {
            room_size,
            burst,
            outgoing_queue: self
                .outgoing_queue
                .max(Limits::outgoing_queue_for(room_size, burst)),
            ..self
        }
    }

    /// How many messages one socket's queue must hold so that a page that
    /// reads never finds it full: every other member of its room sending a
    /// whole burst to it at once, its own burst of refused messages answered,
    /// and a join or leave announcement per member. Capacity costs nothing
    /// until used (the queue grows in small blocks); what is queued is
    /// bounded by the senders' rate limits and the write timeout.
    pub const fn outgoing_queue_for(room_size: usize, burst: u32) -> usize {
        room_size * burst as usize + 2 * room_size
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
            resume_grace: RESUME_GRACE,
            media_connect_deadline: MEDIA_CONNECT_DEADLINE,
        }
    }
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

    #[test]
    fn the_queue_holds_a_whole_room_bursting_at_once() {
        for room_size in [2, ROOM_SIZE, 16] {
            let limits = Limits::default().with_room_size(room_size);
            let others = (room_size - 1) * limits.burst as usize;
            assert!(
                limits.outgoing_queue >= others + limits.burst as usize,
                "room of {room_size}: {limits:?}"
            );
        }
    }
}
