//! The SFU's loop: one task owning the UDP socket and every member's
//! connection, so nothing is shared and nothing is locked.
//!
//! Each turn: take what arrived (a datagram, a command from the signaling
//! side, or the next timer), hand it to str0m, then drain every connection's
//! output: datagrams to send, and events (a track published, media data, a
//! keyframe request, the connection up or dead), which the loop acts on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{KeyframeRequestKind, MediaData, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::member::Member;
use super::{Command, Deliver, SfuSettings};
use crate::signaling::peers::{short, PeerId};
use crate::signaling::protocol::{ErrorCode, ServerMessage};

/// The longest the loop sleeps when no connection asks for a tick sooner.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// What one member's events ask of the others.
enum Propagate {
    /// It publishes a new track: forward it to the room.
    Published(PeerId, Mid, str0m::media::MediaKind),
    /// Media from it: write to the room.
    /// (Boxed: media data is by far the largest of these.)
    Media(PeerId, Box<MediaData>),
    /// A receiver asks for a keyframe of a track: ask its publisher.
    Keyframe(PeerId, Mid, KeyframeRequestKind),
}

/// One of the SFU's UDP sockets, and the address its candidate announces.
struct MediaSocket {
    socket: UdpSocket,
    announced: SocketAddr,
}

struct Sfu {
    sockets: Vec<MediaSocket>,
    /// One host candidate per socket, given to every member's connection.
    hosts: Vec<Candidate>,
    settings: SfuSettings,
    members: HashMap<PeerId, Member>,
    deliver: Deliver,
}

pub async fn run(
    bound: Vec<(std::net::UdpSocket, IpAddr)>,
    settings: SfuSettings,
    mut commands: mpsc::UnboundedReceiver<Command>,
    deliver: Deliver,
    counted: Arc<AtomicUsize>,
) {
    let mut sockets = Vec::new();
    let mut hosts = Vec::new();
    for (socket, announced) in bound {
        let Ok(local) = socket.local_addr() else {
            continue;
        };
        let Ok(socket) = UdpSocket::from_std(socket) else {
            log::error!("the SFU's socket on {local} could not join its runtime");
            continue;
        };
        let announced = SocketAddr::new(announced, local.port());
        match Candidate::host(announced, "udp") {
            Ok(host) => hosts.push(host),
            Err(err) => {
                log::error!("the SFU cannot announce {announced}: {err}");
                continue;
            }
        }
        log::info!("SFU listening on udp {local}, announced as {announced}");
        sockets.push(MediaSocket { socket, announced });
    }
    let mut sfu = Sfu {
        sockets,
        hosts,
        settings,
        members: HashMap::new(),
        deliver,
    };
    let mut buffer = vec![0u8; 2000];
    // ANCHOR: loop
    loop {
        let next = sfu.drain();
        counted.store(sfu.members.len(), Ordering::Relaxed);
        let wake = next.min(Instant::now() + IDLE_TICK);
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => sfu.on_command(command),
                None => return,
            },
            (index, received) = receive_any(&sfu.sockets, &mut buffer) => match received {
                Ok((length, source)) => {
                    let destination = sfu.sockets[index].announced;
                    sfu.on_datagram(&buffer[..length], source, destination);
                }
                Err(err) => log::debug!("SFU socket: {err}"),
            },
            () = tokio::time::sleep_until(wake.into()) => {}
        }
        sfu.tick(Instant::now());
    }
    // ANCHOR_END: loop
}

/// The next datagram on any of the sockets, with the index of the one it
/// came in on. (One buffer for all: whichever socket is ready first reads
/// into it.)
async fn receive_any(
    sockets: &[MediaSocket],
    buffer: &mut [u8],
) -> (usize, std::io::Result<(usize, SocketAddr)>) {
    std::future::poll_fn(|context| {
        for (index, media) in sockets.iter().enumerate() {
            let mut read = ReadBuf::new(buffer);
            if let Poll::Ready(result) = media.socket.poll_recv_from(context, &mut read) {
                return Poll::Ready((index, result.map(|source| (read.filled().len(), source))));
            }
        }
        Poll::Pending
    })
    .await
}

impl Sfu {
    fn send_to(&self, member: &PeerId, message: &ServerMessage<'_>) {
        (self.deliver)(member, message.to_text());
    }

