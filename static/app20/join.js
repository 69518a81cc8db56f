// Joining the chat: the join screen, the name and the room we typed, and the
// id the server gave us. Other modules read `myId` and `myName`: the exports of an
// ES module are live, so an importer always sees the current value.

import { sendSignal } from './signaling.js';
import { setStatus, showChatScreen, showJoinScreen } from './ui.js';

const joinForm = document.getElementById('join-form');
const usernameInput = document.getElementById('username');
const joinButton = document.getElementById('join');
const roomInput = document.getElementById('room');

export let myId = null; // from the server's welcome
export let myName = null; // set once Join is pressed, null again after Leave
let myRoom = null; // the room we asked to join
// Step 19: the server's token that lets our next socket take our place back
// if this one drops (from `welcome`, renewed by `resumed`).
let resumeToken = null;

// ANCHOR: join
// The server checks the same rules for names and rooms; checking here gives
// a quicker answer.
function isValidName(text) {
  return text.length > 0 && text.length <= 64 && !/\p{Cc}/u.test(text);
}

function join(event) {
  event.preventDefault(); // the form must not reload the page
  const name = usernameInput.value.trim();
  const room = roomInput.value.trim();
  if (!isValidName(name)) {
    setStatus('Type a name of 1 to 64 characters.');
    return;
  }
  if (!isValidName(room)) {
    setStatus('Type a room name of 1 to 64 characters.');
    return;
  }
  if (!sendSignal({ type: 'join', username: name, room })) return;
  myName = name;
  myRoom = room;
  showChatScreen(name, room);
  setStatus(`Joined room "${room}" as ${name}. Connecting to the server…`);
  hooks.onJoined();
}

// ANCHOR: resume
// The server's welcome, at every (re)connect, with a new id and token. After
// a reconnect we ask for our old place back with the token we held
// (`resume`); the answer is `resumed` (onResumed) or a `bad-token` error
// (onResumeRefused). Returns whether we asked.
export function onWelcome(id, token) {
  const previousToken = resumeToken;
  myId = id;
  resumeToken = typeof token === 'string' ? token : null;
  if (myName === null) return false;
  if (previousToken) {
    sendSignal({ type: 'resume', token: previousToken });
    setStatus('Reconnected to the signaling server: taking our place back…');
  } else {
    rejoin();
  }
  return true;
}

// Our place is ours again: same id, same room, nobody was told we left.
export function onResumed(id, token) {
  if (typeof id === 'string') myId = id;
  if (typeof token === 'string') resumeToken = token;
  setStatus(`Reconnected: back in room "${myRoom}", media kept.`);
}

// The server no longer has our place (it restarted, or we came back after
// the grace): we join again under the id of this socket's welcome.
export function onResumeRefused() {
  if (myName === null) return;
  rejoin();
  setStatus(`Reconnected: joined room "${myRoom}" again; connecting to the server…`);
}

// Step 20: joining again means a new id, and a new connection to the
// server's SFU (hooks.onJoined).
function rejoin() {
  if (sendSignal({ type: 'join', username: myName, room: myRoom })) hooks.onJoined();
}
// ANCHOR_END: resume

// The server refused our join (the protocol has no acknowledgement: an error
// answers it): back to the join screen, saying why.
export function onJoinRefused(code, reason) {
  const room = myRoom;
  myName = null;
  myRoom = null;
  showJoinScreen();
  if (code === 'room-full') {
    setStatus(`Could not join room "${room}": ${reason}. Try another room, or this one when someone has left.`);
  } else {
    setStatus(`Could not join: ${reason}. Try another name.`);
  }
}

// Leave: the server takes us out of the chat and tells the others.
export function leaveChat() {
  sendSignal({ type: 'leave' });
  myName = null;
  myRoom = null;
  showJoinScreen();
}
// ANCHOR_END: join

// What to do once we have joined (or joined again): set by setUpJoin().
let hooks = { onJoined() {} };

export function setUpJoin(joinHooks) {
  hooks = joinHooks;
  joinForm.addEventListener('submit', join);
  // A link can name the room: http://host/?room=daily fills the field in.
  roomInput.value = new URLSearchParams(location.search).get('room') ?? roomInput.value;
}

export function setJoinEnabled(enabled) {
  joinButton.disabled = !enabled;
}
