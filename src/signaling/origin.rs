//! The `Origin` check on the WebSocket upgrade.
//!
//! Browsers let any web page open a WebSocket to any server and send the
//! page's origin along. Without this check, a page on another site could
//! connect to a learner's running server and join their calls. The origin is
//! compared with the server's own names and port ([`ServerNames`]), never
//! with the request's `Host`, which a DNS-rebinding page controls.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::host_names::ServerNames;

/// True when the upgrade may proceed: no `Origin` (not a browser, which could
/// claim any origin anyway), the server's own origin, or a configured one.
pub fn is_allowed(req: &HttpRequest, names: &ServerNames, extra_origins: &[String]) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let port = req.app_config().local_addr().port();
    origin_matches(origin, names, port, extra_origins)
}

/// `origin` is `scheme://host[:port]`; it matches one of `extra_origins`
/// exactly, or names this server on its own `port`.
fn origin_matches(origin: &str, names: &ServerNames, port: u16, extra_origins: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    extra_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
        || names.is_own_origin(origin, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> ServerNames {
        ServerNames::for_listening("127.0.0.1", &[])
    }

    #[test]
    fn own_origin_is_allowed() {
        assert!(origin_matches("http://127.0.0.1:8080", &names(), 8080, &[]));
        assert!(origin_matches(
            "http://LOCALHOST:8080/",
            &names(),
            8080,
            &[]
        ));
    }

    #[test]
    fn foreign_or_other_port_is_refused() {
        assert!(!origin_matches("http://evil.example", &names(), 8080, &[]));
        assert!(!origin_matches(
            "http://127.0.0.1:9999",
            &names(),
            8080,
            &[]
        ));
        assert!(!origin_matches("null", &names(), 8080, &[]));
        assert!(!origin_matches("", &names(), 8080, &[]));
    }

    #[test]
    fn configured_origins_are_allowed() {
        let extra = vec!["https://chat.example.org".to_string()];
        assert!(origin_matches(
            "https://chat.example.org",
            &names(),
            8080,
            &extra
        ));
        assert!(!origin_matches(
            "http://chat.example.org",
            &names(),
            8080,
            &extra
        ));
    }
}
