//! The `main` of every example: read the settings, start the step's server,
//! print the URL to open, and stop cleanly on Ctrl-C.
//!
//! Errors a person can fix (a bad setting, a port in use, a missing folder)
//! are printed as one `error: ...` line with a non-zero exit status, never as
//! a panic trace.

use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use crate::server::{self, Step};

/// Exit status for a setting that could not be read (the usual "usage" status).
const EXIT_USAGE: u8 = 2;

/// Runs `step` until Ctrl-C (or SIGTERM). Each example's `main` is this one call.
pub fn run(step: Step) -> ExitCode {
    init_logging();
    let config = match Config::from_env_and_args() {
        Ok(config) => config,
        Err(ConfigError::HelpRequested) => {
            print!(
                "{}",
                Config::help(&format!("cargo run --example {} --", step.name()))
            );
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    server::raise_file_limit();
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
    let faulted = runtime.block_on(async {
        tokio::select! {
            () = shutdown_signal() => false,
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

/// `RUST_LOG` chooses what is logged; without it, `info` shows each request.
fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("info");
    // An error only means a logger is already installed, which is fine.
    let _ = env_logger::Builder::from_env(env).try_init();
}

/// Completes on Ctrl-C, or on SIGTERM (what `kill` and service managers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                () = ctrl_c() => {}
                _ = terminate.recv() => {}
            },
            Err(err) => {
                log::warn!("cannot listen for SIGTERM ({err}); Ctrl-C still stops the server");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Completes on Ctrl-C. If the handler cannot be installed it never completes
/// (rather than stopping the server at once), and says so.
async fn ctrl_c() {
    if let Err(err) = tokio::signal::ctrl_c().await {
        log::warn!("cannot listen for Ctrl-C ({err}); stop the server with kill");
        std::future::pending::<()>().await;
    }
}
