'use strict';

// Step 04: manual signaling, part 2: create the answer SDP.
//
// The other window pastes the offer: setRemoteDescription tells its
// connection what the offerer sends, createAnswer says what it agrees to, and
// (vanilla ICE again) the answer is shown once gathering is complete.
//
// What the steps before added is in the book, one chapter per step.

const statusText = document.getElementById('status');
const cameraBox = document.getElementById('camera');
const microphoneBox = document.getElementById('microphone');
const localVideo = document.getElementById('local-video');
const createOfferButton = document.getElementById('create-offer');
const offerSdpOut = document.getElementById('offer-sdp-out');
const offerSdpIn = document.getElementById('offer-sdp-in');
const createAnswerButton = document.getElementById('create-answer');
const answerSdpOut = document.getElementById('answer-sdp-out');
const pcStates = document.getElementById('pc-states');

// No ICE servers yet: two windows on one machine reach each other through
// their host candidates. Step 09 adds a STUN server for real networks.
const rtcConfiguration = { iceServers: [] };

// The connection to the other window. One at a time: a new attempt closes the old one.
let pc = null;

// The tracks this page has open, whatever device they come from.
const localStream = new MediaStream();

// What each checkbox controls. `request` counts getUserMedia calls so that an
// answer arriving after the box was turned off (or on again) is recognised as stale.
const devices = {
  video: { box: cameraBox, name: 'camera', request: 0 },
  audio: { box: microphoneBox, name: 'microphone', request: 0 },
};

// Shows what the page is doing, in words, and logs it for the console.
function setStatus(text) {
  statusText.textContent = text;
  console.log(`status: ${text}`);
}

// ANCHOR: showLocalVideo
// Puts the current camera track (if any) in the local <video>; with none, the
// element is emptied so it does not freeze on the last picture.
function showLocalVideo() {
  const videoTracks = localStream.getVideoTracks();
  localVideo.srcObject = videoTracks.length > 0 ? new MediaStream(videoTracks) : null;
}
// ANCHOR_END: showLocalVideo

// ANCHOR: describeMediaError
// A sentence a person can act on, for each way getUserMedia can fail.
function describeMediaError(error, name) {
  switch (error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Permission to use the ${name} was denied. Allow it in the browser's site settings, then tick the box again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${name} was found. Connect one, then tick the box again.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${name} could not be started: another program may be using it. Close that program, then tick the box again.`;
    default:
      return `The ${name} could not be started (${error.name}: ${error.message}).`;
  }
}
// ANCHOR_END: describeMediaError

async function startDevice(kind) {
  const device = devices[kind];
  const request = ++device.request;

  // getUserMedia exists only in secure contexts: https, or http on localhost.
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    device.box.checked = false;
    setStatus(`The ${device.name} needs a secure page: open it as http://localhost:… or over https.`);
    return;
  }

  setStatus(`Starting the ${device.name}…`);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
  } catch (error) {
    console.error(`getUserMedia(${kind}) failed:`, error);
    if (request === device.request) {
      device.box.checked = false;
      setStatus(describeMediaError(error, device.name));
    }
    return;
  }

  // The box was turned off, or turned off and on again, while we waited.
  if (request !== device.request || !device.box.checked) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }

  for (const track of stream.getTracks()) {
    // The device can vanish on its own: unplugged, or taken by the system.
    track.addEventListener('ended', () => {
      console.log(`${device.name} track ended by the browser`);
      if (localStream.getTrackById(track.id)) {
        stopDevice(kind);
        device.box.checked = false;
        setStatus(`The ${device.name} stopped (was it unplugged?). Tick the box to try again.`);
      }
    });
    localStream.addTrack(track);
    console.log(`${device.name} started: ${track.label}`);
  }
  showLocalVideo();
  setStatus(`The ${device.name} is on.`);
}

// ANCHOR: stopDevice
function stopDevice(kind) {
  const device = devices[kind];
  device.request++; // any getUserMedia still in flight is now stale
  const tracks = kind === 'video' ? localStream.getVideoTracks() : localStream.getAudioTracks();
  for (const track of tracks) {
    track.stop();
    localStream.removeTrack(track);
  }
  showLocalVideo();
  console.log(`${device.name} stopped`);
  setStatus(`The ${device.name} is off.`);
}
// ANCHOR_END: stopDevice

function onDeviceBoxChange(kind) {
  if (devices[kind].box.checked) {
    startDevice(kind);
  } else {
    stopDevice(kind);
  }
}

// Shows the four states of the connection in words, so the handshake can be watched.
function showStates() {
  if (!pc) {
    pcStates.textContent = 'No connection yet.';
    return;
  }
  pcStates.textContent =
    `signaling: ${pc.signalingState} · ICE gathering: ${pc.iceGatheringState} · ` +
    `ICE connection: ${pc.iceConnectionState} · connection: ${pc.connectionState}`;
}

// ANCHOR: newPeerConnection
// Makes a fresh connection (closing any earlier one) that logs every state change.
function newPeerConnection() {
  closePeerConnection();
  const connection = new RTCPeerConnection(rtcConfiguration);
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
      showStates();
    });
  }
  connection.addEventListener('icecandidate', (event) => {
    console.log(`ICE candidate: ${event.candidate ? event.candidate.candidate : '(gathering complete)'}`);
  });
  pc = connection;
  showStates();
  return connection;
}
// ANCHOR_END: newPeerConnection