    fn refuse(&self, member: &PeerId, code: ErrorCode, reason: &str) {
        self.send_to(member, &ServerMessage::error(code, reason));
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Offer { member, room, sdp } => self.on_offer(member, room, &sdp),
            Command::Answer { member, sdp } => self.on_answer(&member, &sdp),
            Command::Leave { member } => self.remove(&member, "left"),
        }
    }

    fn on_offer(&mut self, id: PeerId, room: String, sdp: &str) {
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(offer) => offer,
            Err(err) => {
                let reason = format!("the SFU cannot read this offer: {err}");
                return self.refuse(&id, ErrorCode::BadSdp, &reason);
            }
        };
        let now = Instant::now();
        let is_new = !self.members.contains_key(&id);
        let member = self
            .members
            .entry(id.clone())
            .or_insert_with(|| Member::new(id.clone(), room.into(), &self.hosts, now));
        match member.accept_offer(offer) {
            Ok(answer) => {
                let sdp = answer.to_sdp_string();
                self.send_to(&id, &ServerMessage::MediaAnswer { sdp: &sdp });
            }
            Err(err) => {
                let reason = format!("the SFU cannot use this offer: {err}");
                if is_new {
                    self.members.remove(&id);
                }
                return self.refuse(&id, ErrorCode::BadSdp, &reason);
            }
        }
        if is_new {
            // A newcomer receives every track already published in its room.
            let published: Vec<(PeerId, Mid, str0m::media::MediaKind)> = self
                .members
                .values()
                .filter(|other| other.id != id && self.members[&id].room == other.room)
                .flat_map(|other| {
                    other
                        .tracks_in
                        .iter()
                        .map(|track| (other.id.clone(), track.mid, track.kind))
                })
                .collect();
            if let Some(member) = self.members.get_mut(&id) {
                for (publisher, mid, kind) in published {
                    member.forward((publisher, mid), kind);
                }
            }
            log::info!("SFU: member {} arrived", short(&id));
        }
    }

    fn on_answer(&mut self, id: &PeerId, sdp: &str) {
        let answer = match SdpAnswer::from_sdp_string(sdp) {
            Ok(answer) => answer,
            Err(err) => {
                let reason = format!("the SFU cannot read this answer: {err}");
                return self.refuse(id, ErrorCode::BadSdp, &reason);
            }
        };
        let Some(member) = self.members.get_mut(id) else {
            return self.refuse(id, ErrorCode::BadSdp, "send a media-offer first");
        };
        match member.accept_answer(answer) {
            Ok(true) => {
                // The new subscriptions want a picture at once: ask each
                // publisher for a keyframe rather than wait for its next.
                let sources: Vec<(PeerId, Mid)> = member.open_sources();
                for (publisher, mid) in sources {
                    if let Some(publisher) = self.members.get_mut(&publisher) {
                        publisher.request_keyframe(mid, KeyframeRequestKind::Pli);
                    }
                }
            }
            Ok(false) => self.refuse(
                id,
                ErrorCode::BadSdp,
                "no offer of the SFU's waits for an answer",
            ),
            Err(err) => {
                let reason = format!("the SFU cannot use this answer: {err}");
                self.refuse(id, ErrorCode::BadSdp, &reason);
            }
        }
    }

    /// A datagram from `source` to our address `destination` (as announced:
    /// str0m matches it against the candidates).
    fn on_datagram(&mut self, data: &[u8], source: SocketAddr, destination: SocketAddr) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        // str0m tells which connection a datagram belongs to.
        let owner = self
            .members
            .values_mut()
            .find(|member| member.rtc.accepts(&input));
        if let Some(member) = owner {
            if let Err(err) = member.rtc.handle_input(input) {
                log::info!("SFU: member {}: {err}", short(&member.id));
                member.rtc.disconnect();
            }
        }
    }

    /// Time moves on for every connection; the late ones are dropped.
    fn tick(&mut self, now: Instant) {
        for member in self.members.values_mut() {
            if member.rtc.is_alive() {
                if let Err(err) = member.rtc.handle_input(Input::Timeout(now)) {
                    log::info!("SFU: member {}: {err}", short(&member.id));
                    member.rtc.disconnect();
                }
            }
        }
        let deadline = self.settings.connect_deadline;
        let late: Vec<PeerId> = self
            .members
            .values()
            .filter(|member| !member.connected && now.duration_since(member.arrived) > deadline)
            .map(|member| member.id.clone())
            .collect();
        for id in late {
            let reason = format!(
                "no media connection to the server within {deadline:?}: is UDP to its media port blocked?"
            );
            self.refuse(&id, ErrorCode::MediaFailed, &reason);
            self.remove(&id, "never connected");
        }
        let dead: Vec<PeerId> = self
            .members
            .values()
            .filter(|member| !member.rtc.is_alive())
            .map(|member| member.id.clone())
            .collect();
        for id in dead {
            self.refuse(
                &id,
                ErrorCode::MediaFailed,
                "the media connection to the server ended",
            );
            self.remove(&id, "connection ended");
        }
    }

    /// Forgets `id`; the others stop receiving its tracks.
    fn remove(&mut self, id: &PeerId, why: &str) {
        if self.members.remove(id).is_none() {
            return;
        }
        for member in self.members.values_mut() {
            member.stop_forwarding_from(id);
        }
        log::info!("SFU: member {} gone ({why})", short(id));
    }

    /// Sends what every connection has to send, acts on its events, offers
    /// what changed; returns when the next tick is due.
    fn drain(&mut self) -> Instant {
        let mut next = Instant::now() + IDLE_TICK;
        let mut propagate = Vec::new();
        let ids: Vec<PeerId> = self.members.keys().cloned().collect();
        for id in &ids {
            let Some(member) = self.members.get_mut(id) else {
                continue;
            };
            if let Some(offer) = member.offer_changes() {
                let sdp = offer.to_sdp_string();
                (self.deliver)(id, ServerMessage::MediaOffer { sdp: &sdp }.to_text());
            }
            loop {
                if !member.rtc.is_alive() {
                    break;
                }
                match member.rtc.poll_output() {
                    Ok(Output::Timeout(at)) => {
                        next = next.min(at);
                        break;
                    }
                    Ok(Output::Transmit(transmit)) => {
                        // From the socket whose address str0m chose; UDP: a
                        // full buffer drops the datagram, as the network would.
                        let socket = self
                            .sockets
                            .iter()
                            .find(|media| media.announced == transmit.source)
                            .or(self.sockets.first());
                        if let Some(media) = socket {
                            let _ = media
                                .socket
                                .try_send_to(&transmit.contents, transmit.destination);
                        }
                    }
                    Ok(Output::Event(event)) => on_event(member, event, &mut propagate),
                    Err(err) => {
                        log::info!("SFU: member {}: {err}", short(id));
                        member.rtc.disconnect();
                    }
                }
            }
        }
        for item in propagate {
            self.propagate(item);
        }
        next
    }

    fn propagate(&mut self, item: Propagate) {
        match item {
            Propagate::Published(publisher, mid, kind) => {
                let Some(room) = self.members.get(&publisher).map(|m| m.room.clone()) else {
                    return;
                };
                for member in self.members.values_mut() {
                    if member.id != publisher && member.room == room {
                        member.forward((publisher.clone(), mid), kind);
                    }
                }
            }
            // ANCHOR: forward
            Propagate::Media(publisher, data) => {
                let Some(room) = self.members.get(&publisher).map(|m| m.room.clone()) else {
                    return;
                };
                for member in self.members.values_mut() {
                    if member.id == publisher || member.room != room {
                        continue;
                    }
                    if let Err(err) = member.write(&publisher, &data) {
                        log::info!("SFU: writing to {}: {err}", short(&member.id));
                    }
                }
            }
            // ANCHOR_END: forward
            Propagate::Keyframe(publisher, mid, kind) => {
                if let Some(publisher) = self.members.get_mut(&publisher) {
                    publisher.request_keyframe(mid, kind);
                }
            }
        }
    }
}

