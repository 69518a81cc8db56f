//! Step 01: set up the project.
//!
//! The Rust server serves this step's page, `static/app01/`.
//!
//! Run it with `cargo run --example app01` and open the URL it prints:
//! the page says "My Video Chat".

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app01())
}
