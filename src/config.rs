//! Settings an operator chooses: where to listen, where the pages are, the
//! ICE and TURN servers, HTTPS, and the caps on sockets.
//!
//! Every setting can come from a command-line flag or an environment variable;
//! the flag wins. `cargo run --example app01 -- --port 9000` and
//! `PORT=9000 cargo run --example app01` do the same thing. `Args` declares
//! them all with clap, which parses each value into its type and prints
//! `--help`; `Config::from_args` then checks the rules that span several
//! settings and gives the server a [`Config`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::ice::{self, IceServer};
use crate::signaling::{self, Caps};
use crate::tls::TlsSetting;
use crate::turn::{self, Turn};

/// Where the examples listen unless told otherwise. Loopback only: browsers treat
/// `http://127.0.0.1` and `http://localhost` as secure contexts, so the camera
/// works without TLS, and nothing on the network can reach a learner's laptop.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The port the tutorial's text and screenshots use.
pub const DEFAULT_PORT: u16 = 8080;

/// A room needs two people for a call.
pub const MIN_ROOM_SIZE: usize = 2;
/// Past 16 a full mesh uploads 15 streams from every member: no laptop copes.
pub const MAX_ROOM_SIZE: usize = 16;

// ANCHOR: args
/// Every setting there is, as flags and environment variables. Each doc
/// comment is the setting's line in `--help`, written for the terminal (so
/// its URLs are bare).
#[allow(rustdoc::bare_urls)]
#[derive(Parser, Debug)]
#[command(
    about = "A step of the videochat tutorial: its page and, from step 07, its signaling server."
)]
#[command(after_help = "RUST_LOG sets the log level (default: info).")]
struct Args {
    /// Address to listen on (0.0.0.0 listens on every interface)
    #[arg(long, env = "HOST", default_value = DEFAULT_HOST)]
    host: String,
    /// TCP port to listen on (0 picks a free one)
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// JSON array of ICE servers for the pages, as in RTCConfiguration.iceServers (default: one public STUN server)
    #[arg(long, env = "ICE_SERVERS", value_parser = ice_server_list)]
    ice_servers: Option<IceServerList>,
    /// Comma-separated turn:/turns: URLs of a coturn server; with TURN_SECRET, each page gets a short-lived credential for them
    #[arg(long, env = "TURN_URLS", value_delimiter = ',', value_parser = trimmed)]
    turn_urls: Vec<String>,
    /// coturn's static-auth-secret (use-auth-secret); prefer the variable, since a flag shows in the process list
    #[arg(long, env = "TURN_SECRET", hide_env_values = true)]
    turn_secret: Option<String>,
    /// Seconds a TURN credential lasts, 60 to 604800 (default 86400: it must outlast the longest call)
    #[arg(long, env = "TURN_TTL")]
    turn_ttl: Option<u64>,
    /// Comma-separated extra page origins allowed to open /ws, e.g. https://chat.example.org
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', value_parser = trimmed)]
    allowed_origins: Vec<String>,
    /// Most people in one room, 2 to 16 (default 4: in a mesh each member uploads one stream per other member); step 15 holds two whatever this says
    #[arg(long, env = "ROOM_SIZE", value_parser = room_size)]
    room_size: Option<usize>,
    /// Most signaling sockets open at once (default and ceiling: the file limit less room for page loads)
    #[arg(long, env = "MAX_SOCKETS", value_parser = at_least_one)]
    max_sockets: Option<usize>,
    /// Most signaling sockets open from one address, IPv6 counted by /64 (behind a proxy, every socket is the proxy's)
    #[arg(long, env = "MAX_SOCKETS_PER_IP", value_parser = at_least_one, default_value_t = signaling::MAX_SOCKETS_PER_IP)]
    max_sockets_per_ip: usize,
    /// New signaling sockets one address may open a minute, after a burst of MAX_SOCKETS_PER_IP
    #[arg(long, env = "NEW_SOCKETS_PER_IP_PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..), default_value_t = signaling::NEW_SOCKETS_PER_IP_PER_MINUTE)]
    new_sockets_per_ip_per_minute: u32,
    /// PEM certificate chain (mkcert's, or Let's Encrypt's fullchain.pem); with TLS_KEY the port serves HTTPS and /ws is wss:
    #[arg(long, env = "TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of TLS_CERT (privkey.pem)
    #[arg(long, env = "TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made at start for localhost, this machine's names and addresses, and TLS_NAMES (browsers warn once)
    #[arg(long, env = "TLS_SELF_SIGNED", value_parser = clap::builder::BoolishValueParser::new())]
    tls_self_signed: bool,
    /// Extra names for the self-signed certificate, comma-separated or repeated; also names the server answers to
    #[arg(long = "tls-name", env = "TLS_NAMES", value_delimiter = ',', value_parser = trimmed)]
    tls_names: Vec<String>,
    /// Write the self-signed certificate to this PEM file, to install it as trusted on a phone
    #[arg(long, env = "TLS_CERT_OUT")]
    tls_cert_out: Option<PathBuf>,
    /// The address people open when a reverse proxy is in front, e.g. https://chat.example.org: the server answers to its name and accepts it as Origin
    #[arg(long, env = "PUBLIC_ORIGIN", value_parser = public_origin)]
    public_origin: Option<String>,
    /// Share rooms with other server processes through this Redis, e.g. redis://127.0.0.1:6379/ (steps 15 on; without it each process has rooms of its own)
    #[arg(long, env = "REDIS_URL", value_parser = redis_url)]
    redis_url: Option<String>,
    /// UDP port of step 20's SFU, for every member's media (default 8443; 0 picks a free one)
    #[arg(long, env = "MEDIA_PORT", default_value_t = crate::sfu::DEFAULT_MEDIA_PORT)]
    media_port: u16,
    /// The address step 20's SFU announces to browsers, when it is not the one it listens on (behind a 1:1 NAT, in a container)
    #[arg(long, env = "MEDIA_ADDRESS")]
    media_address: Option<std::net::IpAddr>,
    /// Folder holding the steps' page folders app01/ ... app20/ (default: the crate's static/)
    #[arg(long, env = "STATIC_ROOT")]
    static_root: Option<PathBuf>,
}
// ANCHOR_END: args

