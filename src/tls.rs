//! HTTPS, so that a second device can use its camera.
//!
//! Browsers hand a page the camera and microphone only in a secure context:
//! `https://`, or `http://` on `localhost`. A phone that opens
//! `http://192.168.1.20:8080/` is on neither, so it gets no camera at all.
//! The server therefore speaks TLS itself when asked, in one of two ways:
//!
//! - **certificate files** (`TLS_CERT` and `TLS_KEY`): PEM files as `mkcert`
//!   or Let's Encrypt write them. Browsers that trust the issuer show no
//!   warning.
//! - **a self-signed certificate made at start** (`TLS_SELF_SIGNED=1`): no
//!   files needed. Its names cover `localhost`, the loopback addresses, the
//!   machine's host name, every interface address when listening on all of
//!   them, and `TLS_NAMES`. Browsers warn once; the SHA-256 fingerprint the
//!   server prints lets a person check, by eye, that the certificate in the
//!   warning is this server's.
//!
//! Either way the same port serves HTTPS, and the pages, which build their
//! socket URL from their own address, use `wss:`.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::host_names;

/// Where the certificate comes from, as the operator configured it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsSetting {
    /// Plain HTTP.
    #[default]
    Off,
    /// PEM files: the certificate chain and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// Made at start; optionally written out so that it can be installed on
    /// a phone.
    SelfSigned { cert_out: Option<PathBuf> },
}

/// How long a self-signed certificate lasts: a year, well under the 825 days
/// Apple's devices accept for a certificate a person chooses to trust.
const SELF_SIGNED_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A certificate ready to serve.
pub struct Tls {
    /// What actix-web's `bind_rustls_0_23` takes.
    pub server_config: rustls::ServerConfig,
    /// The SHA-256 fingerprint of the certificate, as browsers show it
    /// (`AB:CD:...`).
    pub fingerprint: String,
    /// The DNS names and addresses the certificate is for.
    pub names: Vec<String>,
}

/// Why a certificate could not be used: one line, meant for a person.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// Loads or makes the certificate `setting` asks for; `None` for plain HTTP.
/// A self-signed certificate covers `listen_host` (every interface when it
/// is `0.0.0.0` or `::`) and `extra_names` besides this machine's names.
pub fn prepare(
    setting: &TlsSetting,
    listen_host: &str,
    extra_names: &[String],
) -> Result<Option<Tls>, TlsError> {
    match setting {
        TlsSetting::Off => Ok(None),
        TlsSetting::Files { cert, key } => from_files(cert, key).map(Some),
        TlsSetting::SelfSigned { cert_out } => {
            self_signed(listen_host, extra_names, cert_out.as_deref()).map(Some)
        }
    }
}

/// Reads a PEM certificate chain and key, checks that they belong together
/// and that the certificate is in date.
fn from_files(cert_path: &Path, key_path: &Path) -> Result<Tls, TlsError> {
    let cert_pem = read(cert_path, "TLS_CERT")?;
    let key_pem = read(key_path, "TLS_KEY")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|err| {
            TlsError(format!(
                "TLS_CERT {} is not a PEM certificate: {err}",
                cert_path.display()
            ))
        })?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError(format!(
            "TLS_CERT {} holds no certificate (expected \"-----BEGIN CERTIFICATE-----\")",
            cert_path.display()
        )));
    };
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|err| {
        TlsError(format!(
            "TLS_KEY {} is not a PEM private key: {err}",
            key_path.display()
        ))
    })?;
    let (names, not_after) = read_certificate(leaf)
        .map_err(|err| TlsError(format!("TLS_CERT {}: {err}", cert_path.display())))?;
    if not_after < SystemTime::now() {
        return Err(TlsError(format!(
            "TLS_CERT {} expired on {}: browsers will refuse it (renew it, or use --tls-self-signed)",
            cert_path.display(),
            day_of(not_after)
        )));
    }
    let fingerprint = fingerprint(leaf);
    let server_config = server_config(chain, key).map_err(|err| {
        TlsError(format!(
            "TLS_KEY {} does not fit TLS_CERT {}: {err}",
            key_path.display(),
            cert_path.display()
        ))
    })?;
    Ok(Tls {
        server_config,
        fingerprint,
        names,
    })
}

