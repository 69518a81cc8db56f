//! Two devices, for real: HTTPS and WSS, with the page opened under a
//! network name rather than `localhost`.
//!
//! Chromium resolves `chat.test` to 127.0.0.1 (`--host-resolver-rules`), so
//! the pages are not on `localhost` and get no secure-context exemption,
//! exactly as on a phone that opens a laptop's address. The certificates are
//! trusted by their public key (`--ignore-certificate-errors-spki-list`),
//! never by ignoring every certificate error.
//!
//! - step 02 over `http://chat.test` gets no camera, and says why;
//! - step 17 over `https://chat.test` runs a whole call (video and sound both
//!   ways, a chat line) with a self-signed certificate made at start, with
//!   certificate files, and behind a real nginx holding the certificate;
//! - the same call through nginx's two-process recipe
//!   (`deploy/nginx/videochat-two-processes.conf`): two step 17 processes
//!   sharing their rooms through a real Redis, Alice's socket on one, Bob's
//!   on the other;
//! - a foreign `Origin` through nginx is still refused;
//! - each bad TLS setting stops the binary with one line.

use crate::common;
use videochat::steps;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use base64::Engine;
use common::browser::{browser_with, BrowserTurn};
use common::call::{expect_media_from_each, QUICK};
use common::deadline::run;
use common::nginx::{Nginx, Site};
use common::process::ServerProcess;
use common::redis::Redis;
use common::rooms::{
    alice_and_bob_in_room, expect_last_chat_line, expect_tiles_connected, join_room,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use videochat::config::Config;
use videochat::server::Server;
use videochat::tls::TlsSetting;

/// The network name the pages are opened under.
const NAME: &str = "chat.test";

/// Everything the tests share: the servers, nginx, and the flags the one
/// browser of this binary starts with (it must trust both certificates).
struct Setup {
    insecure_step_02: Server,
    self_signed: Server,
    with_files: Server,
    behind_nginx: Server,
    nginx: Nginx,
    /// The certificate of the files (and of nginx), DER.
    files_cert: Vec<u8>,
    /// Its files, and the folder they are in (for another nginx).
    cert_files: (PathBuf, PathBuf),
    dir: PathBuf,
    browser_flags: Vec<String>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("videochat-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder for certificates");
        let names = vec![NAME.to_string()];

        let insecure_step_02 = common::serve_with(
            steps::app02(),
            Config {
                tls_names: names.clone(),
                ..Config::default()
            },
        );
        let self_signed_pem = dir.join("self-signed.pem");
        let self_signed = common::serve_with(
            steps::app17(),
            Config {
                tls: TlsSetting::SelfSigned {
                    cert_out: Some(self_signed_pem.clone()),
                },
                tls_names: names.clone(),
                ..Config::default()
            },
        );
        let (cert, key) = make_certificate_files(&dir, &[NAME], Validity::Current);
        let files_cert = first_certificate(&cert);
        let with_files = common::serve_with(
            steps::app17(),
            Config {
                tls: TlsSetting::Files {
                    cert: cert.clone(),
                    key: key.clone(),
                },
                ..Config::default()
            },
        );
        let (behind_nginx, nginx) = start_behind_nginx(&dir, &cert, &key);

        let spki = [
            spki_sha256(&first_certificate(&self_signed_pem)),
            spki_sha256(&files_cert),
        ];
        let browser_flags = vec![
            format!("--host-resolver-rules=MAP {NAME} 127.0.0.1"),
            format!("--ignore-certificate-errors-spki-list={}", spki.join(",")),
        ];
        Setup {
            insecure_step_02,
            self_signed,
            with_files,
            behind_nginx,
            nginx,
            files_cert,
            cert_files: (cert, key),
            dir,
            browser_flags,
        }
    })
}

/// The app17 server on plain HTTP with `PUBLIC_ORIGIN` naming nginx's
/// address, and nginx in front of it; nginx's group is ended at exit.
fn start_behind_nginx(dir: &Path, cert: &Path, key: &Path) -> (Server, Nginx) {
    // The server must know the origin people use, nginx's address, before
    // nginx knows the server's port: choose nginx's port first.
    let https_port = common::browser::free_port();
    let server = common::serve_with(
        steps::app17(),
        Config {
            public_origin: Some(format!("https://{NAME}:{https_port}")),
            ..Config::default()
        },
    );
    let nginx = Nginx::start_on(
        &Site {
            name: NAME,
            cert,
            key,
            recipe: "videochat.conf",
            upstream_ports: &[server.addr().port()],
        },
        dir,
        https_port,
    );
    let _ = NGINX_GROUP.set(nginx.process_group());
    // SAFETY: registering a plain `extern "C" fn` is what atexit expects.
    unsafe {
        libc::atexit(end_nginx_at_exit);
    }
    (server, nginx)
}

