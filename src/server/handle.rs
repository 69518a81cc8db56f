//! [`Server`]: a running server, as its starter holds it: its address and
//! URLs, a few counts for tests, and a clean stop (also on drop).

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::host_names;
use crate::signaling::backend::Backend;

/// A running server. Dropping it stops it, so a test never leaks one.
pub struct Server {
    pub(super) addr: SocketAddr,
    /// The host names it answers to (see [`crate::host_names`]).
    pub(super) host_names: Vec<String>,
    /// The certificate's SHA-256 fingerprint when serving HTTPS.
    pub(super) tls_fingerprint: Option<String>,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) ended: Option<oneshot::Receiver<()>>,
    pub(super) thread: Option<JoinHandle<()>>,
    pub(super) hub: Option<Backend>,
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

    /// How many signaling sockets are registered now (0 for steps without
    /// `/ws`), with the places held for members whose socket dropped (step
    /// 19). Tests use it to prove that no socket outlives its connection.
    pub fn open_sockets(&self) -> usize {
        self.hub.as_ref().map_or(0, |hub| hub.peer_count())
    }

    /// How many resume tokens are in force (step 19; 0 for other steps).
    /// Tests use it to prove that no token outlives its member.
    pub fn resume_tokens(&self) -> usize {
        self.hub.as_ref().map_or(0, |hub| hub.token_count())
    }

    /// How many members step 20's SFU holds state for (0 for other steps).
    /// Tests use it to prove that the SFU forgets whoever leaves.
    pub fn sfu_members(&self) -> usize {
        match &self.hub {
            Some(crate::signaling::backend::Backend::Memory(hub)) => hub.sfu_members(),
            _ => 0,
        }
    }

    /// How many rooms have members now (0 for steps without rooms).
    pub fn open_rooms(&self) -> usize {
        self.hub.as_ref().map_or(0, |hub| hub.room_count())
    }

    /// Stops accepting, lets requests in flight finish (up to
    /// [`SHUTDOWN_GRACE_SECS`](super::SHUTDOWN_GRACE_SECS)), and waits for the server thread to end.
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