/// `ICE_SERVERS`, parsed (a newtype, so clap takes it as one value).
#[derive(Clone, Debug, PartialEq, Eq)]
struct IceServerList(Vec<IceServer>);

fn ice_server_list(text: &str) -> Result<IceServerList, String> {
    ice::parse_ice_servers(text).map(IceServerList)
}

fn trimmed(text: &str) -> Result<String, String> {
    Ok(text.trim().to_string())
}

fn room_size(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| (MIN_ROOM_SIZE..=MAX_ROOM_SIZE).contains(n))
        .ok_or_else(|| format!("must be a number from {MIN_ROOM_SIZE} to {MAX_ROOM_SIZE}"))
}

fn redis_url(text: &str) -> Result<String, String> {
    let url = text.trim();
    signaling::check_redis_url(url).map(|()| url.to_string())
}

fn at_least_one(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| "must be a whole number of at least 1".to_string())
}

/// `https://host[:port]` (or `http://`), with no path: the origin a browser sends.
fn public_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let fine = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@'])
    });
    if fine {
        Ok(origin)
    } else {
        Err("must look like https://chat.example.org (scheme, host, optional port, no path)".into())
    }
}

/// The settings the server runs with, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// The folder that holds `app01/`, `app02/`, ...; each example serves its own.
    pub static_root: PathBuf,
    /// What `GET /ice-servers` returns.
    pub ice_servers: Vec<IceServer>,
    /// A TURN server to add to that list, with a fresh credential per page.
    pub turn: Option<Turn>,
    /// Page origins besides the server's own that may open `/ws`.
    pub allowed_origins: Vec<String>,
    /// Most people in one room (`ROOM_SIZE`); `None` keeps the default of
    /// [`signaling::ROOM_SIZE`]. The other signaling limits are tuned in code
    /// ([`signaling::Limits`]), not by the operator.
    pub room_size: Option<usize>,
    /// Caps on signaling sockets. `max_sockets: None` means "as many as the
    /// file limit allows" (see [`crate::server::connection_budget`]).
    pub socket_caps: Caps,
    /// HTTPS, and where its certificate comes from.
    pub tls: TlsSetting,
    /// Extra names: in a self-signed certificate, and answered to.
    pub tls_names: Vec<String>,
    /// The origin people open behind a reverse proxy (`https://host[:port]`).
    pub public_origin: Option<String>,
    /// Where rooms are shared with other processes (`REDIS_URL`); `None`
    /// keeps them in this process's memory.
    pub redis_url: Option<String>,
    /// Step 20's SFU: its UDP port (`MEDIA_PORT`)...
    pub media_port: u16,
    /// ...and the address it announces, if not the one it listens on
    /// (`MEDIA_ADDRESS`).
    pub media_address: Option<std::net::IpAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: DEFAULT_HOST.to_string(),
            port: DEFAULT_PORT,
            // Found from the crate root, not the working directory, so
            // `cargo run --example appNN` works from any folder of the checkout.
            static_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static")),
            ice_servers: ice::default_ice_servers(),
            turn: None,
            allowed_origins: Vec::new(),
            room_size: None,
            socket_caps: Caps::default(),
            tls: TlsSetting::Off,
            tls_names: Vec::new(),
            public_origin: None,
            redis_url: None,
            media_port: crate::sfu::DEFAULT_MEDIA_PORT,
            media_address: None,
        }
    }
}

