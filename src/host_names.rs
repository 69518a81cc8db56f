//! The host names this server answers to, and the checks built on them.
//! (The names people give themselves, usernames and room names, are checked
//! in `src/signaling/policy/display_names.rs`.)
//!
//! **Why the `Host` header is checked.** In a DNS rebinding attack a person
//! visits `http://evil.example:8080/`; the attacker's DNS then answers
//! `127.0.0.1` for `evil.example`, and the page's scripts, still on their own
//! origin, now talk to the learner's server on loopback. The browser sends
//! `Host: evil.example:8080` and, for a WebSocket, `Origin: http://evil.example:8080`:
//! comparing the two proves nothing, since the attacker controls both. So the
//! server keeps its own list of names, made at start from where it listens
//! and what the operator configured, and answers only requests whose `Host`
//! is one of them; `Origin` is compared with the same list and the server's
//! own port, never with `Host`.
//!
//! The names: `localhost` (and `*.localhost`, which browsers keep on
//! loopback), any loopback address, the address the server listens on, and,
//! when it listens on every interface (`0.0.0.0` or `::`), every interface
//! address and the machine's host name (also as `<name>.local`), read once at
//! start; plus the host of every configured extra origin and of the public
//! origin, `TLS_NAMES`, and the HTTPS certificate's names (added by the
//! server). An address gained after start needs a restart.

use std::collections::HashSet;
use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

/// The host names and addresses the server answers to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerNames {
    names: HashSet<String>,
    addresses: HashSet<IpAddr>,
}

impl ServerNames {
    /// The names for a server listening on `host`, plus the hosts of `extra_origins`.
    pub fn for_listening(host: &str, extra_origins: &[String]) -> ServerNames {
        let mut names = ServerNames::default();
        names.add(host);
        let listening_everywhere = host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
        if listening_everywhere {
            names.addresses.extend(interface_addresses());
            if let Some(host_name) = host_name() {
                names.add(&host_name);
                names.add(&format!("{host_name}.local"));
            }
        }
        for origin in extra_origins {
            if let Some((host, _port)) = origin_host_and_port(origin) {
                names.add(&host);
            }
        }
        names
    }

    /// Adds a host name or an address (IPv6 with or without brackets).
    pub fn add(&mut self, name: &str) {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        match name.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) if !ip.is_unspecified() => {
                self.addresses.insert(ip);
            }
            Ok(_) => {}
            Err(_) if !name.is_empty() => {
                self.names.insert(name);
            }
            Err(_) => {}
        }
    }

    /// True when `host` (a name or an address, without port) is one of ours.
    pub fn contains(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return ip.is_loopback() || self.addresses.contains(&ip);
        }
        host == "localhost" || host.ends_with(".localhost") || self.names.contains(&host)
    }

    /// True when a `Host` header (`name[:port]`) names this server.
    pub fn allows_host_header(&self, value: &str) -> bool {
        split_host_port(value).is_some_and(|(host, _)| self.contains(host))
    }

    /// True when a page at `origin` is this server's own page: one of our
    /// names, on the port the server listens on.
    pub fn is_own_origin(&self, origin: &str, port: u16) -> bool {
        origin_host_and_port(origin)
            .is_some_and(|(host, origin_port)| origin_port == port && self.contains(&host))
    }

    /// Every name the server answers to, as a person types it in the
    /// address bar (IPv6 in brackets), for the start line and the log:
    /// `localhost`, `*.localhost` and loopback addresses always, then the
    /// names and addresses it was given or found, sorted.
    pub fn listed(&self) -> Vec<String> {
        let mut extra: Vec<String> = self.names.iter().cloned().collect();
        extra.extend(
            self.addresses
                .iter()
                .filter(|ip| !ip.is_loopback())
                .map(|ip| match ip {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => format!("[{v6}]"),
                }),
        );
        extra.sort();
        let always = [
            "localhost",
            "*.localhost",
            "127.0.0.1 (any loopback address)",
            "[::1]",
        ];
        always.into_iter().map(String::from).chain(extra).collect()
    }
}

