//! The HTTP server every example starts.
//!
//! A [`Step`] says what a step's server offers: its page folder, and from
//! step 07 its signaling policy. [`start`] binds the address and calls
//! [`start_on`], which serves a listener the caller already bound (as
//! mini-redis's `server::run(listener, shutdown)` does: address errors
//! surface before any thread starts, and tests bind port 0 themselves). It
//! hands back a [`Server`] that knows its address and stops cleanly. The
//! examples reach this through [`crate::cli::run`].
//!
//! ## Threads and tasks
//!
//! - The server runs on a thread of its own, inside an actix `System`, so
//!   the caller may use any runtime, or none.
//! - actix-web starts [`workers`] worker threads, one per CPU the process may
//!   use, each a single-threaded tokio runtime. A connection stays on the
//!   worker that accepted it.
//! - Each signaling socket's loop ([`crate::signaling::session`]) is a task
//!   on its connection's worker: actix-ws's stream is not `Send`, so it
//!   cannot move.
//! - The hub ([`crate::signaling::hub`]) is state behind one mutex: a
//!   session relays its message on its own worker, holding the lock only for
//!   the synchronous relaying. The hub never waits for any socket: it only
//!   `try_send`s to their queues, whose sessions (on their own workers) write
//!   them out.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use actix_files::Files;
use actix_web::http::header;
use actix_web::{middleware, web, App, HttpServer};
use tokio::sync::oneshot;

use crate::config::Config;
use crate::host_names::{self, ServerNames};
use crate::ice;
use crate::signaling::admission::{Admission, Caps};
use crate::signaling::{self, Policy, Signaling};
use crate::tls::{self, Tls};

/// How long a stopping server lets requests in flight finish. Pages are small
/// static files, so a few seconds is plenty; a real deployment behind a load
/// balancer would match the balancer's draining time instead.
pub const SHUTDOWN_GRACE_SECS: u64 = 5;

/// Worker threads: one per CPU the process may use (its affinity and cgroup
/// quota count), so the server uses the machine it is given and no more.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// What one step's server offers. Each example builds one and passes it to
/// [`crate::cli::run`].
#[derive(Clone, Debug)]
pub struct Step {
    name: &'static str,
    signaling: Option<Policy>,
    ice_servers: bool,
    /// The most people this step's page can take in one room, when the
    /// page (not the operator) sets the limit.
    room_size_cap: Option<usize>,
}

impl Step {
    /// A step named like its page folder: `Step::new("app02")` serves `static/app02/`.
    pub fn new(name: &'static str) -> Step {
        Step {
            name,
            signaling: None,
            ice_servers: false,
            room_size_cap: None,
        }
    }

    /// Adds the signaling socket, `GET /ws`, relaying with `policy` (step 07 on).
    pub fn with_signaling(mut self, policy: Policy) -> Step {
        self.signaling = Some(policy);
        self
    }

    /// Adds `GET /ice-servers`, the ICE server list for the pages (step 09 on).
    pub fn with_ice_servers(mut self) -> Step {
        self.ice_servers = true;
        self
    }

    /// Holds rooms to `people` at most, whatever `ROOM_SIZE` says: for a
    /// step whose page can take no more (step 15 calls one other person).
    pub fn with_room_size_cap(mut self, people: usize) -> Step {
        self.room_size_cap = Some(people);
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The signaling limits this step runs under: the configured ones, with
    /// rooms no larger than the step's page can take.
    fn limits(&self, configured: signaling::Limits) -> signaling::Limits {
        match self.room_size_cap {
            Some(cap) if cap < configured.room_size => configured.with_room_size(cap),
            _ => configured,
        }
    }
}

/// Why a server could not start. Each variant prints as one line that says
/// what to do about it.
#[derive(Debug)]
pub enum StartError {
    StaticFolderMissing(PathBuf),
    AddressInUse(String),
    Bind(String, io::Error),
    Thread(io::Error),
    /// The certificate files could not be used, or one could not be made.
    Tls(tls::TlsError),
    /// The server thread ended before it reported its address.
    Crashed,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::StaticFolderMissing(dir) => write!(
                f,
                "page folder {} not found (it needs an index.html; set STATIC_ROOT or --static-root to the folder holding the appNN/ folders)",
                dir.display()
            ),
            StartError::AddressInUse(addr) => write!(
                f,
                "cannot listen on {addr}: address already in use (is another copy running? choose another with --port or PORT)"
            ),
            StartError::Bind(addr, err) => write!(f, "cannot listen on {addr}: {err}"),
            StartError::Thread(err) => write!(f, "cannot start the server thread: {err}"),
            StartError::Tls(err) => write!(f, "{err}"),
            StartError::Crashed => f.write_str("the server stopped while starting (see the log above)"),
        }
    }
}

