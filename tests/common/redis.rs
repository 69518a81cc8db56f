//! A real Redis for the shared-rooms tests: Debian's `redis-server`
//! (installed by `scripts/install-deps.sh`), started on a free loopback port
//! with nothing saved to disk, and stopped with the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::deadline::spawn;

/// How long a starting Redis may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Redis {
    /// Starts a Redis on a free loopback port.
    pub fn start() -> Redis {
        // Redis cannot be told "any free port" and report it, so the test
        // asks the system for one and hands it over (it is free a moment
        // later unless another program takes it in between: rare, and the
        // start then fails loudly).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        Redis::start_on(port)
    }

    /// Starts a Redis on `port` (again, after [`Redis::stop`]: empty, as a
    /// Redis that keeps nothing on disk comes back after a restart).
    pub fn start_on(port: u16) -> Redis {
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = Command::new(program);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            // Nothing on disk: each test's Redis starts empty and leaves no file.
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child =
            spawn(&mut command).expect("start redis-server (scripts/install-deps.sh installs it)");
        let redis = Redis {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !redis.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {port} within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Whether it answers PING now.
    pub fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Stops it at once (SIGKILL: what a crash looks like to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
