'use strict';

// Step 16: video chat with several people.
//
// A full mesh: one RTCPeerConnection per other member, each shown in its own
// tile (#peers .peer[data-peer-id]). Whoever is in the chat already calls each
// newcomer when its `join` arrives, so everyone ends up connected to everyone.
// Everything a call had in step 15 (connection, data channel, queued
// candidates, perfect negotiation) now lives in one record per member, and
// the camera toggles, the chat and Leave act on all of them. Perfect
// negotiation needs one polite side per pair: with several people "the called
// side" no longer works for renegotiation started by either side, so each pair
// compares ids, which both sides see the same way. Leave now leaves the chat
// (the server's `leave`), because in a group there is no single call to hang up.
//
// What the steps before added is in the book, one chapter per step.

const statusText = document.getElementById('status');
const cameraBox = document.getElementById('camera');
const microphoneBox = document.getElementById('microphone');
const localVideo = document.getElementById('local-video');
const peersBox = document.getElementById('peers');
const callAgainButton = document.getElementById('send-offer');
const joinForm = document.getElementById('join-form');
const usernameInput = document.getElementById('username');
const joinButton = document.getElementById('join');
const chatScreen = document.getElementById('chat');
const localUsername = document.getElementById('local-username');
const leaveButton = document.getElementById('leave');
const chatForm = document.getElementById('chat-form');
const messageInput = document.getElementById('message');
const sendMessageButton = document.getElementById('send-message');
const messageList = document.getElementById('messages');
const pcStates = document.getElementById('pc-states');

// ICE servers come from the server, so an operator changes them without
// touching the pages. Until they arrive (or if they cannot be loaded) the
// page uses none, which still works between windows on one network.
let rtcConfiguration = { iceServers: [] };
const iceServersLoaded = loadIceServers();

// Who we are: the id comes from the server's welcome; the name is what we typed.
let myId = null;
let myName = null; // set once Join is pressed

// Everyone else in the chat, by their server id. Each member has a tile on
// the page and, while a call with them runs, its own connection and channel:
//   { id, name, polite, tile, video, audio, nameLabel, stateLabel,
//     pc, callId, chatChannel, pendingCandidates, makingOffer, ignoreOffer }
// What step 15 kept in single variables is per member now.
const peers = new Map();

// How long Leave waits for the peer to confirm (by closing the channel)
// before closing the connection anyway.
const LEAVE_CONFIRM_TIMEOUT_MS = 1500;

// The signaling socket, and how long to wait before reconnecting it.
let socket = null;
let reconnectDelay = 1000;
const MAX_RECONNECT_DELAY = 10000;

// The tracks this page has open, whatever device they come from.
const localStream = new MediaStream();

// What each checkbox controls. `request` counts getUserMedia calls so that an
// answer arriving after the box was turned off (or on again) is recognised as stale.
const devices = {
  video: { box: cameraBox, name: 'camera', request: 0 },
  audio: { box: microphoneBox, name: 'microphone', request: 0 },
};

// Shows what the page is doing, in words, and logs it for the console.
function setStatus(text) {
  statusText.textContent = text;
  console.log(`status: ${text}`);
}

// ANCHOR: showLocalVideo
// Puts the current camera track (if any) in the local <video>; with none, the
// element is emptied so it does not freeze on the last picture.
function showLocalVideo() {
  const videoTracks = localStream.getVideoTracks();
  localVideo.srcObject = videoTracks.length > 0 ? new MediaStream(videoTracks) : null;
}
// ANCHOR_END: showLocalVideo

// ANCHOR: describeMediaError
// A sentence a person can act on, for each way getUserMedia can fail.
function describeMediaError(error, name) {
  switch (error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Permission to use the ${name} was denied. Allow it in the browser's site settings, then tick the box again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${name} was found. Connect one, then tick the box again.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${name} could not be started: another program may be using it. Close that program, then tick the box again.`;
    default:
      return `The ${name} could not be started (${error.name}: ${error.message}).`;
  }
}
// ANCHOR_END: describeMediaError