/// One event of `member`'s connection.
fn on_event(member: &mut Member, event: Event, propagate: &mut Vec<Propagate>) {
    log::debug!("SFU: member {}: {event:?}", short(&member.id));
    match event {
        Event::Connected => {
            member.connected = true;
            log::info!("SFU: member {} connected", short(&member.id));
        }
        Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
            // ICE-lite: the browser restarts ICE if it can (step 19's
            // recovery); the connection is dropped only when str0m gives up.
            log::info!("SFU: member {}: ICE disconnected", short(&member.id));
        }
        // The page's own tracks arrive as m-lines it sends on (str0m tells
        // of them once the connection is up).
        Event::MediaAdded(added) if added.direction.is_receiving() => {
            member.tracks_in.push(super::member::TrackIn {
                mid: added.mid,
                kind: added.kind,
            });
            propagate.push(Propagate::Published(
                member.id.clone(),
                added.mid,
                added.kind,
            ));
        }
        Event::MediaData(data) => {
            propagate.push(Propagate::Media(member.id.clone(), Box::new(data)))
        }
        Event::KeyframeRequest(request) => {
            if let Some((publisher, mid)) = member.source_of(request.mid) {
                propagate.push(Propagate::Keyframe(publisher, mid, request.kind));
            }
        }
        _ => {}
    }
}