static NGINX_GROUP: OnceLock<u32> = OnceLock::new();

/// The shared setup is never dropped: end nginx when the test binary exits.
extern "C" fn end_nginx_at_exit() {
    if let Some(group) = NGINX_GROUP.get() {
        common::nginx::end_process_group(*group);
    }
}

#[derive(Clone, Copy)]
enum Validity {
    Current,
    Expired,
}

/// Writes a certificate for `names` and its key as PEM files; returns their paths.
fn make_certificate_files(dir: &Path, names: &[&str], validity: Validity) -> (PathBuf, PathBuf) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).expect("certificate names");
    let now = SystemTime::now();
    let day = Duration::from_secs(24 * 3600);
    let (from, until) = match validity {
        Validity::Current => (now - day, now + 30 * day),
        Validity::Expired => (now - 60 * day, now - 30 * day),
    };
    params.not_before = time::OffsetDateTime::from(from);
    params.not_after = time::OffsetDateTime::from(until);
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = params.self_signed(&key).expect("a certificate");
    let stem = match validity {
        Validity::Current => "current",
        Validity::Expired => "expired",
    };
    let cert_path = dir.join(format!("{stem}-cert.pem"));
    let key_path = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write the certificate");
    std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
    (cert_path, key_path)
}

/// The first certificate of a PEM file, DER.
fn first_certificate(pem_path: &Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(pem_path)
        .expect("a PEM file")
        .next()
        .expect("a certificate in it")
        .expect("a readable certificate")
        .to_vec()
}

/// What `--ignore-certificate-errors-spki-list` takes: base64 of the SHA-256
/// of the certificate's SubjectPublicKeyInfo.
fn spki_sha256(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("an X.509 certificate");
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(cert.public_key().raw))
}

async fn browser() -> BrowserTurn {
    browser_with(&setup().browser_flags).await
}

/// Alice and Bob open `url`, join one room, and see, hear and chat with
/// each other; their signaling sockets are `wss:` to the page's own name.
async fn call_over(browser: &BrowserTurn, url: &str) {
    let (alice, bob) = alice_and_bob_in_room(browser, browser, url, "daily").await;
    for page in [&alice, &bob] {
        expect_media_from_each(page, 1).await;
    }
    alice.type_into("#message", "over https").await;
    alice.click("#send-message").await;
    expect_last_chat_line(&bob, "Alice", "over https").await;
    let host = url.trim_start_matches("https://").trim_end_matches('/');
    for page in [&alice, &bob] {
        let seen = page
            .eval(
                "return [location.protocol, window.isSecureContext, window.__probe.sockets];",
                vec![],
            )
            .await;
        assert_eq!(
            seen,
            json!(["https:", true, [format!("wss://{host}/ws")]]),
            "{url}"
        );
        page.assert_no_uncaught_errors().await;
    }
}

/// Step 02 opened as `http://chat.test:PORT/`: not a secure context, so no
/// camera; the page says what to do instead of failing silently.
#[test]
fn an_http_page_under_a_network_name_gets_no_camera() {
    run(async {
        let browser = browser().await;
        let port = setup().insecure_step_02.addr().port();
        let page = browser
            .open("phone", &format!("http://{NAME}:{port}/"))
            .await;
        page.wait_for_status("ready", QUICK).await;
        assert_eq!(
            page.eval("return window.isSecureContext;", vec![]).await,
            json!(false)
        );
        page.click("#camera").await;
        let status = page.wait_for_status("needs a secure page", QUICK).await;
        assert!(status.contains("https"), "{status}");
        assert_eq!(
            page.eval("return window.__probe.tracks.length;", vec![])
                .await,
            json!(0)
        );
        page.assert_no_uncaught_errors().await;
    });
}

/// A whole step 17 call over `https://chat.test` with the certificate the
/// server made at start (`--tls-self-signed --tls-name chat.test`).
#[test]
fn a_call_over_https_with_a_self_signed_certificate() {
    run(async {
        let browser = browser().await;
        let port = setup().self_signed.addr().port();
        call_over(&browser, &format!("https://{NAME}:{port}/")).await;
    });
}

/// The same call with certificate files (`--tls-cert`, `--tls-key`).
#[test]
fn a_call_over_https_with_certificate_files() {
    run(async {
        let browser = browser().await;
        let port = setup().with_files.addr().port();
        call_over(&browser, &format!("https://{NAME}:{port}/")).await;
    });
}

