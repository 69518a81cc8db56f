//! [`StartError`]: why a server could not start, as a sentence a person can act on.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::tls;

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
    /// `--redis-url` was given and Redis could not be reached.
    Redis(crate::signaling::shared::SharedError),
    /// Step 20's SFU could not bind its UDP port.
    MediaPort(String, io::Error),
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
            StartError::Redis(err) => write!(f, "{err} (REDIS_URL or --redis-url; unset it to keep rooms in this process)"),
            StartError::MediaPort(addr, err) => write!(
                f,
                "cannot listen for media on udp {addr}: {err} (choose another with --media-port or MEDIA_PORT)"
            ),
            StartError::Crashed => f.write_str("the server stopped while starting (see the log above)"),
        }
    }
}

impl std::error::Error for StartError {}
