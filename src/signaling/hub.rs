//! The hub: the one lock around the signaling state, and nothing else.
//!
//! Sessions reach it through a cloneable [`HubHandle`]; nothing else touches
//! its state. Behind the lock are the registry ([`Peers`]: each socket's id
//! and bounded outgoing queue) and the step's policy ([`Rules`]), which
//! decides who gets what: `policy/broadcast.rs` for steps 07-14,
//! `policy/direct.rs` for 15-16, `policy/rooms.rs` for 17.
//!
//! ## A lock, not a task
//!
//! The state sits behind one mutex, and a session calls the hub directly, on
//! the worker thread that read the message: lock, relay, unlock. Nothing
//! inside ever waits (no `.await` while the lock is held: every call is plain
//! synchronous code), so the lock is held for microseconds and cannot
//! deadlock. An earlier version ran the hub as its own task, reached through
//! a channel: the same single owner, but every message then crossed to the
//! hub's thread and back, two wake-ups and two context switches on top of
//! the relaying itself. The side-by-side bench (`benches/compare.rs`) showed
//! that hop as a large share of the server's CPU per message, so it went.
//!
//! The hub never waits for a page: see [`Peers::send`].
//!
//! ## Held places (step 19)
//!
//! From step 19 a member whose socket drops without a close frame keeps its
//! place for `Limits::resume_grace`: still in its room, announced to
//! nobody, but away ([`Peers::set_away`]), so messages for it are refused
//! (`peer-away`) rather than queued for a page that may never read them. A
//! new socket that presents the member's token (`resume.rs`) takes the place
//! back (a `resume` request, which the hub answers itself); when the grace
//! ends first, the member leaves as before ([`HubHandle::end_hold`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use super::limits::Limits;
use super::peers::{new_peer_id, short, NoId, Outgoing, PeerId, Peers, SocketNumber};
use super::policy::{Policy, Rules};
use super::protocol::{ErrorCode, Field, MediaSdp, Member, RawMessage, Request, ServerMessage};
use super::resume::ResumeBook;
use crate::sfu::{self, SfuHandle, SfuSettings};

/// The way to reach the hub; clone it freely.
#[derive(Clone)]
pub struct HubHandle {
    hub: Arc<Mutex<Hub>>,
}

/// A socket's registration: the id it goes by now and its own number.
pub struct Registration {
    pub id: PeerId,
    pub socket: SocketNumber,
}

/// How a socket ended, which decides whether its member's place is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The page closed it, the server shut down, or the socket broke a rule:
    /// the member leaves now.
    Closed,
    /// The connection was lost without a close frame (an error, silence past
    /// the heartbeat timeout): the page may come back.
    Lost,
}

/// What became of a member whose socket ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterSocket {
    /// Gone, announced to its room (or it had not joined).
    Left,
    /// Held for `grace` (step 19): call [`HubHandle::end_hold`] after it.
    Held { grace: Duration },
    /// Another socket took the id over by resuming: nothing to do.
    Replaced,
}

impl HubHandle {
    /// The hub, for the length of one synchronous call.
    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic inside a policy is a bug, but it must not take every later
        // socket down with it: carry on with the state as it was left.
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket whose outgoing queue is `outbox`.
    pub fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Result<Registration, NoId> {
        self.lock().register(outbox)
    }

    /// The socket `socket` of `id` has ended, as `ending` says. Its member
    /// leaves (announced to its room), or, from step 19, is held.
    pub fn leave(&self, id: &PeerId, socket: SocketNumber, ending: Ending) -> AfterSocket {
        let mut hub = self.lock();
        match hub.peers.socket_of(id) {
            // Already dropped (its queue stayed full).
            None => return AfterSocket::Left,
            Some(holder) if holder != socket => return AfterSocket::Replaced,
            Some(_) => {}
        }
        let holds = hub.resume.is_some() && ending == Ending::Lost && hub.rules.is_member(id);
        if holds {
            hub.peers.set_away(id);
            log::info!("peer {}: connection lost; its place is held", short(id));
            return AfterSocket::Held {
                grace: hub.resume_grace,
            };
        }
        hub.unregister(id);
        hub.drop_stalled();
        AfterSocket::Left
    }

    /// The grace of a held member is over: if no socket has taken its place
    /// back, it leaves now.
    pub fn end_hold(&self, id: &PeerId, socket: SocketNumber) {
        let mut hub = self.lock();
        if hub.peers.socket_of(id) == Some(socket) && hub.peers.is_away(id) {
            log::info!("peer {}: did not come back in time", short(id));
            hub.unregister(id);
            hub.drop_stalled();
        }
    }

