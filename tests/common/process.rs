//! A step's example binary run as its own process, as a person runs it: for
//! what can only be seen from outside (its memory, its file limit, its log).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::deadline::{lines_of, recv_line, spawn};

/// How long a server may take to print a line it is expected to print.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// The line it starts with ("appNN is running: open URL ...").
    pub start_line: String,
    stdout: Receiver<String>,
    log: PathBuf,
}

/// `target/debug/examples/<name>`, which `cargo test` builds beside the
/// tests. (`cargo test --test NAME` alone does not rebuild the examples:
/// run `cargo build --examples` first, or the test runs an older server.)
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("this test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let path = dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test` builds the examples (or run `cargo build --examples`)",
        path.display()
    );
    path
}

impl ServerProcess {
    /// Starts `example` on a free loopback port with `args`; with
    /// `file_limit`, the process starts with that many files at most (its
    /// soft and hard limits, so it cannot raise them).
    pub fn start(example: &str, args: &[&str], file_limit: Option<u64>) -> ServerProcess {
        ServerProcess::start_with_env(example, args, &[], file_limit)
    }

    /// [`ServerProcess::start`], with the environment variables `env` set
    /// for the process.
    pub fn start_with_env(
        example: &str,
        args: &[&str],
        env: &[(&str, &str)],
        file_limit: Option<u64>,
    ) -> ServerProcess {
        let mut command = Command::new(example_binary(example));
        // Free ports for HTTP and for step 20's SFU: tests run side by side.
        command.args(["--port", "0", "--media-port", "0"]);
        ServerProcess::launch(command, example, args, env, file_limit)
    }

    /// Starts `example` on the loopback port `port`: a server started again
    /// where a stopped one was, as a restart after a deploy does.
    pub fn start_on_port(example: &str, port: u16) -> ServerProcess {
        let mut command = Command::new(example_binary(example));
        command.args(["--port", &port.to_string(), "--media-port", "0"]);
        ServerProcess::launch(command, example, &[], &[], None)
    }

    /// Starts `example` inside the network namespace `namespace` (the NAT
    /// tests' internet), with `args` choosing its address and port.
    pub fn start_in_namespace(namespace: &str, example: &str, args: &[&str]) -> ServerProcess {
        let command = super::netns::command_in(namespace, example_binary(example));
        ServerProcess::launch(command, example, args, &[], None)
    }

    fn launch(
        mut command: Command,
        example: &str,
        args: &[&str],
        env: &[(&str, &str)],
        file_limit: Option<u64>,
    ) -> ServerProcess {
        let log = std::env::temp_dir().join(format!(
            "videochat-{example}-{}-{}.log",
            std::process::id(),
            rand_suffix()
        ));
        command
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create the log file"));
        if let Some(limit) = file_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe, which is all that
            // may run between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = spawn(&mut command).expect("start the example");
        let stdout = lines_of(child.stdout.take().expect("its stdout"));
        let line = recv_line(&stdout, &format!("{example}'s start line"), LINE_TIMEOUT)
            .unwrap_or_else(|| panic!("{example} ended without a start line"));
        // "appNN is running: open http://127.0.0.1:PORT/ in ..." (or
        // https://localhost:PORT/): the port is what a test needs.
        let port: u16 = line
            .split_whitespace()
            .find_map(|word| word.split_once("://").map(|(_, rest)| rest))
            .and_then(|rest| rest.trim_end_matches('/').rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no URL in the start line {line:?}"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        ServerProcess {
            child,
            addr,
            start_line: line,
            stdout,
            log,
        }
    }

    /// The next line it prints after the start line (without its newline),
    /// or `None` once its output has ended.
    pub fn next_line(&mut self) -> Option<String> {
        recv_line(&self.stdout, "the server's next line", LINE_TIMEOUT)
    }

    /// Resident memory of the server process, in KiB (Linux's VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("a VmRSS line")
    }

    /// Stops the server as Ctrl-C or a service manager would (SIGTERM) and
    /// waits for it; true when it exited successfully.
    pub fn stop(&mut self) -> bool {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill has no memory effects; the pid is our own child's.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        self.child.wait().is_ok_and(|status| status.success())
    }

    /// Kills the server at once (SIGKILL), as a crash or the OOM killer
    /// would: it closes nothing and tells nobody.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Distinct log names for servers started by parallel tests.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
