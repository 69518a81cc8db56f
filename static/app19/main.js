// Step 19: calls that survive.
//
// Step 18's call, made to outlast what goes wrong on real networks: a call
// whose path dies restarts ICE by itself (recovery.js, from peer.js); a
// signaling socket that drops takes its place in the room back with the
// server's resume token (join.js); and after a server restart every page
// joins again while the calls, which never needed the server for their
// media, go on (peer.js recognises a member who joined again by what it
// says over the call itself).

import { announceMediaState, setUpChat } from './chat.js';
import {
  leaveChat, myName, onJoinRefused, onResumed, onResumeRefused, onWelcome, setJoinEnabled, setUpJoin,
} from './join.js';
import { setUpDevices, stopAllDevices } from './media.js';
import {
  activeCalls, callAgain, handleCandidate, handleDescription, hangUp, hangUpNow, onMemberLeft,
  onPeerJoined, reconcileMembers, rejoinedUnderNewId, trackReplaced, trackStarted,
  trackStopped,
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
      onWelcome(message.id, message.resume);
      break;
    case 'resumed':
      onResumed(message.id, message.resume);
      reconcileMembers(message.members);
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
      else if (message.code === 'bad-token') {
        onResumeRefused();
        rejoinedUnderNewId();
      } else if (message.code === 'peer-away') {
        // A member's socket dropped: recovery.js tries again in a moment.
      } else setStatus(`The server refused a message: ${message.message}`);
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
