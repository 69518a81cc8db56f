// The connection to the other window: making it, the offer and the answer
// that set it up, and closing it. This module owns `pc`.

import { closeChatChannel, useChatChannel } from './chat.js';
import { iceServersLoaded, relayRefusalNote, watchIceServerErrors } from './ice-servers.js';
import { localStream } from './media.js';
import { sendSignal } from './signaling.js';
import { clearRemoteMedia, setStatus, showRemoteTrack, showStates } from './ui.js';

// The connection to the other window. One at a time: a new attempt closes the old one.
let pc = null;

// ANCHOR: newPeerConnection
// Makes a fresh connection (closing any earlier one) that logs every state change.
function newPeerConnection(iceServers) {
  closePeerConnection();
  // `max-bundle`: one transport carries all the connection carries, so
  // candidates are gathered, and a TURN relay allocated, once per connection
  // instead of once for each kind of media in it.
  const connection = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
  watchIceServerErrors(connection);
  const stateEvents = [
    'signalingstatechange',
    'icegatheringstatechange',
    'iceconnectionstatechange',
    'connectionstatechange',
  ];
  for (const eventName of stateEvents) {
    connection.addEventListener(eventName, () => {
      if (connection !== pc) return; // an old connection's last words
      console.log(`${eventName}: signaling=${connection.signalingState} gathering=${connection.iceGatheringState} ` +
        `ice=${connection.iceConnectionState} connection=${connection.connectionState}`);
      showStates(connection);
    });
  }
  connection.addEventListener('connectionstatechange', () => {
    if (connection === pc) describeConnectionState(connection.connectionState);
  });
  connection.addEventListener('track', (event) => {
    if (connection === pc) showRemoteTrack(event);
  });
  // The answering side learns of the offerer's channel here.
  connection.addEventListener('datachannel', (event) => {
    if (connection !== pc) return;
    if (event.channel.label === 'chat') {
      useChatChannel(event.channel);
    } else {
      console.warn(`ignored a data channel labelled ${event.channel.label}`);
      event.channel.close();
    }
  });
  // ANCHOR: trickle
  connection.addEventListener('icecandidate', (event) => {
    console.log(`ICE candidate: ${event.candidate ? event.candidate.candidate : '(gathering complete)'}`);
    // Trickle: each candidate goes out as soon as it is found.
    if (connection === pc && event.candidate) {
      sendSignal({ type: 'candidate', candidate: event.candidate.toJSON() });
    }
  });
  // ANCHOR_END: trickle
  pc = connection;
  showStates(pc);
  return connection;
}
// ANCHOR_END: newPeerConnection

// ANCHOR: describeConnectionState
// Puts the connection state, the one that sums up ICE and DTLS, into words.
function describeConnectionState(state) {
  switch (state) {
    case 'connecting':
      setStatus('Connecting: checking candidate pairs and securing the connection…');
      break;
    case 'connected':
      setStatus('Connected: the connection state is "connected".');
      break;
    case 'disconnected':
    case 'failed':
      // Nothing tells this page that the other side left (step 13 adds a
      // message for it), so a lost connection is taken to mean it did.
      closePeerConnection();
      setStatus(`The other side left (the connection became ${state}). Send an offer to call again.${relayRefusalNote()}`);
      break;
    default:
      break;
  }
}
// ANCHOR_END: describeConnectionState

function closePeerConnection() {
  if (!pc) return;
  closeChatChannel();
  pc.close();
  pc = null;
  clearRemoteMedia();
  console.log('peer connection closed');
  showStates(pc);
}

// Sends every local track on `connection`.
function addLocalTracks(connection) {
  for (const track of localStream.getTracks()) {
    connection.addTrack(track, localStream);
  }
}

// ANCHOR: handleCandidate
// A candidate from the other side. main.js applies messages in order, so the
// offer or answer it follows has been set already.
export async function handleCandidate(candidate) {
  if (!pc) {
    console.warn('ignored a candidate: there is no call');
    return;
  }
  await addCandidate(pc, candidate);
}

async function addCandidate(connection, candidate) {
  try {
    await connection.addIceCandidate(candidate);
  } catch (error) {
    // One bad candidate must not end the call: the others may still connect.
    console.warn('ignored a candidate the browser refused:', error);
  }
}
// ANCHOR_END: handleCandidate

// ANCHOR: sendOffer
export async function sendOffer() {
  if (localStream.getTracks().length === 0) {
    setStatus('Turn on the camera or the microphone first: the offer describes the media you will send.');
    return;
  }
  const connection = newPeerConnection(await iceServersLoaded);
  addLocalTracks(connection);
  // Created before the offer, so the offer includes the data section.
  useChatChannel(connection.createDataChannel('chat'));
  setStatus('Creating the offer…');
  try {
    await connection.setLocalDescription(await connection.createOffer());
  } catch (error) {
    console.error('creating the offer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`The offer could not be created (${error.message}). Try again.`);
    }
    return;
  }
  if (connection !== pc) return; // pressed again meanwhile: the newer attempt wins
  if (sendSignal({ type: 'offer', sdp: connection.localDescription.sdp })) {
    setStatus('Offer sent: waiting for the answer…');
  }
}
// ANCHOR_END: sendOffer

// ANCHOR: handleOffer
export async function handleOffer(sdp) {
  const connection = newPeerConnection(await iceServersLoaded);
  setStatus('Received an offer: answering…');
  try {
    await connection.setRemoteDescription({ type: 'offer', sdp });
    // Our tracks go out on the transceivers of the offer's media sections
    // whether added before or after the offer is read (JSEP 5.10): after
    // keeps the order "read what they send, then add what we send".
    addLocalTracks(connection);
    await connection.setLocalDescription(await connection.createAnswer());
  } catch (error) {
    console.error('answering the offer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`Could not answer the offer (${error.message}).`);
    }
    return;
  }
  if (connection !== pc) return; // a newer offer replaced this one
  if (sendSignal({ type: 'answer', sdp: connection.localDescription.sdp })) {
    setStatus('Answer sent: connecting…');
  }
}
// ANCHOR_END: handleOffer

// ANCHOR: handleAnswer
export async function handleAnswer(sdp) {
  if (!pc || pc.signalingState !== 'have-local-offer') {
    console.warn(`ignored an answer: no offer is waiting (signaling state ${pc ? pc.signalingState : 'none'})`);
    return;
  }
  const connection = pc;
  try {
    await connection.setRemoteDescription({ type: 'answer', sdp });
  } catch (error) {
    console.error('setting the answer failed:', error);
    if (connection === pc) setStatus(`The answer could not be used (${error.message}). Send a new offer.`);
  }
}
// ANCHOR_END: handleAnswer

// ANCHOR: leave
export function leave() {
  if (!pc) {
    setStatus('There is no call to leave.');
    return;
  }
  closePeerConnection();
  setStatus('You left the call. Send an offer to call again.');
}
// ANCHOR_END: leave
