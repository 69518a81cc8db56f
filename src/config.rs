//! Settings an operator chooses: where to listen and where the pages are.
//!
//! Every setting can come from a command-line flag or an environment variable;
//! the flag wins. `cargo run --example app01 -- --port 9000` and
//! `PORT=9000 cargo run --example app01` do the same thing.
//!
//! The parser is deliberately tiny (no argument-parsing crate) so a learner can
//! read all of it; [`SETTINGS`] is the single list of what exists, and `--help`
//! is printed from it.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::ice;
use crate::signaling::{admission, Limits};
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

/// One operator setting: its flag, its environment variable, and what it does.
pub struct Setting {
    pub flag: &'static str,
    pub env: &'static str,
    pub help: &'static str,
    /// A switch takes no value on the command line (`--tls-self-signed`);
    /// its variable is `1`/`true`/`yes` or `0`/`false`/`no`.
    pub switch: bool,
}

/// Every setting there is. A flag or variable not named here does not exist.
pub const SETTINGS: &[Setting] = &[
    Setting {
        flag: "host",
        env: "HOST",
        switch: false,
        help: "address to listen on (default 127.0.0.1; 0.0.0.0 listens on every interface)",
    },
    Setting {
        flag: "port",
        env: "PORT",
        switch: false,
        help: "TCP port to listen on (default 8080; 0 picks a free one)",
    },
    Setting {
        flag: "ice-servers",
        env: "ICE_SERVERS",
        switch: false,
        help: "JSON array of ICE servers for the pages, as in RTCConfiguration.iceServers (default: one public STUN server)",
    },
    Setting {
        flag: "turn-urls",
        env: "TURN_URLS",
        switch: false,
        help: "comma-separated turn:/turns: URLs of a coturn server; with TURN_SECRET, each page gets a short-lived credential for them",
    },
    Setting {
        flag: "turn-secret",
        env: "TURN_SECRET",
        switch: false,
        help: "coturn's static-auth-secret (use-auth-secret); prefer the variable, since a flag shows in the process list",
    },
    Setting {
        flag: "turn-ttl",
        env: "TURN_TTL",
        switch: false,
        help: "seconds a TURN credential lasts, 60 to 604800 (default 86400: it must outlast the longest call)",
    },
    Setting {
        flag: "allowed-origins",
        env: "ALLOWED_ORIGINS",
        switch: false,
        help: "comma-separated extra page origins allowed to open /ws, e.g. https://chat.example.org",
    },
    Setting {
        flag: "room-size",
        env: "ROOM_SIZE",
        switch: false,
        help: "most people in one room, 2 to 16 (default 4: in a mesh each member uploads one stream per other member)",
    },
    Setting {
        flag: "max-sockets",
        env: "MAX_SOCKETS",
        switch: false,
        help: "most signaling sockets open at once (default and ceiling: the process's file limit less room for page loads)",
    },
    Setting {
        flag: "max-sockets-per-ip",
        env: "MAX_SOCKETS_PER_IP",
        switch: false,
        help: "most signaling sockets open from one address, IPv6 counted by /64 (default 32; behind a proxy, every socket is the proxy's)",
    },
    Setting {
        flag: "new-sockets-per-ip-per-minute",
        env: "NEW_SOCKETS_PER_IP_PER_MINUTE",
        switch: false,
        help: "new signaling sockets one address may open a minute, after a burst of MAX_SOCKETS_PER_IP (default 60)",
    },
    Setting {
        flag: "tls-cert",
        env: "TLS_CERT",
        switch: false,
        help: "PEM certificate chain (mkcert's, or Let's Encrypt's fullchain.pem); with TLS_KEY the port serves HTTPS and /ws is wss:",
    },
    Setting {
        flag: "tls-key",
        env: "TLS_KEY",
        switch: false,
        help: "PEM private key of TLS_CERT (privkey.pem)",
    },
    Setting {
        flag: "tls-self-signed",
        env: "TLS_SELF_SIGNED",
        switch: true,
        help: "serve HTTPS with a certificate made at start for localhost, this machine's names and addresses, and TLS_NAMES (browsers warn once)",
    },
    Setting {
        flag: "tls-name",
        env: "TLS_NAMES",
        switch: false,
        help: "comma-separated extra names for the self-signed certificate; also names the server answers to (repeat the flag for more)",
    },
    Setting {
        flag: "tls-cert-out",
        env: "TLS_CERT_OUT",
        switch: false,
        help: "write the self-signed certificate to this PEM file, to install it as trusted on a phone",
    },
    Setting {
        flag: "public-origin",
        env: "PUBLIC_ORIGIN",
        switch: false,
        help: "the address people open when a reverse proxy is in front, e.g. https://chat.example.org: the server answers to its name and accepts it as Origin",
    },
    Setting {
        flag: "static-root",
        env: "STATIC_ROOT",
        switch: false,
        help: "folder holding the steps' page folders app01/ ... app17/ (default: the crate's static/)",
    },
];