async function startDevice(kind) {
  const device = devices[kind];
  const request = ++device.request;

  // getUserMedia exists only in secure contexts: https, or http on localhost.
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    device.box.checked = false;
    setStatus(`The ${device.name} needs a secure page: open it as http://localhost:… or over https.`);
    return;
  }

  setStatus(`Starting the ${device.name}…`);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
  } catch (error) {
    console.error(`getUserMedia(${kind}) failed:`, error);
    if (request === device.request) {
      device.box.checked = false;
      setStatus(describeMediaError(error, device.name));
    }
    return;
  }

  // The box was turned off, or turned off and on again, while we waited.
  if (request !== device.request || !device.box.checked) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }

  for (const track of stream.getTracks()) {
    // The device can vanish on its own: unplugged, or taken by the system.
    track.addEventListener('ended', () => {
      console.log(`${device.name} track ended by the browser`);
      if (localStream.getTrackById(track.id)) {
        stopDevice(kind);
        device.box.checked = false;
        setStatus(`The ${device.name} stopped (was it unplugged?). Tick the box to try again.`);
      }
    });
    localStream.addTrack(track);
    console.log(`${device.name} started: ${track.label}`);
    // Mid-call: every member gets it too.
    for (const peer of peers.values()) {
      if (peer.pc) sendTrack(peer.pc, track);
    }
  }
  showLocalVideo();
  setStatus(`The ${device.name} is on.`);
}

// ANCHOR: stopDevice
function stopDevice(kind) {
  const device = devices[kind];
  device.request++; // any getUserMedia still in flight is now stale
  const tracks = kind === 'video' ? localStream.getVideoTracks() : localStream.getAudioTracks();
  for (const track of tracks) {
    for (const peer of peers.values()) {
      if (peer.pc) unsendTrack(peer.pc, track);
    }
    track.stop();
    localStream.removeTrack(track);
  }
  showLocalVideo();
  console.log(`${device.name} stopped`);
  setStatus(`The ${device.name} is off.`);
}
// ANCHOR_END: stopDevice

function onDeviceBoxChange(kind) {
  if (devices[kind].box.checked) {
    startDevice(kind);
  } else {
    stopDevice(kind);
  }
}

// ANCHOR: loadIceServers
async function loadIceServers() {
  try {
    const response = await fetch('/ice-servers');
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const { iceServers } = await response.json();
    if (!Array.isArray(iceServers)) throw new Error('the answer has no iceServers list');
    rtcConfiguration = { iceServers };
    console.log(`ICE servers: ${JSON.stringify(iceServers)}`);
  } catch (error) {
    console.error('could not load the ICE servers:', error);
    setStatus(`Could not load the ICE servers (${error.message}): calls will only work within one network.`);
  }
}
// ANCHOR_END: loadIceServers

// ANCHOR: tiles
// Adds the tile of a member we have not seen yet: their name (as text), their
// picture and their sound, and a line for the state of our connection to them.
function addPeer(id, name) {
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
  const stateLabel = document.createElement('span');
  stateLabel.className = 'peer-state';
  caption.append(nameLabel, stateLabel);
  tile.append(video, audio, caption);
  peersBox.append(tile);

  const peer = {
    id,
    name,
    // Perfect negotiation needs exactly one polite side in each pair, and
    // both sides must agree which: the one with the smaller id yields.
    polite: myId < id,
    tile,
    video,
    audio,
    nameLabel,
    stateLabel,
    pc: null,
    callId: null, // chosen by the caller; every message of the call carries it
    chatChannel: null,
    pendingCandidates: [],
    makingOffer: false,
    ignoreOffer: false,
  };
  peers.set(id, peer);
  showStates();
  return peer;
}

// The member is gone: their connection closes and their tile disappears.
function removePeer(peer) {
  closePeerConnection(peer);
  peer.tile.remove();
  peers.delete(peer.id);
  showStates();
}

function removeAllPeers() {
  for (const peer of [...peers.values()]) removePeer(peer);
}
// ANCHOR_END: tiles

// Shows the state of each connection on its tile, and a summary above.
function showStates() {
  let connected = 0;
  for (const peer of peers.values()) {
    const connection = peer.pc;
    if (!connection) {
      peer.stateLabel.textContent = 'no connection';
      continue;
    }
    if (connection.connectionState === 'connected') connected++;
    peer.stateLabel.textContent =
      `signaling: ${connection.signalingState} · ICE: ${connection.iceConnectionState} · ` +
      `connection: ${connection.connectionState}`;
  }
  pcStates.textContent = peers.size === 0
    ? 'Nobody else is here yet.'
    : `Connected to ${connected} of ${peers.size} ${peers.size === 1 ? 'person' : 'people'}.`;
  // Call again is for members whose connection was lost.
  callAgainButton.disabled = ![...peers.values()].some((peer) => !peer.pc);
}

