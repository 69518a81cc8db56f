'use strict';

// Step 13: tell the peer when leaving.
//
// Leaving (the Leave button, or closing or reloading the tab) first sends
// {type: 'leave'}: over the data channel, which goes straight to the peer, and
// through the server as a backup. The peer tears down at once. The button
// waits until the peer has closed the channel (so the notice arrived) before
// closing the connection; on `pagehide` there is no time to wait.
// The data channel now carries JSON: {type: 'chat', text} or {type: 'leave'}.
//
// What the steps before added is in the book, one chapter per step.

const statusText = document.getElementById('status');
const cameraBox = document.getElementById('camera');
const microphoneBox = document.getElementById('microphone');
const localVideo = document.getElementById('local-video');
const remoteVideo = document.getElementById('remote-video');
const remoteAudio = document.getElementById('remote-audio');
const sendOfferButton = document.getElementById('send-offer');
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

// The connection to the other window. One at a time: a new attempt closes the old one.
let pc = null;

// Candidates from the other side that arrived before its description did.
let pendingCandidates = [];

// The chat's data channel of the current call, once there is one.
let chatChannel = null;

// How long Leave waits for the peer to confirm (by closing the channel)
// before closing the connection anyway.
const LEAVE_CONFIRM_TIMEOUT_MS = 1500;

// Perfect negotiation: which call this is, and this side's part in it.
let callId = null; // chosen by the caller; every message of the call carries it
let polite = false; // the called side is polite: it yields when offers collide
let makingOffer = false;
let ignoreOffer = false;

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
    if (pc) sendTrack(pc, track); // mid-call: the other side gets it too
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
    if (pc) unsendTrack(pc, track);
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

// Shows the four states of the connection in words, so the handshake can be watched.
function showStates() {
  if (!pc) {
    pcStates.textContent = 'No connection yet.';
    return;
  }
  pcStates.textContent =
    `signaling: ${pc.signalingState} · ICE gathering: ${pc.iceGatheringState} · ` +
    `ICE connection: ${pc.iceConnectionState} · connection: ${pc.connectionState}`;
}

// ANCHOR: newPeerConnection
// Makes a fresh connection (closing any earlier one) that logs every state change.
function newPeerConnection() {
  closePeerConnection();
  const connection = new RTCPeerConnection(rtcConfiguration);
  const stateEvents = [
    'signalingstatechange',
    'icegatheringstatechange',
    'iceconnectionstatechange',
    'connectionstatechange',
  ];
  for (const eventName of stateEvents) {
    connection.addEventListener(eventName, () => {
      if (connection !== pc) return; // an old connection's last words
      console.log(`${eventName}: signaling=${connection.signalingState} gathering=${connection.iceGatheringState} ` +
        `ice=${connection.iceConnectionState} connection=${connection.connectionState}`);
      showStates();
    });
  }
  connection.addEventListener('connectionstatechange', () => {
    if (connection === pc) describeConnectionState(connection.connectionState);
  });
  connection.addEventListener('track', (event) => {
    if (connection === pc) showRemoteTrack(event);
  });
  // The answering side learns of the offerer's channel here.
  connection.addEventListener('datachannel', (event) => {
    if (connection !== pc) return;
    if (event.channel.label === 'chat') {
      useChatChannel(event.channel);
    } else {
      console.warn(`ignored a data channel labelled ${event.channel.label}`);
      event.channel.close();
    }
  });
  // ANCHOR: trickle
  connection.addEventListener('icecandidate', (event) => {
    console.log(`ICE candidate: ${event.candidate ? event.candidate.candidate : '(gathering complete)'}`);
    // Trickle: each candidate goes out as soon as it is found.
    if (connection === pc && event.candidate) {
      sendSignal({ type: 'candidate', call: callId, candidate: event.candidate.toJSON() });
    }
  });
  // ANCHOR_END: trickle
  connection.addEventListener('negotiationneeded', () => {
    if (connection === pc) negotiate(connection);
  });
  pendingCandidates = [];
  makingOffer = false;
  ignoreOffer = false;
  pc = connection;
  showStates();
  return connection;
}
// ANCHOR_END: newPeerConnection

