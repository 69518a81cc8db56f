// What the person sees of the call: the status line, the connection's
// states, and the other side's picture and sound. Other modules write to the
// screen through here, except the devices (media.js) and the chat (chat.js),
// which own their elements.

const statusText = document.getElementById('status');
const pcStates = document.getElementById('pc-states');
const remoteVideo = document.getElementById('remote-video');
const remoteAudio = document.getElementById('remote-audio');

// Shows what the page is doing, in words, and logs it for the console.
export function setStatus(text) {
  statusText.textContent = text;
  console.log(`status: ${text}`);
}

// For a browser without WebRTC: says so, and turns every control off.
export function refuseCalls() {
  for (const control of document.querySelectorAll('button, input, textarea')) control.disabled = true;
  setStatus('This browser cannot make calls: it has no WebRTC (RTCPeerConnection). Open the page in a current Chrome, Edge, Firefox or Safari.');
}

// Shows the four states of the connection in words, so the handshake can be watched.
export function showStates(pc) {
  if (!pc) {
    pcStates.textContent = 'No connection yet.';
    return;
  }
  pcStates.textContent =
    `signaling: ${pc.signalingState} · ICE gathering: ${pc.iceGatheringState} · ` +
    `ICE connection: ${pc.iceConnectionState} · connection: ${pc.connectionState}`;
}

// ANCHOR: showRemoteTrack
// Shows the other side's media. The offer/answer ties each track to the
// sender's stream, so both tracks usually arrive in event.streams[0].
export function showRemoteTrack(event) {
  const { track } = event;
  console.log(`remote ${track.kind} track arrived`);
  const stream = event.streams[0] ?? new MediaStream([track]);
  if (track.kind === 'video' && remoteVideo.srcObject !== stream) {
    remoteVideo.srcObject = stream;
  }
  if (track.kind === 'audio' && remoteAudio.srcObject !== stream) {
    remoteAudio.srcObject = stream;
    // Browsers may refuse to play sound before the person has clicked on the
    // page; say so instead of failing silently.
    remoteAudio.play().catch((error) => {
      console.warn('remote audio did not start:', error);
      if (error.name === 'NotAllowedError') {
        setStatus('Click anywhere on the page to hear the other side.');
        document.addEventListener('click', () => remoteAudio.play().catch(() => {}), { once: true });
      }
    });
  }
}
// ANCHOR_END: showRemoteTrack

export function clearRemoteMedia() {
  remoteVideo.srcObject = null;
  remoteAudio.srcObject = null;
}
