// Step 07: automatic signaling through the server.
//
// The page opens a WebSocket to the server's /ws, and the offer and the
// answer travel through it as JSON messages, {type: 'offer' | 'answer', sdp},
// instead of being copied by hand. The server relays each message to every
// other connected page, so this step is for two windows. From this step the
// script is split into ES modules, one job each: media.js (the devices),
// signaling.js (the socket), peer.js (the connection), ui.js (the screen),
// and this file, which only wires them together.

import { setUpDevices } from './media.js';
import { handleAnswer, handleOffer, sendOffer } from './peer.js';
import { connectSignaling } from './signaling.js';
import { refuseCalls, setStatus, showStates } from './ui.js';

const sendOfferButton = document.getElementById('send-offer');

// ANCHOR: onSignalingMessage
// Every message from the server, handed to the module whose job it is.
function onSignalingMessage(message) {
  switch (message.type) {
    case 'offer':
      if (typeof message.sdp === 'string') handleOffer(message.sdp);
      else console.warn('ignored an offer without SDP');
      break;
    case 'answer':
      if (typeof message.sdp === 'string') handleAnswer(message.sdp);
      else console.warn('ignored an answer without SDP');
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

sendOfferButton.addEventListener('click', sendOffer);
setUpDevices();
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