// ANCHOR: newPeerConnection
// Makes a fresh connection to `peer` (closing any earlier one to them) that
// logs every state change. Each handler first checks that the connection is
// still the member's current one: a closed call's last events are ignored.
function newPeerConnection(peer) {
  closePeerConnection(peer);
  const connection = new RTCPeerConnection(rtcConfiguration);
  const stateEvents = [
    'signalingstatechange',
    'icegatheringstatechange',
    'iceconnectionstatechange',
    'connectionstatechange',
  ];
  for (const eventName of stateEvents) {
    connection.addEventListener(eventName, () => {
      if (connection !== peer.pc) return; // an old connection's last words
      console.log(`${peer.name}: ${eventName}: signaling=${connection.signalingState} ` +
        `gathering=${connection.iceGatheringState} ice=${connection.iceConnectionState} ` +
        `connection=${connection.connectionState}`);
      showStates();
    });
  }
  connection.addEventListener('connectionstatechange', () => {
    if (connection === peer.pc) describeConnectionState(peer, connection.connectionState);
  });
  connection.addEventListener('track', (event) => {
    if (connection === peer.pc) showRemoteTrack(peer, event);
  });
  // The answering side learns of the offerer's channel here.
  connection.addEventListener('datachannel', (event) => {
    if (connection !== peer.pc) return;
    if (event.channel.label === 'chat') {
      useChatChannel(peer, event.channel);
    } else {
      console.warn(`ignored a data channel labelled ${event.channel.label}`);
      event.channel.close();
    }
  });
  // ANCHOR: trickle
  connection.addEventListener('icecandidate', (event) => {
    console.log(`${peer.name}: ICE candidate: ${event.candidate ? event.candidate.candidate : '(gathering complete)'}`);
    // Trickle: each candidate goes out as soon as it is found.
    if (connection === peer.pc && event.candidate) {
      sendSignal({ type: 'candidate', to: peer.id, call: peer.callId, candidate: event.candidate.toJSON() });
    }
  });
  // ANCHOR_END: trickle
  connection.addEventListener('negotiationneeded', () => {
    if (connection === peer.pc) negotiate(peer, connection);
  });
  peer.pendingCandidates = [];
  peer.makingOffer = false;
  peer.ignoreOffer = false;
  peer.pc = connection;
  showStates();
  return connection;
}
// ANCHOR_END: newPeerConnection

// ANCHOR: describeConnectionState
// Puts the connection state, the one that sums up ICE and DTLS, into words.
function describeConnectionState(peer, state) {
  switch (state) {
    case 'connecting':
      setStatus(`Connecting to ${peer.name}…`);
      break;
    case 'connected':
      setStatus(`Connected to ${peer.name}: the connection state is "connected".`);
      break;
    case 'disconnected':
      // Since step 15 the server says when a member leaves, so a lost path
      // no longer has to mean a lost member: ICE keeps checking, and a short
      // network hiccup often comes back to "connected" by itself.
      setStatus(`The connection to ${peer.name} was interrupted; waiting for it to recover…`);
      break;
    case 'failed':
      // ICE gave up. The member is still in the chat (the server would have
      // said `leave`): the tile stays, and Call again retries.
      closePeerConnection(peer);
      setStatus(`Lost the connection to ${peer.name}. Press Call again to retry.`);
      break;
    default:
      break;
  }
}
// ANCHOR_END: describeConnectionState

// ANCHOR: showRemoteTrack
// Shows a member's media in their tile. The offer/answer ties each track to
// the sender's stream, so both tracks usually arrive in event.streams[0].
function showRemoteTrack(peer, event) {
  const { track } = event;
  console.log(`${peer.name}: remote ${track.kind} track arrived`);
  const stream = event.streams[0] ?? new MediaStream([track]);
  if (track.kind === 'video' && peer.video.srcObject !== stream) {
    peer.video.srcObject = stream;
  }
  if (track.kind === 'audio' && peer.audio.srcObject !== stream) {
    peer.audio.srcObject = stream;
    // Browsers may refuse to play sound before the person has clicked on the
    // page; say so instead of failing silently.
    peer.audio.play().catch((error) => {
      console.warn('remote audio did not start:', error);
      if (error.name === 'NotAllowedError') {
        setStatus('Click anywhere on the page to hear the others.');
        document.addEventListener('click', () => peer.audio.play().catch(() => {}), { once: true });
      }
    });
  }
}
// ANCHOR_END: showRemoteTrack