impl std::error::Error for StartError {}

/// A running server. Dropping it stops it, so a test never leaks one.
pub struct Server {
    addr: SocketAddr,
    /// The host names it answers to (see [`crate::host_names`]).
    host_names: Vec<String>,
    /// The certificate's SHA-256 fingerprint when serving HTTPS.
    tls_fingerprint: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    ended: Option<oneshot::Receiver<()>>,
    thread: Option<JoinHandle<()>>,
    hub: Option<signaling::hub::HubHandle>,
}

impl Server {
    /// The address it listens on (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL a person on this machine opens. A server listening on every
    /// interface is still opened as `localhost`: browsers allow the camera
    /// only on secure origins, and `http://localhost` is one while
    /// `http://192.168.x.y` is not.
    pub fn url(&self) -> String {
        if self.addr.ip().is_unspecified() {
            format!("{}://localhost:{}/", self.scheme(), self.addr.port())
        } else {
            format!("{}://{}/", self.scheme(), self.addr)
        }
    }

    /// The URLs people on other devices open: one per network address when
    /// listening on every interface, else the listening address (nothing
    /// for a server on loopback, which other devices cannot reach).
    pub fn urls_for_other_devices(&self) -> Vec<String> {
        let ip = self.addr.ip();
        let addresses = if ip.is_unspecified() {
            host_names::interface_addresses()
        } else {
            vec![ip]
        };
        addresses
            .into_iter()
            .filter(|ip| !ip.is_loopback() && !is_link_local(ip))
            // A server on 0.0.0.0 takes IPv4 only; one on `::` takes both.
            .filter(|ip| ip.is_ipv4() || self.addr.is_ipv6())
            .map(|ip| {
                format!(
                    "{}://{}/",
                    self.scheme(),
                    SocketAddr::new(ip, self.addr.port())
                )
            })
            .collect()
    }

    /// The host names it answers to, as typed in an address bar; any other
    /// `Host` gets 421.
    pub fn host_names(&self) -> &[String] {
        &self.host_names
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_fingerprint.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The SHA-256 fingerprint of the certificate (`AB:CD:...`), when serving HTTPS.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls_fingerprint.as_deref()
    }

    /// How many signaling sockets are registered now (0 for steps without `/ws`).
    /// Tests use it to prove that no socket outlives its connection.
    pub fn open_sockets(&self) -> usize {
        self.hub.as_ref().map_or(0, |hub| hub.peer_count())
    }

    /// How many rooms have members now (0 for steps without rooms).
    pub fn open_rooms(&self) -> usize {
        self.hub.as_ref().map_or(0, |hub| hub.room_count())
    }