function closePeerConnection() {
  if (!pc) return;
  pc.close();
  pc = null;
  console.log('peer connection closed');
  showStates();
}

// Sends every local track on `connection`.
function addLocalTracks(connection) {
  for (const track of localStream.getTracks()) {
    connection.addTrack(track, localStream);
  }
}

// ANCHOR: waitForIceGathering
// Vanilla ICE: resolves once gathering is complete, when the local description
// lists every candidate.
function waitForIceGathering(connection) {
  return new Promise((resolve) => {
    const check = () => {
      if (connection.iceGatheringState === 'complete') {
        connection.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
    };
    connection.addEventListener('icegatheringstatechange', check);
    check();
  });
}
// ANCHOR_END: waitForIceGathering

// ANCHOR: createOffer
async function createOffer() {
  if (localStream.getTracks().length === 0) {
    setStatus('Turn on the camera or the microphone first: the offer describes the media you will send.');
    return;
  }
  offerSdpOut.value = '';
  answerSdpOut.value = '';
  const connection = newPeerConnection();
  addLocalTracks(connection);
  setStatus('Creating the offer…');
  try {
    const offer = await connection.createOffer();
    await connection.setLocalDescription(offer);
    setStatus('Gathering ICE candidates…');
    await waitForIceGathering(connection);
  } catch (error) {
    console.error('creating the offer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`The offer could not be created (${error.message}). Try again.`);
    }
    return;
  }
  if (connection !== pc) return; // pressed again meanwhile: the newer attempt wins
  offerSdpOut.value = connection.localDescription.sdp;
  setStatus('The offer is ready: copy it into the other window.');
}
// ANCHOR_END: createOffer

// ANCHOR: checkPastedSdp
// Text from a textarea, with the CRLF line ends SDP requires (a textarea keeps only LF).
function pastedSdp(textarea) {
  const text = textarea.value.trim();
  return text === '' ? '' : `${text.replace(/\r?\n/g, '\r\n')}\r\n`;
}

// Says why `sdp` cannot be the `expected` description ('offer' or 'answer'),
// or returns null when it looks right. The browser checks the rest.
function sdpProblem(sdp, expected) {
  if (sdp === '') {
    return `Paste the ${expected} from the other window first.`;
  }
  if (!sdp.startsWith('v=0')) {
    return `That is not an SDP ${expected}: it should start with "v=0". Copy the whole text from the other window.`;
  }
  if (!/^m=/m.test(sdp) || !/^a=candidate:/m.test(sdp)) {
    return `That ${expected} is incomplete (no media or no ICE candidates): copy the whole text from the other window.`;
  }
  // An offer always says a=setup:actpass (RFC 8842); an answer chooses active or passive.
  const setup = sdp.match(/^a=setup:(\w+)/m)?.[1];
  if (expected === 'offer' && setup && setup !== 'actpass') {
    return 'That is an answer, not an offer: it goes back to the window that made the offer.';
  }
  if (expected === 'answer' && setup === 'actpass') {
    return 'That is an offer, not an answer: paste it into the offer box of the other window.';
  }
  return null;
}
// ANCHOR_END: checkPastedSdp

// ANCHOR: createAnswer
async function createAnswer() {
  const sdp = pastedSdp(offerSdpIn);
  const problem = sdpProblem(sdp, 'offer');
  if (problem) {
    setStatus(problem);
    return;
  }
  // This window now answers: any offer it made belongs to the connection closed below.
  offerSdpOut.value = '';
  answerSdpOut.value = '';
  const connection = newPeerConnection();
  setStatus('Reading the offer…');
  try {
    await connection.setRemoteDescription({ type: 'offer', sdp });
    // Our tracks go out on the transceivers of the offer's media sections
    // whether added before or after the offer is read (JSEP 5.10): after
    // keeps the order "read what they send, then add what we send".
    addLocalTracks(connection);
    const answer = await connection.createAnswer();
    await connection.setLocalDescription(answer);
    setStatus('Gathering ICE candidates…');
    await waitForIceGathering(connection);
  } catch (error) {
    console.error('creating the answer failed:', error);
    if (connection === pc) {
      closePeerConnection();
      setStatus(`That offer could not be used (${error.message}). Copy the whole offer again.`);
    }
    return;
  }
  if (connection !== pc) return; // pressed again meanwhile: the newer attempt wins
  answerSdpOut.value = connection.localDescription.sdp;
  setStatus('The answer is ready: copy it back into the window that made the offer.');
}
// ANCHOR_END: createAnswer

createOfferButton.addEventListener('click', createOffer);
createAnswerButton.addEventListener('click', createAnswer);
cameraBox.addEventListener('change', () => onDeviceBoxChange('video'));
microphoneBox.addEventListener('change', () => onDeviceBoxChange('audio'));

// A reload can keep checkboxes ticked from before; start from a known state.
cameraBox.checked = false;
microphoneBox.checked = false;
showStates();
setStatus('Ready. Tick Camera or Microphone, then create an offer (or paste one and answer it).');

// ANCHOR: noWebRTC
// A browser without WebRTC (or with it turned off) cannot make calls: say so
// in words and turn the controls off, instead of failing at the first click.
if (typeof RTCPeerConnection !== 'function') {
  for (const control of document.querySelectorAll('button, input, textarea')) control.disabled = true;
  setStatus('This browser cannot make calls: it has no WebRTC (RTCPeerConnection). Open the page in a current Chrome, Edge, Firefox or Safari.');
}
// ANCHOR_END: noWebRTC
