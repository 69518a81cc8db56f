//! The headers every response carries, and why each one.

use actix_web::http::header;
use actix_web::middleware;

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
pub fn security_headers() -> middleware::DefaultHeaders {
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