    /// Hands a page's request to the policy. A `resume` is the hub's own
    /// business: when it succeeds, the socket's id changes, and the new one
    /// is returned.
    pub fn request(&self, from: &PeerId, request: Request) -> Option<PeerId> {
        let mut hub = self.lock();
        let resumed = match request {
            Request::Resume { token, .. } if hub.resume.is_some() => hub.resume(from, &token),
            Request::Media { kind, raw, .. } if hub.sfu.is_some() => {
                hub.hand_to_sfu(from, kind, &raw);
                None
            }
            request => {
                // Steps 07-18 relay a `resume`, and steps 07-19 `media-*`,
                // like any other message.
                let request = match request {
                    Request::Resume { to, raw, .. } | Request::Media { to, raw, .. } => {
                        Request::Forward { to, raw }
                    }
                    request => request,
                };
                let was_member = hub.rules.is_member(from);
                let Hub { peers, rules, .. } = &mut *hub;
                rules.request(peers, from, request);
                // Step 20: a member who left its room leaves the SFU too.
                if was_member && !hub.rules.is_member(from) {
                    hub.leave_sfu(from);
                }
                None
            }
        };
        hub.drop_stalled();
        resumed
    }

    /// Step 20: starts the SFU, whose answers and offers reach the pages
    /// through this hub. Fails when its UDP port cannot be bound.
    pub fn start_sfu(&self, settings: SfuSettings) -> std::io::Result<()> {
        let hub = Arc::downgrade(&self.hub);
        let deliver: sfu::Deliver = Arc::new(move |member: &PeerId, text: String| {
            if let Some(hub) = hub.upgrade() {
                let mut hub = hub.lock().unwrap_or_else(PoisonError::into_inner);
                hub.peers
                    .send(member, text.into(), super::peers::Delivery::Needed);
                hub.drop_stalled();
            }
        });
        let handle = SfuHandle::start(settings, deliver)?;
        self.lock().sfu = Some(handle);
        Ok(())
    }

    /// How many members the SFU holds state for (0 without one).
    pub fn sfu_members(&self) -> usize {
        self.lock().sfu.as_ref().map_or(0, SfuHandle::member_count)
    }

    /// How many sockets are registered now, held places included (tests and
    /// logs use it).
    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// How many rooms have members now.
    pub fn room_count(&self) -> usize {
        self.lock().rules.room_count()
    }

    /// How many resume tokens are in force (tests check none outlives its
    /// member).
    pub fn token_count(&self) -> usize {
        self.lock().resume.as_ref().map_or(0, ResumeBook::len)
    }
}

/// Makes the hub for `policy` and returns its handle; with `resumes` (step
/// 19), members whose socket drops keep their place for a while.
pub fn create(policy: Policy, limits: &Limits, resumes: bool) -> HubHandle {
    create_with_ids(policy, limits, resumes, new_peer_id)
}

/// [`create`], with ids from `make_id` (tests make it fail).
pub fn create_with_ids(
    policy: Policy,
    limits: &Limits,
    resumes: bool,
    make_id: impl FnMut() -> Result<PeerId, NoId> + Send + 'static,
) -> HubHandle {
    let hub = Hub {
        peers: Peers::new(limits.send_timeout),
        rules: policy.rules(limits),
        make_id: Box::new(make_id),
        sockets_opened: 0,
        resume: resumes.then(ResumeBook::default),
        resume_grace: limits.resume_grace,
        sfu: None,
    };
    HubHandle {
        hub: Arc::new(Mutex::new(hub)),
    }
}

struct Hub {
    peers: Peers,
    rules: Box<dyn Rules>,
    make_id: Box<dyn FnMut() -> Result<PeerId, NoId> + Send>,
    /// Counts sockets, to number them.
    sockets_opened: SocketNumber,
    /// Step 19's resume tokens; `None` for the steps before it.
    resume: Option<ResumeBook>,
    resume_grace: Duration,
    /// Step 20's SFU; `None` for the steps before it.
    sfu: Option<SfuHandle>,
}

impl Hub {
    fn register(&mut self, outbox: mpsc::Sender<Outgoing>) -> Result<Registration, NoId> {
        let id = (self.make_id)().inspect_err(|NoId| {
            log::error!("no id for a new socket: the system random source failed");
        })?;
        let token = match &mut self.resume {
            Some(book) => Some(book.issue(&id)?),
            None => None,
        };
        self.sockets_opened += 1;
        let socket = self.sockets_opened;
        self.peers.insert(id.clone(), socket, outbox);
        self.rules.arrived(&mut self.peers, &id, token.as_deref());
        log::info!("peer {} connected ({} open)", short(&id), self.peers.len());
        self.drop_stalled();
        Ok(Registration { id, socket })
    }

    fn unregister(&mut self, id: &PeerId) {
        // Removed first, so that nothing the policy announces goes to it.
        if self.peers.remove(id) {
            if let Some(book) = &mut self.resume {
                book.forget(id);
            }
            self.rules.left(&mut self.peers, id);
            self.leave_sfu(id);
            log::info!("peer {} left ({} open)", short(id), self.peers.len());
        }
    }

