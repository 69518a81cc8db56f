// Joining the chat: the join screen, the name we typed, and the id the
// server gave us. Other modules read `myId` and `myName`: the exports of an
// ES module are live, so an importer always sees the current value.

import { sendSignal } from './signaling.js';
import { setStatus, showChatScreen, showJoinScreen } from './ui.js';

const joinForm = document.getElementById('join-form');
const usernameInput = document.getElementById('username');
const joinButton = document.getElementById('join');

export let myId = null; // from the server's welcome
export let myName = null; // set once Join is pressed, null again after Leave

// ANCHOR: join
// The server checks the same rules for names; checking here gives a quicker
// answer.
function isValidName(text) {
  return text.length > 0 && text.length <= 64 && !/\p{Cc}/u.test(text);
}

function join(event) {
  event.preventDefault(); // the form must not reload the page
  const name = usernameInput.value.trim();
  if (!isValidName(name)) {
    setStatus('Type a name of 1 to 64 characters.');
    return;
  }
  if (!sendSignal({ type: 'join', username: name })) return;
  myName = name;
  showChatScreen(name);
  setStatus(`Joined as ${name}. The call starts when someone else joins.`);
}

// The server's welcome, at every (re)connect. After a reconnect the server
// knows us no more and has told the others we left, so we join again, with
// the new id. Returns whether we did.
export function onWelcome(id) {
  myId = id;
  if (myName === null) return false;
  sendSignal({ type: 'join', username: myName });
  return true;
}

// The server refused our join (the protocol has no acknowledgement: an error
// answers it): back to the join screen, saying why.
export function onJoinRefused(code, reason) {
  myName = null;
  showJoinScreen();
  if (code === 'room-full') {
    setStatus(`Could not join: ${reason}. Try again when someone has left.`);
  } else {
    setStatus(`Could not join: ${reason}. Try another name.`);
  }
}

// Leave: the server takes us out of the chat and tells the others.
export function leaveChat() {
  sendSignal({ type: 'leave' });
  myName = null;
  showJoinScreen();
}
// ANCHOR_END: join

export function setUpJoin() {
  joinForm.addEventListener('submit', join);
}

export function setJoinEnabled(enabled) {
  joinButton.disabled = !enabled;
}
