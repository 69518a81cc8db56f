//! What a socket asks of the shared rooms: to be registered, to join, to
//! leave, to send a message to one member; and what happens when it ends.
//! Each change is one script (`scripts.rs`); this process notes only what
//! it needs itself (see `Local`).

use tokio::sync::mpsc;

use super::scripts::SCRIPTS;
use super::{forget_room_if_empty, unavailable, Membership, SharedHub, THE_CHAT};
use crate::random::random_hex;
use crate::signaling::hub::{AfterSocket, Ending, Registration};
use crate::signaling::peers::{new_peer_id, short, NoId, Outgoing, PeerId, SocketNumber};
use crate::signaling::policy::direct::{full_reason, name_taken_reason};
use crate::signaling::policy::display_names::{checked_name, name_key};
use crate::signaling::protocol::{ErrorCode, Field, RawMessage, Request, ServerMessage};

impl SharedHub {
    /// Registers a socket and welcomes it, as the in-memory hub does. Its
    /// id is random like any other, so unique across processes (two
    /// processes would have to draw the same 128 bits).
    pub fn join(&self, outbox: mpsc::Sender<Outgoing>) -> Result<Registration, NoId> {
        let id = new_peer_id().inspect_err(|NoId| {
            log::error!("no id for a new socket: the system random source failed");
        })?;
        let token = match self.shared.resume_grace {
            Some(_) => Some(random_hex(16).map_err(|_| NoId)?),
            None => None,
        };
        let mut local = self.local();
        local.sockets_opened += 1;
        let socket = local.sockets_opened;
        local.peers.insert(id.clone(), socket, outbox);
        if let Some(token) = &token {
            local.tokens.insert(id.clone(), token.clone());
        }
        let welcome = ServerMessage::Welcome {
            id: &id,
            resume: token.as_deref(),
        };
        local.peers.send_message(&id, &welcome);
        log::info!(
            "peer {} connected ({} open here)",
            short(&id),
            local.peers.len()
        );
        Ok(Registration { id, socket })
    }

    /// A page's request. A successful `resume` returns the id the socket
    /// goes by from now on.
    pub async fn request(&self, from: &PeerId, request: Request) -> Option<PeerId> {
        match request {
            Request::Join { username, room, .. } => self.join_room(from, &username, &room).await,
            Request::Leave { .. } => {
                let member = self.local().members.remove(from);
                match member {
                    Some(_) => self.leave_room(from).await,
                    None => self.refuse(from, ErrorCode::NotJoined, "join before leaving"),
                }
            }
            Request::Resume { token, .. } if self.shared.resume_grace.is_some() => {
                return self.resume(from, &token).await;
            }
            Request::Forward { to, raw }
            | Request::Resume { to, raw, .. }
            | Request::Media { to, raw, .. } => self.forward(from, to.as_deref(), &raw).await,
        }
        self.drop_stalled().await;
        None
    }

    /// `join`: the names checked here, the room's size and names in Redis.
    pub(super) async fn join_room(&self, from: &PeerId, username: &Field, room: &Field) {
        if self.local().members.contains_key(from) {
            return self.refuse(
                from,
                ErrorCode::BadMessage,
                "already joined: send leave first",
            );
        }
        let names = checked_name(username, "username").and_then(|username| {
            let room = match self.shared.named_rooms {
                true => checked_name(room, "room")?,
                false => THE_CHAT.to_string(),
            };
            Ok((username, room))
        });
        let (username, room) = match names {
            Ok(names) => names,
            Err((code, reason)) => return self.refuse(from, code, &reason),
        };
        // Noted before Redis answers, so that an announcement for this
        // room that arrives first already finds its member here.
        let token = {
            let mut local = self.local();
            let membership = Membership {
                room: room.clone(),
                username: username.clone(),
                pending: true,
            };
            local.members.insert(from.clone(), membership);
            local.tokens.get(from).cloned().unwrap_or_default()
        };
        let join_text = ServerMessage::Join {
            from,
            username: &username,
        }
        .to_text();
        let answer: redis::RedisResult<Vec<String>> = SCRIPTS
            .join
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .arg(&**from)
            .arg(&room)
            .arg(&username)
            .arg(name_key(&username))
            .arg(&token)
            .arg(self.shared.room_size)
            .arg(join_text)
            .invoke_async(&mut self.redis())
            .await;
        let mut local = self.local();
        let refusal = match answer.as_deref() {
            Ok([ok, others @ ..]) if ok == "ok" => {
                if let Some(member) = local.members.get_mut(from) {
                    member.pending = false;
                }
                let view = local.rooms.entry(room).or_default();
                view.insert(from.clone());
                view.extend(others.chunks(2).map(|pair| PeerId::from(pair[0].as_str())));
                return;
            }
            Ok([full, ..]) if full == "full" => {
                let called = if self.shared.named_rooms {
                    "room"
                } else {
                    "chat"
                };
                (
                    ErrorCode::RoomFull,
                    full_reason(called, self.shared.room_size),
                )
            }
            Ok([taken, ..]) if taken == "name-taken" => {
                (ErrorCode::BadName, name_taken_reason(&username))
            }
            Ok(answer) => {
                log::error!("join: unexpected answer from Redis {answer:?}");
                (ErrorCode::Unavailable, unavailable("join"))
            }
            Err(err) => {
                // Redis may have let it in and the answer been lost: the
                // resync takes out whoever Redis lists here and this
                // process does not have.
                log::warn!("join: Redis: {err}");
                self.shared.resync_wanted.notify_one();
                (ErrorCode::Unavailable, unavailable("join"))
            }
        };
        local.members.remove(from);
        forget_room_if_empty(&mut local, &room);
        local.peers.refuse(from, refusal.0, &refusal.1);
    }