    // ANCHOR: resume
    /// `fresh`, a socket that has just been welcomed, presents `token`: if it
    /// names a member whose place is still there, the socket becomes that
    /// member (same id, same room, nothing announced), gets a new token and
    /// the room as it is now. Returns the id it goes by from now on.
    fn resume(&mut self, fresh: &PeerId, token: &Field) -> Option<PeerId> {
        let Some(book) = &mut self.resume else {
            return None;
        };
        let Field::Text(token) = token else {
            let reason = "resume needs a string field \"token\"";
            self.peers.refuse(fresh, ErrorCode::BadMessage, reason);
            return None;
        };
        if self.rules.is_member(fresh) {
            let reason = "resume comes right after welcome, before join";
            self.peers.refuse(fresh, ErrorCode::BadMessage, reason);
            return None;
        }
        // Spent whatever happens next: a token works once. (A socket's own
        // token names itself, which `hand_over` refuses: nothing to take.)
        let taken = book
            .redeem(token)
            .filter(|id| self.peers.hand_over(fresh, id));
        let Some(id) = taken else {
            let reason = "unknown, used or expired resume token: join again";
            self.peers.refuse(fresh, ErrorCode::BadToken, reason);
            return None;
        };
        book.forget(fresh);
        let Ok(token) = book.issue(&id) else {
            log::error!("no resume token: the system random source failed");
            return Some(id);
        };
        let others = self.rules.others_in_room(&id);
        let members = others
            .iter()
            .map(|(id, username)| Member { id, username })
            .collect();
        let resumed = ServerMessage::Resumed {
            id: &id,
            resume: &token,
            members,
        };
        self.peers.send_message(&id, &resumed);
        log::info!("peer {} resumed on a new socket", short(&id));
        Some(id)
    }
    // ANCHOR_END: resume

    /// Step 20: a member's `media-offer` or `media-answer`, for the SFU of
    /// its room.
    fn hand_to_sfu(&mut self, from: &PeerId, kind: MediaSdp, raw: &RawMessage) {
        let Some(room) = self.rules.room_of(from) else {
            return self
                .peers
                .refuse(from, ErrorCode::NotJoined, "join a room first");
        };
        let Field::Text(sdp) = raw.field("sdp") else {
            let reason = "a media-offer or media-answer needs a string field \"sdp\"";
            return self.peers.refuse(from, ErrorCode::BadMessage, reason);
        };
        let Some(sfu) = &self.sfu else {
            return;
        };
        let member = from.clone();
        sfu.send(match kind {
            MediaSdp::Offer => sfu::Command::Offer { member, room, sdp },
            MediaSdp::Answer => sfu::Command::Answer { member, sdp },
        });
    }

    /// Step 20: `id` is gone from its room: the SFU forgets it.
    fn leave_sfu(&self, id: &PeerId) {
        if let Some(sfu) = &self.sfu {
            sfu.send(sfu::Command::Leave { member: id.clone() });
        }
    }

    /// Peers found stalled while sending leave like any other.
    fn drop_stalled(&mut self) {
        while let Some(id) = self.peers.take_stalled() {
            self.unregister(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// If no id can be made for one socket, that socket is refused and the
    /// others keep their registrations and their messages.
    #[test]
    fn a_failed_id_refuses_one_join_and_nothing_else() {
        actix_web::rt::System::new().block_on(async {
            let mut made = 0;
            let hub = create_with_ids(Policy::Broadcast, &Limits::default(), false, move || {
                made += 1;
                if made == 2 {
                    Err(NoId)
                } else {
                    Ok(Arc::from(format!("peer-{made}")))
                }
            });
            let (alice_out, mut alice_in) = mpsc::channel(8);
            let (bob_out, _bob_in) = mpsc::channel(8);
            let (carol_out, mut carol_in) = mpsc::channel(8);
            let alice = hub.join(alice_out).unwrap().id;
            assert!(matches!(hub.join(bob_out), Err(NoId)));
            let carol = hub.join(carol_out).unwrap().id;
            hub.request(
                &alice,
                Request::parse(r#"{"type":"chat","text":"hi"}"#).unwrap(),
            );
            assert_eq!(
                &*carol_in.recv().await.unwrap(),
                r#"{"type":"chat","text":"hi"}"#
            );
            hub.request(
                &carol,
                Request::parse(r#"{"type":"chat","text":"back"}"#).unwrap(),
            );
            assert_eq!(
                &*alice_in.recv().await.unwrap(),
                r#"{"type":"chat","text":"back"}"#
            );
            assert_eq!(hub.peer_count(), 2);
        });
    }
}
