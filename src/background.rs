//! A thread with a tokio runtime of its own, for the loops that must live
//! as long as the server but off the workers that run the sockets: step
//! 20's SFU and the Redis inbox and liveness check.

use std::future::Future;
use std::thread::JoinHandle;

/// Runs `work` to its end on a new thread named `name`, on a
/// single-threaded runtime. The runtime is built here, before the thread
/// starts, so that a failure is the caller's error rather than a thread
/// that ends silently.
pub fn spawn<F>(name: &str, work: F) -> std::io::Result<JoinHandle<()>>
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || runtime.block_on(work))
}