function clearRemoteMedia(peer) {
  peer.video.srcObject = null;
  peer.audio.srcObject = null;
}

function closePeerConnection(peer) {
  if (!peer.pc) return;
  if (peer.chatChannel) {
    peer.chatChannel.close();
    peer.chatChannel = null;
    updateChatEnabled();
  }
  peer.pc.close();
  peer.pc = null;
  peer.callId = null;
  clearRemoteMedia(peer);
  console.log(`${peer.name}: peer connection closed`);
  showStates();
}

// Sends every local track that `connection` does not send yet.
function addLocalTracks(connection) {
  for (const track of localStream.getTracks()) {
    if (!connection.getSenders().some((sender) => sender.track === track)) {
      sendTrack(connection, track);
    }
  }
}

// ANCHOR: sendTrack
// Sends `track` on an idle transceiver of its kind when there is one (so
// turning a device off and on never adds transceivers), else on a new one.
// Only the new transceiver, or a changed direction, needs renegotiation.
function sendTrack(connection, track) {
  const idle = connection.getTransceivers().find((transceiver) =>
    transceiver.direction !== 'stopped' &&
    transceiver.receiver.track.kind === track.kind &&
    transceiver.sender.track === null);
  if (!idle) {
    connection.addTrack(track, localStream);
    return;
  }
  idle.sender.replaceTrack(track).catch((error) => console.error('replaceTrack failed:', error));
  idle.sender.setStreams(localStream);
  if (idle.direction === 'recvonly') idle.direction = 'sendrecv';
  if (idle.direction === 'inactive') idle.direction = 'sendonly';
}

// Stops sending `track` without renegotiating: the transceiver stays for later.
function unsendTrack(connection, track) {
  for (const sender of connection.getSenders()) {
    if (sender.track === track) {
      sender.replaceTrack(null).catch((error) => console.error('replaceTrack failed:', error));
    }
  }
}
// ANCHOR_END: sendTrack

// ANCHOR: handleCandidate
// A candidate from a member: added now, or queued until the remote
// description is set (addIceCandidate fails before it).
async function handleCandidate(peer, candidate) {
  const connection = peer.pc;
  if (!connection) {
    console.warn(`ignored a candidate from ${peer.name}: there is no call`);
    return;
  }
  if (!connection.remoteDescription) {
    peer.pendingCandidates.push(candidate);
    console.log(`${peer.name}: queued a candidate until the remote description is set ` +
      `(${peer.pendingCandidates.length} waiting)`);
    return;
  }
  await addCandidate(peer, connection, candidate);
}

// Adds the candidates that arrived early; called right after setRemoteDescription.
async function addPendingCandidates(peer, connection) {
  if (connection !== peer.pc) return; // the queue belongs to a newer call now
  const waiting = peer.pendingCandidates;
  peer.pendingCandidates = [];
  for (const candidate of waiting) {
    await addCandidate(peer, connection, candidate);
  }
}

async function addCandidate(peer, connection, candidate) {
  try {
    await connection.addIceCandidate(candidate);
  } catch (error) {
    // One bad candidate must not end the call: the others may still connect.
    // Candidates of an offer we ignored are expected to fail.
    if (!peer.ignoreOffer) console.warn(`${peer.name}: ignored a candidate the browser refused:`, error);
  }
}
// ANCHOR_END: handleCandidate

// ANCHOR: signaling
// Opens the signaling socket; if it drops, tries again with a growing delay.
function connectSignaling() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  socket = ws;
  ws.addEventListener('open', () => {
    console.log('signaling socket open');
    reconnectDelay = 1000;
    joinButton.disabled = false;
    setStatus(myName ? 'Reconnected to the signaling server.' : 'Connected to the signaling server. Type your name and press Join.');
  });
  ws.addEventListener('message', (event) => onSignalingMessage(event.data));
  ws.addEventListener('error', () => console.error('signaling socket error'));
  ws.addEventListener('close', (event) => {
    console.log(`signaling socket closed: ${event.code} ${event.reason}`);
    if (socket !== ws) return;
    callAgainButton.disabled = true;
    joinButton.disabled = true;
    setStatus(`Lost the signaling server (${event.code}${event.reason ? `: ${event.reason}` : ''}); reconnecting…`);
    setTimeout(connectSignaling, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, MAX_RECONNECT_DELAY);
  });
}

