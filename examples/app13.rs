//! Step 13: tell the peer when leaving.
//!
//! The server is step 12's. New in the page: leaving (the button, closing or
//! reloading the tab) sends `leave` to the other side first, over the data
//! channel and through the server, so it tears down at once instead of
//! waiting seconds for its connection to fail.
//!
//! Run it with `cargo run --example app13`, call from one window to the other,
//! then press Leave or close one of the windows.

use std::process::ExitCode;

fn main() -> ExitCode {
    videochat::run(videochat::steps::app13())
}
