// The calls with the other members, one each: who they are, the connection
// to them, the offer and the answer that set it up and change it (perfect
// negotiation), bringing it back when its path dies (step 19, with
// recovery.js), and hanging up. This module owns `peers`.

import { announceOwnId, closeChatChannel, renameChatChannel, sendLeaveNotice, useChatChannel } from './chat.js';
import { iceServersLoaded, relayRefusalNote, watchIceServerErrors } from './ice-servers.js';
import { myId, myName } from './join.js';
import { localStream } from './media.js';
import { onConnectionState, recoverNow, stopRecovery } from './recovery.js';
import { refreshSignaling, sendSignal } from './signaling.js';
import {
  addTile, clearRemoteMedia, removeTile, setStatus, setTileId, showMediaState, showRemoteTrack, showStates,
} from './ui.js';

// Everyone else in the chat, by their server id, and our call with each:
//   { id, name, polite, tile, pc, callId, isCaller, makingOffer, ignoreOffer,
//     isSettingRemoteAnswerPending, recovery, ufrag, claimedBy }
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
    isCaller: false, // whether we made this call's first offer (step 19: we restart it)
    makingOffer: false,
    ignoreOffer: false,
    isSettingRemoteAnswerPending: false,
    recovery: null, // while the call is being brought back: see recovery.js
    ufrag: null, // our ICE username fragment, to log a restart's new one
    claimedBy: null, // a new id the server announced under their name
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

// What arrives from `peer` over the data channel besides chat lines.
function channelHandlers(peer) {
  return {
    onLeave: () => onPeerLeft(peer),
    onMediaState: (state) => showMediaState(peer.tile, state),
    onNewId: (id) => onPeerNewId(peer, id),
  };
}

