//! A WebRTC peer made of str0m, for testing step 20's SFU without a browser:
//! it offers, answers, runs ICE and DTLS over a real UDP socket on
//! loopback, sends audio packets and counts what it receives.
//!
//! str0m is sans I/O: [`Str0mPeer::pump`] is this peer's event loop, run
//! for as long as the test wants the peer to live.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub struct Str0mPeer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    /// The audio m-line it sends on.
    sending: Option<Mid>,
    /// True once ICE and DTLS are up.
    pub connected: bool,
    /// Audio packets received, from anyone.
    pub received: usize,
    /// The same, by the m-line they came on (one per forwarded track).
    pub received_on: HashMap<Mid, usize>,
    /// Audio packets sent.
    pub sent: u64,
}

impl Str0mPeer {
    pub async fn new() -> Str0mPeer {
        str0m::crypto::from_feature_flags().install_process_default();
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP port");
        let local = socket.local_addr().expect("its address");
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("a host candidate"));
        Str0mPeer {
            rtc,
            socket,
            local,
            pending: None,
            sending: None,
            connected: false,
            received: 0,
            received_on: HashMap::new(),
            sent: 0,
        }
    }

    /// How many forwarded tracks have brought at least `packets` packets.
    pub fn tracks_with(&self, packets: usize) -> usize {
        self.received_on.values().filter(|n| **n >= packets).count()
    }

    /// An offer publishing one (more) audio track, as a page with a microphone.
    pub fn offer_audio(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().expect("an offer");
        self.pending = Some(pending);
        self.sending = Some(mid);
        offer.to_sdp_string()
    }

    pub fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).expect("an SDP answer");
        let pending = self.pending.take().expect("an offer of ours");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the answer accepted");
    }

    /// Answers the SFU's offer (the tracks it forwards).
    pub fn accept_offer(&mut self, sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(sdp).expect("an SDP offer");
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("the offer accepted");
        answer.to_sdp_string()
    }

    /// Runs this peer for `time`: sockets, timers, and one audio packet
    /// every 20 ms once connected.
    pub async fn pump(&mut self, time: Duration) {
        let until = Instant::now() + time;
        let mut buffer = vec![0u8; 2000];
        let mut next_audio = Instant::now();
        loop {
            let wake = loop {
                match self.rtc.poll_output().expect("str0m's output") {
                    Output::Timeout(at) => break at,
                    Output::Transmit(transmit) => {
                        let _ = self
                            .socket
                            .send_to(&transmit.contents, transmit.destination)
                            .await;
                    }
                    Output::Event(Event::Connected) => self.connected = true,
                    Output::Event(Event::MediaData(data)) => {
                        self.received += 1;
                        *self.received_on.entry(data.mid).or_default() += 1;
                    }
                    Output::Event(_) => {}
                }
            };
            let now = Instant::now();
            if now >= until {
                return;
            }
            if self.connected && now >= next_audio {
                self.send_audio(now);
                next_audio = now + Duration::from_millis(20);
                continue;
            }
            let wake = wake
                .min(until)
                .min(next_audio.max(now + Duration::from_millis(1)));
            tokio::select! {
                received = self.socket.recv_from(&mut buffer) => {
                    if let Ok((length, source)) = received {
                        if let Ok(contents) = buffer[..length].try_into() {
                            let input = Input::Receive(Instant::now(), Receive {
                                proto: Protocol::Udp,
                                source,
                                destination: self.local,
                                contents,
                            });
                            self.rtc.handle_input(input).expect("str0m takes the datagram");
                        }
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    self.rtc.handle_input(Input::Timeout(Instant::now())).expect("str0m's timer");
                }
            }
        }
    }

    /// One 20 ms Opus-sized packet (its bytes are not real Opus: the SFU
    /// forwards what it gets without decoding it).
    fn send_audio(&mut self, now: Instant) {
        let Some(mid) = self.sending else {
            return;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(params) = writer.payload_params().next() else {
            return;
        };
        let pt = params.pt();
        let clock = params.spec().clock_rate;
        let time = MediaTime::new(self.sent * 960, clock);
        if writer.write(pt, now, time, vec![0xf8u8; 80]).is_ok() {
            self.sent += 1;
        }
    }
}