    /// Stops accepting, lets requests in flight finish (up to
    /// [`SHUTDOWN_GRACE_SECS`]), and waits for the server thread to end.
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// Completes when the server ends by itself, which only a fault makes it do.
    pub async fn ended(&mut self) {
        if let Some(ended) = self.ended.as_mut() {
            // An error means the thread is gone without saying so: ended too.
            let _ = ended.await;
        }
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error only means the server already ended: nothing left to stop.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the server thread panicked while stopping");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// An IPv6 link-local address (fe80::/10): a URL would need the interface's
/// zone id, which browsers do not take.
fn is_link_local(ip: &std::net::IpAddr) -> bool {
    matches!(ip, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// The headers every response carries.
///
/// - `Content-Security-Policy`: the pages run only their own scripts and
///   styles (no inline code, nothing from elsewhere), talk only to their own
///   server (`'self'` covers the same-origin `ws:`/`wss:` socket), and may
///   not be framed, so no other site can overlay and click their buttons;
/// - `X-Content-Type-Options: nosniff`: a file is only ever what its type says;
/// - `Referrer-Policy: no-referrer`: a room's link never leaks to another site;
/// - `Permissions-Policy`: camera, microphone and screen for this origin only;
/// - `Cache-Control: no-store`: learners edit a step's files and reload, so
///   never serve a stale copy.
fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::HeaderName::from_static("permissions-policy"),
            "camera=(self), microphone=(self), display-capture=(self)",
        ))
}

/// The pages' policy (its reasons are on `security_headers`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// True when `requested` (relative to the page folder) does not lead out of
/// it through a symbolic link. A path that does not exist passes: the file
/// service answers 404 for it.
fn stays_inside(real_pages: &Path, requested: &Path) -> bool {
    match real_pages.join(requested).canonicalize() {
        Ok(real) => real.starts_with(real_pages),
        Err(_) => true,
    }
}

/// Files the process keeps for itself (standard streams, the listening
/// socket, the event loop, the log, files being served): never used for
/// connections.
const FILES_FOR_THE_PROCESS: u64 = 64;
/// At most this many connections stay free for page loads and
/// `/ice-servers` when the signaling sockets are at their cap.
const CONNECTIONS_KEPT_FOR_PAGES: usize = 256;
/// The file limit `cli::run` raises the process's soft limit to, when the
/// hard limit allows: about 25 KB of memory per held socket makes 65,536
/// sockets some 1.6 GB, a sensible ceiling for one process.
pub const WANTED_FILE_LIMIT: u64 = 65_536;

/// How the process's file limit is shared out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionBudget {
    pub file_limit: u64,
    /// Connections in all.
    pub connections: usize,
    /// Connections each worker accepts before it stops accepting.
    pub connections_per_worker: usize,
    /// Signaling sockets at most: fewer than the connections, so a page
    /// still loads when every socket is taken.
    pub sockets: usize,
}

/// Shares out `file_limit` (the process's soft limit on open files):
/// every connection is a file, and a process out of files cannot even
/// accept the connection that would tell a person "try later".
pub fn connection_budget(file_limit: u64, workers: usize) -> ConnectionBudget {
    let workers = workers.max(1);
    let connections = usize::try_from(file_limit.saturating_sub(FILES_FOR_THE_PROCESS))
        .unwrap_or(usize::MAX)
        .max(2 * workers);
    let kept_for_pages = (connections / 4).min(CONNECTIONS_KEPT_FOR_PAGES);
    ConnectionBudget {
        file_limit,
        connections,
        connections_per_worker: connections / workers,
        sockets: (connections - kept_for_pages).max(1),
    }
}