// Sends one message through the server; says so when the socket is not open.
function sendSignal(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    setStatus('Not connected to the signaling server; try again in a moment.');
    return false;
  }
  socket.send(JSON.stringify(message));
  console.log(`sent ${message.type}`);
  return true;
}

// Every message from the server. Anything unexpected is logged and ignored.
function onSignalingMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch (error) {
    console.warn('ignored a signaling message that is not JSON:', data);
    return;
  }
  console.log(`received ${message.type}`);
  switch (message.type) {
    case 'welcome':
      myId = message.id;
      // After a reconnect the server knows us no more and has told the
      // others we left: drop every call and join again, with the new id.
      if (myName) {
        removeAllPeers();
        sendSignal({ type: 'join', username: myName });
      }
      break;
    case 'join':
      onPeerJoined(message.from, message.username);
      break;
    case 'offer':
    case 'answer':
      if (typeof message.sdp === 'string' && typeof message.call === 'string' && typeof message.from === 'string') handleDescription(message);
      else console.warn(`ignored an ${message.type} without SDP or call id`);
      break;
    case 'candidate': {
      const peer = peers.get(message.from);
      if (!peer || message.call !== peer.callId) console.warn('ignored a candidate for a call that is not this one');
      else if (message.candidate && typeof message.candidate === 'object') handleCandidate(peer, message.candidate);
      else console.warn('ignored a candidate message without a candidate');
      break;
    }
    case 'leave': {
      // From the server: a member left, closed the tab or lost its connection.
      const peer = peers.get(message.from);
      if (peer) onPeerLeft(peer);
      else console.log('a member we had no call with left');
      break;
    }
    case 'error':
      console.warn(`the server refused a message: ${message.code}: ${message.message}`);
      setStatus(`The server refused a message: ${message.message}`);
      // The protocol has no join acknowledgement: `bad-name` is the answer
      // to our join (a name that breaks the rules, or one already taken
      // here), so ask for another name. The status line says which.
      if (message.code === 'bad-name' && peers.size === 0) showJoinScreen();
      // A mesh has a size limit (each member sends one stream to every other).
      if (message.code === 'room-full') {
        showJoinScreen();
        setStatus(`Could not join: ${message.message}. Try again when someone has left.`);
      }
      break;
    default:
      console.warn(`ignored a message of type ${message.type}`);
  }
}
// ANCHOR_END: signaling

// ANCHOR: callPeer
// Calls one member: a fresh connection with both transceivers and the chat
// channel, which make it fire `negotiationneeded`; negotiate() sends the offer.
async function callPeer(peer) {
  await iceServersLoaded;
  // They left, or called us first, while we waited.
  if (peers.get(peer.id) !== peer || peer.pc) return;
  const connection = newPeerConnection(peer);
  peer.callId = crypto.randomUUID();
  addTransceivers(connection);
  useChatChannel(peer, connection.createDataChannel('chat'));
  setStatus(`Calling ${peer.name}…`);
}

// Call again: calls every member whose connection was lost.
function callAgain() {
  const lost = [...peers.values()].filter((peer) => !peer.pc);
  if (lost.length === 0) {
    setStatus('You are in a call with everyone here already.');
    return;
  }
  for (const peer of lost) callPeer(peer);
}
// ANCHOR_END: callPeer

// ANCHOR: transceivers
// The caller's side: one audio and one video transceiver, able to send and
// receive from the first offer on, carrying a track if that device is on.
function addTransceivers(connection) {
  for (const kind of ['audio', 'video']) {
    const track = localStream.getTracks().find((t) => t.kind === kind);
    connection.addTransceiver(track ?? kind, { direction: 'sendrecv', streams: [localStream] });
  }
}

// The called side: the offer's transceivers arrive able only to receive (we
// had nothing to send); let them send too, so a device turned on later just
// fills its sender.
function letTransceiversSend(connection) {
  for (const transceiver of connection.getTransceivers()) {
    if (transceiver.direction === 'recvonly') transceiver.direction = 'sendrecv';
    if (transceiver.direction === 'inactive') transceiver.direction = 'sendonly';
    transceiver.sender.setStreams(localStream);
  }
}
// ANCHOR_END: transceivers

