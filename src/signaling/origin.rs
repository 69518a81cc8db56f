//! The `Origin` check on the WebSocket upgrade.
//!
//! Browsers let any web page open a WebSocket to any server and send the
//! page's origin along. Without this check, a page on another site could
//! connect to a learner's running server and join their calls.

use actix_web::http::header;
use actix_web::HttpRequest;

/// True when the upgrade may proceed: no `Origin` (not a browser, which could
/// claim any origin anyway), the server's own origin, or a configured one.
pub fn is_allowed(req: &HttpRequest, extra_origins: &[String]) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin_matches(origin, host, extra_origins)
}

/// `origin` is `scheme://host[:port]`; it matches the request's own `host`
/// (which carries the port) or one of `extra_origins` exactly.
fn origin_matches(origin: &str, host: &str, extra_origins: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    if extra_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    match origin.split_once("://") {
        Some(("http" | "https", origin_host)) => {
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_is_allowed() {
        assert!(origin_matches(
            "http://127.0.0.1:8080",
            "127.0.0.1:8080",
            &[]
        ));
        assert!(origin_matches(
            "http://LOCALHOST:8080/",
            "localhost:8080",
            &[]
        ));
    }

    #[test]
    fn foreign_or_other_port_is_refused() {
        assert!(!origin_matches(
            "http://evil.example",
            "127.0.0.1:8080",
            &[]
        ));
        assert!(!origin_matches(
            "http://127.0.0.1:9999",
            "127.0.0.1:8080",
            &[]
        ));
        assert!(!origin_matches("null", "127.0.0.1:8080", &[]));
        assert!(!origin_matches("http://127.0.0.1:8080", "", &[]));
    }

    #[test]
    fn configured_origins_are_allowed() {
        let extra = vec!["https://chat.example.org".to_string()];
        assert!(origin_matches(
            "https://chat.example.org",
            "127.0.0.1:8080",
            &extra
        ));
        assert!(!origin_matches(
            "http://chat.example.org",
            "127.0.0.1:8080",
            &extra
        ));
    }
}
