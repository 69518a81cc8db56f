//! No test can hang: every test body runs under a deadline, and every
//! process a test starts ends when the test binary ends, however it ends.
//!
//! - [`run`] runs an async test body on the shared runtime and fails it
//!   after [`TEST_DEADLINE`], saying what it was waiting for at the time
//!   (each waiting helper names its wait with [`waiting_for`]).
//! - [`spawn`] starts a helper process (a browser's driver, nginx, coturn, a
//!   step's server) in a process group of its own and hands that group to a
//!   watchdog: a small shell that reads group ids from a pipe and, when the
//!   pipe closes, kills every group it was given. The pipe closes when this
//!   binary exits for any reason, a `kill -9` or a cancelled CI job
//!   included, so no browser, nginx or coturn outlives a run.
//! - [`recv_line`] reads a child's output line with a deadline, for the waits
//!   that would otherwise block on a pipe forever.

use std::cell::RefCell;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// The longest one test may take, from its first line to its last. The
/// slowest tests (a mixed mesh of three, with Firefox) take about a minute;
/// a test also waits for its turn at a shared browser, which at most one
/// other test holds.
pub const TEST_DEADLINE: Duration = Duration::from_secs(300);

/// The runtime every async test runs on. Shared (not one per test) because
/// the WebDriver client's connection task must outlive any single test.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the test runtime")
});

thread_local! {
    /// What the test on this thread is waiting for now.
    static WAITING_FOR: RefCell<String> = RefCell::new("nothing named yet".to_string());
}

/// Names what the test on this thread waits for from now on, for the
/// message if the deadline passes. (`run` polls the test's future on the
/// test's own thread, so a thread-local follows the test.)
pub fn waiting_for(what: &str) {
    WAITING_FOR.with(|waiting| *waiting.borrow_mut() = what.to_string());
}

/// Runs an async test body on the shared runtime; fails the test if it takes
/// longer than [`TEST_DEADLINE`].
pub fn run<F: Future>(future: F) -> F::Output {
    run_within(TEST_DEADLINE, future)
}

/// [`run`] with another deadline (the test of the deadline itself).
pub fn run_within<F: Future>(deadline: Duration, future: F) -> F::Output {
    waiting_for("the test to start");
    // The timer is made inside the runtime, which owns the clock.
    let outcome = RUNTIME.block_on(async move { tokio::time::timeout(deadline, future).await });
    match outcome {
        Ok(output) => output,
        Err(_) => {
            let what = WAITING_FOR.with(|waiting| waiting.borrow().clone());
            panic!("the test passed its deadline of {deadline:?} while waiting for {what}")
        }
    }
}

/// The watchdog's end of the pipe: writing a group id hands it over.
static WATCHDOG: LazyLock<Mutex<Option<ChildStdin>>> = LazyLock::new(|| {
    // `trap '' INT TERM`: a Ctrl-C or a TERM sent to the whole job must not
    // end the watchdog before it has done its work; its own process group
    // keeps it out of the terminal's signals too.
    let script = "trap '' INT TERM HUP; groups=''; \
                  while read -r group; do groups=\"$groups $group\"; done; \
                  for group in $groups; do kill -KILL \"-$group\" 2>/dev/null; done";
    let started = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match started {
        Ok(mut watchdog) => Mutex::new(watchdog.stdin.take()),
        Err(err) => {
            eprintln!("warning: no watchdog for the test's processes ({err}): a killed run may leave them behind");
            Mutex::new(None)
        }
    }
});

/// Starts `command` in a process group of its own, which the watchdog kills
/// when this test binary ends. Everything the process starts (a browser
/// started by its driver, nginx's workers) is in that group too.
pub fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let child = command.process_group(0).spawn()?;
    let mut watchdog = WATCHDOG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pipe) = watchdog.as_mut() {
        // The group id is the child's pid (process_group(0)).
        let _ = writeln!(pipe, "{}", child.id());
    }
    Ok(child)
}

/// Reads `stream` line by line on a thread of its own, so that a test can
/// wait for the next line with a deadline ([`recv_line`]).
pub fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// The next line from `lines`, or `None` once the stream has ended; fails
/// the test naming `what` if no line comes within `timeout`.
pub fn recv_line(lines: &Receiver<String>, what: &str, timeout: Duration) -> Option<String> {
    match lines.recv_timeout(timeout) {
        Ok(line) => Some(line),
        Err(RecvTimeoutError::Timeout) => panic!("timed out after {timeout:?} waiting for {what}"),
        Err(RecvTimeoutError::Disconnected) => None,
    }
}

/// Runs `command` to its end and returns its output, or fails the test
/// naming `what` if it takes longer than `timeout` (the process is killed).
pub fn output_within(command: &mut Command, what: &str, timeout: Duration) -> std::process::Output {
    let mut child = spawn(command.stdout(Stdio::piped()).stderr(Stdio::piped()))
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let read_all = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read_all(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = read_all(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} was still running after {timeout:?}: killed it");
            }
            Err(err) => panic!("waiting for {what}: {err}"),
        }
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}
