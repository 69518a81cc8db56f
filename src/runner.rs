//! The `main` of every example: read the settings, start the step's server,
//! print the URL to open, and stop cleanly on Ctrl-C.
//!
//! Errors a person can fix (a bad setting, a port in use, a missing folder)
//! are printed as one `error: ...` line with a non-zero exit status, never as
//! a panic trace.

use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use crate::server::{self, Server, Step};
use crate::tls::TlsSetting;

/// Exit status for a setting that could not be read (the usual "usage" status).
const EXIT_USAGE: u8 = 2;

/// Runs `step` until Ctrl-C (or SIGTERM). Each example's `main` is this one call.
pub fn run(step: Step) -> ExitCode {
    init_logging();
    let program = format!("cargo run --example {} --", step.name());
    let config = match Config::from_env_and_args(&program) {
        Ok(config) => config,
        Err(ConfigError::Help(help)) => {
            print!("{help}");
            return ExitCode::SUCCESS;
        }
        Err(ConfigError::Invalid(reason)) => {
            eprintln!("error: {reason}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    server::raise_file_limit();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot wait for Ctrl-C: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Listening from now on, before the start line invites anyone (or any
    // script) to stop the server: a signal that came earlier would kill it
    // without a clean stop.
    let stop = {
        let _in_runtime = runtime.enter();
        StopSignals::listen()
    };
    let mut server = match server::start(step.clone(), &config) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{} is running: open {} in one browser window per person (Ctrl-C stops it)",
        step.name(),
        server.url()
    );
    print_how_to_reach(&server, &config);

    let faulted = runtime.block_on(async {
        tokio::select! {
            () = stop.recv() => false,
            () = server.ended() => true,
        }
    });
    if faulted {
        eprintln!("error: the server stopped by itself (see the log above)");
        return ExitCode::FAILURE;
    }
    log::info!("stopping: finishing requests in flight");
    server.stop();
    ExitCode::SUCCESS
}

/// The lines after the start line: what other devices open, how to check
/// the certificate, and a warning where they would get no camera.
fn print_how_to_reach(server: &Server, config: &Config) {
    let others = server.urls_for_other_devices();
    println!(
        "  it answers to the host names {} (add one with --tls-name)",
        server.host_names().join(", ")
    );
    if let Some(origin) = &config.public_origin {
        println!("  behind the proxy, people open {origin}/");
    }
    if !others.is_empty() {
        println!("  on other devices: {}", others.join("  "));
    }
    match server.tls_fingerprint() {
        Some(fingerprint) => {
            if matches!(config.tls, TlsSetting::SelfSigned { .. }) {
                println!("  the browser warns about the self-signed certificate: accept it if its SHA-256 fingerprint is");
            } else {
                println!("  certificate SHA-256 fingerprint:");
            }
            println!("  {fingerprint}");
        }
        // Browsers give the camera only to https pages, or http on localhost.
        None if !others.is_empty() => println!(
            "  warning: over plain http, other devices get no camera or microphone \
             (browsers allow them only on https or localhost): add --tls-self-signed"
        ),
        None => {}
    }
}

/// `RUST_LOG` chooses what is logged; without it, `info` shows each request.
fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    // An error only means a logger is already installed, which is fine.
    let _ = env_logger::Builder::from_env(env).try_init();
}

/// Ctrl-C and SIGTERM (what `kill` and service managers send), listened
/// for from the moment [`StopSignals::listen`] returns.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers; must run inside the runtime.
    fn listen() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let install = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(signal) => Some(signal),
                Err(err) => {
                    log::warn!("cannot listen for {name} ({err})");
                    None
                }
            };
            StopSignals {
                interrupt: install(SignalKind::interrupt(), "Ctrl-C"),
                terminate: install(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Completes on the first of them. One that could not be installed
    /// never completes, rather than stopping the server at once.
    async fn recv(self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt) => {}
                () = next(self.terminate) => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            log::warn!("cannot listen for Ctrl-C ({err}); stop the server with kill");
            std::future::pending::<()>().await;
        }
    }
}
