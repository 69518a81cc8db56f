'use strict';

// Step 11: send your own data: a text chat.
//
// Besides audio and video, a peer connection can carry data. The offering
// side creates one reliable, ordered RTCDataChannel labelled "chat"; the
// answering side receives it in a `datachannel` event. Chat lines then go
// straight from browser to browser.
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
      sendSignal({ type: 'candidate', candidate: event.candidate.toJSON() });
    }
  });
  // ANCHOR_END: trickle
  pendingCandidates = [];
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
      // Nothing tells this page that the other side left (step 13 adds a
      // message for it), so a lost connection is taken to mean it did.
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
  clearRemoteMedia();
  console.log('peer connection closed');
  showStates();
}

// Sends every local track on `connection`.
function addLocalTracks(connection) {
  for (const track of localStream.getTracks()) {
    connection.addTrack(track, localStream);
  }
}

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
    console.warn('ignored a candidate the browser refused:', error);
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
      if (typeof message.sdp === 'string') handleOffer(message.sdp);
      else console.warn('ignored an offer without SDP');
      break;
    case 'answer':
      if (typeof message.sdp === 'string') handleAnswer(message.sdp);
      else console.warn('ignored an answer without SDP');
      break;
    case 'candidate':
      if (message.candidate && typeof message.candidate === 'object') handleCandidate(message.candidate);
      else console.warn('ignored a candidate message without a candidate');
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
  addLocalTracks(connection);
  // Created before the offer, so the offer includes the data section.
  useChatChannel(connection.createDataChannel('chat'));
  setStatus('Creating the offer…');
  try {
    await connection.setLocalDescription(await connection.createOffer());
  } catch (error) {
    console.error('creating the offer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`The offer could not be created (${error.message}). Try again.`);
    }
    return;
  }
  if (connection !== pc) return; // pressed again meanwhile: the newer attempt wins
  if (sendSignal({ type: 'offer', sdp: connection.localDescription.sdp })) {
    setStatus('Offer sent: waiting for the answer…');
  }
}
// ANCHOR_END: sendOffer

// ANCHOR: handleOffer
async function handleOffer(sdp) {
  await iceServersLoaded;
  const connection = newPeerConnection();
  setStatus('Received an offer: answering…');
  try {
    await connection.setRemoteDescription({ type: 'offer', sdp });
    await addPendingCandidates(connection);
    // Tracks are added after the offer is read, so they ride on the
    // transceivers the offer created instead of asking for new ones.
    addLocalTracks(connection);
    await connection.setLocalDescription(await connection.createAnswer());
  } catch (error) {
    console.error('answering the offer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`Could not answer the offer (${error.message}).`);
    }
    return;
  }
  if (connection !== pc) return; // a newer offer replaced this one
  if (sendSignal({ type: 'answer', sdp: connection.localDescription.sdp })) {
    setStatus('Answer sent: connecting…');
  }
}
// ANCHOR_END: handleOffer

// ANCHOR: handleAnswer
async function handleAnswer(sdp) {
  if (!pc || pc.signalingState !== 'have-local-offer') {
    console.warn(`ignored an answer: no offer is waiting (signaling state ${pc ? pc.signalingState : 'none'})`);
    return;
  }
  const connection = pc;
  try {
    await connection.setRemoteDescription({ type: 'answer', sdp });
    await addPendingCandidates(connection);
  } catch (error) {
    console.error('setting the answer failed:', error);
    if (connection === pc) setStatus(`The answer could not be used (${error.message}). Send a new offer.`);
  }
}
// ANCHOR_END: handleAnswer

// ANCHOR: leave
function leave() {
  if (!pc) {
    setStatus('There is no call to leave.');
    return;
  }
  closePeerConnection();
  setStatus('You left the call. Send an offer to call again.');
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
    if (typeof event.data !== 'string') {
      console.warn('ignored a chat message that is not text');
      return;
    }
    showChatLine('Peer', event.data);
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
  chatChannel.send(text);
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

sendOfferButton.addEventListener('click', sendOffer);
chatForm.addEventListener('submit', sendMessage);
leaveButton.addEventListener('click', leave);
cameraBox.addEventListener('change', () => onDeviceBoxChange('video'));
microphoneBox.addEventListener('change', () => onDeviceBoxChange('audio'));

// A reload can keep checkboxes ticked from before; start from a known state.
cameraBox.checked = false;
microphoneBox.checked = false;
showStates();
setStatus('Connecting to the signaling server…');
connectSignaling();
