// The text chat: one RTCDataChannel labelled "chat" per call, the chat log,
// and the form that sends a line. This module owns the channel; peer.js
// hands it over when a call makes one.

import { setStatus } from './ui.js';

const chatForm = document.getElementById('chat-form');
const messageInput = document.getElementById('message');
const sendMessageButton = document.getElementById('send-message');
const messageList = document.getElementById('messages');

// The chat's data channel of the current call, once there is one.
let chatChannel = null;

// ANCHOR: chat
// Wires up the chat channel of the current call.
export function useChatChannel(channel) {
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

// The call is over: its channel goes with it.
export function closeChatChannel() {
  if (!chatChannel) return;
  chatChannel.close();
  chatChannel = null;
  setChatEnabled(false);
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

// Makes the chat form work.
export function setUpChat() {
  chatForm.addEventListener('submit', sendMessage);
}