/// Why there is no config to run with.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for: the text to print, and no error.
    Help(String),
    /// A setting is wrong: one line, meant for a person (the usual exit
    /// status for it is 2).
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Help(text) | ConfigError::Invalid(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the real command line and environment; `program` is the name
    /// `--help` shows.
    pub fn from_env_and_args(program: &str) -> Result<Config, ConfigError> {
        let command = Args::command().bin_name(program.to_string());
        let matches = command.try_get_matches().map_err(clap_error)?;
        let args = Args::from_arg_matches(&matches).map_err(clap_error)?;
        Config::from_args(args)
    }

    /// Reads `flags` (without the program name) and nothing else: no
    /// environment variable is looked at. For tests, and for programs that
    /// configure a server themselves.
    pub fn from_flags<I, T>(flags: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let program = std::iter::once(OsString::from("videochat"));
        let flags = program.chain(flags.into_iter().map(Into::into));
        // The same declarations with their variables taken off: what the
        // process's environment holds cannot leak into the result.
        let command = Args::command().mut_args(|arg| arg.env(None::<&str>));
        let matches = command.try_get_matches_from(flags).map_err(clap_error)?;
        let args = Args::from_arg_matches(&matches).map_err(clap_error)?;
        Config::from_args(args)
    }

    /// Checks the rules that span several settings and makes the config.
    fn from_args(args: Args) -> Result<Config, ConfigError> {
        let invalid = |text: &str| ConfigError::Invalid(text.to_string());
        let mut config = Config {
            host: args.host.trim().to_string(),
            port: args.port,
            ..Config::default()
        };
        if config.host.is_empty() {
            return Err(invalid("HOST/--host is empty"));
        }
        if let Some(IceServerList(servers)) = args.ice_servers {
            config.ice_servers = servers;
        }
        let turn_urls: Vec<String> = non_empty(args.turn_urls);
        config.turn = match (turn_urls.is_empty(), args.turn_secret) {
            (true, None) if args.turn_ttl.is_none() => None,
            (false, Some(secret)) => {
                let ttl = args.turn_ttl.map_or(turn::DEFAULT_TTL, Duration::from_secs);
                let turn = Turn::new(turn_urls, &secret, ttl).map_err(|reason| {
                    ConfigError::Invalid(format!("TURN_URLS/TURN_SECRET/TURN_TTL: {reason}"))
                })?;
                Some(turn)
            }
            // One without the other is a half-done setup: say so at start,
            // not when the first call fails to relay.
            _ => {
                return Err(invalid(
                    "TURN_URLS and TURN_SECRET go together (and TURN_TTL needs them): set both, or neither",
                ))
            }
        };
        config.allowed_origins = non_empty(args.allowed_origins);
        config.room_size = args.room_size;
        config.socket_caps = Caps {
            max_sockets: args.max_sockets,
            max_sockets_per_ip: args.max_sockets_per_ip,
            new_sockets_per_ip_per_minute: args.new_sockets_per_ip_per_minute,
        };
        config.tls = tls_setting(
            args.tls_cert,
            args.tls_key,
            args.tls_self_signed,
            args.tls_cert_out,
        )?;
        config.tls_names = non_empty(args.tls_names);
        config.public_origin = args.public_origin;
        config.redis_url = args.redis_url;
        config.media_port = args.media_port;
        config.media_address = args.media_address;
        if let Some(root) = args.static_root {
            config.static_root = root;
        }
        Ok(config)
    }
}

