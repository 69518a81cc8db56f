// The camera and the microphone: the two checkboxes, the tracks they open,
// and the local preview. This module owns `localStream`; the others only
// read it, and hear of each track that starts or stops through `handlers`.

import { setStatus } from './ui.js';

const cameraBox = document.getElementById('camera');
const microphoneBox = document.getElementById('microphone');
const localVideo = document.getElementById('local-video');

// The tracks this page has open, whatever device they come from.
export const localStream = new MediaStream();

// What each checkbox controls. `request` counts getUserMedia calls so that an
// answer arriving after the box was turned off (or on again) is recognised as stale.
const devices = {
  video: { box: cameraBox, name: 'camera', request: 0 },
  audio: { box: microphoneBox, name: 'microphone', request: 0 },
};

// What to do when a track starts or stops: set by setUpDevices().
let handlers = { onTrackStarted() {}, onTrackStopped() {} };

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
    handlers.onTrackStarted(track); // mid-call: the other side gets it too
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
    handlers.onTrackStopped(track);
    track.stop();
    localStream.removeTrack(track);
  }
  showLocalVideo();
  console.log(`${device.name} stopped`);
  setStatus(`The ${device.name} is off.`);
}
// ANCHOR_END: stopDevice

// ANCHOR: stopAllDevices
// Leaving the chat hides the boxes, so nothing may stay on that a person can
// no longer see or turn off: every device is stopped and its box unticked.
export function stopAllDevices() {
  for (const kind of ['video', 'audio']) {
    devices[kind].box.checked = false;
    stopDevice(kind); // also makes a getUserMedia still in flight stale
  }
}
// ANCHOR_END: stopAllDevices

function onDeviceBoxChange(kind) {
  if (devices[kind].box.checked) {
    startDevice(kind);
  } else {
    stopDevice(kind);
  }
}

// Makes the two checkboxes work. `trackHandlers` has onTrackStarted(track)
// and onTrackStopped(track).
export function setUpDevices(trackHandlers) {
  handlers = trackHandlers;
  cameraBox.addEventListener('change', () => onDeviceBoxChange('video'));
  microphoneBox.addEventListener('change', () => onDeviceBoxChange('audio'));
  // A reload can keep checkboxes ticked from before; start from a known state.
  cameraBox.checked = false;
  microphoneBox.checked = false;
}
