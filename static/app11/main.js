// Step 11: send your own data: a text chat.
//
// Besides audio and video, a peer connection can carry data. The offering
// side creates one reliable, ordered RTCDataChannel labelled "chat"; the
// answering side receives it in a `datachannel` event. Chat lines then go
// straight from browser to browser. The chat is its own module, chat.js.

import { setUpChat } from './chat.js';
import { setUpDevices } from './media.js';
import { handleAnswer, handleCandidate, handleOffer, leave, sendOffer } from './peer.js';
import { connectSignaling } from './signaling.js';
import { refuseCalls, setStatus, showStates } from './ui.js';

const sendOfferButton = document.getElementById('send-offer');
const leaveButton = document.getElementById('leave');

// ANCHOR: onSignalingMessage
// Every message from the server, handed to the module whose job it is.
async function applySignalingMessage(message) {
  switch (message.type) {
    case 'offer':
      if (typeof message.sdp === 'string') return handleOffer(message.sdp);
      else console.warn('ignored an offer without SDP');
      break;
    case 'answer':
      if (typeof message.sdp === 'string') return handleAnswer(message.sdp);
      else console.warn('ignored an answer without SDP');
      break;
    case 'candidate':
      if (message.candidate && typeof message.candidate === 'object') return handleCandidate(message.candidate);
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
setUpDevices();
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
