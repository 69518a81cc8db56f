// The calls with the other members, one each: who they are, the connection
// to them, the offer and the answer that set it up and change it (perfect
// negotiation), and hanging up. This module owns `peers`.

import { closeChatChannel, sendLeaveNotice, useChatChannel } from './chat.js';
import { iceServersLoaded, relayRefusalNote, watchIceServerErrors } from './ice-servers.js';
import { myId, myName } from './join.js';
import { localStream } from './media.js';
import { sendSignal } from './signaling.js';
import { addTile, clearRemoteMedia, removeTile, setStatus, showRemoteTrack, showStates } from './ui.js';

// Everyone else in the chat, by their server id, and our call with each:
//   { id, name, polite, tile, pc, callId, makingOffer, ignoreOffer,
//     isSettingRemoteAnswerPending }
// Step 15 had one such record; a mesh has one per member. `pc` is null
// between calls.
const peers = new Map();

function showAllStates() {
  showStates([...peers.values()]);
}

// ANCHOR: meet
// Someone is here: we know their id and name, not yet a call. They get a tile.
function meet(id, name) {
  const peer = {
    id,
    name,
    // Perfect negotiation needs exactly one polite side, and both sides must
    // agree which, even when both start a call at once: the smaller id yields.
    polite: myId < id,
    tile: addTile(id, name),
    pc: null,
    callId: null, // chosen by the caller; every message of the call carries it
    makingOffer: false,
    ignoreOffer: false,
    isSettingRemoteAnswerPending: false,
  };
  peers.set(id, peer);
  showAllStates();
  return peer;
}

// They left: the call ends and their tile goes.
function forgetPeer(peer) {
  closePeerConnection(peer);
  removeTile(peer.tile);
  peers.delete(peer.id);
  showAllStates();
}
// ANCHOR_END: meet

// ANCHOR: newPeerConnection
// Makes a fresh connection to `peer` (closing any earlier one to them) that
// logs every state change.
function newPeerConnection(peer, iceServers) {
  closePeerConnection(peer);
  // `max-bundle`: one transport carries all the connection carries, so
  // candidates are gathered, and a TURN relay allocated, once per connection
  // instead of once for each kind of media in it.
  const connection = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  watchIceServerErrors(connection);
  const current = () => connection === peer.pc;
  const stateEvents = [
    'signalingstatechange',
    'icegatheringstatechange',
    'iceconnectionstatechange',
    'connectionstatechange',
  ];
  for (const eventName of stateEvents) {
    connection.addEventListener(eventName, () => {
      if (!current()) return; // an old connection's last words
      console.log(`${peer.name}: ${eventName}: signaling=${connection.signalingState} gathering=${connection.iceGatheringState} ` +
        `ice=${connection.iceConnectionState} connection=${connection.connectionState}`);
      showAllStates();
    });
  }
  connection.addEventListener('connectionstatechange', () => {
    if (current()) describeConnectionState(peer, connection.connectionState);
  });
  connection.addEventListener('track', (event) => {
    if (current()) showRemoteTrack(peer.tile, event);
  });
  // The answering side learns of the offerer's channel here.
  connection.addEventListener('datachannel', (event) => {
    if (!current()) return;
    if (event.channel.label === 'chat') {
      useChatChannel(peer.id, event.channel, peer.name, () => onPeerLeft(peer));
    } else {
      console.warn(`ignored a data channel labelled ${event.channel.label}`);
      event.channel.close();
    }
  });
  // ANCHOR: trickle
  connection.addEventListener('icecandidate', (event) => {
    console.log(`${peer.name}: ICE candidate: ${event.candidate ? event.candidate.candidate : '(gathering complete)'}`);
    // Trickle: each candidate goes out as soon as it is found.
    if (current() && event.candidate) {
      sendSignal({ type: 'candidate', to: peer.id, call: peer.callId, candidate: event.candidate.toJSON() });
    }
  });
  // ANCHOR_END: trickle
  connection.addEventListener('negotiationneeded', () => {
    if (current()) negotiate(peer, connection);
  });
  peer.makingOffer = false;
  peer.ignoreOffer = false;
  peer.isSettingRemoteAnswerPending = false;
  peer.pc = connection;
  showAllStates();
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
      // From this step the server says when a member leaves, so a lost path
      // no longer has to mean a lost member: ICE keeps checking, and a short
      // network hiccup often comes back to "connected" by itself.
      setStatus(`The connection to ${peer.name} was interrupted; waiting for it to recover…`);
      break;
    case 'failed':
      // ICE gave up. The member is still in the chat (the server would have
      // said `leave`): their tile stays, and Call again retries.
      closePeerConnection(peer);
      setStatus(`Lost the connection to ${peer.name}. Press Call again to retry.${relayRefusalNote()}`);
      break;
    default:
      break;
  }
}
// ANCHOR_END: describeConnectionState

