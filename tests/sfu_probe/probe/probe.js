// The probe's whole logic (the server's Content-Security-Policy allows
// scripts from its own origin only, not inline ones).
const name = new URLSearchParams(location.search).get('name') ?? 'someone';
const probe = { errors: [], offersIgnored: 0, tracks: 0, connection: 'new' };
window.probe = probe;
const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
const pc = new RTCPeerConnection();
for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
pc.addEventListener('connectionstatechange', () => { probe.connection = pc.connectionState; });
pc.addEventListener('track', ({ track, streams }) => {
  probe.tracks += 1;
  if (track.kind !== 'video') return;
  const video = document.createElement('video');
  video.autoplay = true;
  video.muted = true;
  video.dataset.member = streams[0]?.id ?? '';
  video.srcObject = new MediaStream([track]);
  document.getElementById('videos').append(video);
});
// The server's offers are answered unless ours is out (we are impolite:
// the SFU yields and offers again after answering ours).
let ourOfferOut = false;
const ws = new WebSocket(`ws://${location.host}/ws`);
const send = (message) => ws.send(JSON.stringify(message));
let chain = Promise.resolve();
ws.addEventListener('message', (event) => {
  const message = JSON.parse(event.data);
  chain = chain.then(() => apply(message)).catch((error) => probe.errors.push(String(error)));
});
async function apply(message) {
  if (message.type === 'welcome') {
    send({ type: 'join', username: name, room: 'probe' });
    ourOfferOut = true;
    await pc.setLocalDescription();
    send({ type: 'media-offer', sdp: pc.localDescription.sdp });
  } else if (message.type === 'media-answer') {
    await pc.setRemoteDescription({ type: 'answer', sdp: message.sdp });
    ourOfferOut = false;
  } else if (message.type === 'media-offer') {
    if (ourOfferOut) { probe.offersIgnored += 1; return; }
    await pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
    await pc.setLocalDescription();
    send({ type: 'media-answer', sdp: pc.localDescription.sdp });
  } else if (message.type === 'error') {
    probe.errors.push(`${message.code}: ${message.message}`);
  }
}
// Frames decoded from each other member's video, by member id.
window.framesByMember = async () => {
  const byTrack = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') byTrack[s.trackIdentifier] = s.framesDecoded ?? 0;
  });
  const byMember = {};
  for (const video of document.querySelectorAll('video')) {
    const track = video.srcObject.getVideoTracks()[0];
    byMember[video.dataset.member] = byTrack[track.id] ?? 0;
  }
  return byMember;
};