/// Every address of every network interface, loopback included (empty, with
/// a warning, where they cannot be listed).
pub fn interface_addresses() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(|i| i.ip()).collect(),
        Err(err) => {
            log::warn!(
                "cannot list the network interfaces ({err}): only loopback names are served"
            );
            Vec::new()
        }
    }
}

/// This machine's host name, lower case.
pub fn host_name() -> Option<String> {
    gethostname::gethostname()
        .to_str()
        .map(str::to_ascii_lowercase)
}

/// `scheme://host[:port]` as the host and the port (the scheme's default when absent).
fn origin_host_and_port(origin: &str) -> Option<(String, u16)> {
    let (scheme, authority) = origin.trim_end_matches('/').split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (host, port) = split_host_port(authority)?;
    Some((host.to_string(), port.unwrap_or(default_port)))
}

/// `name`, `name:port`, `[v6]` or `[v6]:port` as the host and the port.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', ':']) && !authority.starts_with('[') {
        return None;
    }
    let port = match port {
        Some(text) => Some(text.parse().ok()?),
        None => None,
    };
    Some((host, port))
}

/// The body of a 421: which settings add a name (the start line lists the
/// names the server answers to).
pub const MISDIRECTED: &str = "this server does not answer to that host name: \
the names it answers to are on the line it printed at start; add one with \
--tls-name (TLS_NAMES), --public-origin (PUBLIC_ORIGIN) or --host (HOST)\n";

/// Middleware: answers 421 to a request whose `Host` is not one of ours,
/// before any route (page, `/ice-servers`, `/ws`) sees it.
pub async fn require_own_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let allowed = match (host, req.app_data::<web::Data<ServerNames>>()) {
        (Some(host), Some(names)) => names.allows_host_header(host),
        _ => false,
    };
    if allowed {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    log::info!("refused a request for host {host:?}: not one of this server's names");
    let response = HttpResponse::MisdirectedRequest().body(MISDIRECTED);
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_server() -> ServerNames {
        ServerNames::for_listening("127.0.0.1", &[])
    }

    #[test]
    fn loopback_names_are_ours_and_others_are_not() {
        let names = loopback_server();
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "app.localhost:1",
        ] {
            assert!(names.allows_host_header(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "evil.example",
            "192.0.2.7:8080",
            "",
            "[::1",
            "localhost:port",
            "user@localhost",
            "localhost.evil.example",
        ] {
            assert!(!names.allows_host_header(host), "{host}");
        }
    }

    #[test]
    fn configured_origins_add_their_hosts() {
        let names =
            ServerNames::for_listening("127.0.0.1", &["https://Chat.Example.org".to_string()]);
        assert!(names.allows_host_header("chat.example.org"));
        assert!(names.allows_host_header("chat.example.org:443"));
        assert!(!names.allows_host_header("example.org"));
    }

    #[test]
    fn the_listening_address_is_ours() {
        let names = ServerNames::for_listening("198.51.100.4", &[]);
        assert!(names.allows_host_header("198.51.100.4:8080"));
        assert!(!names.allows_host_header("198.51.100.5:8080"));
    }

    #[test]
    fn own_origins_need_our_name_and_our_port() {
        let names = loopback_server();
        assert!(names.is_own_origin("http://127.0.0.1:8080", 8080));
        assert!(names.is_own_origin("http://LOCALHOST:8080/", 8080));
        assert!(names.is_own_origin("https://[::1]:8080", 8080));
        assert!(names.is_own_origin("http://localhost", 80));
        assert!(!names.is_own_origin("http://127.0.0.1:9999", 8080));
        assert!(!names.is_own_origin("http://evil.example:8080", 8080));
        assert!(!names.is_own_origin("null", 8080));
        assert!(!names.is_own_origin("ftp://localhost:8080", 8080));
    }
}
