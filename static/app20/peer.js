// Step 20: one connection, to the server, for the whole room. This module
// owns that connection and `members`: who else is here, each with a tile.
//
// Up to step 19 this page had one connection per member (a mesh), and sent
// its camera once over each. Now it sends its camera and microphone once,
// to the server's selective forwarding unit (SFU), which forwards them to
// every other member; and it receives every other member's tracks over the
// same connection, each tagged with the member it comes from. The offers
// and answers for the server travel over the signaling socket as
// `media-offer` and `media-answer`; the chat (chat.js) and the camera and
// microphone state (announceMediaState, below), which went over each call's
// data channel, go through the signaling server too.

import { setChatEnabled } from './chat.js';
import { iceServersLoaded, relayRefusalNote, watchIceServerErrors } from './ice-servers.js';
import { myName } from './join.js';
import { localStream, mediaState } from './media.js';
import { onConnectionState, recoverNow, stopRecovery } from './recovery.js';
import { refreshSignaling, sendSignal } from './signaling.js';
import {
  addTile, clearRemoteMedia, removeTile, setStatus, showMediaState, showRemoteTrack, showStates,
} from './ui.js';

// Everyone else in the room, by their server id: { id, name, tile }.
const members = new Map();

// ANCHOR: server
// Our connection to the server's SFU, as recovery.js sees a call:
//   { name, pc, makingOffer, recovery, senders }
// `pc` is null before we join and after we leave; `senders` are the
// senders of our sound and picture, by kind.
const server = { name: 'the server', pc: null, makingOffer: false, recovery: null, senders: {} };

// Tracks the server forwarded before we knew whose they are: by member id
// (the id of the stream each track belongs to), until their tile exists.
const waitingStreams = new Map();
// ANCHOR_END: server

function showAllStates() {
  showStates(server, [...members.values()]);
  setChatEnabled(members.size > 0);
}

// ANCHOR: meet
// Someone is here: they get a tile, with their media if it came first.
function meet(id, name) {
  const member = { id, name, tile: addTile(id, name) };
  members.set(id, member);
  for (const event of waitingStreams.get(id) ?? []) showRemoteTrack(member.tile, event);
  waitingStreams.delete(id);
  showAllStates();
  return member;
}

// They left: their tile goes. (The server stops forwarding their tracks and
// says so in its next offer.)
function forget(member) {
  removeTile(member.tile);
  members.delete(member.id);
  waitingStreams.delete(member.id);
  showAllStates();
}
// ANCHOR_END: meet

// Each member's tile and the receiver of their sound, for the speaking
// indicator.
export function activeCalls() {
  const receivers = server.pc?.getReceivers() ?? [];
  const calls = [];
  for (const member of members.values()) {
    const audio = member.tile.audio.srcObject?.getAudioTracks()[0];
    const receiver = audio && receivers.find((candidate) => candidate.track === audio);
    if (receiver) calls.push({ id: member.id, receiver, tile: member.tile });
  }
  return calls;
}

// ANCHOR: connect
// We joined, or joined again under a new id (the server restarted, or our
// place was not kept): the server's SFU has nothing of ours, and the others
// will introduce themselves again. Start over: no tiles, a new connection.
export function onJoined() {
  for (const member of [...members.values()]) forget(member);
  connectToServer();
}

// A fresh connection to the server. It has one audio and one video
// transceiver that only send: what we receive, the server adds in offers of
// its own. Adding them fires `negotiationneeded`, and negotiate() sends our
// offer.
async function connectToServer() {
  closeConnection();
  const iceServers = await iceServersLoaded;
  if (myName === null) return; // left while we waited
  const connection = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  server.pc = connection;
  server.makingOffer = false;
  watchIceServerErrors(connection);
  const current = () => connection === server.pc;
  const stateEvents = ['signalingstatechange', 'iceconnectionstatechange', 'connectionstatechange'];
  for (const eventName of stateEvents) {
    connection.addEventListener(eventName, () => {
      if (!current()) return; // an old connection's last words
      console.log(`server: ${eventName}: signaling=${connection.signalingState} ` +
        `ice=${connection.iceConnectionState} connection=${connection.connectionState}`);
      showAllStates();
    });
  }
  connection.addEventListener('connectionstatechange', () => {
    if (!current()) return;
    if (connection.connectionState === 'connected') setStatus('Connected to the server: your camera and microphone reach everyone here.');
    onConnectionState(server, connection, recoveryHooks(connection));
  });
  connection.addEventListener('track', (event) => {
    if (current()) onTrack(event);
  });
  connection.addEventListener('negotiationneeded', () => {
    if (current()) negotiate(connection);
  });
  for (const kind of ['audio', 'video']) {
    const track = localStream.getTracks().find((t) => t.kind === kind);
    const transceiver = connection.addTransceiver(track ?? kind, { direction: 'sendonly', streams: [localStream] });
    server.senders[kind] = transceiver.sender;
  }
  setStatus('Connecting to the server…');
  showAllStates();
}