function closePeerConnection(peer) {
  if (!peer.pc) return;
  closeChatChannel(peer.id);
  peer.pc.close();
  peer.pc = null;
  peer.callId = null;
  clearRemoteMedia(peer.tile);
  console.log(`${peer.name}: peer connection closed`);
  showAllStates();
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

// A device was turned on or off: mid-call, every member sees it too.
export function trackStarted(track) {
  for (const peer of peers.values()) {
    if (peer.pc) sendTrack(peer.pc, track);
  }
}

export function trackStopped(track) {
  for (const peer of peers.values()) {
    if (peer.pc) unsendTrack(peer.pc, track);
  }
}
// ANCHOR_END: sendTrack

// ANCHOR: handleCandidate
// A candidate from the other side. main.js applies messages in order, so the
// offer or answer it follows has been set already.
export async function handleCandidate(from, call, candidate) {
  const peer = peers.get(from);
  if (!peer?.pc || call !== peer.callId) {
    console.warn('ignored a candidate for a call that is not this one');
    return;
  }
  await addCandidate(peer, peer.pc, candidate);
}

async function addCandidate(peer, connection, candidate) {
  try {
    await connection.addIceCandidate(candidate);
  } catch (error) {
    // One bad candidate must not end the call: the others may still connect.
    // Candidates of an offer we ignored are expected to fail.
    if (!peer.ignoreOffer) console.warn('ignored a candidate the browser refused:', error);
  }
}
// ANCHOR_END: handleCandidate

// ANCHOR: callPeer
// Calls one member: a fresh connection with both transceivers and the chat
// channel, which make it fire `negotiationneeded`; negotiate() sends the offer.
async function callPeer(peer) {
  const iceServers = await iceServersLoaded;
  if (peers.get(peer.id) !== peer) return; // they left while we waited
  const connection = newPeerConnection(peer, iceServers);
  peer.callId = crypto.randomUUID();
  addTransceivers(connection);
  useChatChannel(peer.id, connection.createDataChannel('chat'), peer.name, () => onPeerLeft(peer));
  setStatus(`Calling ${peer.name}…`);
}

// Call again: calls every member whose connection was lost.
export function callAgain() {
  const lost = [...peers.values()].filter((peer) => !peer.pc);
  if (lost.length === 0) {
    setStatus(peers.size === 0
      ? 'Nobody to call yet: calls start when someone joins.'
      : 'You are in a call with everyone here already.');
    return;
  }
  for (const peer of lost) callPeer(peer);
}

// Someone joined after us: we were here first, so we call them.
export function onPeerJoined(id, name) {
  if (typeof id !== 'string' || typeof name !== 'string') {
    console.warn('ignored a join without an id or a name');
    return;
  }
  if (myName === null || peers.has(id)) {
    console.log(`ignored a join from ${name}: a second one, or we left`);
    return;
  }
  const peer = meet(id, name);
  setStatus(`${name} joined: calling…`);
  callPeer(peer);
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
// Sends an offer whenever the connection needs one: the first of a call, and
// after every change that the other side must agree to.
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
export async function handleDescription(message) {
  if (myName === null) {
    console.warn(`ignored an ${message.type} that arrived after we left`);
    return;
  }
  let peer = peers.get(message.from);
  if (!peer && message.type === 'offer') {
    // A member who was here before us is calling: they get a tile now.
    peer = meet(message.from, typeof message.username === 'string' ? message.username : 'Guest');
  }
  if (!peer) {
    console.warn(`ignored an ${message.type} from someone outside this chat`);
    return;
  }
  const newCall = message.call !== peer.callId;
  if (newCall && message.type !== 'offer') {
    console.warn(`ignored an ${message.type} for a call that is not this one`);
    return;
  }
  // Two offers crossed: ours is being made or waits for its answer. This
  // holds for a new call too: when both sides press Call again at once, the
  // polite side gives up its call for theirs. An answer still being applied
  // is not a collision: the offer can be read right after it (the
  // specification's perfect negotiation).
  const readyForOffer = peer.pc === null || (!peer.makingOffer &&
    (peer.pc.signalingState === 'stable' || peer.isSettingRemoteAnswerPending));
  const offerCollision = message.type === 'offer' && !readyForOffer;
  peer.ignoreOffer = !peer.polite && offerCollision;
  if (peer.ignoreOffer) {
    console.log(`${peer.name}: offers collided: ignoring theirs (this side is impolite)`);
    return;
  }
  if (newCall) {
    const iceServers = await iceServersLoaded;
    if (peers.get(peer.id) !== peer) return; // they left while we waited
    newPeerConnection(peer, iceServers);
    peer.callId = message.call;
    setStatus(`${peer.name} is calling: answering…`);
  }
  const connection = peer.pc;
  const description = { type: message.type, sdp: message.sdp };
  try {
    // On the polite side this also rolls our own colliding offer back.
    peer.isSettingRemoteAnswerPending = description.type === 'answer';
    await connection.setRemoteDescription(description);
    peer.isSettingRemoteAnswerPending = false;
    if (description.type === 'offer') {
      // Before or after the offer is read, the tracks go out on the
      // transceivers of its media sections (JSEP 5.10).
      letTransceiversSend(connection);
      addLocalTracks(connection);
      await connection.setLocalDescription(); // creates the answer itself
      if (connection === peer.pc) {
        sendSignal({ type: 'answer', to: peer.id, call: peer.callId, username: myName, sdp: connection.localDescription.sdp });
      }
    }
  } catch (error) {
    peer.isSettingRemoteAnswerPending = false;
    // An answer with no offer waiting, for example: logged, never thrown.
    console.warn(`${peer.name}: ignored an ${description.type} the connection refused:`, error);
  }
}
// ANCHOR_END: negotiate

// ANCHOR: leave
// Hangs up on everyone: tells each member over the data channel that goes
// straight to them, waits until they confirm (or a moment at most), and
// closes. The server's `leave` is the backup: it reaches everyone, even a
// member whose connection to us never came up.
export async function hangUp() {
  const members = [...peers.values()];
  const confirmed = members.map((peer) => sendLeaveNotice(peer.id));
  for (const peer of members) clearRemoteMedia(peer.tile);
  // They close their side when the notice arrives, which closes ours: then
  // closing the connections cannot cut a notice off.
  await Promise.all(confirmed);
  for (const peer of members) {
    if (peers.get(peer.id) === peer) forgetPeer(peer);
  }
}

// The tab is closing: no time to wait for anything, so just send.
export function hangUpNow() {
  for (const peer of peers.values()) sendLeaveNotice(peer.id);
}

// A member left the chat: their data channel or the server said so.
function onPeerLeft(peer) {
  if (peers.get(peer.id) !== peer) return;
  console.log(`${peer.name} left the chat`);
  forgetPeer(peer);
  setStatus(`${peer.name} left the chat.`);
}

// The server's `leave`: a member left, closed the tab or lost its connection.
export function onMemberLeft(id) {
  const peer = peers.get(id);
  if (peer) onPeerLeft(peer);
  else console.log('a member we had no call with left');
}

// After a reconnect the server has told the others we left: every call is over.
export function forgetEveryone() {
  for (const peer of [...peers.values()]) forgetPeer(peer);
}
// ANCHOR_END: leave
