//! # videochat: a WebRTC video chat in eighteen steps
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
//! | [`cli`] | the `main` of every example: settings, start, URL, Ctrl-C | step 01 |
//! | [`config`] | every setting, as clap flags and environment variables, checked into a [`config::Config`] | step 01 |
//! | [`server`] | the HTTP server: a step's page folder, security headers, logging, graceful stop; the thread and task model | step 01 |
//! | [`host_names`] | the host names the server answers to (the DNS-rebinding guard) and the `Origin` check's list | step 01; `/ws` uses it from step 07 |
//! | [`signaling`] | the WebSocket at `/ws`: [`signaling::session`] (one socket's loop: read, heartbeat, limits, write), [`signaling::hub`] (the one owner of the open sockets), [`signaling::relay`] (the policies: [`signaling::relay::broadcast`], [`signaling::relay::rooms`]), [`signaling::message`] (the typed protocol, name rules), [`signaling::origin`], [`signaling::rate`], [`signaling::admission`] (connection caps), [`signaling::frame_guard`] (frame sizes before they are read) | step 07; direct policy step 15, rooms step 17 |
//! | [`ice`] | `GET /ice-servers`: the ICE server list | step 09 |
//! | [`turn`] | short-lived TURN credentials added to that list when `TURN_SECRET` is set | step 09 (optional) |
//! | [`memory`] | giving the heap back to the system after sockets leave | step 07 |
//! | [`random`] | unguessable hex strings: peer ids, TURN username labels | step 09 |
//! | [`tls`] | HTTPS: certificate files, or a self-signed certificate made at start, so a second device gets its camera | every step accepts it |
//!
//! The layers go one way: [`cli`] reads [`config`] and starts [`server`];
//! `config` parses values with [`ice`], [`turn`] and [`tls`]; `server` puts
//! [`signaling`], [`ice`], [`host_names`] and [`tls`] together. Lower layers give
//! plain reasons; the layer that knows the setting names it.
//!
//! The library holds the mechanisms; each example chooses the ones its step
//! uses, so reading `examples/appNN.rs` shows what that step's server offers.
//! The wire protocol is the book's appendix "The signaling protocol".

pub mod cli;
pub mod config;
pub mod host_names;
pub mod ice;
pub mod memory;
pub mod random;
pub mod server;
pub mod signaling;
pub mod tls;
pub mod turn;

pub use cli::run;
pub use server::Step;
