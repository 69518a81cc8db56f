//! # videochat: a WebRTC video chat in seventeen steps
//!
//! Each step is a complete app: an example (`examples/appNN.rs`) that starts
//! this library's server, and a page folder (`static/appNN/`) with plain
//! JavaScript. Run one with `cargo run --example app02` and open the URL it
//! prints. The tutorial text is the book in `docs/`.
//!
//! ## Layout
//!
//! | module | job | introduced by |
//! |---|---|---|
//! | [`config`] | operator settings from flags and environment (`HOST`, `PORT`, `STATIC_ROOT`) | step 01 |
//! | [`server`] | the HTTP server: a step's page folder, logging, graceful stop | step 01 |
//! | [`cli`] | the `main` of every example: settings, start, URL, Ctrl-C | step 01 |
//! | [`signaling`] | the WebSocket at `/ws`: [`signaling::session`] (one socket's loop: read, heartbeat, limits, write), [`signaling::hub`] (the one owner of the open sockets and rooms, and the three relay policies), [`signaling::message`] (wire types, name rules), [`signaling::origin`], [`signaling::rate`], [`signaling::admission`] (connection caps), [`signaling::frame_guard`] (frame sizes before they are read) | step 07; direct policy step 15, rooms step 17 |
//! | [`names`] | the host names the server answers to (the DNS-rebinding guard) and the `Origin` check's list | step 01; `/ws` uses it from step 07 |
//! | [`ice`] | `GET /ice-servers`: the ICE server list, checked at start | step 09 |
//! | [`tls`] | HTTPS: certificate files, or a self-signed certificate made at start, so a second device gets its camera | after step 17; every step accepts it |
//! | [`random`] | unguessable hex strings: peer ids, TURN username labels | step 09 |
//! | [`turn`] | short-lived TURN credentials added to that list when `TURN_SECRET` is set | step 09 (optional) |
//!
//! The library holds the mechanisms; each example chooses the ones its step
//! uses, so reading `examples/appNN.rs` shows what that step's server offers.

pub mod cli;
pub mod config;
pub mod ice;
pub mod names;
pub mod random;
pub mod server;
pub mod signaling;
pub mod tls;
pub mod turn;

pub use cli::run;
pub use server::Step;
