// The WebSocket to the server's /ws: opening it, reopening it when it drops,
// and sending and receiving JSON messages. What a message means is not this
// module's business: it hands each one to the `onMessage` it was given.

import { setStatus } from './ui.js';

// The signaling socket, and how long to wait before reconnecting it.
let socket = null;
let reconnectDelay = 1000;
const MAX_RECONNECT_DELAY = 10000;

// ANCHOR: signaling
// Opens the signaling socket; if it drops, tries again with a growing delay.
// `handlers` has onOpen(), onClose() and onMessage(message).
export function connectSignaling(handlers) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  socket = ws;
  currentHandlers = handlers;
  ws.addEventListener('open', () => {
    console.log('signaling socket open');
    lastRefresh = Date.now(); // a new socket needs no renewing
    reconnectDelay = 1000;
    handlers.onOpen();
  });
  ws.addEventListener('message', (event) => {
    // Anything unexpected is logged and ignored, never thrown.
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('ignored a signaling message that is not JSON:', event.data);
      return;
    }
    console.log(`received ${message.type}`);
    handlers.onMessage(message);
  });
  ws.addEventListener('error', () => console.error('signaling socket error'));
  ws.addEventListener('close', (event) => {
    console.log(`signaling socket closed: ${event.code} ${event.reason}`);
    if (socket !== ws) return;
    handlers.onClose();
    setStatus(`Lost the signaling server (${event.code}${event.reason ? `: ${event.reason}` : ''}); reconnecting…`);
    setTimeout(() => connectSignaling(handlers), reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, MAX_RECONNECT_DELAY);
  });
}

// ANCHOR: refresh
// Step 19: a socket can look open and be dead. When the network under it
// changes, nothing may arrive to close it until the operating system gives
// up on it, minutes later. The page suspects it when a message it sent got
// no answer (an ICE restart's offer, say). Then it opens a new socket in its
// place: the server gives the new one our place back (resume) and closes
// the old one if it was alive after all, so the cost of a wrong guess is a
// moment's reconnect that nobody else sees. At most once in a while.
const MIN_REFRESH_INTERVAL_MS = 10000;
let lastRefresh = 0;
let currentHandlers = null;

export function refreshSignaling() {
  if (!socket || socket.readyState !== WebSocket.OPEN || !currentHandlers) return; // reconnecting already
  if (Date.now() - lastRefresh < MIN_REFRESH_INTERVAL_MS) return;
  lastRefresh = Date.now();
  console.log('signaling socket: a message through it went unanswered; opening a new one');
  connectSignaling(currentHandlers); // the old socket's events are ignored from now on
}
// ANCHOR_END: refresh

// Sends one message through the server; says so when the socket is not open.
export function sendSignal(message) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    setStatus('Not connected to the signaling server; try again in a moment.');
    return false;
  }
  socket.send(JSON.stringify(message));
  console.log(`sent ${message.type}`);
  return true;
}
// ANCHOR_END: signaling
