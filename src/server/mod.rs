//! The HTTP server every example starts.
//!
//! A [`Step`] says what a step's server offers: its page folder, and from
//! step 07 its signaling policy. [`start`] binds the address and calls
//! [`start_on`], which serves a listener the caller already bound (as
//! mini-redis's `server::run(listener, shutdown)` does: address errors
//! surface before any thread starts, and tests bind port 0 themselves). It
//! hands back a [`Server`] that knows its address and stops cleanly. The
//! examples reach this through [`crate::run`].
//!
//! ## Threads and tasks
//!
//! - The server runs on a thread of its own, inside an actix `System`, so
//!   the caller may use any runtime, or none.
//! - actix-web starts [`workers`] worker threads, one per CPU the process may
//!   use, each a single-threaded tokio runtime. A connection stays on the
//!   worker that accepted it.
//! - Each signaling socket's loop (`signaling/session.rs`) is a task
//!   on its connection's worker: actix-ws's stream is not `Send`, so it
//!   cannot move.
//! - The hub (`signaling/hub.rs`) is state behind one mutex: a
//!   session relays its message on its own worker, holding the lock only for
//!   the synchronous relaying. The hub never waits for any socket: it only
//!   `try_send`s to their queues, whose sessions (on their own workers) write
//!   them out.
//! - With `--redis-url` (steps 15 on) the rooms live in Redis
//!   (`signaling/shared/`): a session awaits Redis's answer on its own
//!   worker, and the inbox and the liveness check run on one more thread,
//!   with a runtime of its own, started before anything is served.
//!
//! ## Files
//!
//! | file | job |
//! |---|---|
//! | `step.rs` | [`Step`]: what a step's server offers |
//! | `mod.rs` | [`start`] and [`start_on`]: checks, then the server thread |
//! | `serve.rs` | the thread's body: the actix-web app, listening, stopping |
//! | `handle.rs` | [`Server`]: the running server, as its starter holds it |
//! | `error.rs` | [`StartError`]: why it could not start |
//! | `pages.rs` | the page folder as static files |
//! | `headers.rs` | the security headers on every response |
//! | `budget.rs` | the process's file limit shared out between connections |

mod budget;
mod error;
mod handle;
mod headers;
mod pages;
mod serve;
mod step;

use std::io;
use std::path::PathBuf;

use tokio::sync::oneshot;

pub(crate) use budget::raise_file_limit;
pub use budget::{connection_budget, file_limit, ConnectionBudget};
pub use error::StartError;
pub use handle::Server;
pub use headers::CONTENT_SECURITY_POLICY;
pub use serve::{workers, SHUTDOWN_GRACE_SECS};
pub use step::Step;

use crate::config::Config;
use crate::signaling::shared::SharedHub;
use crate::signaling::Policy;
use crate::tls;

/// Binds `step` as `config` says and serves it on a background thread.
/// Returns once the socket is bound, so a caller can connect at once.
pub fn start(step: Step, config: &Config) -> Result<Server, StartError> {
    let pages = pages::folder_of(&step, config)?;
    let bind_addr = format!("{}:{}", config.host, config.port);
    let listener = std::net::TcpListener::bind(&bind_addr).map_err(|err| {
        if err.kind() == io::ErrorKind::AddrInUse {
            StartError::AddressInUse(bind_addr.clone())
        } else {
            StartError::Bind(bind_addr.clone(), err)
        }
    })?;
    start_with_pages(listener, step, config, pages)
}

/// Serves `step` on a listener the caller bound; `config`'s host and port
/// are not used (the listener's address is).
pub fn start_on(
    listener: std::net::TcpListener,
    step: Step,
    config: &Config,
) -> Result<Server, StartError> {
    let pages = pages::folder_of(&step, config)?;
    start_with_pages(listener, step, config, pages)
}

fn start_with_pages(
    listener: std::net::TcpListener,
    step: Step,
    config: &Config,
    pages: PathBuf,
) -> Result<Server, StartError> {
    let local = listener
        .local_addr()
        .map_err(|err| StartError::Bind(String::from("the listener"), err))?;
    let listen_host = local.ip().to_string();
    // Everything that can fail for a reason a person can fix fails here,
    // before any thread starts.
    let tls =
        tls::prepare(&config.tls, &listen_host, &config.tls_names).map_err(StartError::Tls)?;
    let tls_fingerprint = tls.as_ref().map(|tls| tls.fingerprint.clone());
    let names = serve::server_names(config, &listen_host, tls.as_ref());
    let shared = shared_rooms(&step, config)?;
    let host_names = names.listed();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (ended_tx, ended_rx) = oneshot::channel::<()>();

    let config = config.clone();
    let thread = std::thread::Builder::new()
        .name(format!("{}-server", step.name()))
        .spawn(move || {
            // actix runs each server on its own System (a set of single-threaded
            // runtimes); giving it a thread of its own keeps callers free to use
            // any runtime, or none.
            let system = actix_web::rt::System::new();
            let listen = serve::Listen {
                listener,
                tls,
                names,
                shared,
            };
            system.block_on(serve::serve(
                step, config, pages, listen, started_tx, stop_rx,
            ));
            let _ = ended_tx.send(());
        })
        .map_err(StartError::Thread)?;

    match started_rx.recv() {
        Ok(Ok((addr, hub))) => Ok(Server {
            addr,
            host_names,
            tls_fingerprint,
            hub,
            stop: Some(stop_tx),
            ended: Some(ended_rx),
            thread: Some(thread),
        }),
        Ok(Err(err)) => {
            let _ = thread.join();
            Err(err)
        }
        Err(_) => {
            let _ = thread.join();
            Err(StartError::Crashed)
        }
    }
}

/// With `--redis-url`, the rooms of steps 15 on are shared through Redis:
/// connected here, so that a wrong URL or a Redis that does not answer stops
/// the start with one line, before anything is served.
fn shared_rooms(step: &Step, config: &Config) -> Result<Option<SharedHub>, StartError> {
    let (Some(url), Some(policy)) = (&config.redis_url, step.signaling()) else {
        return Ok(None);
    };
    if step.has_sfu() {
        log::warn!(
            "REDIS_URL is not used by {}: its SFU forwards each room's media inside one process",
            step.name()
        );
        return Ok(None);
    }
    if policy == Policy::Broadcast {
        log::warn!(
            "REDIS_URL is not used by {}: steps 07-14 relay to every socket of one process",
            step.name()
        );
        return Ok(None);
    }
    let limits = step.limits(config.room_size);
    SharedHub::start(url, step.name(), policy, &limits, step.resumes())
        .map(Some)
        .map_err(StartError::Redis)
}