// A track of another member, forwarded by the server. The server names the
// member in the stream id (the SDP's `a=msid`), so a member's sound and
// picture arrive in one stream and go to one tile.
function onTrack(event) {
  const id = event.streams[0]?.id;
  const member = id && members.get(id);
  if (member) {
    showRemoteTrack(member.tile, event);
    showAllStates();
  } else if (id) {
    // Their introduction (see onMemberMedia) is still on its way.
    waitingStreams.set(id, [...(waitingStreams.get(id) ?? []), event]);
  } else {
    console.warn('ignored a track that belongs to no member');
  }
}

function closeConnection() {
  if (!server.pc) return;
  stopRecovery(server);
  server.pc.close();
  server.pc = null;
  server.senders = {};
  for (const member of members.values()) clearRemoteMedia(member.tile);
  waitingStreams.clear();
  console.log('server: connection closed');
  showAllStates();
}
// ANCHOR_END: connect

// ANCHOR: negotiate
// Who offers: we offer what we send (once, and for an ICE restart); the
// server offers what it forwards, whenever someone arrives or leaves. Both
// may offer at the same moment. We are the impolite side: an offer of the
// server's that arrives while ours is out is ignored, and the server, the
// polite side, drops its own offer when ours arrives, answers ours, and
// offers its changes again afterwards.
async function negotiate(connection) {
  try {
    server.makingOffer = true;
    await connection.setLocalDescription(); // creates the offer itself
    if (connection === server.pc) sendSignal({ type: 'media-offer', sdp: connection.localDescription.sdp });
  } catch (error) {
    console.error('server: making an offer failed:', error);
    if (connection === server.pc) setStatus(`Could not make an offer to the server (${error.message}).`);
  } finally {
    if (connection === server.pc) server.makingOffer = false;
  }
}

// The server's `media-answer` (to our offer) or `media-offer` (what it
// forwards changed).
export async function handleMediaDescription(message) {
  const connection = server.pc;
  if (!connection) {
    console.warn(`ignored a ${message.type} with no connection to the server`);
    return;
  }
  const type = message.type === 'media-offer' ? 'offer' : 'answer';
  const ourOfferOut = server.makingOffer || connection.signalingState === 'have-local-offer';
  if (type === 'offer' && ourOfferOut) {
    console.log('server: offers collided: ignoring the server\'s (it offers again after answering ours)');
    return;
  }
  try {
    await connection.setRemoteDescription({ type, sdp: message.sdp });
    if (type === 'offer') {
      await connection.setLocalDescription(); // creates the answer itself
      if (connection === server.pc) sendSignal({ type: 'media-answer', sdp: connection.localDescription.sdp });
    }
  } catch (error) {
    // An answer with no offer waiting, for example: logged, never thrown.
    console.warn(`server: ignored a ${type} the connection refused:`, error);
  }
}
// ANCHOR_END: negotiate

// ANCHOR: recoveryHooks
// Step 19's recovery, for the one connection: we always restart ICE (we
// made the first offer), and after too long we start over.
function recoveryHooks(connection) {
  return {
    restart: () => restartIce(connection),
    giveUp() {
      setStatus(`Lost the connection to the server. Press Call again to reconnect.${relayRefusalNote()}`);
      closeConnection();
    },
    changed: showAllStates,
  };
}

async function restartIce(connection) {
  console.log('server: restarting ICE');
  try {
    // An offer of ours that was never answered would hold the restart back:
    // take it back, and renew the signaling socket that may have lost it.
    if (connection.signalingState === 'have-local-offer' && !server.makingOffer) {
      await connection.setLocalDescription({ type: 'rollback' });
      refreshSignaling();
    }
    connection.restartIce(); // fires negotiationneeded
  } catch (error) {
    console.warn('server: an ICE restart failed to start:', error);
  }
}

// The server gave up on our media connection (`media-failed`: it never
// came up, or it died): it holds nothing of it any more, so an ICE restart
// cannot help. Start over with a new connection.
export function onMediaFailed(reason) {
  if (!server.pc) return;
  console.log(`server: the media connection failed (${reason}); connecting again`);
  setStatus(`The media connection to the server failed (${reason}); connecting again…`);
  connectToServer();
}