/// The same call through nginx running `deploy/nginx/videochat.conf`: TLS
/// at nginx, plain HTTP to the server, the Origin check on.
#[test]
fn a_call_through_nginx_holding_the_certificate() {
    run(async {
        let browser = browser().await;
        let setup = setup();
        let url = format!("https://{NAME}:{}/", setup.nginx.https_port);
        call_over(&browser, &url).await;
        // The call's signaling went through nginx to this server: both
        // pages' sockets are open on it.
        assert_eq!(setup.behind_nginx.open_sockets(), 2);
    });
}

/// How many signaling sockets a server process has open now, from its log
/// ("peer ... connected (N open here)", "peer ... left (N open here)").
fn sockets_open_in(server: &ServerProcess) -> usize {
    let log = server.log();
    let opened = log.matches(" connected (").count();
    let closed = log.matches(" left (").count();
    opened.saturating_sub(closed)
}

/// Waits until the two processes have `total` sockets open between them;
/// returns how many each has.
async fn wait_for_sockets(servers: [&ServerProcess; 2], total: usize) -> [usize; 2] {
    common::deadline::waiting_for(&format!("{total} sockets open over the two processes"));
    let deadline = std::time::Instant::now() + QUICK;
    loop {
        let open = servers.map(sockets_open_in);
        if open[0] + open[1] == total {
            return open;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sockets open: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// nginx's two-process recipe: two step 17 processes sharing a real Redis
/// behind one nginx. Alice's socket lands on one process; Bob joins (again,
/// if nginx's turn-taking put him on the same one) until his is on the
/// other; then they see and hear each other and chat, through both.
#[test]
fn a_call_through_nginx_to_two_processes_sharing_redis() {
    run(async {
        let browser = browser().await;
        let setup = setup();
        let redis = Redis::start();
        let https_port = common::browser::free_port();
        let origin = format!("https://{NAME}:{https_port}");
        let redis_url = redis.url();
        let env = [
            ("REDIS_URL", redis_url.as_str()),
            ("PUBLIC_ORIGIN", origin.as_str()),
        ];
        let first = ServerProcess::start_with_env("app17", &[], &env, None);
        let second = ServerProcess::start_with_env("app17", &[], &env, None);
        let (cert, key) = &setup.cert_files;
        let _nginx = Nginx::start_on(
            &Site {
                name: NAME,
                cert,
                key,
                recipe: "videochat-two-processes.conf",
                upstream_ports: &[first.addr.port(), second.addr.port()],
            },
            &setup.dir.join("two-processes"),
            https_port,
        );
        let url = format!("{origin}/");
        let alice = join_room(&browser, &url, "Alice", "daily").await;
        let alice_on = wait_for_sockets([&first, &second], 1).await;
        let mut tries = 0;
        let bob = loop {
            tries += 1;
            let bob = join_room(&browser, &url, "Bob", "daily").await;
            let open = wait_for_sockets([&first, &second], 2).await;
            if open == [1, 1] {
                break bob;
            }
            assert!(
                tries < 8,
                "nginx put Bob beside Alice {tries} times: {open:?}"
            );
            bob.close().await;
            wait_for_sockets([&first, &second], 1).await;
        };
        eprintln!("Alice's socket on process {alice_on:?}; Bob's on the other after {tries} tries");
        expect_tiles_connected(&alice, &["Bob"]).await;
        expect_tiles_connected(&bob, &["Alice"]).await;
        for page in [&alice, &bob] {
            expect_media_from_each(page, 1).await;
        }
        alice.type_into("#message", "through two processes").await;
        alice.click("#send-message").await;
        expect_last_chat_line(&bob, "Alice", "through two processes").await;
        for page in [&alice, &bob] {
            page.assert_no_uncaught_errors().await;
        }
    });
}

/// Through nginx, an upgrade from a foreign origin is refused (403), while
/// the page's own origin upgrades (101).
#[test]
fn a_foreign_origin_through_nginx_is_refused() {
    run(async {
        let setup = setup();
        let port = setup.nginx.https_port;
        let own =
            upgrade_through_tls(port, &setup.files_cert, &format!("https://{NAME}:{port}")).await;
        assert_eq!(own, 101, "{}", setup.nginx.error_log());
        let foreign = upgrade_through_tls(port, &setup.files_cert, "https://evil.example").await;
        assert_eq!(foreign, 403);
    });
}

/// A WebSocket upgrade to nginx on `port` over TLS (trusting `cert`) with
/// `origin`; returns the HTTP status.
async fn upgrade_through_tls(port: u16, cert: &[u8], origin: &str) -> u16 {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(cert.to_vec()))
        .expect("trust the test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("connect to nginx");
    let name = rustls::pki_types::ServerName::try_from(NAME).expect("a server name");
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {NAME}:{port}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .await
        .expect("send the upgrade");
    let mut head = [0u8; 12];
    tls.read_exact(&mut head).await.expect("the status line");
    String::from_utf8_lossy(&head[9..12])
        .parse()
        .expect("a status code")
}

/// Headers a client adds cannot widen what the server answers to: a forged
/// `X-Forwarded-Host` with a foreign `Origin`, straight to the server, is refused.
#[test]
fn forwarded_headers_from_a_client_are_not_trusted() {
    let setup = setup();
    let addr = setup.behind_nginx.addr();
    let host = addr.to_string();
    let refused = common::http::request(
        addr,
        "GET",
        "/ws",
        &[
            ("Host", &host),
            ("X-Forwarded-Host", "evil.example"),
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "host=evil.example;proto=https"),
            ("Origin", "https://evil.example"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ],
    );
    assert_eq!(refused.status, 403);
    let evil_host = common::http::request(
        addr,
        "GET",
        "/",
        &[("Host", "evil.example"), ("X-Forwarded-Host", &host)],
    );
    assert_eq!(evil_host.status, 421);
}

// ---- Bad settings: one line, a non-zero exit, nothing started ----

/// Runs `app01` with `args`; returns its exit code and what it printed on stderr.
fn run_app01(args: &[&str]) -> (Option<i32>, String) {
    // A bad setting stops it at once; one that starts it anyway is killed
    // at the deadline, and the assertion below says so.
    let output = common::deadline::output_within(
        Command::new(common::process::example_binary("app01"))
            .args(["--port", "0"])
            .args(args)
            .env("RUST_LOG", "warn"),
        "app01 with a bad setting",
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("is running"),
        "it started anyway: {stdout}"
    );
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn each_bad_tls_setting_is_one_line_and_a_failed_start() {
    let dir = std::env::temp_dir().join(format!("videochat-bad-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let (cert, key) = make_certificate_files(&dir, &["localhost"], Validity::Current);
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).expect("a folder");
    let (_, other_key) = make_certificate_files(&other_dir, &["localhost"], Validity::Current);
    let (expired_cert, expired_key) =
        make_certificate_files(&dir, &["localhost"], Validity::Expired);
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").expect("write");
    // PEM armour around text that is not base64.
    let malformed_pem = dir.join("malformed.pem");
    std::fs::write(
        &malformed_pem,
        "-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    // Well-formed PEM whose bytes ("hello world") are no X.509 certificate.
    let not_x509 = dir.join("not-x509.pem");
    std::fs::write(
        &not_x509,
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let missing = dir.join("missing.pem");
    // A folder cannot be read as a file, even by root (who reads any file).
    let unreadable = other_dir.clone();
    let unwritable = dir.join("no-such-folder").join("cert.pem");
    let path = |p: &Path| p.display().to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![
                "--tls-cert".into(),
                path(&missing),
                "--tls-key".into(),
                path(&key),
            ],
            1,
            "cannot read TLS_CERT",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&not_pem),
                "--tls-key".into(),
                path(&key),
            ],
            1,
            "holds no certificate",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&cert),
                "--tls-key".into(),
                path(&not_pem),
            ],
            1,
            "is not a PEM private key",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&cert),
                "--tls-key".into(),
                path(&other_key),
            ],
            1,
            "does not fit",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&expired_cert),
                "--tls-key".into(),
                path(&expired_key),
            ],
            1,
            "expired on",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&cert),
                "--tls-key".into(),
                path(&unreadable),
            ],
            1,
            "cannot read TLS_KEY",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&malformed_pem),
                "--tls-key".into(),
                path(&key),
            ],
            1,
            "is not a PEM certificate",
        ),
        (
            vec![
                "--tls-cert".into(),
                path(&not_x509),
                "--tls-key".into(),
                path(&key),
            ],
            1,
            "not a valid X.509 certificate",
        ),
        (
            vec![
                "--tls-self-signed".into(),
                "--tls-cert-out".into(),
                path(&unwritable),
            ],
            1,
            "cannot write the certificate to",
        ),
        (vec!["--tls-cert".into(), path(&cert)], 2, "go together"),
        (vec!["--tls-key".into(), path(&key)], 2, "go together"),
        (
            vec![
                "--tls-cert".into(),
                path(&cert),
                "--tls-key".into(),
                path(&key),
                "--tls-self-signed".into(),
            ],
            2,
            "not both",
        ),
    ];
    for (args, code, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (exit, stderr) = run_app01(&args);
        assert_eq!(exit, Some(code), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(says),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- What the binary prints for a second device ----

/// Every address of this machine a phone could reach (not loopback, not
/// IPv4-less link-local), as `http(s)://` URLs would name it.
fn reachable_ipv4_addresses() -> Vec<std::net::IpAddr> {
    videochat::host_names::interface_addresses()
        .into_iter()
        .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
        .collect()
}

/// `--host 0.0.0.0 --tls-self-signed --tls-cert-out FILE`: the start lines
/// name an `https://` URL for every network address and the SHA-256
/// fingerprint of the very certificate written to FILE, whose names cover
/// localhost, loopback, the host name, every address and `--tls-name`.
#[test]
fn a_self_signed_start_prints_every_url_and_the_fingerprint() {
    let dir = std::env::temp_dir().join(format!("videochat-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let out = dir.join("phone.pem");
    let out_arg = out.display().to_string();
    let mut server = common::process::ServerProcess::start(
        "app01",
        &[
            "--host",
            "0.0.0.0",
            "--tls-self-signed",
            "--tls-name",
            NAME,
            "--tls-cert-out",
            &out_arg,
        ],
        None,
    );
    assert!(
        server.start_line.contains("open https://localhost:"),
        "{}",
        server.start_line
    );
    let mut lines = Vec::new();
    loop {
        let Some(line) = server.next_line() else {
            panic!("no fingerprint line: {lines:?}");
        };
        // 32 bytes as "AB:" pairs: the fingerprint, the last line.
        let done = line.trim().len() == 32 * 3 - 1 && line.matches(':').count() == 31;
        lines.push(line);
        if done {
            break;
        }
    }
    let printed = lines.join("\n");
    let port = server.addr.port();
    for ip in reachable_ipv4_addresses() {
        assert!(
            printed.contains(&format!("https://{ip}:{port}/")),
            "{ip}: {printed}"
        );
    }
    let der = first_certificate(&out);
    let fingerprint: Vec<String> = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert!(printed.contains(&fingerprint.join(":")), "{printed}");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("a certificate");
    let san: Vec<String> = cert
        .subject_alternative_name()
        .expect("a valid SAN")
        .expect("a SAN")
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_string()),
            x509_parser::extensions::GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                16 => <[u8; 16]>::try_from(*bytes)
                    .ok()
                    .map(|b| std::net::IpAddr::from(b).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut wanted: Vec<String> = ["localhost", NAME, "127.0.0.1", "::1"]
        .map(String::from)
        .to_vec();
    wanted.extend(videochat::host_names::host_name());
    wanted.extend(reachable_ipv4_addresses().iter().map(|ip| ip.to_string()));
    for name in wanted {
        assert!(san.contains(&name), "{name}: {san:?}");
    }
    assert!(server.stop(), "it stopped cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}

/// On every interface over plain HTTP the start lines warn that other
/// devices get no camera, and name the flag that fixes it; on loopback they
/// do not, and list the host names it answers to (loopback's, besides the
/// address it printed).
#[test]
fn plain_http_on_the_network_warns_about_the_camera() {
    let mut everywhere =
        common::process::ServerProcess::start("app01", &["--host", "0.0.0.0"], None);
    if reachable_ipv4_addresses().is_empty() {
        panic!("this test needs a network interface besides loopback");
    }
    let mut printed = String::new();
    while !printed.contains("warning") {
        let Some(line) = everywhere.next_line() else {
            panic!("no warning: {printed}");
        };
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(
        printed.contains("no camera") && printed.contains("--tls-self-signed"),
        "{printed}"
    );
    let mut loopback = common::process::ServerProcess::start("app01", &[], None);
    assert!(
        loopback.start_line.contains("open http://127.0.0.1:"),
        "{}",
        loopback.start_line
    );
    // The names it answers to, under the start line: loopback's, not only
    // the address it printed.
    let names = loopback.next_line().unwrap_or_default();
    assert!(
        names.contains("answers to the host names localhost, *.localhost, 127.0.0.1 (any loopback address), [::1] "),
        "{names}"
    );
    assert!(loopback.stop(), "it stopped cleanly");
    // Stopped, its output is complete: read all of it.
    let mut rest = String::new();
    while let Some(line) = loopback.next_line() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(!rest.contains("warning"), "{rest}");
}