/// The settings after parsing.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// The folder that holds `app01/`, `app02/`, ...; each example serves its own.
    pub static_root: PathBuf,
    /// What `GET /ice-servers` returns (already checked).
    pub ice_servers: Value,
    /// A TURN server to add to that list, with a fresh credential per page.
    pub turn: Option<Turn>,
    /// Page origins besides the server's own that may open `/ws`.
    pub allowed_origins: Vec<String>,
    /// Signaling limits. Not settings on the command line: they are tuned in
    /// code (see `signaling::Limits`); tests shorten them.
    pub limits: Limits,
    /// Caps on signaling sockets. `max_sockets: None` means "as many as the
    /// file limit allows" (see `server::connection_budget`).
    pub socket_caps: SocketCaps,
    /// HTTPS, and where its certificate comes from.
    pub tls: TlsSetting,
    /// Extra names: in a self-signed certificate, and answered to.
    pub tls_names: Vec<String>,
    /// The origin people open behind a reverse proxy (`https://host[:port]`).
    pub public_origin: Option<String>,
}

/// The connection caps as configured (see `signaling::admission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketCaps {
    pub max_sockets: Option<usize>,
    pub max_sockets_per_ip: usize,
    pub new_sockets_per_ip_per_minute: u32,
}

impl Default for SocketCaps {
    fn default() -> Self {
        SocketCaps {
            max_sockets: None,
            max_sockets_per_ip: admission::MAX_SOCKETS_PER_IP,
            new_sockets_per_ip_per_minute: admission::NEW_SOCKETS_PER_IP_PER_MINUTE,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: DEFAULT_HOST.to_string(),
            port: DEFAULT_PORT,
            // Found from the crate root, not the working directory, so
            // `cargo run --example appNN` works from any folder of the checkout.
            static_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static")),
            ice_servers: default_ice_servers(),
            turn: None,
            allowed_origins: Vec::new(),
            limits: Limits::default(),
            socket_caps: SocketCaps::default(),
            tls: TlsSetting::Off,
            tls_names: Vec::new(),
            public_origin: None,
        }
    }
}

fn default_ice_servers() -> Value {
    // The constant is checked by a unit test in `ice`.
    ice::parse_ice_servers(ice::DEFAULT_ICE_SERVERS).unwrap_or(Value::Array(Vec::new()))
}

/// The non-empty items of a comma-separated setting, trimmed.
pub fn comma_separated(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect()
}

