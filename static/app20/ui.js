// What the person sees: the join screen or the chat screen, the status line,
// and one tile per other member with their name, picture and sound, and the
// state of our connection to the server. Other modules write to the screen through
// here, except the devices (media.js) and the chat (chat.js), which own their
// elements.

const statusText = document.getElementById('status');
const joinForm = document.getElementById('join-form');
const chatScreen = document.getElementById('chat');
const localUsername = document.getElementById('local-username');
const roomName = document.getElementById('room-name');
const pcStates = document.getElementById('pc-states');
const peersBox = document.getElementById('peers');

// Shows what the page is doing, in words, and logs it for the console.
export function setStatus(text) {
  statusText.textContent = text;
  console.log(`status: ${text}`);
}

// For a browser without WebRTC: says so, and turns every control off.
export function refuseCalls() {
  for (const control of document.querySelectorAll('button, input, select, textarea')) control.disabled = true;
  setStatus('This browser cannot make calls: it has no WebRTC (RTCPeerConnection). Open the page in a current Chrome, Edge, Firefox or Safari.');
}

// Shows the state of our one connection, to the server (step 20), above the
// tiles, and on each tile whether that member's picture has arrived.
export function showStates(server, members) {
  const connection = server.pc;
  const state = connection
    ? (server.recovery ? 'reconnecting… · ' : '') +
      `signaling: ${connection.signalingState} · ICE: ${connection.iceConnectionState} · ` +
      `connection: ${connection.connectionState}`
    : 'no connection';
  for (const member of members) {
    // Step 19: while the connection is being brought back, every tile says so.
    member.tile.element.classList.toggle('reconnecting', Boolean(connection && server.recovery));
    const receiving = member.tile.video.srcObject !== null;
    member.tile.stateLabel.textContent = receiving ? 'through the server' : 'waiting for their media';
  }
  const people = members.length === 0
    ? 'Nobody else is here yet.'
    : `${members.length} ${members.length === 1 ? 'person' : 'people'} here.`;
  pcStates.textContent = `${people} Server: ${state}.`;
}

// ANCHOR: showRemoteTrack
// Shows a member's media in their tile. The offer/answer ties each track to
// the sender's stream, so both tracks usually arrive in event.streams[0].
export function showRemoteTrack(tile, event) {
  const { track } = event;
  console.log(`remote ${track.kind} track arrived`);
  const stream = event.streams[0] ?? new MediaStream([track]);
  if (track.kind === 'video' && tile.video.srcObject !== stream) {
    tile.video.srcObject = stream;
  }
  if (track.kind === 'audio' && tile.audio.srcObject !== stream) {
    tile.audio.srcObject = stream;
    // Browsers may refuse to play sound before the person has clicked on the
    // page; say so instead of failing silently.
    tile.audio.play().catch((error) => {
      console.warn('remote audio did not start:', error);
      if (error.name === 'NotAllowedError') {
        setStatus('Click anywhere on the page to hear the others.');
        document.addEventListener('click', () => tile.audio.play().catch(() => {}), { once: true });
      }
    });
  }
}
// ANCHOR_END: showRemoteTrack

export function clearRemoteMedia(tile) {
  tile.video.srcObject = null;
  tile.audio.srcObject = null;
  showMediaState(tile, null);
  setSpeaking(tile, false);
}

// ANCHOR: mediaState
// What a member told us about their camera and microphone (null: nothing
// yet, or the call ended). The tile carries it as data-camera,
// data-microphone and data-screen ("on" or "off") for the style sheet, and
// in words under the name.
export function showMediaState(tile, state) {
  const flags = [];
  for (const what of ['camera', 'microphone', 'screen']) {
    if (state) tile.element.dataset[what] = state[what] ? 'on' : 'off';
    else delete tile.element.dataset[what];
  }
  if (state?.screen) flags.push('sharing their screen');
  else if (state && !state.camera) flags.push('camera off');
  if (state && !state.microphone) flags.push('microphone off');
  tile.flagsLabel.textContent = flags.join(' · ');
}

// Lights the tile of a member who is speaking.
export function setSpeaking(tile, speaking) {
  tile.element.classList.toggle('speaking', speaking);
}
// ANCHOR_END: mediaState

// The join screen: at the start, after Leave, and when a join is refused.
export function showJoinScreen() {
  joinForm.hidden = false;
  chatScreen.hidden = true;
}

// The chat screen, with our own name and the room's (textContent: a name is
// text, never HTML).
export function showChatScreen(name, room) {
  localUsername.textContent = `${name} (you)`;
  roomName.textContent = room;
  joinForm.hidden = true;
  chatScreen.hidden = false;
}

// ANCHOR: tiles
// Adds the tile of a member: their name (as text), their picture and their
// sound, a line saying what they have turned off, and a line saying whether
// their media has arrived.
export function addTile(id, name) {
  const tile = document.createElement('figure');
  tile.className = 'peer';
  tile.dataset.peerId = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // the sound plays through the <audio> beside it
  const audio = document.createElement('audio');
  audio.autoplay = true;
  const caption = document.createElement('figcaption');
  const nameLabel = document.createElement('span');
  nameLabel.className = 'peer-name';
  nameLabel.textContent = name; // a name is text, never HTML
  const flagsLabel = document.createElement('span');
  flagsLabel.className = 'peer-flags';
  const stateLabel = document.createElement('span');
  stateLabel.className = 'peer-state';
  caption.append(nameLabel, flagsLabel, stateLabel);
  tile.append(video, audio, caption);
  peersBox.append(tile);
  return { element: tile, video, audio, flagsLabel, stateLabel };
}

// The member is gone: their tile disappears.
export function removeTile(tile) {
  tile.element.remove();
}
// ANCHOR_END: tiles
