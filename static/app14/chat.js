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

// How long Leave waits for the peer to confirm (by closing the channel)
// before closing the connection anyway.
const LEAVE_CONFIRM_TIMEOUT_MS = 1500;

// ANCHOR: chat
// Wires up the chat channel of the current call. The channel also carries
// the other side's leave notice, which goes to `onLeave`.
export function useChatChannel(channel, onLeave) {
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
      if (channel === chatChannel) onLeave();
    } else {
      console.warn(`ignored a data channel message of type ${message.type}`);
    }
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
  chatChannel.send(JSON.stringify({ type: 'chat', text }));
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

// ANCHOR: leaveNotice
// Tells the other side that this page is leaving, over the channel that goes
// straight to it. Resolves when they have closed the channel (so the notice
// arrived), or after LEAVE_CONFIRM_TIMEOUT_MS at the latest.
export function sendLeaveNotice() {
  const channel = chatChannel;
  if (!channel || channel.readyState !== 'open') return Promise.resolve();
  channel.send(JSON.stringify({ type: 'leave' }));
  setChatEnabled(false);
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, LEAVE_CONFIRM_TIMEOUT_MS);
    channel.addEventListener('close', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
// ANCHOR_END: leaveNotice

// Makes the chat form work.
export function setUpChat() {
  chatForm.addEventListener('submit', sendMessage);
}
