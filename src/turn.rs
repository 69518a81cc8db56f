//! Short-lived TURN credentials, the way coturn's `use-auth-secret` expects.
//!
//! A TURN server relays media for whoever holds a valid credential, so a fixed
//! password in `ICE_SERVERS` would be a free relay for anyone who reads a page.
//! Instead this server and coturn share a secret. For each page the server
//! makes a username that holds an expiry time, `<expiry unix time>:<peer>`,
//! and the credential `base64(HMAC-SHA1(secret, username))`. coturn
//! recomputes the HMAC and checks the time: nothing is stored, and a copied
//! credential stops working when it expires.
//!
//! coturn's side of it:
//!
//! ```text
//! turnserver --use-auth-secret --static-auth-secret=<the same secret> --realm=<your domain>
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// How long a credential lasts: a day. It must outlast the longest call,
/// since a browser refreshes its TURN allocation with the same credential
/// throughout the call; a leaked one is useless by tomorrow.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Shorter than a minute and a slow page load could expire it before use.
pub const MIN_TTL: Duration = Duration::from_secs(60);
/// Longer than a week is a long-lived password again.
pub const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The TURN entry the server adds to the ICE servers it gives each page.
#[derive(Clone, PartialEq)]
pub struct Turn {
    urls: Vec<String>,
    secret: String,
    ttl: Duration,
}

/// Never prints the secret: `Config` is printed in logs and test failures.
impl fmt::Debug for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("secret", &"(hidden)")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Turn {
    /// Checks the settings: `urls` are `turn:` or `turns:` URLs, the secret
    /// is not empty, the lifetime within limits. The reason is plain: the
    /// caller knows which setting it came from.
    pub fn new(urls: Vec<String>, secret: &str, ttl: Duration) -> Result<Turn, String> {
        if urls.is_empty() {
            return Err("name at least one turn: or turns: URL".into());
        }
        if let Some(url) = urls
            .iter()
            .find(|url| !(url.starts_with("turn:") || url.starts_with("turns:")))
        {
            return Err(format!("{url:?} is not a turn: or turns: URL"));
        }
        if secret.trim().is_empty() {
            return Err("the secret is empty".into());
        }
        if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
            return Err(format!(
                "a credential must last from {} to {} seconds, not {}",
                MIN_TTL.as_secs(),
                MAX_TTL.as_secs(),
                ttl.as_secs()
            ));
        }
        Ok(Turn {
            urls,
            secret: secret.to_string(),
            ttl,
        })
    }

    /// The TURN URLs, username and credential for one page, valid from
    /// `now` for the lifetime. `peer` ends up in coturn's logs: it tells one
    /// page's relay from another's.
    pub fn credential_for(&self, now: SystemTime, peer: &str) -> TurnCredential {
        let expiry = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(self.ttl)
            .as_secs();
        let username = format!("{expiry}:{peer}");
        let credential = credential(&self.secret, &username);
        TurnCredential {
            urls: self.urls.clone(),
            username,
            credential,
        }
    }
}

/// What one page gets to use the TURN server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnCredential {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// `base64(HMAC-SHA1(secret, username))`, the password coturn expects.
pub fn credential(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length, so this cannot fail; the fallback
    // only keeps a panic out of the request path.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_base64_of_hmac_sha1() {
        // RFC 2202, HMAC-SHA1 test case 2: effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        assert_eq!(
            credential("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn the_username_holds_the_expiry_and_the_peer() {
        let turn = Turn::new(
            list("turn:t.example:3478"),
            "s3cret",
            Duration::from_secs(600),
        )
        .unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let entry = turn.credential_for(now, "ab12");
        assert_eq!(entry.urls, ["turn:t.example:3478"]);
        assert_eq!(entry.username, "1000600:ab12");
        assert_eq!(entry.credential, credential("s3cret", "1000600:ab12"));
    }

    #[test]
    fn settings_are_checked_and_the_secret_never_printed() {
        let ttl = DEFAULT_TTL;
        assert!(Turn::new(list("turn:a:3478 turns:b:5349"), "x", ttl).is_ok());
        assert!(Turn::new(list(""), "x", ttl)
            .unwrap_err()
            .contains("at least one"));
        assert!(Turn::new(list("stun:a"), "x", ttl)
            .unwrap_err()
            .contains("not a turn:"));
        assert!(Turn::new(list("turn:a"), " ", ttl)
            .unwrap_err()
            .contains("empty"));
        let short = Turn::new(list("turn:a"), "x", Duration::from_secs(5)).unwrap_err();
        assert!(short.contains("from 60 to 604800"), "{short}");
        let printed = format!("{:?}", Turn::new(list("turn:a"), "s3cret", ttl).unwrap());
        assert!(!printed.contains("s3cret"), "{printed}");
    }

    fn list(urls: &str) -> Vec<String> {
        urls.split_whitespace().map(String::from).collect()
    }
}
