//! The `/ws` route: from an HTTP request to a running socket loop.
//!
//! In order: the `Origin` check ([`super::origin`]), the connection caps
//! ([`super::admission`]), the frame-size guard ([`super::frame_guard`]), the
//! WebSocket upgrade (actix-ws), and then the socket's own loop
//! ([`super::session`]) as a task on this worker.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tokio::sync::watch;

use super::admission::{self, Admission};
use super::backend::Backend;
use super::frame_guard;
use super::limits::Limits;
use super::origin;
use super::session;
use crate::host_names::ServerNames;

/// Everything the `/ws` route needs, shared by the server's workers.
#[derive(Clone)]
pub struct Signaling {
    /// The one owner of the open sockets and the step's policy (in this
    /// process's memory, or shared through Redis).
    pub hub: Backend,
    pub limits: Limits,
    /// The connection caps, shared by every worker.
    pub admission: Admission,
    /// The names the server answers to, for the `Origin` check.
    pub names: ServerNames,
    /// Page origins besides the server's own that may open `/ws`.
    pub allowed_origins: Vec<String>,
    /// Becomes `true` when the server stops: every socket closes with 1001.
    pub shutdown: watch::Receiver<bool>,
}

/// `GET /ws`: checks the origin and the caps, upgrades, and runs the socket's loop.
pub async fn websocket(
    req: HttpRequest,
    body: web::Payload,
    signaling: web::Data<Signaling>,
) -> actix_web::Result<HttpResponse> {
    if !origin::is_allowed(&req, &signaling.names, &signaling.allowed_origins) {
        log::info!(
            "refused a socket from origin {:?}",
            req.headers().get(header::ORIGIN)
        );
        return Ok(HttpResponse::Forbidden().body("origin not allowed\n"));
    }
    let Some(peer_ip) = req.peer_addr().map(|addr| addr.ip()) else {
        return Ok(HttpResponse::BadRequest().body("no peer address\n"));
    };
    let permit = match signaling.admission.admit(peer_ip, Instant::now()) {
        Ok(permit) => permit,
        Err(refusal) => return Ok(refuse(refusal, peer_ip)),
    };
    let limits = signaling.limits;
    // The size guard reads frame headers before actix-ws buffers a payload.
    let (body, oversized) = frame_guard::guard(&req, body, limits.max_message_bytes).await?;
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(limits.max_message_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_message_bytes);
    // actix-ws's stream is not Send: it must run on this worker's own runtime.
    actix_web::rt::spawn(session::run(
        session::Connection {
            session,
            stream,
            oversized,
            permit,
        },
        signaling.hub.clone(),
        limits,
        signaling.shutdown.clone(),
    ));
    Ok(response)
}

/// The answer to a socket over a cap: a status and a sentence, at once.
fn refuse(refusal: admission::Refusal, peer_ip: IpAddr) -> HttpResponse {
    log::info!("refused a socket from {peer_ip}: {refusal}");
    let mut response = match refusal {
        admission::Refusal::ServerFull(_) => HttpResponse::ServiceUnavailable(),
        _ => HttpResponse::TooManyRequests(),
    };
    response
        .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()))
        .body(format!("{refusal}\n"))
}

/// What a refused page is told to wait before trying again.
const RETRY_AFTER_SECS: u64 = 10;
