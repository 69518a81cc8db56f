//! Every step's page in real headless browsers (Chromium and Firefox, fake
//! camera and microphone), over HTTP, over HTTPS and behind nginx; and the
//! book, built and checked.
//!
//! One test binary for all of them: each binary links the whole dependency
//! tree again, so fewer binaries build faster.

#[path = "../common/mod.rs"]
mod common;

mod book;
mod every_page;
mod https;
mod nat;
mod phone_layout;
mod shared_rooms;
mod step_19;
mod step_20;
mod steps_01_02;
mod steps_03_06;
mod steps_07_10;
mod steps_11_14;
mod steps_15_17;
mod steps_18_devices;
mod steps_18_indicators;