// ANCHOR: negotiate
// Sends an offer whenever a connection needs one: the first of a call, and
// after every change that the member must agree to.
async function negotiate(peer, connection) {
  try {
    peer.makingOffer = true;
    await connection.setLocalDescription(); // creates the offer itself
    if (connection === peer.pc) {
      sendSignal({ type: 'offer', to: peer.id, call: peer.callId, username: myName, sdp: connection.localDescription.sdp });
    }
  } catch (error) {
    console.error(`${peer.name}: making an offer failed:`, error);
    if (connection === peer.pc) setStatus(`Could not make an offer to ${peer.name} (${error.message}).`);
  } finally {
    if (connection === peer.pc) peer.makingOffer = false;
  }
}

// An offer or an answer from a member: a new call, or a change to one.
async function handleDescription(message) {
  let peer = peers.get(message.from);
  if (!peer || message.call !== peer.callId) {
    if (message.type !== 'offer') {
      console.warn(`ignored an ${message.type} for a call that is not this one`);
      return;
    }
    if (!peer) {
      if (myName === null) {
        console.warn('ignored a call that arrived after we left');
        return;
      }
      // A member who was here before us is calling: they get a tile now.
      peer = addPeer(message.from, typeof message.username === 'string' ? message.username : 'Guest');
    } else if (peer.pc && !peer.polite && (peer.makingOffer || peer.pc.signalingState !== 'stable')) {
      // Both sides pressed Call again at once and two new calls crossed:
      // as in perfect negotiation, the impolite side keeps its own.
      console.log(`${peer.name}: calls crossed: ignoring theirs (this side is impolite)`);
      return;
    }
    await iceServersLoaded;
    if (peers.get(peer.id) !== peer) return; // they left while we waited
    newPeerConnection(peer);
    peer.callId = message.call;
    setStatus(`${peer.name} is calling: answering…`);
  }
  const connection = peer.pc;
  const description = { type: message.type, sdp: message.sdp };
  // Two offers crossed: ours is being made or waits for its answer.
  const offerCollision = description.type === 'offer' &&
    (peer.makingOffer || connection.signalingState !== 'stable');
  peer.ignoreOffer = !peer.polite && offerCollision;
  if (peer.ignoreOffer) {
    console.log(`${peer.name}: offers collided: ignoring theirs (this side is impolite)`);
    return;
  }
  try {
    // On the polite side this also rolls our own colliding offer back.
    await connection.setRemoteDescription(description);
    await addPendingCandidates(peer, connection);
    if (description.type === 'offer') {
      // After the offer is read, so the tracks ride on its transceivers.
      letTransceiversSend(connection);
      addLocalTracks(connection);
      await connection.setLocalDescription(); // creates the answer itself
      if (connection === peer.pc) {
        sendSignal({ type: 'answer', to: peer.id, call: peer.callId, username: myName, sdp: connection.localDescription.sdp });
      }
    }
  } catch (error) {
    // An answer with no offer waiting, for example: logged, never thrown.
    console.warn(`${peer.name}: ignored an ${description.type} the connection refused:`, error);
  }
}
// ANCHOR_END: negotiate

// ANCHOR: leave
// Tells one member, over the data channel that goes straight to them, that
// this page is leaving. The server's `leave` is the backup: it reaches
// everyone, even a member whose connection to us never came up.
function sendLeaveNotice(peer) {
  if (peer.chatChannel && peer.chatChannel.readyState === 'open') {
    peer.chatChannel.send(JSON.stringify({ type: 'leave' }));
  }
}

