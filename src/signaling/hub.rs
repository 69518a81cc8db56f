//! The hub: one task that owns the set of open sockets.
//!
//! Sessions talk to it through a cloneable [`HubHandle`]; nothing else touches
//! the map of peers, so there are no locks to get wrong. Each peer has a
//! bounded outgoing queue and the hub only ever `try_send`s to it: a page that
//! stops reading fills its own queue and is dropped, and can never make the
//! hub (and so everyone else) wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

/// A socket's id inside the server.
pub type PeerId = u64;

/// Text queued for one socket.
pub type Outgoing = Arc<str>;

/// How many commands may wait for the hub. Sessions wait (not fail) when it is
/// full, which slows the senders down instead of growing memory.
const COMMAND_QUEUE: usize = 1024;

enum Command {
    Join {
        outbox: mpsc::Sender<Outgoing>,
        reply: oneshot::Sender<PeerId>,
    },
    Leave {
        id: PeerId,
    },
    /// Broadcast policy: to every other open socket.
    Broadcast {
        from: PeerId,
        text: Outgoing,
    },
}

/// The way to reach the hub; clone it freely.
#[derive(Clone)]
pub struct HubHandle {
    commands: mpsc::Sender<Command>,
    peers: Arc<AtomicUsize>,
}

impl HubHandle {
    /// Registers a socket whose outgoing queue is `outbox`. `None` means the
    /// hub has stopped (the server is shutting down).
    pub async fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Option<PeerId> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Join { outbox, reply })
            .await
            .ok()?;
        answer.await.ok()
    }

    /// Unregisters a socket. Safe to call for a peer the hub already dropped.
    pub async fn leave(&self, id: PeerId) {
        // An error means the hub has stopped, and with it every registration.
        let _ = self.commands.send(Command::Leave { id }).await;
    }

    /// Relays `text` to every socket but `from`.
    pub async fn broadcast(&self, from: PeerId, text: Outgoing) {
        let _ = self.commands.send(Command::Broadcast { from, text }).await;
    }

    /// How many sockets are registered now (tests and logs use it).
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::SeqCst)
    }
}

/// Starts the hub task on the current runtime and returns its handle.
pub fn spawn() -> HubHandle {
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let peers = Arc::new(AtomicUsize::new(0));
    let hub = Hub {
        peers: HashMap::new(),
        next_id: 1,
        count: peers.clone(),
    };
    actix_web::rt::spawn(hub.run(receiver));
    HubHandle { commands, peers }
}

struct Hub {
    peers: HashMap<PeerId, mpsc::Sender<Outgoing>>,
    next_id: PeerId,
    count: Arc<AtomicUsize>,
}

impl Hub {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Join { outbox, reply } => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.peers.insert(id, outbox);
                    if reply.send(id).is_err() {
                        // The session gave up while waiting: forget it again.
                        self.peers.remove(&id);
                    }
                    log::info!("peer {id} connected ({} open)", self.peers.len());
                }
                Command::Leave { id } => {
                    if self.peers.remove(&id).is_some() {
                        log::info!("peer {id} left ({} open)", self.peers.len());
                    }
                }
                Command::Broadcast { from, text } => self.broadcast(from, text),
            }
            self.count.store(self.peers.len(), Ordering::SeqCst);
        }
    }

    fn broadcast(&mut self, from: PeerId, text: Outgoing) {
        let mut too_slow = Vec::new();
        for (&id, outbox) in &self.peers {
            if id == from {
                continue;
            }
            if outbox.try_send(text.clone()).is_err() {
                // Full (it stopped reading) or closed (it is leaving anyway).
                too_slow.push(id);
            }
        }
        for id in too_slow {
            // Dropping its queue's sender tells its session to close the socket.
            self.peers.remove(&id);
            log::warn!("peer {id} dropped: its outgoing queue is full");
        }
    }
}
