//! Step 19 on several processes: a page whose socket dropped comes back,
//! perhaps through another process, and takes its place back with its token.

use super::scripts::SCRIPTS;
use super::{unavailable, Membership, SharedHub};
use crate::random::random_hex;
use crate::signaling::peers::{short, PeerId};
use crate::signaling::protocol::{ErrorCode, Field, Member, ServerMessage};

impl SharedHub {
    /// Step 19: `fresh` presents `token`; the member it names (connected to
    /// this process or another) moves to `fresh`'s socket.
    pub(super) async fn resume(&self, fresh: &PeerId, token: &Field) -> Option<PeerId> {
        let Field::Text(token) = token else {
            let reason = "resume needs a string field \"token\"";
            self.refuse(fresh, ErrorCode::BadMessage, reason);
            return None;
        };
        if self.local().members.contains_key(fresh) {
            let reason = "resume comes right after welcome, before join";
            self.refuse(fresh, ErrorCode::BadMessage, reason);
            return None;
        }
        let Ok(new_token) = random_hex(16) else {
            log::error!("no resume token: the system random source failed");
            return None;
        };
        let answer: redis::RedisResult<Vec<String>> = SCRIPTS
            .resume
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .arg(token)
            .arg(&new_token)
            .invoke_async(&mut self.redis())
            .await;
        let (id, room, username, others) = match answer.as_deref() {
            Ok([ok, id, room, username, others @ ..]) if ok == "ok" => {
                (PeerId::from(id.as_str()), room, username, others)
            }
            Ok(_) => {
                let reason = "unknown, used or expired resume token: join again";
                self.refuse(fresh, ErrorCode::BadToken, reason);
                return None;
            }
            Err(err) => {
                log::warn!("resume: Redis: {err}");
                self.refuse(fresh, ErrorCode::Unavailable, &unavailable("resume"));
                return None;
            }
        };
        let mut local = self.local();
        // The fresh socket takes the member's id: on this process its old
        // socket (if any) is replaced; from another, it moves in.
        if !local.peers.hand_over(fresh, &id) && !local.peers.rename(fresh, &id) {
            return None;
        }
        local.tokens.remove(fresh);
        local.tokens.insert(id.clone(), new_token.clone());
        local.taken.remove(&id);
        let membership = Membership {
            room: room.clone(),
            username: username.clone(),
            pending: false,
        };
        local.members.insert(id.clone(), membership);
        let view = local.rooms.entry(room.clone()).or_default();
        view.insert(id.clone());
        view.extend(others.chunks(2).map(|pair| PeerId::from(pair[0].as_str())));
        let members = others
            .chunks(2)
            .map(|pair| Member {
                id: &pair[0],
                username: pair.get(1).map_or("", String::as_str),
            })
            .collect();
        let resumed = ServerMessage::Resumed {
            id: &id,
            resume: &new_token,
            members,
        };
        local.peers.send_message(&id, &resumed);
        log::info!("peer {} resumed on a new socket", short(&id));
        Some(id)
    }
}