/// Why the settings could not be read: one line, meant for a person.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for: not an error, but the program should print help and stop.
    HelpRequested,
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::HelpRequested => f.write_str("help requested"),
            ConfigError::Invalid(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the real command line and environment.
    pub fn from_env_and_args() -> Result<Config, ConfigError> {
        Config::parse(std::env::args().skip(1), |name| std::env::var(name).ok())
    }

    /// Reads `args` (without the program name) and looks variables up with `env`.
    /// Kept separate from the process's real environment so it can be unit tested.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let flags = parse_flags(args)?;
        // A flag wins over the variable of the same setting.
        let value = |flag: &str| -> Option<String> {
            let setting = SETTINGS.iter().find(|s| s.flag == flag)?;
            flags.get(flag).cloned().or_else(|| env(setting.env))
        };

        let mut config = Config::default();
        if let Some(host) = value("host") {
            let host = host.trim();
            if host.is_empty() {
                return Err(ConfigError::Invalid("HOST/--host is empty".into()));
            }
            config.host = host.to_string();
        }
        if let Some(port) = value("port") {
            config.port = port.trim().parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "PORT/--port must be a number from 0 to 65535, not {port:?}"
                ))
            })?;
        }
        if let Some(servers) = value("ice-servers") {
            config.ice_servers = ice::parse_ice_servers(&servers).map_err(ConfigError::Invalid)?;
        }
        config.turn = match (value("turn-urls"), value("turn-secret")) {
            (None, None) if value("turn-ttl").is_none() => None,
            (Some(urls), Some(secret)) => {
                let ttl = match value("turn-ttl") {
                    None => turn::DEFAULT_TTL,
                    Some(text) => Duration::from_secs(text.trim().parse().map_err(|_| {
                        ConfigError::Invalid(format!(
                            "TURN_TTL/--turn-ttl must be a number of seconds, not {text:?}"
                        ))
                    })?),
                };
                Some(Turn::new(&urls, &secret, ttl).map_err(ConfigError::Invalid)?)
            }
            // One without the other is a half-done setup: say so at start,
            // not when the first call fails to relay.
            _ => {
                return Err(ConfigError::Invalid(
                    "TURN_URLS and TURN_SECRET go together (and TURN_TTL needs them): set both, or neither".into(),
                ))
            }
        };
        if let Some(origins) = value("allowed-origins") {
            config.allowed_origins = comma_separated(&origins);
        }
        if let Some(size) = value("room-size") {
            let room_size = size
                .trim()
                .parse()
                .ok()
                .filter(|n| (MIN_ROOM_SIZE..=MAX_ROOM_SIZE).contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "ROOM_SIZE/--room-size must be a number from {MIN_ROOM_SIZE} to {MAX_ROOM_SIZE}, not {size:?}"
                    ))
                })?;
            config.limits = config.limits.with_room_size(room_size);
        }
        if let Some(max) = value("max-sockets") {
            config.socket_caps.max_sockets = Some(positive(&max, "MAX_SOCKETS/--max-sockets")?);
        }
        if let Some(max) = value("max-sockets-per-ip") {
            config.socket_caps.max_sockets_per_ip =
                positive(&max, "MAX_SOCKETS_PER_IP/--max-sockets-per-ip")?;
        }
        if let Some(rate) = value("new-sockets-per-ip-per-minute") {
            let rate = positive(
                &rate,
                "NEW_SOCKETS_PER_IP_PER_MINUTE/--new-sockets-per-ip-per-minute",
            )?;
            config.socket_caps.new_sockets_per_ip_per_minute =
                u32::try_from(rate).unwrap_or(u32::MAX);
        }
        config.tls = tls_setting(&value)?;
        if let Some(names) = value("tls-name") {
            config.tls_names = comma_separated(&names);
        }
        if let Some(origin) = value("public-origin") {
            config.public_origin = Some(public_origin(&origin)?);
        }
        if let Some(root) = value("static-root") {
            config.static_root = PathBuf::from(root);
        }
        Ok(config)
    }

    /// The text `--help` prints.
    pub fn help(program: &str) -> String {
        let mut text = format!(
            "Usage: {program} [--flag value]...\n\nSettings (flag, or environment variable):\n"
        );
        // Columns as wide as the longest flag and variable.
        let flag_width = SETTINGS.iter().map(|s| s.flag.len()).max().unwrap_or(0);
        let env_width = SETTINGS.iter().map(|s| s.env.len()).max().unwrap_or(0);
        for s in SETTINGS {
            text.push_str(&format!(
                "  --{:<flag_width$}  {:<env_width$}  {}\n",
                s.flag, s.env, s.help
            ));
        }
        text.push_str("\nRUST_LOG sets the log level (default: info).\n");
        text
    }
}

/// The TLS settings, checked for combinations that cannot work.
fn tls_setting(value: &impl Fn(&str) -> Option<String>) -> Result<TlsSetting, ConfigError> {
    let self_signed = match value("tls-self-signed") {
        None => false,
        Some(text) => switch(&text, "TLS_SELF_SIGNED/--tls-self-signed")?,
    };
    let cert_out = value("tls-cert-out").map(PathBuf::from);
    match (value("tls-cert"), value("tls-key"), self_signed) {
        (None, None, false) if cert_out.is_none() => Ok(TlsSetting::Off),
        (None, None, false) => Err(ConfigError::Invalid(
            "TLS_CERT_OUT/--tls-cert-out writes the self-signed certificate: it needs TLS_SELF_SIGNED/--tls-self-signed".into(),
        )),
        (None, None, true) => Ok(TlsSetting::SelfSigned { cert_out }),
        (Some(_), Some(_), true) => Err(ConfigError::Invalid(
            "choose one: certificate files (TLS_CERT and TLS_KEY) or a self-signed certificate (TLS_SELF_SIGNED), not both".into(),
        )),
        (Some(cert), Some(key), false) if cert_out.is_none() => Ok(TlsSetting::Files {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        }),
        (Some(_), Some(_), false) => Err(ConfigError::Invalid(
            "TLS_CERT_OUT/--tls-cert-out writes a self-signed certificate: with TLS_CERT you already have the file".into(),
        )),
        _ => Err(ConfigError::Invalid(
            "TLS_CERT/--tls-cert and TLS_KEY/--tls-key go together: set both, or neither".into(),
        )),
    }
}

