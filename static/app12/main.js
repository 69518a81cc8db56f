// Step 12: stop and resume the camera or microphone mid-call.
//
// A call can change after it starts. media.js now tells peer.js when a device
// turns on or off: off replaces its track with none (replaceTrack(null)); on
// puts the new track on the same transceiver, so nothing piles up. When the
// call itself must change, the connection fires `negotiationneeded` and a new
// offer/answer follows, from either side. "Perfect negotiation" in peer.js
// settles two offers crossing: the polite side (the one that was called)
// rolls its own back and answers; the impolite side ignores the other's.
// Every message carries the call's id, so a renegotiation is never mistaken
// for a new call.

import { setUpChat } from './chat.js';
import { setUpDevices } from './media.js';
import { handleCandidate, handleDescription, leave, sendOffer, trackStarted, trackStopped } from './peer.js';
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
