//! The ICE servers pages use (introduced by step 09): `GET /ice-servers`.
//!
//! The list has the shape of `RTCConfiguration.iceServers`, so a page passes
//! it straight to `new RTCPeerConnection({ iceServers })`. Keeping it on the
//! server lets an operator change STUN/TURN servers without touching the pages.
//! With a TURN secret configured ([`crate::turn`]), each answer also carries a
//! TURN entry with a credential made for that page alone.

use std::time::SystemTime;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::random::random_hex;
use crate::turn::{Turn, TurnCredential};

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// A `stun:`, `turn:` or `turns:` URL, or a list of them.
    pub urls: Urls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `urls` may be one URL or a list, as in the browser's API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Many(Vec<String>),
}

impl Urls {
    fn as_slice(&self) -> &[String] {
        match self {
            Urls::One(url) => std::slice::from_ref(url),
            Urls::Many(urls) => urls,
        }
    }
}

impl From<TurnCredential> for IceServer {
    fn from(turn: TurnCredential) -> IceServer {
        IceServer {
            urls: Urls::Many(turn.urls),
            username: Some(turn.username),
            credential: Some(turn.credential),
        }
    }
}

/// What `GET /ice-servers` answers from: the operator's list, and the TURN
/// server to add with a fresh credential, if there is one.
#[derive(Clone, Debug)]
pub struct IceServers {
    pub list: Vec<IceServer>,
    pub turn: Option<Turn>,
}

/// One public STUN server. It tells a browser its public address, which is
/// all most home networks need; strict NATs also need TURN.
pub const DEFAULT_ICE_SERVERS: &str = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;

/// The default list, parsed.
pub fn default_ice_servers() -> Vec<IceServer> {
    // The constant is checked by a unit test below.
    parse_ice_servers(DEFAULT_ICE_SERVERS).unwrap_or_default()
}

/// Parses and checks a list of ICE servers: a JSON array of objects, each
/// with `urls` (a `stun:`/`turn:`/`turns:` URL or a non-empty list of them)
/// and, for TURN, string `username` and `credential`. The error says which
/// entry is wrong and why.
pub fn parse_ice_servers(text: &str) -> Result<Vec<IceServer>, String> {
    let entries: Vec<Box<RawValue>> = serde_json::from_str(text).map_err(|err| {
        if err.is_data() {
            "must be a JSON array like [{\"urls\":\"stun:host:3478\"}]".to_string()
        } else {
            format!("not valid JSON: {err}")
        }
    })?;
    let mut servers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let server: IceServer = serde_json::from_str(entry.get()).map_err(|err| {
            format!("entry {index} must be an object with \"urls\" (a URL or a non-empty list of URLs) and string \"username\" and \"credential\": {err}")
        })?;
        let urls = server.urls.as_slice();
        if urls.is_empty() {
            return Err(format!("entry {index}: \"urls\" is an empty list"));
        }
        if let Some(url) = urls.iter().find(|url| {
            !(url.starts_with("stun:") || url.starts_with("turn:") || url.starts_with("turns:"))
        }) {
            return Err(format!(
                "entry {index}: {url:?} is not a stun:, turn: or turns: URL"
            ));
        }
        servers.push(server);
    }
    Ok(servers)
}

/// The body of `GET /ice-servers`.
#[derive(Serialize)]
struct Answer<'a> {
    #[serde(rename = "iceServers")]
    ice_servers: Vec<&'a IceServer>,
}

/// `GET /ice-servers`. Never cached (the server sends `Cache-Control:
/// no-store` on every answer): a TURN credential is for one page load.
pub async fn ice_servers(servers: web::Data<IceServers>) -> HttpResponse {
    let turn = servers.turn.as_ref().and_then(|turn| {
        // 64 random bits: tells one page's credential from another's in
        // coturn's logs, and says nothing about the page.
        match random_hex(8) {
            Ok(peer) => Some(IceServer::from(
                turn.credential_for(SystemTime::now(), &peer),
            )),
            // Without a credential the page still has STUN: most calls work.
            Err(err) => {
                log::error!("no TURN credential: the system random source failed: {err}");
                None
            }
        }
    });
    let ice_servers = servers.list.iter().chain(turn.as_ref()).collect();
    HttpResponse::Ok().json(Answer { ice_servers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid() {
        assert!(parse_ice_servers(DEFAULT_ICE_SERVERS).is_ok());
    }

    #[test]
    fn good_lists_pass() {
        let text = r#"[{"urls":["stun:127.0.0.1:3478"]},{"urls":"turn:t.example:3478","username":"u","credential":"c"}]"#;
        let servers = parse_ice_servers(text).unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[1].username.as_deref(), Some("u"));
        assert!(parse_ice_servers("[]").unwrap().is_empty());
        // What goes back to the page is what came in.
        assert_eq!(serde_json::to_string(&servers).unwrap(), text);
    }

    #[test]
    fn problems_are_named() {
        let cases = [
            ("stun:x", "not valid JSON"),
            (r#"{"urls":"stun:x"}"#, "must be a JSON array"),
            (r#"["stun:x"]"#, "entry 0 must be an object"),
            (
                r#"[{"url":"stun:x"}]"#,
                "entry 0 must be an object with \"urls\"",
            ),
            (r#"[{"urls":[]}]"#, "empty list"),
            (
                r#"[{"urls":"stun:a"},{"urls":"http://x"}]"#,
                "entry 1: \"http://x\" is not a stun:",
            ),
            (r#"[{"urls":"turn:x","username":1}]"#, "string \"username\""),
        ];
        for (text, expected) in cases {
            let err = parse_ice_servers(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