/// The TLS settings, checked for combinations that cannot work.
fn tls_setting(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    self_signed: bool,
    cert_out: Option<PathBuf>,
) -> Result<TlsSetting, ConfigError> {
    let invalid = |text: &str| Err(ConfigError::Invalid(text.to_string()));
    match (cert, key, self_signed) {
        (None, None, false) if cert_out.is_none() => Ok(TlsSetting::Off),
        (None, None, false) => invalid(
            "TLS_CERT_OUT/--tls-cert-out writes the self-signed certificate: it needs TLS_SELF_SIGNED/--tls-self-signed",
        ),
        (None, None, true) => Ok(TlsSetting::SelfSigned { cert_out }),
        (Some(_), Some(_), true) => invalid(
            "choose one: certificate files (TLS_CERT and TLS_KEY) or a self-signed certificate (TLS_SELF_SIGNED), not both",
        ),
        (Some(cert), Some(key), false) if cert_out.is_none() => Ok(TlsSetting::Files { cert, key }),
        (Some(_), Some(_), false) => invalid(
            "TLS_CERT_OUT/--tls-cert-out writes a self-signed certificate: with TLS_CERT you already have the file",
        ),
        _ => invalid("TLS_CERT/--tls-cert and TLS_KEY/--tls-key go together: set both, or neither"),
    }
}

/// The items of a list setting that are not empty (`"a,,b"` has two).
fn non_empty(items: Vec<String>) -> Vec<String> {
    items.into_iter().filter(|item| !item.is_empty()).collect()
}