/// The process's soft limit on open files (a generous guess where it cannot be read).
pub fn file_limit() -> u64 {
    #[cfg(unix)]
    if let Ok((soft, _hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        return soft;
    }
    WANTED_FILE_LIMIT
}

/// Raises the soft file limit towards [`WANTED_FILE_LIMIT`], as far as the
/// hard limit allows (many systems start processes at 1024).
pub fn raise_file_limit() {
    #[cfg(unix)]
    if let Err(err) = rlimit::increase_nofile_limit(WANTED_FILE_LIMIT) {
        log::warn!(
            "cannot raise the file limit ({err}); keeping {}",
            file_limit()
        );
    }
}

/// Binds `step` as `config` says and serves it on a background thread.
/// Returns once the socket is bound, so a caller can connect at once.
pub fn start(step: Step, config: &Config) -> Result<Server, StartError> {
    let pages = pages_of(&step, config)?;
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
    let pages = pages_of(&step, config)?;
    start_with_pages(listener, step, config, pages)
}

/// The step's page folder, which must hold an `index.html`.
fn pages_of(step: &Step, config: &Config) -> Result<PathBuf, StartError> {
    let pages = config.static_root.join(step.name());
    if pages.join("index.html").is_file() {
        Ok(pages)
    } else {
        Err(StartError::StaticFolderMissing(pages))
    }
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
    let names = server_names(config, &listen_host, tls.as_ref());
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
            let listen = Listen {
                listener,
                tls,
                names,
            };
            system.block_on(serve(step, config, pages, listen, started_tx, stop_rx));
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

/// Where and how the server listens, prepared before its thread starts.
struct Listen {
    listener: std::net::TcpListener,
    tls: Option<Tls>,
    names: ServerNames,
}

/// The names the server answers to: where it listens, the configured extra
/// origins and public origin, `TLS_NAMES`, and the certificate's own names.
fn server_names(config: &Config, listen_host: &str, tls: Option<&Tls>) -> ServerNames {
    let mut names = ServerNames::for_listening(listen_host, &extra_origins(config));
    // The name it was asked to listen on (`--host chat.lan`), not only the address.
    names.add(&config.host);
    for name in config
        .tls_names
        .iter()
        .chain(tls.into_iter().flat_map(|tls| &tls.names))
    {
        names.add(name);
    }
    names
}

/// Origins besides the server's own that may open `/ws`: `ALLOWED_ORIGINS`
/// and `PUBLIC_ORIGIN`.
fn extra_origins(config: &Config) -> Vec<String> {
    config
        .allowed_origins
        .iter()
        .chain(&config.public_origin)
        .cloned()
        .collect()
}

/// The server thread's body: bind, report the address, serve until told to stop.
async fn serve(
    step: Step,
    config: Config,
    pages: PathBuf,
    listen: Listen,
    started: std::sync::mpsc::Sender<
        Result<(SocketAddr, Option<signaling::hub::HubHandle>), StartError>,
    >,
    stop: oneshot::Receiver<()>,
) {
    let pages_shown = pages.clone();
    // Upgraded sockets outlive actix's graceful stop unless told to close:
    // each socket loop watches this and closes with 1001 "going away".
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let Listen {
        listener,
        tls,
        names,
    } = listen;
    let workers = workers();
    let budget = connection_budget(file_limit(), workers);
    let caps = Caps {
        max_sockets: config
            .socket_caps
            .max_sockets
            .map_or(budget.sockets, |wanted| wanted.min(budget.sockets)),
        max_sockets_per_ip: config.socket_caps.max_sockets_per_ip,
        new_sockets_per_ip_per_minute: config.socket_caps.new_sockets_per_ip_per_minute,
    };
    let limits = step.limits(config.limits);
    let signaling = step.signaling.map(|policy| Signaling {
        hub: signaling::hub::create(policy, limits),
        limits,
        admission: Admission::new(caps),
        names: names.clone(),
        allowed_origins: extra_origins(&config),
        shutdown: shutdown_rx,
    });
    let hub = signaling.as_ref().map(|s| s.hub.clone());
    if let Some(hub) = &hub {
        crate::memory::give_back_after_leaves(hub.clone());
    }
    let ice_servers = step.ice_servers.then(|| ice::IceServers {
        list: config.ice_servers.clone(),
        turn: config.turn.clone(),
    });
    let real_pages = pages.canonicalize().unwrap_or_else(|_| pages.clone());
    let names_data = web::Data::new(names.clone());
    let http = HttpServer::new(move || {
        let mut app = App::new().app_data(names_data.clone());
        if let Some(signaling) = &signaling {
            app = app
                .app_data(web::Data::new(signaling.clone()))
                .route("/ws", web::get().to(signaling::websocket))
                .route("/ws", web::head().to(signaling::websocket));
        }
        if let Some(servers) = &ice_servers {
            app = app
                .app_data(web::Data::new(servers.clone()))
                .route("/ice-servers", web::get().to(ice::ice_servers))
                .route("/ice-servers", web::head().to(ice::ice_servers));
        }
        let real_pages = real_pages.clone();
        app
            // Innermost: a request for a name that is not ours goes no further.
            .wrap(middleware::from_fn(host_names::require_own_host))
            .wrap(security_headers())
            // One info line per request: learners see the page, script and
            // style sheet arrive (RUST_LOG=warn silences it). Not for /ws:
            // the logger's state would live as long as each socket (about
            // 1 KiB each, measured by benches/compare.rs), and the session
            // logs every socket's arrival and departure itself.
            .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms").exclude("/ws"))
            .service(
                Files::new("/", &pages)
                    .index_file("index.html")
                    .use_etag(false)
                    .use_last_modified(false)
                    .path_filter(move |path, _| stays_inside(&real_pages, path)),
            )
    })
    .workers(workers)
    // Each worker stops accepting at its share of the file budget, so the
    // process never runs out of files (see `connection_budget`).
    .max_connections(budget.connections_per_worker)
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    // The caller decides when to stop (cli::run on Ctrl-C, a test on drop).
    .disable_signals();

    let listening = match tls {
        Some(tls) => http.listen_rustls_0_23(listener, tls.server_config),
        None => http.listen(listener),
    };
    let http = match listening {
        Ok(http) => http,
        Err(err) => {
            let _ = started.send(Err(StartError::Bind(String::from("the listener"), err)));
            return;
        }
    };
    let Some(addr) = http.addrs().first().copied() else {
        let _ = started.send(Err(StartError::Crashed));
        return;
    };
    let server = http.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        // A dropped sender (the Server value vanished) also means stop.
        let _ = stop.await;
        let _ = shutdown_tx.send(true);
        handle.stop(true).await;
    });
    log::info!(
        "{} serving {} on {addr}",
        step.name(),
        pages_shown.display()
    );
    log::info!("answering to the host names {}", names.listed().join(", "));
    if step.signaling.is_some() {
        log::info!(
            "file limit {}: at most {} connections, {} signaling sockets (MAX_SOCKETS), {} per address, {} new per address a minute",
            budget.file_limit,
            budget.connections,
            caps.max_sockets,
            caps.max_sockets_per_ip,
            caps.new_sockets_per_ip_per_minute
        );
    }
    let _ = started.send(Ok((addr, hub)));
    if let Err(err) = server.await {
        log::error!("server stopped with an error: {err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_limit_leaves_room_for_pages_at_the_socket_cap() {
        let budget = connection_budget(20_000, 2);
        assert_eq!(budget.connections, 20_000 - 64);
        assert_eq!(budget.connections_per_worker * 2, 20_000 - 64);
        assert_eq!(budget.sockets, 20_000 - 64 - 256);
        // A small limit keeps a quarter of its connections for pages.
        let small = connection_budget(264, 4);
        assert_eq!(small.connections_per_worker * 4, 200);
        assert_eq!(small.sockets, 150);
        // Absurdly small limits still allow something.
        assert!(connection_budget(0, 2).sockets >= 1);
    }

    #[test]
    fn symbolic_links_out_of_the_page_folder_are_not_followed() {
        let root = std::env::temp_dir().join(format!("videochat-links-{}", std::process::id()));
        let pages = root.join("pages");
        std::fs::create_dir_all(pages.join("inner")).unwrap();
        std::fs::write(root.join("secret.txt"), "secret").unwrap();
        std::fs::write(pages.join("inner/page.js"), "ok").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.txt"), pages.join("out.txt")).unwrap();
            std::os::unix::fs::symlink(pages.join("inner/page.js"), pages.join("alias.js"))
                .unwrap();
        }
        let real = pages.canonicalize().unwrap();
        assert!(stays_inside(&real, Path::new("inner/page.js")));
        assert!(stays_inside(&real, Path::new("missing.js")));
        #[cfg(unix)]
        {
            assert!(!stays_inside(&real, Path::new("out.txt")));
            assert!(stays_inside(&real, Path::new("alias.js")));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
