//! One member's connection to the SFU: its `Rtc` (str0m's peer connection,
//! sans I/O), the tracks it publishes, the tracks forwarded to it, and where
//! its negotiation stands.
//!
//! Who offers: the page offers what it publishes (camera, microphone, a
//! shared screen); the SFU offers what it forwards (everyone else's tracks).
//! Both may offer at the same moment. The page is *impolite* and the SFU
//! *yields*: when a page's offer arrives while the SFU's own offer waits for
//! an answer, the SFU drops its offer (str0m's `accept_offer` invalidates it),
//! answers the page, and offers its changes again afterwards. The page, for
//! its part, ignores an offer that arrives while its own is out.

use std::sync::Arc;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::{Candidate, Rtc, RtcError};

use crate::signaling::peers::PeerId;

/// A track a member publishes: the `mid` of its m-line on the member's own
/// connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackIn {
    pub mid: Mid,
    pub kind: MediaKind,
}

/// Where a forwarded track stands on the receiving member's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutState {
    /// To be added in the SFU's next offer.
    ToOpen,
    /// Offered as `mid`, not yet answered.
    Opening(Mid),
    /// Answered: media flows on `mid`.
    Open(Mid),
    /// Its publisher left: to be stopped in the next offer.
    ToStop(Mid),
    /// Stopped in an offer not yet answered.
    Stopping(Mid),
}

/// Another member's track, forwarded to this member.
#[derive(Debug)]
struct TrackOut {
    /// Who publishes it, and its `mid` on the publisher's connection.
    source: (PeerId, Mid),
    kind: MediaKind,
    state: OutState,
}

pub struct Member {
    pub id: PeerId,
    /// Shared, not copied: the loop compares it for every forwarded packet.
    pub room: Arc<str>,
    pub rtc: Rtc,
    /// What it publishes.
    pub tracks_in: Vec<TrackIn>,
    tracks_out: Vec<TrackOut>,
    /// The SFU's offer waiting for the page's answer.
    pending: Option<SdpPendingOffer>,
    /// When it arrived, for the connection deadline.
    pub arrived: Instant,
    /// True once ICE and DTLS are up.
    pub connected: bool,
}

impl Member {
    /// A member whose connection answers at `hosts` (the SFU's UDP
    /// sockets). The SFU is ICE-lite: it has public addresses and only
    /// answers the browser's checks, so it needs none of the browser's
    /// candidates.
    pub fn new(id: PeerId, room: Arc<str>, hosts: &[Candidate], now: Instant) -> Member {
        let mut rtc = Rtc::builder().set_ice_lite(true).build(now);
        for host in hosts {
            rtc.add_local_candidate(host.clone());
        }
        Member {
            id,
            room,
            rtc,
            tracks_in: Vec::new(),
            tracks_out: Vec::new(),
            pending: None,
            arrived: now,
            connected: false,
        }
    }

    // ANCHOR: yield
    /// The page's offer: the SFU's own pending offer, if any, yields.
    pub fn accept_offer(&mut self, offer: SdpOffer) -> Result<SdpAnswer, RtcError> {
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        if self.pending.take().is_some() {
            // What the dropped offer carried is offered again later.
            for track in &mut self.tracks_out {
                track.state = match track.state {
                    OutState::Opening(_) => OutState::ToOpen,
                    OutState::Stopping(mid) => OutState::ToStop(mid),
                    other => other,
                };
            }
        }
        Ok(answer)
    }
    // ANCHOR_END: yield

    /// The page's answer to the SFU's offer. False when no offer of the
    /// SFU's is waiting (the page answered nothing, or an old offer).
    pub fn accept_answer(&mut self, answer: SdpAnswer) -> Result<bool, RtcError> {
        let Some(pending) = self.pending.take() else {
            return Ok(false);
        };
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        for track in &mut self.tracks_out {
            if let OutState::Opening(mid) = track.state {
                track.state = OutState::Open(mid);
            }
        }
        self.tracks_out
            .retain(|track| !matches!(track.state, OutState::Stopping(_)));
        Ok(true)
    }

    /// Another member's track is to be forwarded to this one.
    pub fn forward(&mut self, source: (PeerId, Mid), kind: MediaKind) {
        let known = self.tracks_out.iter().any(|track| track.source == source);
        if !known {
            self.tracks_out.push(TrackOut {
                source,
                kind,
                state: OutState::ToOpen,
            });
        }
    }

    /// `publisher` left: its tracks stop being forwarded here.
    pub fn stop_forwarding_from(&mut self, publisher: &PeerId) {
        self.tracks_out.retain_mut(|track| {
            if track.source.0 != *publisher {
                return true;
            }
            match track.state {
                // Never offered: simply forgotten.
                OutState::ToOpen => false,
                OutState::Opening(mid) | OutState::Open(mid) => {
                    track.state = OutState::ToStop(mid);
                    true
                }
                OutState::ToStop(_) | OutState::Stopping(_) => true,
            }
        });
    }

    // ANCHOR: offer_changes
    /// The SFU's next offer, when tracks wait to be added or stopped and no
    /// offer is out. The stream id of each forwarded track is its
    /// publisher's member id, which is how the page groups tracks in tiles.
    pub fn offer_changes(&mut self) -> Option<SdpOffer> {
        if self.pending.is_some() {
            return None;
        }
        let mut change = self.rtc.sdp_api();
        for track in &mut self.tracks_out {
            match track.state {
                OutState::ToOpen => {
                    let stream = Some(track.source.0.to_string());
                    let mid = change.add_media(track.kind, Direction::SendOnly, stream, None, None);
                    track.state = OutState::Opening(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    track.state = OutState::Stopping(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return None;
        }
        let (offer, pending) = change.apply()?;
        self.pending = Some(pending);
        Some(offer)
    }
    // ANCHOR_END: offer_changes

    /// Writes `data`, published by `publisher`, to this member if it
    /// receives that track. True when written.
    pub fn write(&mut self, publisher: &PeerId, data: &MediaData) -> Result<bool, RtcError> {
        let open = self.tracks_out.iter().find_map(|track| match track.state {
            OutState::Open(mid) if track.source == (publisher.clone(), data.mid) => Some(mid),
            _ => None,
        });
        let Some(mid) = open else {
            return Ok(false);
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        // The same codec may have another payload type on this connection.
        let Some(pt) = writer.match_params(data.params) else {
            return Ok(false);
        };
        writer.write(pt, data.network_time, data.time, data.data.clone())?;
        Ok(true)
    }

    /// The publisher and its `mid` of the track this member receives on `mid`.
    pub fn source_of(&self, mid: Mid) -> Option<(PeerId, Mid)> {
        self.tracks_out.iter().find_map(|track| match track.state {
            OutState::Open(open) | OutState::Opening(open) if open == mid => {
                Some(track.source.clone())
            }
            _ => None,
        })
    }

    /// The publishers (and their mids) of every track forwarded here and open.
    pub fn open_sources(&self) -> Vec<(PeerId, Mid)> {
        self.tracks_out
            .iter()
            .filter(|track| matches!(track.state, OutState::Open(_)))
            .map(|track| track.source.clone())
            .collect()
    }

    /// Asks this member's browser for a keyframe of its track `mid`.
    pub fn request_keyframe(&mut self, mid: Mid, kind: KeyframeRequestKind) {
        if let Some(mut writer) = self.rtc.writer(mid) {
            // Fails only for a mid with no incoming stream yet: nothing to ask.
            let _ = writer.request_keyframe(None, kind);
        }
    }
}
