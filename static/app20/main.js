// Step 20: past the mesh, through a selective forwarding unit.
//
// Step 19's page, with one connection for the whole room: to the server,
// whose SFU forwards each member's camera and microphone to every other
// member (peer.js). The chat and the camera and microphone state go
// through the signaling server, since there is no connection to each
// member to carry them (chat.js, peer.js).

import { onChatMessage, setUpChat } from './chat.js';
import {
  leaveChat, myName, onJoinRefused, onResumed, onResumeRefused, onWelcome, setJoinEnabled, setUpJoin,
} from './join.js';
import { setUpDevices, stopAllDevices } from './media.js';
import {
  activeCalls, announceMediaState, callAgain, handleMediaDescription, hangUp, memberIds, memberName,
  onJoined, onMediaFailed, onMemberLeft, onMemberMedia, onPeerJoined, reconcileMembers, trackReplaced,
  trackStarted, trackStopped,
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
    case 'media-offer':
    case 'media-answer':
      if (typeof message.sdp === 'string') return handleMediaDescription(message);
      else console.warn(`ignored a ${message.type} without SDP`);
      break;
    case 'media':
      onMemberMedia(message);
      break;
    case 'chat':
      onChatMessage(message);
      break;
    case 'leave':
      // From the server: a member left, closed the tab or lost its connection.
      onMemberLeft(message.from);
      break;
    case 'error':
      console.warn(`the server refused a message: ${message.code}: ${message.message}`);
      // The protocol has no join acknowledgement: these two answer our join.
      if (message.code === 'bad-name' || message.code === 'room-full') {
        hangUp(); // the connection to the server that the join started
        onJoinRefused(message.code, message.message);
      } else if (message.code === 'not-joined' && myName === null) {
        // Our media offer, sent right after a join the server refused.
      } else if (message.code === 'bad-token') onResumeRefused();
      else if (message.code === 'media-failed') onMediaFailed(message.message);
      else if (message.code === 'peer-away') {
        // A member's socket dropped: they will resume, or the server says `leave`.
      } else setStatus(`The server refused a message: ${message.message}`);
      break;
    default:
      console.warn(`ignored a message of type ${message.type}`);
  }
}
// ANCHOR_END: onSignalingMessage

// ANCHOR: inOrder
// Messages are applied one at a time, in the order they came: each waits
// until the one before it is done. So an offer of the server's is read only
// after the answer before it has been set, and no message is read halfway
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
function leave() {
  hangUp();
  leaveChat();
  stopAllDevices();
  setStatus('You left the chat. Press Join to come back.');
}

callAgainButton.addEventListener('click', callAgain);
leaveButton.addEventListener('click', leave);
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
setUpChat({ memberIds, memberName });
setUpJoin({ onJoined });
showStates({ pc: null }, []);
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