// Resolves when `channel` closes, or after `ms` at the latest.
function channelClosed(channel, ms) {
  return new Promise((resolve) => {
    if (channel.readyState === 'closed') {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    channel.addEventListener('close', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// Leave: hang up on everyone and leave the chat (in a group there is no one
// call to end), then show the join screen so Join brings you back.
async function leave() {
  const channels = [];
  for (const peer of peers.values()) {
    if (peer.chatChannel && peer.chatChannel.readyState === 'open') channels.push(peer.chatChannel);
    sendLeaveNotice(peer);
    clearRemoteMedia(peer);
  }
  sendSignal({ type: 'leave' });
  setStatus('Leaving…');
  // Each member closes its side when the notice arrives, which closes ours:
  // then closing the connections cannot cut a notice off.
  await Promise.all(channels.map((channel) => channelClosed(channel, LEAVE_CONFIRM_TIMEOUT_MS)));
  removeAllPeers();
  showJoinScreen();
  setStatus('You left the chat. Press Join to come back.');
}

// A member left the chat: the data channel or the server said so.
function onPeerLeft(peer) {
  console.log(`${peer.name} left the chat`);
  removePeer(peer);
  setStatus(`${peer.name} left the chat.`);
}
// ANCHOR_END: leave

// ANCHOR: join
// Someone joined after us: we were here first, so we call them.
function onPeerJoined(id, name) {
  if (typeof id !== 'string' || typeof name !== 'string') {
    console.warn('ignored a join without an id or a name');
    return;
  }
  if (peers.has(id) || myName === null) {
    console.warn(`ignored a join from ${name}: a second one, or we left`);
    return;
  }
  const peer = addPeer(id, name);
  setStatus(`${name} joined: calling…`);
  callPeer(peer);
}

function join(event) {
  event.preventDefault(); // the form must not reload the page
  const name = usernameInput.value.trim();
  // The server checks the same rules; checking here gives a quicker answer.
  if (name.length === 0 || name.length > 64 || /\p{Cc}/u.test(name)) {
    setStatus('Type a name of 1 to 64 characters.');
    return;
  }
  if (!sendSignal({ type: 'join', username: name })) return;
  myName = name;
  localUsername.textContent = `${name} (you)`;
  joinForm.hidden = true;
  chatScreen.hidden = false;
  setStatus(`Joined as ${name}. Everyone already here will call you; you call whoever comes next.`);
}

// Back to the join screen: after Leave, or when the server refused the join.
function showJoinScreen() {
  myName = null;
  joinForm.hidden = false;
  chatScreen.hidden = true;
}
// ANCHOR_END: join

// ANCHOR: chat
// Wires up the chat channel of one member's call.
function useChatChannel(peer, channel) {
  peer.chatChannel = channel;
  channel.addEventListener('open', () => {
    console.log(`${peer.name}: chat channel open`);
    updateChatEnabled();
  });
  channel.addEventListener('close', () => {
    console.log(`${peer.name}: chat channel closed`);
    updateChatEnabled();
  });
  channel.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('ignored a data channel message that is not JSON');
      return;
    }
    if (message.type === 'chat' && typeof message.text === 'string') {
      showChatLine(peer.name, message.text);
    } else if (message.type === 'leave') {
      if (channel === peer.chatChannel && peers.get(peer.id) === peer) onPeerLeft(peer);
    } else {
      console.warn(`ignored a data channel message of type ${message.type}`);
    }
  });
}

// The chat works while the channel to at least one member is open.
function updateChatEnabled() {
  const open = [...peers.values()].some((peer) => peer.chatChannel?.readyState === 'open');
  messageInput.disabled = !open;
  sendMessageButton.disabled = !open;
}

// Adds one line to the chat log. textContent, never innerHTML: what the other
// side types is shown as text, so "<img onerror=…>" is harmless.
function showChatLine(who, text) {
  const line = document.createElement('li');
  const author = document.createElement('span');
  author.className = 'who';
  author.textContent = who;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  line.append(author, body);
  messageList.append(line);
  line.scrollIntoView({ block: 'nearest' });
}

// Sends a line to every member, each over its own channel.
function sendMessage(event) {
  event.preventDefault(); // the form must not reload the page
  const text = messageInput.value.trim();
  if (text === '') return;
  const open = [...peers.values()].filter((peer) => peer.chatChannel?.readyState === 'open');
  if (open.length === 0) {
    setStatus('The chat works once someone else is connected.');
    return;
  }
  const line = JSON.stringify({ type: 'chat', text });
  for (const peer of open) peer.chatChannel.send(line);
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

callAgainButton.addEventListener('click', callAgain);
chatForm.addEventListener('submit', sendMessage);
joinForm.addEventListener('submit', join);
// Closing or reloading the tab: no time to wait for anything, so just send.
window.addEventListener('pagehide', () => {
  for (const peer of peers.values()) sendLeaveNotice(peer);
});
leaveButton.addEventListener('click', leave);
cameraBox.addEventListener('change', () => onDeviceBoxChange('video'));
microphoneBox.addEventListener('change', () => onDeviceBoxChange('audio'));

// A reload can keep checkboxes ticked from before; start from a known state.
cameraBox.checked = false;
microphoneBox.checked = false;
showStates();
setStatus('Connecting to the signaling server…');
connectSignaling();