// The calls in progress, for the speaking indicator.
export function activeCalls() {
  return [...peers.values()]
    .filter((peer) => peer.pc)
    .map((peer) => ({ id: peer.id, connection: peer.pc, tile: peer.tile }));
}

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
    if (!current()) return;
    describeConnectionState(peer, connection.connectionState);
    onConnectionState(peer, connection, recoveryHooks(peer, connection));
  });
  connection.addEventListener('track', (event) => {
    if (current()) showRemoteTrack(peer.tile, event);
  });
  // The answering side learns of the offerer's channel here.
  connection.addEventListener('datachannel', (event) => {
    if (!current()) return;
    if (event.channel.label === 'chat') {
      useChatChannel(peer.id, event.channel, peer.name, channelHandlers(peer));
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
  peer.ufrag = null;
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
    default:
      // "disconnected" and "failed" are recovery.js's to put into words.
      break;
  }
}
// ANCHOR_END: describeConnectionState

// ANCHOR: recoveryHooks
// What recovery.js does with a call that is down.
function recoveryHooks(peer, connection) {
  return {
    restart: (attempt) => (peer.isCaller ? restartIce(peer, connection) : awaitRestart(peer, attempt)),
    giveUp() {
      // No path for too long: the call ends. The member is still in the
      // chat (the server would have said `leave`): their tile stays, and
      // Call again retries.
      closePeerConnection(peer);
      setStatus(`Lost the connection to ${peer.name}. Press Call again to retry.${relayRefusalNote()}`);
    },
    changed: showAllStates,
  };
}

// An ICE restart: new ICE credentials in a new offer, sent by negotiate()
// like any other. Only the side that made the call's first offer restarts
// it. Perfect negotiation would keep two restarts at once safe, but the
// answer must also keep each side's DTLS role, which the first offer and
// answer settled, and the browsers do not all do that when the restart
// comes from the side that answered first: the tests saw Chromium 156
// refuse Firefox ESR 153's answer to such a restart ("Failed to set SSL
// role for the transport"), leaving the connection unusable.
async function restartIce(peer, connection) {
  console.log(`${peer.name}: restarting ICE`);
  try {
    // An offer of ours that was never answered would hold the restart back
    // for good: the next offer waits for the state to return to "stable".
    // Take it back. It was lost on the way: the other side's signaling
    // socket was down, or ours is dead though it looks open (see
    // refreshSignaling), so ours is renewed too.
    if (connection.signalingState === 'have-local-offer' && !peer.makingOffer) {
      await connection.setLocalDescription({ type: 'rollback' });
      refreshSignaling();
    }
    connection.restartIce(); // fires negotiationneeded
  } catch (error) {
    console.warn(`${peer.name}: an ICE restart failed to start:`, error);
  }
}

// The other side placed the call, so it restarts ICE; we answer its offer.
// If that offer is slow in coming, our own signaling socket may be the dead
// one: it is renewed (at most once in a while, see refreshSignaling).
function awaitRestart(peer, attempt) {
  console.log(`${peer.name}: waiting for their ICE restart (they placed the call)`);
  if (attempt >= 2) refreshSignaling();
}

// Logs our ICE username fragment when it changes: a new one is the sign of
// an ICE restart.
function noteUfrag(peer, connection) {
  const ufrag = /a=ice-ufrag:(\S+)/.exec(connection.localDescription?.sdp ?? '')?.[1] ?? null;
  if (ufrag && peer.ufrag && ufrag !== peer.ufrag) {
    console.log(`${peer.name}: ICE restarted: new local ufrag ${ufrag}`);
  }
  if (ufrag) peer.ufrag = ufrag;
}
// ANCHOR_END: recoveryHooks

function closePeerConnection(peer) {
  if (!peer.pc) return;
  stopRecovery(peer);
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

// ANCHOR: replaceTrack
// Another camera or microphone, or the screen in place of the camera: the
// sender that carried the old track carries the new one. replaceTrack needs
// no renegotiation (same kind, same transceiver), so the picture changes at
// once and no transceiver is added, however often it happens.
export function trackReplaced(oldTrack, newTrack) {
  for (const peer of peers.values()) {
    if (!peer.pc) continue;
    const sender = peer.pc.getSenders().find((candidate) => candidate.track === oldTrack);
    if (sender) {
      sender.replaceTrack(newTrack).catch((error) => console.error('replaceTrack failed:', error));
    } else {
      sendTrack(peer.pc, newTrack); // this call never carried the old one
    }
  }
}
// ANCHOR_END: replaceTrack

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
  peer.isCaller = true;
  addTransceivers(connection);
  useChatChannel(peer.id, connection.createDataChannel('chat'), peer.name, channelHandlers(peer));
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
  if (claimedByKnownMember(id, name)) return;
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
    noteUfrag(peer, connection);
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
    peer.isCaller = false;
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
      noteUfrag(peer, connection);
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

// The server's `leave`: a member left, closed the tab or lost its
// connection to the server. From step 19 a call that is still up is kept:
// its media never needed the server, and a member who really leaves says so
// over the call itself (the leave notice) or lets it fail.
export function onMemberLeft(id) {
  const peer = peers.get(id);
  if (!peer) {
    console.log('a member we had no call with left');
  } else if (peer.pc?.connectionState === 'connected') {
    console.log(`${peer.name}: the server lost them, but our call is up: keeping it`);
  } else {
    onPeerLeft(peer);
  }
}
// ANCHOR_END: leave

// ANCHOR: sameMember
// After a server restart (or a resume that came too late) every page joins
// again under a new id, while its calls go on. The server's `join` names the
// new id and the name; the member itself proves who it is over the call we
// have with it: its data channel, which only it can write to, says
// {"type":"id"} with its new id (announceOwnId). Until then a `join` under
// the name of a member we are in a call with is held back, for
// SAME_MEMBER_WAIT_MS at most; with no word by then, it is someone else.
const SAME_MEMBER_WAIT_MS = 5000;

function claimedByKnownMember(id, name) {
  const known = [...peers.values()].find((peer) => peer.name === name && peer.pc);
  if (!known) return false;
  console.log(`${name}: joined again under a new id; waiting for them to confirm it over our call`);
  known.claimedBy = id;
  setTimeout(() => {
    if (peers.get(known.id) !== known || known.claimedBy !== id) return; // confirmed meanwhile
    console.log(`${name}: never confirmed the new id: a new member, not our call`);
    forgetPeer(known);
    onPeerJoined(id, name);
  }, SAME_MEMBER_WAIT_MS);
  return true;
}

// A member told us its new id over our call.
function onPeerNewId(peer, id) {
  if (typeof id !== 'string' || peers.get(peer.id) !== peer || id === peer.id) return;
  if (peers.has(id)) {
    console.warn(`${peer.name}: ignored a new id that another member has`);
    return;
  }
  console.log(`${peer.name}: now has the id ${id.slice(0, 8)}…; the call goes on`);
  peers.delete(peer.id);
  renameChatChannel(peer.id, id);
  peer.id = id;
  peer.claimedBy = null;
  setTileId(peer.tile, id);
  peers.set(id, peer);
  // The server may not have reached us while it was down: restart what is down.
  recoverIfDown(peer);
}

// We joined again under a new id: everyone we are in a call with hears it
// over the call, and any call that is down restarts now that the server
// can carry its offer.
export function rejoinedUnderNewId() {
  announceOwnId(myId);
  recoverStalledCalls();
}
// ANCHOR_END: sameMember

// ANCHOR: resumed
// Our socket took our place back (`resumed`): `members` is the room now. We
// missed what was announced meanwhile: those who left go (unless our call
// with them is up, as with `leave`), those who came are called (we were
// here first), and calls that went down restart now.
export function reconcileMembers(members) {
  const now = new Map();
  for (const member of Array.isArray(members) ? members : []) {
    if (typeof member?.id === 'string' && typeof member?.username === 'string') {
      now.set(member.id, member.username);
    }
  }
  for (const peer of [...peers.values()]) {
    if (!now.has(peer.id)) onMemberLeft(peer.id);
  }
  for (const [id, name] of now) {
    if (!peers.has(id)) onPeerJoined(id, name);
  }
  recoverStalledCalls();
}

function recoverStalledCalls() {
  for (const peer of peers.values()) recoverIfDown(peer);
}

// A call that is down tries at once (see recovery.js, recoverNow).
function recoverIfDown(peer) {
  if (peer.pc) recoverNow(peer, peer.pc, recoveryHooks(peer, peer.pc));
}
// ANCHOR_END: resumed