// ANCHOR: describeConnectionState
// Puts the connection state, the one that sums up ICE and DTLS, into words.
function describeConnectionState(state) {
  switch (state) {
    case 'connecting':
      setStatus('Connecting: checking candidate pairs and securing the connection…');
      break;
    case 'connected':
      setStatus('Connected: the connection state is "connected".');
      break;
    case 'disconnected':
    case 'failed':
      // A crashed tab or a lost network sends no notice: a lost connection
      // is still taken to mean the other side is gone.
      closePeerConnection();
      setStatus(`The other side left (the connection became ${state}). Send an offer to call again.`);
      break;
    default:
      break;
  }
}
// ANCHOR_END: describeConnectionState

// ANCHOR: showRemoteTrack
// Shows the other side's media. The offer/answer ties each track to the
// sender's stream, so both tracks usually arrive in event.streams[0].
function showRemoteTrack(event) {
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

function clearRemoteMedia() {
  remoteVideo.srcObject = null;
  remoteAudio.srcObject = null;
}

function closePeerConnection() {
  if (!pc) return;
  if (chatChannel) {
    chatChannel.close();
    chatChannel = null;
    setChatEnabled(false);
  }
  pc.close();
  pc = null;
  callId = null;
  clearRemoteMedia();
  console.log('peer connection closed');
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
// A candidate from the other side: added now, or queued until the remote
// description is set (addIceCandidate fails before it).
async function handleCandidate(candidate) {
  if (!pc) {
    console.warn('ignored a candidate: there is no call');
    return;
  }
  if (!pc.remoteDescription) {
    pendingCandidates.push(candidate);
    console.log(`queued a candidate until the remote description is set (${pendingCandidates.length} waiting)`);
    return;
  }
  await addCandidate(pc, candidate);
}

// Adds the candidates that arrived early; called right after setRemoteDescription.
async function addPendingCandidates(connection) {
  if (connection !== pc) return; // the queue belongs to a newer call now
  const waiting = pendingCandidates;
  pendingCandidates = [];
  for (const candidate of waiting) {
    await addCandidate(connection, candidate);
  }
}

async function addCandidate(connection, candidate) {
  try {
    await connection.addIceCandidate(candidate);
  } catch (error) {
    // One bad candidate must not end the call: the others may still connect.
    // Candidates of an offer we ignored are expected to fail.
    if (!ignoreOffer) console.warn('ignored a candidate the browser refused:', error);
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
    sendOfferButton.disabled = false;
    setStatus('Connected to the signaling server. Turn on a device and press Send offer, or wait for an offer.');
  });
  ws.addEventListener('message', (event) => onSignalingMessage(event.data));
  ws.addEventListener('error', () => console.error('signaling socket error'));
  ws.addEventListener('close', (event) => {
    console.log(`signaling socket closed: ${event.code} ${event.reason}`);
    if (socket !== ws) return;
    sendOfferButton.disabled = true;
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
    case 'offer':
    case 'answer':
      if (typeof message.sdp === 'string' && typeof message.call === 'string') handleDescription(message);
      else console.warn(`ignored an ${message.type} without SDP or call id`);
      break;
    case 'candidate':
      if (message.call !== callId) console.warn('ignored a candidate for a call that is not this one');
      else if (message.candidate && typeof message.candidate === 'object') handleCandidate(message.candidate);
      else console.warn('ignored a candidate message without a candidate');
      break;
    case 'leave':
      // The backup path of the notice; the data channel usually wins.
      if (message.call === callId && callId !== null) onPeerLeft();
      break;
    case 'error':
      console.warn(`the server refused a message: ${message.code}: ${message.message}`);
      setStatus(`The server refused a message: ${message.message}`);
      break;
    default:
      console.warn(`ignored a message of type ${message.type}`);
  }
}
// ANCHOR_END: signaling

// ANCHOR: sendOffer
async function sendOffer() {
  if (localStream.getTracks().length === 0) {
    setStatus('Turn on the camera or the microphone first: the offer describes the media you will send.');
    return;
  }
  await iceServersLoaded;
  const connection = newPeerConnection();
  callId = crypto.randomUUID();
  polite = false; // the caller is the impolite side
  addLocalTracks(connection);
  useChatChannel(connection.createDataChannel('chat'));
  // Tracks and the channel make the connection fire `negotiationneeded`,
  // and negotiate() sends the offer.
  setStatus('Calling…');
}
// ANCHOR_END: sendOffer

// ANCHOR: negotiate
// Sends an offer whenever the connection needs one: the first of a call, and
// after every change that the other side must agree to.
async function negotiate(connection) {
  try {
    makingOffer = true;
    await connection.setLocalDescription(); // creates the offer itself
    if (connection === pc) {
      sendSignal({ type: 'offer', call: callId, sdp: connection.localDescription.sdp });
    }
  } catch (error) {
    console.error('making an offer failed:', error);
    if (connection === pc) setStatus(`Could not make an offer (${error.message}).`);
  } finally {
    makingOffer = false;
  }
}

// An offer or an answer from the other side: a new call, or a change to this one.
async function handleDescription(message) {
  if (message.call !== callId) {
    if (message.type !== 'offer') {
      console.warn(`ignored an ${message.type} for a call that is not this one`);
      return;
    }
    await iceServersLoaded;
    newPeerConnection();
    callId = message.call;
    polite = true; // the called side yields when offers collide
    setStatus('Incoming call: answering…');
  }
  const connection = pc;
  const description = { type: message.type, sdp: message.sdp };
  // Two offers crossed: ours is being made or waits for its answer.
  const offerCollision = description.type === 'offer' &&
    (makingOffer || connection.signalingState !== 'stable');
  ignoreOffer = !polite && offerCollision;
  if (ignoreOffer) {
    console.log('offers collided: ignoring theirs (this side is impolite)');
    return;
  }
  try {
    // On the polite side this also rolls our own colliding offer back.
    await connection.setRemoteDescription(description);
    await addPendingCandidates(connection);
    if (description.type === 'offer') {
      // After the offer is read, so the tracks ride on its transceivers.
      addLocalTracks(connection);
      await connection.setLocalDescription(); // creates the answer itself
      sendSignal({ type: 'answer', call: callId, sdp: connection.localDescription.sdp });
    }
  } catch (error) {
    // An answer with no offer waiting, for example: logged, never thrown.
    console.warn(`ignored an ${description.type} the connection refused:`, error);
  }
}
// ANCHOR_END: negotiate

// ANCHOR: leave
// Tells the other side this page is leaving, both ways at once.
function sendLeaveNotice() {
  if (chatChannel && chatChannel.readyState === 'open') {
    chatChannel.send(JSON.stringify({ type: 'leave' }));
  }
  if (socket && socket.readyState === WebSocket.OPEN && callId !== null) {
    socket.send(JSON.stringify({ type: 'leave', call: callId }));
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

async function leave() {
  if (!pc) {
    setStatus('There is no call to leave.');
    return;
  }
  const connection = pc;
  const channel = chatChannel;
  sendLeaveNotice();
  clearRemoteMedia();
  setChatEnabled(false);
  setStatus('Leaving…');
  // The peer closes its side when it gets the notice, which closes ours: then
  // the notice has arrived, and closing the connection cannot cut it off.
  if (channel && channel.readyState === 'open') {
    await channelClosed(channel, LEAVE_CONFIRM_TIMEOUT_MS);
  }
  if (connection === pc) closePeerConnection();
  setStatus('You left the call. Send an offer to call again.');
}

// The other side said it is leaving.
function onPeerLeft() {
  console.log('the other side left');
  closePeerConnection();
  setStatus('The other side left the call. Send an offer to call again.');
}
// ANCHOR_END: leave

// ANCHOR: chat
// Wires up the chat channel of the current call.
function useChatChannel(channel) {
  chatChannel = channel;
  channel.addEventListener('open', () => {
    console.log('chat channel open');
    if (channel === chatChannel) setChatEnabled(true);
  });
  channel.addEventListener('close', () => {
    console.log('chat channel closed');
    if (channel === chatChannel) setChatEnabled(false);
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
      showChatLine('Peer', message.text);
    } else if (message.type === 'leave') {
      if (channel === chatChannel) onPeerLeft();
    } else {
      console.warn(`ignored a data channel message of type ${message.type}`);
    }
  });
}

function setChatEnabled(enabled) {
  messageInput.disabled = !enabled;
  sendMessageButton.disabled = !enabled;
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

function sendMessage(event) {
  event.preventDefault(); // the form must not reload the page
  const text = messageInput.value.trim();
  if (text === '') return;
  if (!chatChannel || chatChannel.readyState !== 'open') {
    setStatus('The chat works during a call: send an offer first.');
    return;
  }
  chatChannel.send(JSON.stringify({ type: 'chat', text }));
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

sendOfferButton.addEventListener('click', sendOffer);
chatForm.addEventListener('submit', sendMessage);
// Closing or reloading the tab: no time to wait for anything, so just send.
window.addEventListener('pagehide', () => {
  if (pc) sendLeaveNotice();
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
