//! What travels on a process's inbox channel: an envelope, written by the
//! Lua scripts (`lua/common.lua`), read here.
//!
//! Four lines: what it is, who it is for (member ids, comma-separated), the
//! room, and the text to write to their sockets (which may itself hold
//! newlines). Ids are hex and room names have no control characters, so
//! the newlines cannot be confused.

/// What an envelope asks of the process that receives it.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A page's message, stamped and checked: deliver it.
    Message,
    /// `id` joined the room: deliver the `join`, and note it.
    Joined(&'a str),
    /// `id` left the room: deliver the `leave`, and forget it.
    Left(&'a str),
    /// Step 19: `id` resumed on another process; let its socket here go.
    Taken(&'a str),
}

/// One inbox message.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub kind: Kind<'a>,
    pub to: Vec<&'a str>,
    pub room: &'a str,
    pub text: &'a str,
}

/// Reads an envelope; `None` for anything else (nothing but the scripts
/// publish on an inbox, so that would be a bug, logged by the caller).
pub fn parse(payload: &str) -> Option<Envelope<'_>> {
    let mut parts = payload.splitn(4, '\n');
    let kind = parts.next()?;
    let to = parts.next()?;
    let room = parts.next()?;
    let text = parts.next()?;
    let kind = match kind.split_once(':') {
        None if kind == "message" => Kind::Message,
        Some(("join", id)) => Kind::Joined(id),
        Some(("leave", id)) => Kind::Left(id),
        Some(("taken", id)) => Kind::Taken(id),
        _ => return None,
    };
    Some(Envelope {
        kind,
        to: to.split(',').filter(|id| !id.is_empty()).collect(),
        room,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_read_back_with_newlines_in_the_text() {
        let text = "{\"type\":\"offer\",\"sdp\":\"v=0\r\no=- 1\"}\n";
        let payload = format!("message\nb1\nmy room\n{text}");
        let envelope = parse(&payload).unwrap();
        assert_eq!(envelope.kind, Kind::Message);
        assert_eq!(envelope.to, ["b1"]);
        assert_eq!(envelope.room, "my room");
        assert_eq!(envelope.text, text);
        let joined = parse("join:c3\na1,b2\nr\n{}").unwrap();
        assert_eq!(joined.kind, Kind::Joined("c3"));
        assert_eq!(joined.to, ["a1", "b2"]);
        assert!(parse("nonsense").is_none());
        assert!(parse("shout\na\nr\n{}").is_none());
    }
}
