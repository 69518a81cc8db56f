//! # videochat: a WebRTC video chat in nineteen steps
//!
//! Each step is a complete app: an example (`examples/appNN.rs`) that runs
//! its server, and a page folder (`static/appNN/`) with plain JavaScript.
//! Run one with `cargo run --example app02` and open the URL it prints. The
//! tutorial text is the book in `docs/`.
//!
//! ## Layout
//!
//! | module | job | introduced by |
//! |---|---|---|
//! | [`steps`] | what each step's server offers, one function per step | every step |
//! | [`runner`] | the `main` of every example: logging, settings, start, the URL, Ctrl-C | step 01 |
//! | [`config`] | every setting, as clap flags and environment variables, checked into a [`config::Config`] | step 01 |
//! | [`server`] | the HTTP server: a [`Step`]'s page folder and routes, security headers, the file budget, graceful stop | step 01 |
//! | [`host_names`] | the host names the server answers to (the DNS-rebinding guard) | step 01; `/ws` uses it from step 07 |
//! | [`signaling`] | the WebSocket at `/ws`: a one-way chain of small files, from the wire types to the route (its own table says which file does what) | step 07; direct policy step 15, rooms step 17, resume step 19; rooms shared through Redis (`--redis-url`) from step 15 |
//! | [`sfu`] | the selective forwarding unit on str0m: one UDP port, one loop, media forwarded inside each room | step 20 |
//! | `ice` | `GET /ice-servers`: the ICE server list | step 09 |
//! | [`turn`] | short-lived TURN credentials added to that list when `TURN_SECRET` is set | step 09 (optional) |
//! | [`tls`] | HTTPS: certificate files, or a self-signed certificate made at start | every step accepts it |
//! | `background` | a thread with a runtime of its own (the SFU, the Redis loops) | step 20; `--redis-url` |
//! | `memory` | giving the heap back to the system after sockets leave | step 07 |
//! | `random` | unguessable hex strings: peer ids, TURN username labels | step 09 |
//!
//! The layers go one way, and no module uses one that uses it back (the
//! test `module_imports_go_one_way` checks it): [`runner`] reads [`config`]
//! and starts [`server`]; `config` parses values with `ice`, [`turn`] and
//! [`tls`]; `server` puts [`signaling`], `ice`, [`host_names`] and [`tls`]
//! together. Lower layers give plain reasons; the layer that knows the
//! setting names it.
//!
//! ## What is public
//!
//! What a learner's example, the tests and the benches use: the steps, the
//! runner, the settings, the server's start functions and handle, the
//! signaling [`signaling::Policy`] and [`signaling::Limits`], and the few
//! helpers the tests check the server against ([`host_names`], [`turn`],
//! [`tls`]). Everything else is private to the crate, so that the names a
//! reader meets in these docs are the ones that matter outside; the private
//! modules are read in their files, each of which starts with what it does
//! and why.

mod background;
pub mod config;
pub mod host_names;
mod ice;
mod memory;
mod random;
pub mod runner;
pub mod server;
pub mod sfu;
pub mod signaling;
pub mod steps;
pub mod tls;
pub mod turn;

#[cfg(test)]
mod one_way_imports;

pub use runner::run;
pub use server::Step;
