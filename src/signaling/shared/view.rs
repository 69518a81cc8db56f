//! This process's view of its rooms: what it delivers from its inbox, and
//! the resync that mends the view after the inbox was deaf for a while.

use std::collections::HashMap;

use super::envelope::{Envelope, Kind};
use super::scripts::SCRIPTS;
use super::{forget_room_if_empty, has_members_in, take_away, Membership, SharedHub};
use crate::signaling::peers::{short, Delivery, Outgoing, PeerId};
use crate::signaling::policy::display_names::name_key;
use crate::signaling::protocol::{ErrorCode, ServerMessage};

impl SharedHub {
    /// Delivers one inbox message to this process's sockets (inbox.rs).
    pub(super) fn deliver(&self, envelope: Envelope<'_>) {
        let mut local = self.local();
        let room = envelope.room;
        match envelope.kind {
            Kind::Message => {}
            // A view already up to date (a resync told the pages first)
            // delivers nothing twice. A member of this process is always
            // announced: its own join put it in the view, and a resync
            // never announces it.
            Kind::Joined(id) => {
                let known = local.rooms.get(room).is_some_and(|view| view.contains(id));
                if (known && !local.members.contains_key(id)) || !has_members_in(&local, room) {
                    return;
                }
                local
                    .rooms
                    .entry(room.to_string())
                    .or_default()
                    .insert(PeerId::from(id));
            }
            Kind::Left(id) => {
                let known = local
                    .rooms
                    .get_mut(room)
                    .is_some_and(|view| view.remove(id));
                if !known {
                    return;
                }
            }
            Kind::Taken(id) => return take_away(&mut local, id),
        }
        let text = Outgoing::from(envelope.text);
        for to in envelope.to {
            // Only to a member of this very room here: an id that left and
            // joined elsewhere meanwhile gets nothing meant for the old room.
            let here = local
                .members
                .get_key_value(to)
                .filter(|(_, m)| m.room == room);
            if let Some((id, _)) = here {
                let id = id.clone();
                local.peers.send(&id, text.clone(), Delivery::Needed);
            }
        }
    }

    /// After this process lost Redis for a while: writes its members back
    /// (`resync.lua`) and tells its pages the joins and leaves they missed.
    /// Runs on the inbox task, between two inbox messages, so that nothing
    /// is delivered while the view is being compared.
    pub(super) async fn resync(&self) -> redis::RedisResult<()> {
        let mut invocation = SCRIPTS.resync.prepare_invoke();
        invocation
            .arg(&self.shared.prefix)
            .arg(&self.shared.node)
            .arg(self.shared.room_size);
        let members: Vec<(PeerId, Membership, String)> = {
            let local = self.local();
            local
                .members
                .iter()
                .filter(|(_, member)| !member.pending)
                .map(|(id, member)| {
                    let token = local.tokens.get(id).cloned().unwrap_or_default();
                    (id.clone(), member.clone(), token)
                })
                .collect()
        };
        for (id, member, token) in &members {
            let join_text = ServerMessage::Join {
                from: id,
                username: &member.username,
            }
            .to_text();
            invocation
                .arg(&**id)
                .arg(&member.room)
                .arg(&member.username)
                .arg(name_key(&member.username))
                .arg(token)
                .arg(join_text);
        }
        let lost: Vec<String> = invocation.invoke_async(&mut self.redis()).await?;
        for id in lost {
            let mut local = self.local();
            let Some((id, member)) = local.members.remove_entry(id.as_str()) else {
                continue;
            };
            log::warn!(
                "peer {}: its place was taken while Redis was away",
                short(&id)
            );
            let reason = "the room service restarted and your place is gone: join again";
            local.peers.refuse(&id, ErrorCode::Unavailable, reason);
            forget_room_if_empty(&mut local, &member.room);
        }
        let rooms: Vec<String> = self.local().rooms.keys().cloned().collect();
        for room in rooms {
            let now: Vec<String> = SCRIPTS
                .members
                .arg(&self.shared.prefix)
                .arg(&room)
                .invoke_async(&mut self.redis())
                .await?;
            self.tell_what_changed(&room, &now);
        }
        Ok(())
    }

    /// Compares this process's view of `room` with `now` (id, name, ...)
    /// and tells its members there who joined and who left meanwhile.
    pub(super) fn tell_what_changed(&self, room: &str, now: &[String]) {
        let mut local = self.local();
        let names: HashMap<&str, &str> = now
            .chunks(2)
            .map(|pair| (pair[0].as_str(), pair.get(1).map_or("", String::as_str)))
            .collect();
        let here: Vec<PeerId> = local
            .members
            .iter()
            .filter(|(_, member)| member.room == room)
            .map(|(id, _)| id.clone())
            .collect();
        let Some(view) = local.rooms.get_mut(room) else {
            return;
        };
        let left: Vec<PeerId> = view
            .iter()
            .filter(|id| !names.contains_key(&***id))
            .cloned()
            .collect();
        let joined: Vec<(PeerId, String)> = names
            .iter()
            .filter(|(id, _)| !view.contains(**id))
            .map(|(id, name)| (PeerId::from(*id), name.to_string()))
            .collect();
        *view = names.keys().map(|id| PeerId::from(*id)).collect();
        for id in &left {
            let leave = ServerMessage::Leave { from: id };
            let to: Vec<&PeerId> = here.iter().filter(|member| *member != id).collect();
            local.peers.announce(to, &leave);
        }
        for (id, username) in &joined {
            let join = ServerMessage::Join { from: id, username };
            let to: Vec<&PeerId> = here.iter().filter(|member| *member != id).collect();
            local.peers.announce(to, &join);
        }
        if !left.is_empty() || !joined.is_empty() {
            log::info!(
                "room resynced: {} joined and {} left while this process was not listening",
                joined.len(),
                left.len()
            );
        }
    }
}
