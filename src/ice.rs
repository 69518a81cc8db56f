//! The ICE servers pages use (introduced by step 09): `GET /ice-servers`.
//!
//! The list has the shape of `RTCConfiguration.iceServers`, so a page passes
//! it straight to `new RTCPeerConnection({ iceServers })`. Keeping it on the
//! server lets an operator change STUN/TURN servers without touching the pages.
//! With a TURN secret configured ([`crate::turn`]), each answer also carries a
//! TURN entry with a credential made for that page alone.

use std::time::SystemTime;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::random::random_hex;
use crate::turn::Turn;

/// What `GET /ice-servers` answers from: the operator's list, and the TURN
/// server to add with a fresh credential, if there is one.
#[derive(Clone, Debug)]
pub struct IceServers {
    pub list: Value,
    pub turn: Option<Turn>,
}

/// One public STUN server. It tells a browser its public address, which is
/// all most home networks need; strict NATs also need TURN.
pub const DEFAULT_ICE_SERVERS: &str = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;

/// Parses and checks an `ICE_SERVERS` value: a JSON array of objects, each
/// with `urls` (a `stun:`/`turn:`/`turns:` URL or a list of them) and, for
/// TURN, string `username` and `credential`. The error names the problem.
pub fn parse_ice_servers(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|err| format!("ICE_SERVERS is not valid JSON: {err}"))?;
    let Some(servers) = value.as_array() else {
        return Err("ICE_SERVERS must be a JSON array like [{\"urls\":\"stun:host:3478\"}]".into());
    };
    for (index, server) in servers.iter().enumerate() {
        let Some(server) = server.as_object() else {
            return Err(format!(
                "ICE_SERVERS[{index}] must be an object with \"urls\""
            ));
        };
        let urls: Vec<&Value> = match server.get("urls") {
            Some(Value::String(_)) => vec![&server["urls"]],
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
            _ => {
                return Err(format!(
                    "ICE_SERVERS[{index}].urls must be a URL or a non-empty list of URLs"
                ))
            }
        };
        for url in urls {
            let Some(url) = url.as_str() else {
                return Err(format!("ICE_SERVERS[{index}].urls must hold strings"));
            };
            if !(url.starts_with("stun:") || url.starts_with("turn:") || url.starts_with("turns:"))
            {
                return Err(format!(
                    "ICE_SERVERS[{index}]: {url:?} is not a stun:, turn: or turns: URL"
                ));
            }
        }
        for field in ["username", "credential"] {
            if server.get(field).is_some_and(|v| !v.is_string()) {
                return Err(format!("ICE_SERVERS[{index}].{field} must be a string"));
            }
        }
    }
    Ok(value)
}

/// `GET /ice-servers`. Never cached (the server sends `Cache-Control:
/// no-store` on every answer): a TURN credential is for one page load.
pub async fn ice_servers(servers: web::Data<IceServers>) -> HttpResponse {
    let mut list = servers.list.as_array().cloned().unwrap_or_default();
    if let Some(turn) = &servers.turn {
        // 64 random bits: tells one page's credential from another's in
        // coturn's logs, and says nothing about the page.
        match random_hex(8) {
            Ok(peer) => list.push(turn.ice_server(SystemTime::now(), &peer)),
            // Without a credential the page still has STUN: most calls work.
            Err(err) => log::error!("no TURN credential: the system random source failed: {err}"),
        }
    }
    HttpResponse::Ok().json(json!({ "iceServers": list }))
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
        assert_eq!(
            parse_ice_servers(text).unwrap().as_array().unwrap().len(),
            2
        );
        assert!(parse_ice_servers("[]").is_ok());
    }

    #[test]
    fn problems_are_named() {
        let cases = [
            ("stun:x", "not valid JSON"),
            (r#"{"urls":"stun:x"}"#, "must be a JSON array"),
            (r#"["stun:x"]"#, "ICE_SERVERS[0] must be an object"),
            (r#"[{"url":"stun:x"}]"#, "ICE_SERVERS[0].urls"),
            (r#"[{"urls":"http://x"}]"#, "not a stun:"),
            (
                r#"[{"urls":"turn:x","username":1}]"#,
                "username must be a string",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_ice_servers(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
