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

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use super::limits::Limits;
use super::peers::{new_peer_id, short, NoId, Outgoing, PeerId, Peers};
use super::policy::{Policy, Rules};
use super::protocol::Request;

/// The way to reach the hub; clone it freely.
#[derive(Clone)]
pub struct HubHandle {
    hub: Arc<Mutex<Hub>>,
}

impl HubHandle {
    /// The hub, for the length of one synchronous call.
    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic inside a policy is a bug, but it must not take every later
        // socket down with it: carry on with the state as it was left.
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket whose outgoing queue is `outbox`, and returns its id.
    pub fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Result<PeerId, NoId> {
        self.lock().register(outbox)
    }

    /// Unregisters a socket (announcing it to its room). Safe to call for a
    /// peer the hub already dropped.
    pub fn leave(&self, id: &PeerId) {
        let mut hub = self.lock();
        hub.unregister(id);
        hub.drop_stalled();
    }

    /// Hands a page's request to the policy.
    pub fn request(&self, from: &PeerId, request: Request) {
        let mut hub = self.lock();
        let Hub { peers, rules, .. } = &mut *hub;
        rules.request(peers, from, request);
        hub.drop_stalled();
    }

    /// How many sockets are registered now (tests and logs use it).
    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// How many rooms have members now.
    pub fn room_count(&self) -> usize {
        self.lock().rules.room_count()
    }
}

/// Makes the hub for `policy` and returns its handle.
pub fn create(policy: Policy, limits: &Limits) -> HubHandle {
    create_with_ids(policy, limits, new_peer_id)
}

/// [`create`], with ids from `make_id` (tests make it fail).
pub fn create_with_ids(
    policy: Policy,
    limits: &Limits,
    make_id: impl FnMut() -> Result<PeerId, NoId> + Send + 'static,
) -> HubHandle {
    let hub = Hub {
        peers: Peers::new(limits.send_timeout),
        rules: policy.rules(limits),
        make_id: Box::new(make_id),
    };
    HubHandle {
        hub: Arc::new(Mutex::new(hub)),
    }
}

struct Hub {
    peers: Peers,
    rules: Box<dyn Rules>,
    make_id: Box<dyn FnMut() -> Result<PeerId, NoId> + Send>,
}

impl Hub {
    fn register(&mut self, outbox: mpsc::Sender<Outgoing>) -> Result<PeerId, NoId> {
        let id = (self.make_id)().inspect_err(|NoId| {
            log::error!("no id for a new socket: the system random source failed");
        })?;
        self.peers.insert(id.clone(), outbox);
        self.rules.arrived(&mut self.peers, &id);
        log::info!("peer {} connected ({} open)", short(&id), self.peers.len());
        self.drop_stalled();
        Ok(id)
    }

    fn unregister(&mut self, id: &PeerId) {
        // Removed first, so that nothing the policy announces goes to it.
        if self.peers.remove(id) {
            self.rules.left(&mut self.peers, id);
            log::info!("peer {} left ({} open)", short(id), self.peers.len());
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
            let hub = create_with_ids(Policy::Broadcast, &Limits::default(), move || {
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
            let alice = hub.join(alice_out).unwrap();
            assert_eq!(hub.join(bob_out), Err(NoId));
            let carol = hub.join(carol_out).unwrap();
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
