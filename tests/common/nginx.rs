//! A real nginx (Debian's package), running one of the repo's own
//! deployment files (`deploy/nginx/videochat.conf` for one server,
//! `videochat-two-processes.conf` for two sharing Redis) with a test's names,
//! ports and certificate.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    child: Child,
    /// Where nginx speaks HTTPS.
    pub https_port: u16,
    dir: PathBuf,
}

/// What the test puts in place of the deployment file's example values.
pub struct Site<'a> {
    pub name: &'a str,
    pub cert: &'a Path,
    pub key: &'a Path,
    /// The recipe: a file name in `deploy/nginx/`.
    pub recipe: &'a str,
    /// The servers behind it, in place of the recipe's ports 8080, 8081...
    pub upstream_ports: &'a [u16],
}

const DEPLOYMENT_FOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx");

impl Nginx {
    /// Starts nginx with HTTPS on `https_port`, its logs and temporary files
    /// in `dir`, and waits until it listens.
    pub fn start_on(site: &Site<'_>, dir: &Path, https_port: u16) -> Nginx {
        std::fs::create_dir_all(dir).expect("nginx's folder");
        let nginx = find_nginx();
        let http_port = super::browser::free_port();
        let recipe = std::fs::read_to_string(Path::new(DEPLOYMENT_FOLDER).join(site.recipe))
            .expect("read the nginx recipe");
        let mut replacements = vec![
            (
                "listen 443 ssl;",
                format!("listen 127.0.0.1:{https_port} ssl;"),
            ),
            ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
            (
                "/etc/letsencrypt/live/chat.example.org/fullchain.pem",
                site.cert.display().to_string(),
            ),
            (
                "/etc/letsencrypt/live/chat.example.org/privkey.pem",
                site.key.display().to_string(),
            ),
            ("chat.example.org", site.name.to_string()),
        ];
        let recipe_ports = ["127.0.0.1:8080", "127.0.0.1:8081"];
        for (recipe_port, port) in recipe_ports.iter().zip(site.upstream_ports) {
            replacements.push((recipe_port, format!("127.0.0.1:{port}")));
        }
        let mut conf = recipe;
        for (example, value) in replacements {
            // The recipe and this test must not drift apart unnoticed.
            assert!(
                conf.contains(example),
                "the recipe no longer has {example:?}"
            );
            conf = conf.replace(example, &value);
        }
        let temp = dir.join("nginx-temp");
        std::fs::create_dir_all(&temp).expect("nginx's temporary folder");
        // Workers may run as another user (nginx drops root): let them write.
        make_world_writable(&temp);
        std::fs::write(dir.join("site.conf"), conf).expect("write site.conf");
        let main = format!(
            "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log {dir}/access.log;\n  client_body_temp_path {temp}/body;\n  \
             proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n  \
             uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n  include {dir}/site.conf;\n}}\n",
            dir = dir.display(),
            temp = temp.display()
        );
        let main_path = dir.join("nginx.conf");
        std::fs::write(&main_path, main).expect("write nginx.conf");
        // Its own group (deadline::spawn), so that master and workers end together.
        let child = super::deadline::spawn(
            Command::new(&nginx)
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(&main_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", nginx.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", https_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen on {https_port}: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            https_port,
            dir: dir.to_path_buf(),
        }
    }

    /// nginx's error log, for failure messages.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// The process group to end when the test binary exits.
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        end_process_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// Ends nginx's master and workers (their group is the master's pid).
pub fn end_process_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals the group we created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn make_world_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .expect("open up nginx's temporary folder");
}

/// `NGINX`, or Debian's `/usr/sbin/nginx`, or `nginx` on `PATH`.
fn find_nginx() -> PathBuf {
    if let Some(path) = std::env::var_os("NGINX") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/sbin/nginx");
    if debian.is_file() {
        return debian;
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("nginx"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!("no nginx found: install Debian's nginx (`bash scripts/install-deps.sh` does), or set NGINX")
        })
}
