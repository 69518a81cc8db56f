// The text chat: one RTCDataChannel labelled "chat" per call, the chat log,
// and the form that sends a line. This module owns the channels, one per
// member, by their id; peer.js hands each over when a call makes one. The
// channel also carries a member's leave notice, their camera and
// microphone state, and from step 19 their new id after they joined again.

import { mediaState } from './media.js';
import { setStatus } from './ui.js';

const chatForm = document.getElementById('chat-form');
const messageInput = document.getElementById('message');
const sendMessageButton = document.getElementById('send-message');
const messageList = document.getElementById('messages');

// The chat's data channel of each call, by the member's id.
const chatChannels = new Map();

// How long Leave waits for a member to confirm (by closing the channel)
// before closing the connection anyway.
const LEAVE_CONFIRM_TIMEOUT_MS = 1500;

// ANCHOR: chat
// Wires up the chat channel of the call with member `id`, called `name`.
// The channel also carries their leave notice, which goes to `onLeave`,
// their camera and microphone state, which goes to `onMediaState`, and
// their new id, which goes to `onNewId`.
export function useChatChannel(id, channel, name, { onLeave, onMediaState, onNewId }) {
  chatChannels.set(id, channel);
  channel.addEventListener('open', () => {
    console.log(`${name}: chat channel open`);
    updateChatEnabled();
    channel.send(mediaStateMessage()); // so they know from the start
  });
  channel.addEventListener('close', () => {
    console.log(`${name}: chat channel closed`);
    updateChatEnabled();
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
      showChatLine(name, message.text);
    } else if (message.type === 'leave') {
      // (By value, not by `id`: the member's id may have changed since.)
      if ([...chatChannels.values()].includes(channel)) onLeave();
    } else if (message.type === 'id') {
      if ([...chatChannels.values()].includes(channel)) onNewId(message.id);
    } else if (message.type === 'media') {
      const flags = ['camera', 'microphone', 'screen'];
      if (flags.every((flag) => typeof message[flag] === 'boolean')) {
        onMediaState({ camera: message.camera, microphone: message.microphone, screen: message.screen });
      } else {
        console.warn('ignored a media message without its three flags');
      }
    } else {
      console.warn(`ignored a data channel message of type ${message.type}`);
    }
  });
}

// Member `oldId` goes by `newId` now (step 19): same call, same channel.
export function renameChatChannel(oldId, newId) {
  const channel = chatChannels.get(oldId);
  if (!channel) return;
  chatChannels.delete(oldId);
  chatChannels.set(newId, channel);
}

// Tells every member we are in a call with our new id, over the channel
// that goes straight to them: only we can write to it, so it proves the
// new id is ours (see peer.js, claimedByKnownMember).
export function announceOwnId(id) {
  const message = JSON.stringify({ type: 'id', id });
  for (const channel of openChannels()) channel.send(message);
}

// The call with member `id` is over: its channel goes with it.
export function closeChatChannel(id) {
  const channel = chatChannels.get(id);
  if (!channel) return;
  channel.close();
  chatChannels.delete(id);
  updateChatEnabled();
}

function openChannels() {
  return [...chatChannels.values()].filter((channel) => channel.readyState === 'open');
}

// The chat works while the channel to at least one member is open.
function updateChatEnabled() {
  const open = openChannels().length > 0;
  messageInput.disabled = !open;
  sendMessageButton.disabled = !open;
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

// Sends a line to every member, each over its own channel.
function sendMessage(event) {
  event.preventDefault(); // the form must not reload the page
  const text = messageInput.value.trim();
  if (text === '') return;
  const open = openChannels();
  if (open.length === 0) {
    setStatus('The chat works once someone else is connected.');
    return;
  }
  const line = JSON.stringify({ type: 'chat', text });
  for (const channel of open) channel.send(line);
  showChatLine('You', text);
  messageInput.value = '';
}
// ANCHOR_END: chat

// ANCHOR: mediaState
// {"type":"media","camera":…,"microphone":…,"screen":…}: what this page
// sends now. Told to each member when their channel opens and to everyone
// whenever it changes, so their tiles for us show "camera off" or
// "microphone off" as it happens.
function mediaStateMessage() {
  return JSON.stringify({ type: 'media', ...mediaState() });
}

export function announceMediaState() {
  const message = mediaStateMessage();
  for (const channel of openChannels()) channel.send(message);
}
// ANCHOR_END: mediaState

// ANCHOR: leaveNotice
// Tells member `id` that this page is leaving, over the channel that goes
// straight to them. Resolves when they have closed the channel (so the
// notice arrived), or after LEAVE_CONFIRM_TIMEOUT_MS at the latest.
export function sendLeaveNotice(id) {
  const channel = chatChannels.get(id);
  if (!channel || channel.readyState !== 'open') return Promise.resolve();
  channel.send(JSON.stringify({ type: 'leave' }));
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
