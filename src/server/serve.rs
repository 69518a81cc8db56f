//! The server thread's body: build the actix-web app for a step, listen,
//! report the address, and serve until told to stop.

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::{middleware, web, App, HttpServer};
use tokio::sync::oneshot;

use super::budget::{connection_budget, file_limit};
use super::error::StartError;
use super::step::Step;
use super::{headers, pages};
use crate::config::Config;
use crate::host_names::{self, ServerNames};
use crate::ice;
use crate::memory;
use crate::sfu::{self, SfuSettings};
use crate::signaling::admission::Admission;
use crate::signaling::backend::Backend;
use crate::signaling::hub;
use crate::signaling::route::{self, Signaling};
use crate::signaling::shared::SharedHub;
use crate::tls::Tls;

/// How long a stopping server lets requests in flight finish. Pages are small
/// static files, so a few seconds is plenty; a real deployment behind a load
/// balancer would match the balancer's draining time instead.
pub const SHUTDOWN_GRACE_SECS: u64 = 5;

/// Worker threads: one per CPU the process may use (its affinity and cgroup
/// quota count), so the server uses the machine it is given and no more.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Where and how the server listens, prepared before its thread starts.
pub struct Listen {
    pub listener: std::net::TcpListener,
    pub tls: Option<Tls>,
    pub names: ServerNames,
    /// The rooms shared through Redis (`--redis-url`), already connected.
    pub shared: Option<SharedHub>,
}

/// The names the server answers to: where it listens, the configured extra
/// origins and public origin, `TLS_NAMES`, and the certificate's own names.
pub fn server_names(config: &Config, listen_host: &str, tls: Option<&Tls>) -> ServerNames {
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
pub async fn serve(
    step: Step,
    config: Config,
    pages: PathBuf,
    listen: Listen,
    started: std::sync::mpsc::Sender<Result<(SocketAddr, Option<Backend>), StartError>>,
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
        shared,
    } = listen;
    let workers = workers();
    let budget = connection_budget(file_limit(), workers);
    let caps = config.socket_caps;
    let admission = Admission::new(caps, budget.sockets);
    let limits = step.limits(config.room_size);
    let signaling = step.signaling().map(|policy| Signaling {
        hub: match shared {
            Some(shared) => Backend::Shared(shared),
            None => Backend::Memory(hub::create(policy, &limits, step.resumes())),
        },
        limits,
        admission: admission.clone(),
        names: names.clone(),
        allowed_origins: extra_origins(&config),
        shutdown: shutdown_rx,
    });
    // Step 20: the SFU, on a UDP port of its own (`sfu::media_addresses`
    // says on which addresses, and why more than the HTTP listener's).
    if let (
        true,
        Some(Signaling {
            hub: Backend::Memory(hub),
            ..
        }),
    ) = (step.has_sfu(), &signaling)
    {
        let addresses = sfu::media_addresses(
            listener_ip(&listener),
            config.media_port,
            config.media_address,
            &host_names::interface_addresses(),
        );
        let first = addresses
            .first()
            .map(|a| a.bind.to_string())
            .unwrap_or_default();
        let settings = SfuSettings {
            addresses,
            connect_deadline: limits.media_connect_deadline,
        };
        if let Err(err) = hub.start_sfu(settings) {
            let _ = started.send(Err(StartError::MediaPort(first, err)));
            return;
        }
    }
    let hub = signaling.as_ref().map(|s| s.hub.clone());
    if let Some(hub) = &hub {
        let hub = hub.clone();
        memory::give_back_after_leaves(move || hub.peer_count());
    }
    let ice_servers = step.has_ice_servers().then(|| ice::IceServers {
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
                .route("/ws", web::get().to(route::websocket))
                .route("/ws", web::head().to(route::websocket));
        }
        if let Some(servers) = &ice_servers {
            app = app
                .app_data(web::Data::new(servers.clone()))
                .route("/ice-servers", web::get().to(ice::ice_servers))
                .route("/ice-servers", web::head().to(ice::ice_servers));
        }
        app
            // Innermost: a request for a name that is not ours goes no further.
            .wrap(middleware::from_fn(host_names::require_own_host))
            .wrap(headers::security_headers())
            // One info line per request: learners see the page, script and
            // style sheet arrive (RUST_LOG=warn silences it). Not for /ws:
            // the logger's state would live as long as each socket (about
            // 1 KiB each, measured by benches/compare.rs), and the session
            // logs every socket's arrival and departure itself.
            .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms").exclude("/ws"))
            .service(pages::files(&pages, &real_pages))
    })
    .workers(workers)
    // Each worker stops accepting at its share of the file budget, so the
    // process never runs out of files (see `connection_budget`).
    .max_connections(budget.connections_per_worker)
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    // The caller decides when to stop (runner::run on Ctrl-C, a test on drop).
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
    if step.signaling().is_some() {
        log::info!(
            "file limit {}: at most {} connections, {} signaling sockets (MAX_SOCKETS), {} per address, {} new per address a minute",
            budget.file_limit,
            budget.connections,
            admission.max_sockets(),
            caps.max_sockets_per_ip,
            caps.new_sockets_per_ip_per_minute
        );
    }
    let _ = started.send(Ok((addr, hub.clone())));
    if let Err(err) = server.await {
        log::error!("server stopped with an error: {err}");
    }
    if let Some(backend) = &hub {
        backend.stop();
    }
}

/// The address the HTTP listener is bound to (the SFU binds the same one).
fn listener_ip(listener: &std::net::TcpListener) -> std::net::IpAddr {
    listener
        .local_addr()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |addr| addr.ip())
}
