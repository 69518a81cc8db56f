//! Step 09: STUN servers.
//!
//! New on the server: `GET /ice-servers`, the ICE server list the pages use.
//! Its default is one public STUN server; an operator replaces it with the
//! `ICE_SERVERS` variable (or `--ice-servers`) holding a JSON array in the
//! shape of `RTCConfiguration.iceServers`. The page still waits for ICE
//! gathering to complete before sending its SDP (vanilla ICE).
//!
//! Run it with `cargo run --example app09`, or with your own STUN server:
//! `ICE_SERVERS='[{"urls":"stun:stun.example.org:3478"}]' cargo run --example app09`.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app09())
}
