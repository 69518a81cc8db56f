// Step 18: what people expect from a call.
//
// Step 17's rooms, with what every video-call product has: pickers for the
// camera and the microphone (pickers.js) and a Switch camera button for a
// phone's front and back cameras, switching mid-call by replacing the sent
// track (no renegotiation); sharing the screen in place of the camera
// (media.js); each tile saying when that member's camera or microphone is
// off, told over the data channel (chat.js), and lighting up while they
// speak (speaking.js); and your own picture mirrored, as in a mirror.

import { announceMediaState, setUpChat } from './chat.js';
import { leaveChat, myName, onJoinRefused, onWelcome, setJoinEnabled, setUpJoin } from './join.js';
import { setUpDevices, stopAllDevices } from './media.js';
import {
  activeCalls, callAgain, forgetEveryone, handleCandidate, handleDescription, hangUp, hangUpNow,
  onMemberLeft, onPeerJoined, trackReplaced, trackStarted, trackStopped,
} from './peer.js';
import { refreshPickers, setUpPickers } from './pickers.js';
import { connectSignaling } from './signaling.js';
import { startSpeakingIndicator } from './speaking.js';
import { refuseCalls, setStatus, showStates } from './ui.js';

const callAgainButton = document.getElementById('send-offer');
const leaveButton = document.getElementById('leave');

// ANCHOR: onSignalingMessage
// Every message from the server, handed to the module whose job it is.
async function applySignalingMessage(message) {
  switch (message.type) {
    case 'welcome':
      if (onWelcome(message.id)) forgetEveryone(); // a reconnect: we joined again
      break;
    case 'join':
      onPeerJoined(message.from, message.username);
      break;
    case 'offer':
    case 'answer':
      if (typeof message.sdp === 'string' && typeof message.call === 'string' && typeof message.from === 'string') return handleDescription(message);
      else console.warn(`ignored an ${message.type} without SDP or call id`);
      break;
    case 'candidate':
      if (message.candidate && typeof message.candidate === 'object') return handleCandidate(message.from, message.call, message.candidate);
      else console.warn('ignored a candidate message without a candidate');
      break;
    case 'leave':
      // From the server: a member left, closed the tab or lost its connection.
      onMemberLeft(message.from);
      break;
    case 'error':
      console.warn(`the server refused a message: ${message.code}: ${message.message}`);
      // The protocol has no join acknowledgement: these two answer our join.
      if (message.code === 'bad-name' || message.code === 'room-full') onJoinRefused(message.code, message.message);
      else setStatus(`The server refused a message: ${message.message}`);
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

// Leave: hang up, leave the chat and turn every device off (the join screen
// has no controls for them); Join brings you back.
async function leave() {
  const hungUp = hangUp();
  leaveChat();
  stopAllDevices();
  setStatus('Leaving…');
  await hungUp;
  setStatus('You left the chat. Press Join to come back.');
}

callAgainButton.addEventListener('click', callAgain);
leaveButton.addEventListener('click', leave);
// Closing or reloading the tab: no time to wait for anything, so just send.
window.addEventListener('pagehide', hangUpNow);
setUpDevices({
  onTrackStarted: trackStarted,
  onTrackStopped: trackStopped,
  onTrackReplaced: trackReplaced,
  onDevicesChanged() {
    announceMediaState();
    refreshPickers(); // names appear once a device is allowed
  },
});
startSpeakingIndicator(activeCalls);
setUpChat();
setUpJoin();
showStates([]);
// ANCHOR: noWebRTC
// A browser without WebRTC (or with it turned off) cannot make calls: it says
// so, turns its controls off, and never opens the signaling socket, so no
// offer can reach it.
if (typeof RTCPeerConnection !== 'function') {
  refuseCalls();
} else {
  // Only here: listing the devices enables each picker that has a choice,
  // which must not undo refuseCalls() above.
  setUpPickers();
  setStatus('Connecting to the signaling server…');
  connectSignaling({
    onOpen() {
      setJoinEnabled(true);
      callAgainButton.disabled = false;
      setStatus(myName ? 'Reconnected to the signaling server.' : 'Connected to the signaling server. Type your name and a room, and press Join.');
    },
    onClose() {
      setJoinEnabled(false);
      callAgainButton.disabled = true;
    },
    onMessage: onSignalingMessage,
  });
}
// ANCHOR_END: noWebRTC
