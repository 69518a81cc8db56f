// Step 13: tell the peer when leaving.
//
// Leaving (the Leave button, or closing or reloading the tab) first sends
// {type: 'leave'}: over the data channel, which goes straight to the peer, and
// through the server as a backup. The peer tears down at once. The button
// waits until the peer has closed the channel (so the notice arrived) before
// closing the connection; on `pagehide` there is no time to wait.
// The data channel now carries JSON: {type: 'chat', text} or {type: 'leave'}.

import { setUpChat } from './chat.js';
import { setUpDevices } from './media.js';
import { handleCandidate, handleDescription, leave, leaveNow, onPeerLeft, sendOffer, trackStarted, trackStopped } from './peer.js';
import { connectSignaling } from './signaling.js';
import { refuseCalls, setStatus, showStates } from './ui.js';

const sendOfferButton = document.getElementById('send-offer');
const leaveButton = document.getElementById('leave');

// ANCHOR: onSignalingMessage
// Every message from the server, handed to the module whose job it is.
async function applySignalingMessage(message) {
  switch (message.type) {
    case 'offer':
    case 'answer':
      if (typeof message.sdp === 'string' && typeof message.call === 'string') return handleDescription(message);
      else console.warn(`ignored an ${message.type} without SDP or call id`);
      break;
    case 'candidate':
      if (message.candidate && typeof message.candidate === 'object') return handleCandidate(message.call, message.candidate);
      else console.warn('ignored a candidate message without a candidate');
      break;
    case 'leave':
      // The backup path of the notice; the data channel usually wins.
      onPeerLeft(message.call);
      break;
    case 'error':
      console.warn(`the server refused a message: ${message.code}: ${message.message}`);
      setStatus(`The server refused a message: ${message.message}`);
      break;
    default:
      console.warn(`ignored a message of type ${message.type}`);
  }
}
// ANCHOR_END: onSignalingMessage

// ANCHOR: inOrder
// Messages are applied one at a time, in the order they came: each waits
// until the one before it is done. So a candidate is added only after the
// offer or answer it follows has been set (addIceCandidate fails while the
// connection has no remote description), and no message is read halfway
// through another.
let applying = Promise.resolve();
function onSignalingMessage(message) {
  applying = applying
    .then(() => applySignalingMessage(message))
    .catch((error) => console.error(`applying a ${message.type} message failed:`, error));
}
// ANCHOR_END: inOrder

sendOfferButton.addEventListener('click', sendOffer);
leaveButton.addEventListener('click', leave);
// Closing or reloading the tab: no time to wait for anything, so just send.
window.addEventListener('pagehide', leaveNow);
setUpDevices({ onTrackStarted: trackStarted, onTrackStopped: trackStopped });
setUpChat();
showStates(null);
// ANCHOR: noWebRTC
// A browser without WebRTC (or with it turned off) cannot make calls: it says
// so, turns its controls off, and never opens the signaling socket, so no
// offer can reach it.
if (typeof RTCPeerConnection !== 'function') {
  refuseCalls();
} else {
  setStatus('Connecting to the signaling server…');
  connectSignaling({
    onOpen() {
      sendOfferButton.disabled = false;
      setStatus('Connected to the signaling server. Turn on a device and press Send offer, or wait for an offer.');
    },
    onClose() {
      sendOfferButton.disabled = true;
    },
    onMessage: onSignalingMessage,
  });
}
// ANCHOR_END: noWebRTC