// Call again: a new connection to the server when ours is gone.
export function callAgain() {
  if (myName === null) return;
  if (server.pc && server.pc.connectionState !== 'failed' && server.pc.connectionState !== 'closed') {
    setStatus('Your connection to the server is up already.');
    return;
  }
  connectToServer();
}
// ANCHOR_END: recoveryHooks

// ANCHOR: sendTrack
// A device was turned on or off, or the screen took the camera's place:
// the one sender of that kind carries the new track (or none). No
// renegotiation: our two transceivers were there from the first offer.
function send(kind, track) {
  const sender = server.senders[kind];
  if (!sender) return; // not connected: connectToServer() sends what is on
  sender.replaceTrack(track).catch((error) => console.error('replaceTrack failed:', error));
}

export function trackStarted(track) {
  send(track.kind, track);
}

export function trackStopped(track) {
  send(track.kind, null);
}

export function trackReplaced(oldTrack, newTrack) {
  send(newTrack.kind, newTrack);
}
// ANCHOR_END: sendTrack

// ANCHOR: members
// Someone joined after us: they get a tile, and we introduce ourselves
// (our name and what we send), since the server tells a newcomer nobody's
// name. Their media arrives when the server forwards it.
export function onPeerJoined(id, name) {
  if (typeof id !== 'string' || typeof name !== 'string') {
    console.warn('ignored a join without an id or a name');
    return;
  }
  if (myName === null || members.has(id)) return;
  meet(id, name);
  announceMediaStateTo(id);
  setStatus(`${name} joined.`);
}

// ANCHOR: mediaState
// {"type":"media","camera":…,"microphone":…,"screen":…}: what this page
// sends now, through the server to each member (up to step 19 it went over
// each call's data channel). Told to each newcomer, with our name, which
// the server checks and stamps: that is how a newcomer learns who was here
// before them. And told to everyone whenever it changes, so their tiles
// for us show "camera off" or "microphone off" as it happens.
function announceMediaStateTo(id) {
  sendSignal({ type: 'media', to: id, username: myName, ...mediaState() });
}

export function announceMediaState() {
  for (const id of members.keys()) announceMediaStateTo(id);
}

// A member's `media` message. The first one from a member who was here
// before us introduces them.
export function onMemberMedia(message) {
  const flags = ['camera', 'microphone', 'screen'];
  if (typeof message.from !== 'string' || !flags.every((flag) => typeof message[flag] === 'boolean')) {
    console.warn('ignored a media message without its sender or its three flags');
    return;
  }
  if (myName === null) return;
  const member = members.get(message.from) ??
    meet(message.from, typeof message.username === 'string' ? message.username : 'Guest');
  showMediaState(member.tile, { camera: message.camera, microphone: message.microphone, screen: message.screen });
}
// ANCHOR_END: mediaState

// The name a chat line from member `id` is shown with.
export function memberName(id) {
  return members.get(id)?.name ?? null;
}

// Every member's id, for the chat and the media state that go to each.
export function memberIds() {
  return [...members.keys()];
}

// The server's `leave`: a member left, closed the tab or lost its socket.
export function onMemberLeft(id) {
  const member = members.get(id);
  if (!member) return;
  forget(member);
  setStatus(`${member.name} left the chat.`);
}

// Leave: the connection closes and every tile goes. The server tells the
// others (`leave`) and stops forwarding our tracks.
export function hangUp() {
  closeConnection();
  for (const member of [...members.values()]) forget(member);
}
// ANCHOR_END: members

// ANCHOR: resumed
// Our socket took our place back (`resumed`): `members` is the room now.
// Those who left meanwhile go, those who came get a tile (and our
// introduction). An offer of the server's may have been lost while our
// socket was down: an offer of ours (an ICE restart, which is harmless when
// the connection is up) makes the server answer and offer its changes again.
export function reconcileMembers(list) {
  const now = new Map();
  for (const member of Array.isArray(list) ? list : []) {
    if (typeof member?.id === 'string' && typeof member?.username === 'string') {
      now.set(member.id, member.username);
    }
  }
  for (const member of [...members.values()]) {
    if (!now.has(member.id)) onMemberLeft(member.id);
  }
  for (const [id, name] of now) {
    if (!members.has(id)) onPeerJoined(id, name);
  }
  if (!server.pc) return;
  if (server.pc.connectionState === 'connected') restartIce(server.pc);
  else recoverNow(server, server.pc, recoveryHooks(server.pc));
}
// ANCHOR_END: resumed
