// Step 08: leave the chat.
//
// Leave closes the connection and clears the other side's picture and sound.
// The other side is not told (step 13 adds that); it notices when its
// connection state becomes "disconnected" or "failed", and cleans up too.

import { setUpDevices } from './media.js';
import { handleAnswer, handleOffer, leave, sendOffer } from './peer.js';
import { connectSignaling } from './signaling.js';
import { refuseCalls, setStatus, showStates } from './ui.js';

const sendOfferButton = document.getElementById('send-offer');
const leaveButton = document.getElementById('leave');

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
leaveButton.addEventListener('click', leave);
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