/// clap's answer as ours: help is help; an error is its first line.
fn clap_error(err: clap::Error) -> ConfigError {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ConfigError::Help(err.to_string()),
        _ => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or_default();
            let line = first.strip_prefix("error: ").unwrap_or(first);
            ConfigError::Invalid(format!("{line} (see --help)"))
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every rule, through flags. That each setting is also read from its
    //! environment variable is clap's own lookup (`#[arg(env)]`), checked
    //! end to end by `settings_come_from_the_environment_and_flags_win`
    //! (tests/server/http_server.rs), which runs an example with variables set.
    use super::*;

    fn parse(flags: &[&str]) -> Result<Config, ConfigError> {
        Config::from_flags(flags)
    }

    #[test]
    fn defaults_listen_on_loopback_8080() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8080);
        assert!(config.static_root.ends_with("static"));
        assert_eq!(config, Config::default());
    }

    #[test]
    fn the_last_flag_wins() {
        assert_eq!(parse(&["--port", "9001"]).unwrap().port, 9001);
        let config = parse(&["--port=9002", "--host", "0.0.0.0"]).unwrap();
        assert_eq!((config.host.as_str(), config.port), ("0.0.0.0", 9002));
    }

    #[test]
    fn bad_port_is_one_readable_line() {
        let err = parse(&["--port", "eighty"]).unwrap_err().to_string();
        assert!(err.contains("--port") && err.contains("eighty"), "{err}");
        assert!(!err.contains('\n'));
        assert!(parse(&["--port", "70000"]).is_err());
    }

    #[test]
    fn unknown_and_incomplete_flags_are_refused() {
        assert!(
            matches!(parse(&["--prot", "1"]), Err(ConfigError::Invalid(m)) if m.contains("--prot"))
        );
        assert!(
            matches!(parse(&["--port"]), Err(ConfigError::Invalid(m)) if m.contains("value is required"))
        );
        assert!(matches!(parse(&["8080"]), Err(ConfigError::Invalid(_))));
        assert!(matches!(parse(&["--help"]), Err(ConfigError::Help(_))));
        // Every setting is listed with its variable; the TURN secret's value never is.
        let help = Args::command().render_help().to_string();
        let command = Args::command();
        for arg in command
            .get_arguments()
            .filter(|arg| arg.get_long() != Some("help"))
        {
            let var = arg
                .get_env()
                .and_then(|var| var.to_str())
                .expect("a variable");
            assert!(help.contains(&format!("[env: {var}")), "{var} in {help}");
        }
        assert!(help.contains("[env: TURN_SECRET]"), "{help}");
    }

    #[test]
    fn ice_servers_and_origins_are_read_and_checked() {
        let config = parse(&[
            "--ice-servers",
            r#"[{"urls":"stun:127.0.0.1:3478"}]"#,
            "--allowed-origins",
            "https://a.example, https://b.example",
        ])
        .unwrap();
        assert_eq!(
            config.ice_servers,
            ice::parse_ice_servers(r#"[{"urls":"stun:127.0.0.1:3478"}]"#).unwrap()
        );
        assert_eq!(
            config.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        let err = parse(&["--ice-servers", "stun:oops"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--ice-servers") && err.contains("not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn room_size_is_read_and_checked() {
        assert_eq!(parse(&["--room-size", "12"]).unwrap().room_size, Some(12));
        assert_eq!(parse(&[]).unwrap().room_size, None);
        for bad in ["1", "17", "four", ""] {
            let err = parse(&["--room-size", bad]).unwrap_err().to_string();
            assert!(err.contains("from 2 to 16"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn socket_caps_are_read_and_checked() {
        let config = parse(&[
            "--max-sockets",
            "500",
            "--max-sockets-per-ip",
            "4",
            "--new-sockets-per-ip-per-minute",
            "10",
        ])
        .unwrap();
        assert_eq!(
            config.socket_caps,
            Caps {
                max_sockets: Some(500),
                max_sockets_per_ip: 4,
                new_sockets_per_ip_per_minute: 10,
            }
        );
        assert_eq!(parse(&[]).unwrap().socket_caps, Caps::default());
        for bad in ["0", "-1", "many"] {
            let err = parse(&[&format!("--max-sockets-per-ip={bad}")])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("--max-sockets-per-ip") && err.contains("at least 1"),
                "{err}"
            );
        }
    }

    #[test]
    fn no_new_sockets_at_all_is_refused_as_a_setting() {
        // 0 new sockets a minute would lock every page out: refused by name.
        let err = parse(&["--new-sockets-per-ip-per-minute=0"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("new-sockets-per-ip-per-minute"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn an_empty_host_is_refused() {
        for flag in ["--host=", "--host=   "] {
            let err = parse(&[flag]).unwrap_err().to_string();
            assert!(err.contains("HOST/--host is empty"), "{flag:?}: {err}");
        }
    }

    #[test]
    fn tls_files_or_self_signed_but_not_half_or_both() {
        let files = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(
            files.tls,
            TlsSetting::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
        let made = parse(&[
            "--tls-self-signed",
            "--tls-name",
            "a.test",
            "--tls-name=b.test, c.test",
        ])
        .unwrap();
        assert_eq!(made.tls, TlsSetting::SelfSigned { cert_out: None });
        assert_eq!(made.tls_names, ["a.test", "b.test", "c.test"]);
        assert_eq!(parse(&[]).unwrap().tls, TlsSetting::Off);
        for (flags, says) in [
            (&["--tls-cert", "c.pem"][..], "go together"),
            (&["--tls-key", "k.pem"][..], "go together"),
            (
                &["--tls-cert", "c", "--tls-key", "k", "--tls-self-signed"][..],
                "not both",
            ),
            (&["--tls-cert-out", "out.pem"][..], "needs TLS_SELF_SIGNED"),
        ] {
            let err = parse(flags).unwrap_err().to_string();
            assert!(err.contains(says), "{flags:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn the_public_origin_is_an_origin() {
        let config = parse(&["--public-origin", "https://Chat.Example.org/"]).unwrap();
        assert_eq!(
            config.public_origin.as_deref(),
            Some("https://chat.example.org")
        );
        for bad in [
            "chat.example.org",
            "https://chat.example.org/room",
            "ftp://x",
            "https://",
        ] {
            let err = parse(&["--public-origin", bad]).unwrap_err().to_string();
            assert!(err.contains("--public-origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn turn_needs_urls_and_secret_together() {
        let config = parse(&[
            "--turn-ttl",
            "600",
            "--turn-urls",
            "turn:127.0.0.1:3478",
            "--turn-secret",
            "s",
        ])
        .unwrap();
        assert_eq!(
            config.turn,
            Some(
                Turn::new(
                    vec!["turn:127.0.0.1:3478".into()],
                    "s",
                    Duration::from_secs(600)
                )
                .unwrap()
            )
        );
        assert_eq!(parse(&[]).unwrap().turn, None);
        for flags in [
            &["--turn-urls", "turn:a"][..],
            &["--turn-secret", "s"][..],
            &["--turn-ttl", "600"][..],
        ] {
            let err = parse(flags).unwrap_err().to_string();
            assert!(err.contains("go together"), "{flags:?}: {err}");
        }
        let with = |ttl: &'static str| {
            parse(&[
                "--turn-urls",
                "turn:a",
                "--turn-secret",
                "s",
                "--turn-ttl",
                ttl,
            ])
            .unwrap_err()
            .to_string()
        };
        let err = with("soon");
        assert!(err.contains("--turn-ttl") && err.contains("soon"), "{err}");
        assert!(with("5").contains("from 60 to 604800"));
    }
}
