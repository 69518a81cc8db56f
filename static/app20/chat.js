// The text chat: the chat log, and the form that sends a line. Step 20 has
// no connection to each member any more, so no data channel: a line goes
// through the signaling server, once to each member (`to`). The server
// stamps `from` on each, so a member cannot write as another.

import { sendSignal } from './signaling.js';
import { setStatus } from './ui.js';

const chatForm = document.getElementById('chat-form');
const messageInput = document.getElementById('message');
const sendMessageButton = document.getElementById('send-message');
const messageList = document.getElementById('messages');

// ANCHOR: chat
// Who the members are, from peer.js, given to setUpChat() by main.js.
let room = { memberIds: () => [], memberName: () => null };

// A `chat` message relayed by the server from member `from`.
export function onChatMessage(message) {
  if (typeof message.from !== 'string' || typeof message.text !== 'string') {
    console.warn('ignored a chat message without its sender or text');
    return;
  }
  const name = room.memberName(message.from);
  if (name === null) console.warn('ignored a chat line from someone outside this room');
  else showChatLine(name, message.text);
}

// The chat works while someone else is here.
export function setChatEnabled(enabled) {
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

// Sends a line to every member, one message each through the server.
function sendMessage(event) {
  event.preventDefault(); // the form must not reload the page
  const text = messageInput.value.trim();
  if (text === '') return;
  const ids = room.memberIds();
  if (ids.length === 0) {
    setStatus('The chat works once someone else is here.');
    return;
  }
  for (const id of ids) sendSignal({ type: 'chat', to: id, text });
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

// Makes the chat form work; `members` has memberIds() and memberName(id).
export function setUpChat(members) {
  room = members;
  chatForm.addEventListener('submit', sendMessage);
}
