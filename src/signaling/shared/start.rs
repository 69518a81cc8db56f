//! Starting the shared rooms: a thread with a runtime of its own, the
//! command connection, and the two loops that run beside the sockets (the
//! inbox and the liveness check).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{oneshot, Notify};

use super::{inbox, liveness, Local, Shared, SharedError, SharedHub};
use crate::random::random_hex;
use crate::signaling::limits::Limits;
use crate::signaling::peers::Peers;
use crate::signaling::policy::Policy;

/// How long a start-up waits for Redis before giving up, and how long any
/// one command may take before the page hears `unavailable`. Redis answers
/// in well under a millisecond; a second means it is not there.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

impl SharedHub {
    /// Connects to Redis at `url` for the step `step_name`'s rooms, on a
    /// thread of its own, and starts the inbox and the liveness loop there.
    /// Fails (one line) when the URL is wrong or Redis does not answer.
    pub fn start(
        url: &str,
        step_name: &str,
        policy: Policy,
        limits: &Limits,
        resumes: bool,
    ) -> Result<SharedHub, SharedError> {
        let client = redis::Client::open(url)
            .map_err(|err| SharedError(format!("REDIS_URL is not a Redis URL: {err}")))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let settings = Settings {
            client,
            url: url.to_string(),
            prefix: format!("videochat:{step_name}:"),
            named_rooms: policy == Policy::Rooms,
            room_size: limits.room_size,
            resume_grace: resumes.then_some(limits.resume_grace),
            outgoing_stalled_after: limits.send_timeout,
        };
        // The inbox and the liveness loop need a runtime that lives as long
        // as the server; one thread of its own keeps them off the workers
        // that run the sockets.
        let thread = crate::background::spawn("redis", async move {
            let hub = match connect(settings, stop_tx).await {
                Ok(hub) => hub,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(hub.clone()));
            let inbox = tokio::spawn(inbox::run(hub.clone()));
            let liveness = tokio::spawn(liveness::run(hub.clone()));
            // Until the server stops (or drops its handle).
            let _ = stop_rx.await;
            inbox.abort();
            liveness.abort();
            hub.retire().await;
        })
        .map_err(|err| SharedError(format!("no thread for Redis: {err}")))?;
        let hub = ready_rx
            .recv()
            .map_err(|_| SharedError("the Redis thread ended".into()))??;
        *hub.shared
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(thread);
        Ok(hub)
    }
}

/// Everything [`SharedHub::start`] hands to its thread.
struct Settings {
    client: redis::Client,
    url: String,
    prefix: String,
    named_rooms: bool,
    room_size: usize,
    resume_grace: Option<Duration>,
    outgoing_stalled_after: Duration,
}

/// Connects (the command connection) and checks Redis answers.
async fn connect(settings: Settings, stop: oneshot::Sender<()>) -> Result<SharedHub, SharedError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        // Reconnect attempts back off up to 2 s, so that a restarted Redis
        // is found again within about two seconds.
        .set_max_delay(Duration::from_secs(2));
    let redis = tokio::time::timeout(
        REDIS_TIMEOUT * 3,
        ConnectionManager::new_with_config(settings.client.clone(), config),
    )
    .await
    .map_err(|_| {
        let waited = REDIS_TIMEOUT * 3;
        SharedError(format!(
            "cannot reach Redis at {}: no answer within {waited:?}",
            settings.url
        ))
    })?
    .map_err(|err| SharedError(format!("cannot reach Redis at {}: {err}", settings.url)))?;
    let node = random_hex(8)
        .map_err(|_| SharedError("no process id: the system random source failed".into()))?;
    log::info!(
        "rooms shared through Redis at {} (this process: {node})",
        settings.url
    );
    Ok(SharedHub {
        shared: Arc::new(Shared {
            redis,
            client: settings.client,
            prefix: settings.prefix,
            node,
            named_rooms: settings.named_rooms,
            room_size: settings.room_size,
            resume_grace: settings.resume_grace,
            local: Mutex::new(Local {
                peers: Peers::new(settings.outgoing_stalled_after),
                sockets_opened: 0,
                members: HashMap::new(),
                rooms: HashMap::new(),
                tokens: HashMap::new(),
                taken: HashSet::new(),
            }),
            resync_wanted: Notify::new(),
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(None),
        }),
    })
}