fn read(path: &Path, setting: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|err| TlsError(format!("cannot read {setting} {}: {err}", path.display())))
}

/// The certificate's DNS names and addresses, and its expiry.
fn read_certificate(der: &CertificateDer<'_>) -> Result<(Vec<String>, SystemTime), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|err| format!("not a valid X.509 certificate ({err})"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => names.push(dns.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let seconds = cert.validity().not_after.timestamp();
    let not_after = if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH
    };
    Ok((names, not_after))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Makes a certificate for this machine's names and `extra` ones.
fn self_signed(
    listen_host: &str,
    extra: &[String],
    cert_out: Option<&Path>,
) -> Result<Tls, TlsError> {
    let names = self_signed_names(listen_host, extra);
    let failed =
        |err: rcgen::Error| TlsError(format!("cannot make a self-signed certificate: {err}"));
    let mut params = rcgen::CertificateParams::new(names.clone()).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "videochat (self-signed)");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = SystemTime::now();
    // An hour back, so a device whose clock is a little behind still accepts it.
    params.not_before = time::OffsetDateTime::from(now - Duration::from_secs(3600));
    params.not_after = time::OffsetDateTime::from(now + SELF_SIGNED_VALIDITY);
    let key_pair = rcgen::KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key_pair).map_err(failed)?;
    if let Some(path) = cert_out {
        std::fs::write(path, cert.pem()).map_err(|err| {
            TlsError(format!(
                "cannot write the certificate to {}: {err}",
                path.display()
            ))
        })?;
    }
    let der = cert.der().clone();
    let fingerprint = fingerprint(&der);
    let key = PrivateKeyDer::try_from(key_pair.serialize_der())
        .map_err(|err| TlsError(err.to_string()))?;
    let server_config = server_config(vec![der], key)
        .map_err(|err| TlsError(format!("cannot use the certificate: {err}")))?;
    Ok(Tls {
        server_config,
        fingerprint,
        names,
    })
}

/// The names a self-signed certificate covers: loopback, the host name,
/// the listening address (every interface's when listening on all), and `extra`.
pub fn self_signed_names(listen_host: &str, extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_names::host_name() {
        names.push(format!("{host}.local"));
        names.push(host);
    }
    let listen = listen_host.trim_matches(['[', ']']);
    match listen.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => names.extend(
            host_names::interface_addresses()
                .iter()
                .map(IpAddr::to_string),
        ),
        Ok(ip) => names.push(ip.to_string()),
        Err(_) => names.push(listen.to_ascii_lowercase()),
    }
    names.extend(extra.iter().map(|name| name.trim().to_ascii_lowercase()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| !name.is_empty() && seen.insert(name.clone()));
    names
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        // Checks that the key belongs to the certificate.
        .with_single_cert(chain, key)?;
    // HTTP/1.1 only: the WebSocket upgrade is an HTTP/1.1 request.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// SHA-256 of the certificate, as `AB:CD:...`.
fn fingerprint(der: &CertificateDer<'_>) -> String {
    Sha256::digest(der.as_ref())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A date for a person: `2026-11-29`.
fn day_of(time: SystemTime) -> String {
    let date = time::OffsetDateTime::from(time).date();
    format!("{date}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_covers_loopback_the_listening_address_and_extra_names() {
        let tls = self_signed("198.51.100.7", &["Chat.Test".to_string()], None).unwrap();
        for name in ["localhost", "127.0.0.1", "::1", "198.51.100.7", "chat.test"] {
            assert!(
                tls.names.iter().any(|n| n == name),
                "{name}: {:?}",
                tls.names
            );
        }
        assert_eq!(tls.fingerprint.len(), 32 * 3 - 1);
    }

    #[test]
    fn listening_everywhere_covers_every_interface() {
        let names = self_signed_names("0.0.0.0", &[]);
        for ip in host_names::interface_addresses() {
            assert!(names.contains(&ip.to_string()), "{ip}: {names:?}");
        }
        assert!(!names.contains(&"0.0.0.0".to_string()));
    }
}