/// `https://host[:port]` (or `http://`), with no path: the origin a browser sends.
fn public_origin(text: &str) -> Result<String, ConfigError> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let fine = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@'])
    });
    if fine {
        Ok(origin)
    } else {
        Err(ConfigError::Invalid(format!(
            "PUBLIC_ORIGIN/--public-origin must look like https://chat.example.org (scheme, host, optional port, no path), not {text:?}"
        )))
    }
}

/// A switch's variable: on or off, or a one-line error naming `setting`.
fn switch(text: &str, setting: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::Invalid(format!(
            "{setting} is a switch: 1 or 0, not {text:?}"
        ))),
    }
}

/// A whole number of at least 1, or a one-line error naming `setting`.
fn positive(text: &str, setting: &str) -> Result<usize, ConfigError> {
    text.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ConfigError::Invalid(format!(
            "{setting} must be a whole number of at least 1, not {text:?}"
        ))
    })
}

/// Turns `--name value` and `--name=value` into a map, refusing unknown names.
fn parse_flags(
    args: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, ConfigError> {
    let mut flags = HashMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Err(ConfigError::HelpRequested);
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(ConfigError::Invalid(format!(
                "unexpected argument {arg:?} (settings look like --port 8080; see --help)"
            )));
        };
        let name = body.split_once('=').map_or(body, |(name, _)| name);
        let Some(setting) = SETTINGS.iter().find(|s| s.flag == name) else {
            return Err(ConfigError::Invalid(format!(
                "unknown setting --{name} (see --help for the list)"
            )));
        };
        let value = match (body.split_once('='), setting.switch) {
            (Some((_, value)), _) => value.to_string(),
            // A switch on the command line is on.
            (None, true) => "1".to_string(),
            (None, false) => args
                .next()
                .ok_or_else(|| ConfigError::Invalid(format!("--{body} needs a value")))?,
        };
        // A repeated list setting (--tls-name a --tls-name b) keeps every value.
        let name = name.to_string();
        match flags.get_mut(&name) {
            Some(earlier) if name == "tls-name" => *earlier = format!("{earlier},{value}"),
            _ => {
                flags.insert(name, value);
            }
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(args.iter().map(|a| a.to_string()), |name| {
            env.get(name).cloned()
        })
    }

    #[test]
    fn defaults_listen_on_loopback_8080() {
        let config = parse(&[], &[]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8080);
        assert!(config.static_root.ends_with("static"));
    }

    #[test]
    fn flag_beats_environment() {
        let config = parse(&["--port", "9001"], &[("PORT", "9000")]).unwrap();
        assert_eq!(config.port, 9001);
        let config = parse(&["--port=9002"], &[("PORT", "9000")]).unwrap();
        assert_eq!(config.port, 9002);
        let config = parse(&[], &[("PORT", "9000"), ("HOST", "0.0.0.0")]).unwrap();
        assert_eq!((config.host.as_str(), config.port), ("0.0.0.0", 9000));
    }

    #[test]
    fn bad_port_is_one_readable_line() {
        let err = parse(&["--port", "eighty"], &[]).unwrap_err().to_string();
        assert!(
            err.contains("PORT/--port") && err.contains("eighty"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        assert!(parse(&[], &[("PORT", "70000")]).is_err());
    }

    #[test]
    fn unknown_and_incomplete_flags_are_refused() {
        assert!(
            matches!(parse(&["--prot", "1"], &[]), Err(ConfigError::Invalid(m)) if m.contains("--prot"))
        );
        assert!(
            matches!(parse(&["--port"], &[]), Err(ConfigError::Invalid(m)) if m.contains("needs a value"))
        );
        assert!(matches!(
            parse(&["8080"], &[]),
            Err(ConfigError::Invalid(_))
        ));
        assert_eq!(parse(&["--help"], &[]), Err(ConfigError::HelpRequested));
    }

    #[test]
    fn ice_servers_and_origins_are_read_and_checked() {
        let config = parse(
            &[],
            &[
                ("ICE_SERVERS", r#"[{"urls":"stun:127.0.0.1:3478"}]"#),
                ("ALLOWED_ORIGINS", "https://a.example, https://b.example"),
            ],
        )
        .unwrap();
        assert_eq!(config.ice_servers[0]["urls"], "stun:127.0.0.1:3478");
        assert_eq!(
            config.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        let err = parse(&["--ice-servers", "stun:oops"], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ICE_SERVERS is not valid JSON"), "{err}");
    }

    #[test]
    fn room_size_is_read_checked_and_raises_the_burst() {
        let config = parse(&["--room-size", "12"], &[("ROOM_SIZE", "3")]).unwrap();
        assert_eq!(config.limits.room_size, 12);
        assert!(config.limits.burst >= 11 * crate::signaling::SETUP_MESSAGES_PER_PEER);
        assert_eq!(
            parse(&[], &[("ROOM_SIZE", "3")]).unwrap().limits.room_size,
            3
        );
        for bad in ["1", "17", "four", ""] {
            let err = parse(&["--room-size", bad], &[]).unwrap_err().to_string();
            assert!(err.contains("from 2 to 16"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn socket_caps_are_read_and_checked() {
        let config = parse(
            &["--max-sockets", "500"],
            &[
                ("MAX_SOCKETS_PER_IP", "4"),
                ("NEW_SOCKETS_PER_IP_PER_MINUTE", "10"),
            ],
        )
        .unwrap();
        assert_eq!(
            config.socket_caps,
            SocketCaps {
                max_sockets: Some(500),
                max_sockets_per_ip: 4,
                new_sockets_per_ip_per_minute: 10,
            }
        );
        assert_eq!(parse(&[], &[]).unwrap().socket_caps, SocketCaps::default());
        for bad in ["0", "-1", "many"] {
            let err = parse(&["--max-sockets-per-ip", bad], &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("MAX_SOCKETS_PER_IP") && err.contains("at least 1"),
                "{err}"
            );
        }
    }

    #[test]
    fn tls_files_or_self_signed_but_not_half_or_both() {
        let files = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"], &[]).unwrap();
        assert_eq!(
            files.tls,
            TlsSetting::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
        let made = parse(
            &[
                "--tls-self-signed",
                "--tls-name",
                "a.test",
                "--tls-name=b.test",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(made.tls, TlsSetting::SelfSigned { cert_out: None });
        assert_eq!(made.tls_names, ["a.test", "b.test"]);
        let from_env = parse(
            &[],
            &[("TLS_SELF_SIGNED", "1"), ("TLS_NAMES", "x.test, y.test")],
        )
        .unwrap();
        assert_eq!(from_env.tls, TlsSetting::SelfSigned { cert_out: None });
        assert_eq!(from_env.tls_names, ["x.test", "y.test"]);
        assert_eq!(
            parse(&[], &[("TLS_SELF_SIGNED", "0")]).unwrap().tls,
            TlsSetting::Off
        );
        for (args, env, says) in [
            (&["--tls-cert", "c.pem"][..], &[][..], "go together"),
            (&[][..], &[("TLS_KEY", "k.pem")][..], "go together"),
            (
                &["--tls-cert", "c", "--tls-key", "k", "--tls-self-signed"][..],
                &[][..],
                "not both",
            ),
            (
                &["--tls-cert-out", "out.pem"][..],
                &[][..],
                "needs TLS_SELF_SIGNED",
            ),
            (&[][..], &[("TLS_SELF_SIGNED", "maybe")][..], "is a switch"),
        ] {
            let err = parse(args, env).unwrap_err().to_string();
            assert!(err.contains(says), "{args:?} {env:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn the_public_origin_is_an_origin() {
        let config = parse(&["--public-origin", "https://Chat.Example.org/"], &[]).unwrap();
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
            let err = parse(&["--public-origin", bad], &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains("PUBLIC_ORIGIN"), "{bad}: {err}");
        }
    }

    #[test]
    fn turn_needs_urls_and_secret_together() {
        let config = parse(
            &["--turn-ttl", "600"],
            &[("TURN_URLS", "turn:127.0.0.1:3478"), ("TURN_SECRET", "s")],
        )
        .unwrap();
        assert_eq!(
            config.turn,
            Some(Turn::new("turn:127.0.0.1:3478", "s", Duration::from_secs(600)).unwrap())
        );
        assert_eq!(parse(&[], &[]).unwrap().turn, None);
        for env in [
            &[("TURN_URLS", "turn:a")][..],
            &[("TURN_SECRET", "s")][..],
            &[("TURN_TTL", "600")][..],
        ] {
            let err = parse(&[], env).unwrap_err().to_string();
            assert!(err.contains("go together"), "{env:?}: {err}");
        }
        let err = parse(
            &[
                "--turn-urls",
                "turn:a",
                "--turn-secret",
                "s",
                "--turn-ttl",
                "soon",
            ],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("number of seconds"), "{err}");
    }
}
