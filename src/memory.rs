//! Giving memory back to the system after sockets leave.
//!
//! glibc's allocator keeps what freed sockets used, for reuse, instead of
//! returning it to the system: after a crowd leaves, the server's resident
//! memory stays at its peak. `benches/compare.rs` measured 108 MB still held
//! ten seconds after 5,000 sockets had left (31 MB before they came), and
//! 8 MB with this module. `malloc_trim(0)` hands the free pages back; it is
//! called at most once every [`CHECK_EVERY`], and only when sockets have left
//! since the last check, so a steady server never pays for it.

use std::time::Duration;

/// How often the number of open sockets is looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Watches `open_sockets` (a count the caller reads) for the rest of the
/// server's life and trims the heap after sockets have left.
pub fn give_back_after_leaves(open_sockets: impl Fn() -> usize + 'static) {
    actix_web::rt::spawn(async move {
        let mut last = open_sockets();
        let mut ticks = actix_web::rt::time::interval(CHECK_EVERY);
        loop {
            ticks.tick().await;
            let now = open_sockets();
            if now < last {
                trim();
            }
            last = now;
        }
    });
}

/// Returns the allocator's free memory to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own heap under its own locks;
    // it takes no pointer and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators decide for themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
