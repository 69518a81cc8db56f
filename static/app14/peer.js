// The connection to the other window: making it, the offer and the answer
// that set it up and change it (perfect negotiation), and closing it. This
// module owns `pc` and the state of its negotiation.

import { closeChatChannel, sendLeaveNotice, useChatChannel } from './chat.js';
import { iceServersLoaded, relayRefusalNote, watchIceServerErrors } from './ice-servers.js';
import { localStream } from './media.js';
import { sendSignal } from './signaling.js';
import { clearRemoteMedia, setStatus, showRemoteTrack, showStates } from './ui.js';

// The connection to the other window. One at a time: a new attempt closes the old one.
let pc = null;

// Perfect negotiation: which call this is, and this side's part in it.
let callId = null; // chosen by the caller; every message of the call carries it
let polite = false; // the called side is polite: it yields when offers collide
let makingOffer = false;
let ignoreOffer = false;
let isSettingRemoteAnswerPending = false;

// ANCHOR: newPeerConnection
// Makes a fresh connection (closing any earlier one) that logs every state change.
function newPeerConnection(iceServers) {
  closePeerConnection();
  // `max-bundle`: one transport carries all the connection carries, so
  // candidates are gathered, and a TURN relay allocated, once per connection
  // instead of once for each kind of media in it.
  const connection = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  watchIceServerErrors(connection);
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
      showStates(connection);
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
      useChatChannel(event.channel, () => onPeerLeft(callId));
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
  makingOffer = false;
  ignoreOffer = false;
  isSettingRemoteAnswerPending = false;
  pc = connection;
  showStates(pc);
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
      setStatus(`The other side left (the connection became ${state}). Send an offer to call again.${relayRefusalNote()}`);
      break;
    default:
      break;
  }
}
// ANCHOR_END: describeConnectionState

function closePeerConnection() {
  if (!pc) return;
  closeChatChannel();
  pc.close();
  pc = null;
  callId = null;
  clearRemoteMedia();
  console.log('peer connection closed');
  showStates(pc);
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

// A device was turned on or off: mid-call, the other side sees it too.
export function trackStarted(track) {
  if (pc) sendTrack(pc, track);
}

export function trackStopped(track) {
  if (pc) unsendTrack(pc, track);
}
// ANCHOR_END: sendTrack

// ANCHOR: handleCandidate
// A candidate from the other side. main.js applies messages in order, so the
// offer or answer it follows has been set already.
export async function handleCandidate(call, candidate) {
  if (!pc || call !== callId) {
    console.warn('ignored a candidate for a call that is not this one');
    return;
  }
  await addCandidate(pc, candidate);
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

// ANCHOR: sendOffer
export async function sendOffer() {
  const connection = newPeerConnection(await iceServersLoaded);
  callId = crypto.randomUUID();
  polite = false; // the caller is the impolite side
  addTransceivers(connection);
  useChatChannel(connection.createDataChannel('chat'), () => onPeerLeft(callId));
  // Transceivers and the channel make the connection fire
  // `negotiationneeded`, and negotiate() sends the offer.
  setStatus('Calling…');
}
// ANCHOR_END: sendOffer

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
export async function handleDescription(message) {
  if (message.call !== callId) {
    if (message.type !== 'offer') {
      console.warn(`ignored an ${message.type} for a call that is not this one`);
      return;
    }
    newPeerConnection(await iceServersLoaded);
    callId = message.call;
    polite = true; // the called side yields when offers collide
    setStatus('Incoming call: answering…');
  }
  const connection = pc;
  const description = { type: message.type, sdp: message.sdp };
  // Two offers crossed: ours is being made or waits for its answer. An
  // answer of ours still being applied is not a collision: the offer can be
  // read right after it (the specification's perfect negotiation).
  const readyForOffer = !makingOffer &&
    (connection.signalingState === 'stable' || isSettingRemoteAnswerPending);
  const offerCollision = description.type === 'offer' && !readyForOffer;
  ignoreOffer = !polite && offerCollision;
  if (ignoreOffer) {
    console.log('offers collided: ignoring theirs (this side is impolite)');
    return;
  }
  try {
    // On the polite side this also rolls our own colliding offer back.
    isSettingRemoteAnswerPending = description.type === 'answer';
    await connection.setRemoteDescription(description);
    isSettingRemoteAnswerPending = false;
    if (description.type === 'offer') {
      // Before or after the offer is read, the tracks go out on the
      // transceivers of its media sections (JSEP 5.10).
      letTransceiversSend(connection);
      addLocalTracks(connection);
      await connection.setLocalDescription(); // creates the answer itself
      sendSignal({ type: 'answer', call: callId, sdp: connection.localDescription.sdp });
    }
  } catch (error) {
    isSettingRemoteAnswerPending = false;
    // An answer with no offer waiting, for example: logged, never thrown.
    console.warn(`ignored an ${description.type} the connection refused:`, error);
  }
}
// ANCHOR_END: negotiate

// ANCHOR: leave
// Tells the other side this page is leaving, both ways at once: over the data
// channel and through the server. Resolves when the channel way is confirmed.
function sendLeaveNotices() {
  if (callId !== null) sendSignal({ type: 'leave', call: callId });
  return sendLeaveNotice();
}

export async function leave() {
  if (!pc) {
    setStatus('There is no call to leave.');
    return;
  }
  const connection = pc;
  const confirmed = sendLeaveNotices();
  clearRemoteMedia();
  setStatus('Leaving…');
  // The peer closes its side when it gets the notice, which closes ours: then
  // the notice has arrived, and closing the connection cannot cut it off.
  await confirmed;
  if (connection === pc) closePeerConnection();
  setStatus('You left the call. Send an offer to call again.');
}

// The tab is closing: no time to wait for anything, so just send.
export function leaveNow() {
  if (pc) sendLeaveNotices();
}

// The other side said it is leaving, over the data channel or the server.
export function onPeerLeft(call) {
  if (!pc || call !== callId) {
    console.log('ignored a leave for a call that is not this one');
    return;
  }
  console.log('the other side left');
  closePeerConnection();
  setStatus('The other side left the call. Send an offer to call again.');
}
// ANCHOR_END: leave