    /// Takes `id` (already out of `members`) out of its room in Redis.
    pub(super) async fn leave_room(&self, id: &PeerId) {
        let left: redis::RedisResult<i64> = SCRIPTS
            .leave
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .arg(&**id)
            .invoke_async(&mut self.redis())
            .await;
        if let Err(err) = left {
            // Redis still lists it: the next resync takes it out.
            log::warn!("leave of {}: Redis: {err}", short(id));
            self.shared.resync_wanted.notify_one();
        }
        let mut local = self.local();
        let rooms: Vec<String> = local.rooms.keys().cloned().collect();
        for room in rooms {
            forget_room_if_empty(&mut local, &room);
        }
    }

    /// A message for one member: checked and published by `forward.lua`.
    pub(super) async fn forward(&self, from: &PeerId, to: Option<&str>, raw: &RawMessage) {
        let member = self.local().members.get(from).cloned();
        let Some(member) = member.filter(|member| !member.pending) else {
            return self.refuse(from, ErrorCode::NotJoined, "send join first");
        };
        let Some(to) = to else {
            let reason = "a message needs a string field \"to\" naming a peer";
            return self.refuse(from, ErrorCode::BadMessage, reason);
        };
        let text = raw.stamped(from, &member.username);
        let answer: redis::RedisResult<String> = SCRIPTS
            .forward
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .arg(&**from)
            .arg(to)
            .arg(&member.room)
            .arg(&*text)
            .invoke_async(&mut self.redis())
            .await;
        match answer.as_deref() {
            Ok("ok") => {}
            Ok("unknown-peer") => {
                self.refuse(from, ErrorCode::UnknownPeer, "no such peer in your room")
            }
            Ok("peer-away") => self.refuse(
                from,
                ErrorCode::PeerAway,
                "that member's connection dropped; it may come back shortly",
            ),
            // This process knows the sender joined, Redis does not: Redis
            // restarted empty and this process has not written its members
            // back yet. Not the page's fault, and soon mended.
            Ok("not-joined") => {
                self.shared.resync_wanted.notify_one();
                self.refuse(from, ErrorCode::Unavailable, &unavailable("message"));
            }
            Ok(other) => {
                log::error!("forward: unexpected answer from Redis {other:?}");
                self.refuse(from, ErrorCode::Unavailable, &unavailable("message"));
            }
            Err(err) => {
                log::warn!("forward: Redis: {err}");
                self.refuse(from, ErrorCode::Unavailable, &unavailable("message"));
            }
        }
    }

    /// The socket `socket` of `id` has ended, as `ending` says: as
    /// [`crate::signaling::hub::HubHandle::leave`], with the rooms in Redis.
    pub async fn leave(&self, id: &PeerId, socket: SocketNumber, ending: Ending) -> AfterSocket {
        let holds = {
            let mut local = self.local();
            if local.taken.remove(id) {
                return AfterSocket::Replaced;
            }
            match local.peers.socket_of(id) {
                None => return AfterSocket::Left,
                Some(holder) if holder != socket => return AfterSocket::Replaced,
                Some(_) => {}
            }
            let holds = self.shared.resume_grace.is_some()
                && ending == Ending::Lost
                && local.members.get(id).is_some_and(|member| !member.pending);
            if holds {
                local.peers.set_away(id);
            }
            holds
        };
        if let (true, Some(grace)) = (holds, self.shared.resume_grace) {
            log::info!("peer {}: connection lost; its place is held", short(id));
            let held: redis::RedisResult<i64> = SCRIPTS
                .hold
                .arg(&self.shared.prefix)
                .arg(&self.shared.node)
                .arg(&**id)
                .invoke_async(&mut self.redis())
                .await;
            if let Err(err) = held {
                log::warn!("hold of {}: Redis: {err}", short(id));
            }
            return AfterSocket::Held { grace };
        }
        self.unregister(id).await;
        self.drop_stalled().await;
        AfterSocket::Left
    }

    /// Step 19: the grace of a held member is over.
    pub async fn end_hold(&self, id: &PeerId, socket: SocketNumber) {
        let over = {
            let local = self.local();
            local.peers.socket_of(id) == Some(socket) && local.peers.is_away(id)
        };
        if over {
            log::info!("peer {}: did not come back in time", short(id));
            self.unregister(id).await;
            self.drop_stalled().await;
        }
    }

    /// Forgets a socket here and, if it had joined, takes it out in Redis.
    pub(super) async fn unregister(&self, id: &PeerId) {
        let joined = {
            let mut local = self.local();
            if !local.peers.remove(id) {
                return;
            }
            local.tokens.remove(id);
            log::info!("peer {} left ({} open here)", short(id), local.peers.len());
            local.members.remove(id).is_some()
        };
        if joined {
            self.leave_room(id).await;
        }
    }

    /// Peers found stalled while sending leave like any other.
    pub(super) async fn drop_stalled(&self) {
        loop {
            let stalled = self.local().peers.take_stalled();
            match stalled {
                Some(id) => self.unregister(&id).await,
                None => break,
            }
        }
    }

    pub(super) fn refuse(&self, to: &PeerId, code: ErrorCode, reason: &str) {
        self.local().peers.refuse(to, code, reason);
    }
}
