// The camera, the microphone and the shared screen: the checkboxes, which
// device each uses, the tracks they open, and the local preview. This module
// owns `localStream`: what this page sends. The others only read it, and hear
// of each sent track that starts, stops or is replaced through `handlers`.

import { setStatus } from './ui.js';

const cameraBox = document.getElementById('camera');
const microphoneBox = document.getElementById('microphone');
const localVideo = document.getElementById('local-video');
const shareButton = document.getElementById('share-screen');

// What this page sends: the microphone's track, and the camera's or, while
// the screen is shared, the screen's. Every connection sends exactly these.
export const localStream = new MediaStream();

// What each checkbox controls. `track` is the device's open track (the
// camera's stays open while the screen is shared in its place), `deviceId`
// the device chosen in the picker (null: the browser's default), and
// `request` counts getUserMedia calls so that an answer arriving after the
// box was turned off (or on again) is recognised as stale.
const devices = {
  video: { box: cameraBox, name: 'camera', track: null, deviceId: null, request: 0 },
  audio: { box: microphoneBox, name: 'microphone', track: null, deviceId: null, request: 0 },
};

// The shared screen's track, while the screen is shared.
let screenTrack = null;

// What to do when a sent track starts, stops or is replaced, and when a
// device's state changes: set by setUpDevices().
let handlers = {
  onTrackStarted() {},
  onTrackStopped() {},
  onTrackReplaced() {},
  onDevicesChanged() {},
};

// ANCHOR: sentTracks
// Makes `localStream` hold what should be sent now, and tells the calls what
// changed. A picture that changes source (camera to screen, one camera to
// another) is *replaced*: the connections swap it on the sender they already
// have, with no renegotiation.
function updateSentTracks() {
  const wanted = { audio: devices.audio.track, video: screenTrack ?? devices.video.track };
  for (const kind of ['audio', 'video']) {
    // null, not undefined, when nothing is sent: compared with `next` below.
    const sent = (kind === 'video' ? localStream.getVideoTracks()[0] : localStream.getAudioTracks()[0]) ?? null;
    const next = wanted[kind];
    if (sent === next) continue;
    if (sent) localStream.removeTrack(sent);
    if (next) localStream.addTrack(next);
    if (sent && next) handlers.onTrackReplaced(sent, next);
    else if (next) handlers.onTrackStarted(next);
    else handlers.onTrackStopped(sent);
  }
  showLocalVideo();
  handlers.onDevicesChanged();
}
// ANCHOR_END: sentTracks

// ANCHOR: showLocalVideo
// Shows what we send in the local <video>, mirrored when it is the camera:
// people expect to see themselves as in a mirror. A shared screen is shown
// as it is (its text would read backwards), and the others always see the
// camera unmirrored, as the world sees us.
function showLocalVideo() {
  const videoTracks = localStream.getVideoTracks();
  localVideo.srcObject = videoTracks.length > 0 ? new MediaStream(videoTracks) : null;
  localVideo.classList.toggle('mirrored', screenTrack === null);
  shareButton.textContent = screenTrack ? 'Stop sharing' : 'Share screen';
  shareButton.setAttribute('aria-pressed', String(screenTrack !== null));
}
// ANCHOR_END: showLocalVideo

// What the tiles of the others show about us: sound on, picture on.
export function mediaState() {
  return {
    camera: localStream.getVideoTracks().length > 0,
    microphone: localStream.getAudioTracks().length > 0,
    screen: screenTrack !== null,
  };
}

// The device ids in use now, for the pickers.
export function devicesInUse() {
  return {
    video: devices.video.track?.getSettings().deviceId ?? devices.video.deviceId,
    audio: devices.audio.track?.getSettings().deviceId ?? devices.audio.deviceId,
  };
}

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

// The constraints for `kind`: the chosen device, or any.
function constraintsFor(kind) {
  const deviceId = devices[kind].deviceId;
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

// Opens the device of `kind` (the chosen one) and sends it.
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
    stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind) });
  } catch (error) {
    console.error(`getUserMedia(${kind}) failed:`, error);
    if (request === device.request) {
      device.box.checked = false;
      if (device.track) stopDevice(kind); // the one we were switching from
      setStatus(describeMediaError(error, device.name));
      handlers.onDevicesChanged();
    }
    return;
  }

  // The box was turned off, or turned off and on again, or another device
  // chosen, while we waited.
  if (request !== device.request || !device.box.checked) {
    stream.getTracks().forEach((track) => track.stop());
    return;
  }

  const [track] = stream.getTracks();
  useDeviceTrack(kind, track); // mid-call: the others get it too
  console.log(`${device.name} started: ${track.label}`);
  setStatus(screenTrack && kind === 'video'
    ? 'The camera is on; the others see it when you stop sharing your screen.'
    : `The ${device.name} is on: ${track.label || 'the default device'}.`);
}

// Makes `track` the device's open track, sent from now on in place of the
// one before, which is stopped.
function useDeviceTrack(kind, track) {
  const device = devices[kind];
  // The device can vanish on its own: unplugged, or taken by the system.
  track.addEventListener('ended', () => {
    console.log(`${device.name} track ended by the browser`);
    if (device.track === track) {
      stopDevice(kind);
      device.box.checked = false;
      setStatus(`The ${device.name} stopped (was it unplugged?). Tick the box to try again.`);
    }
  });
  const previous = device.track;
  device.track = track;
  updateSentTracks();
  previous?.stop();
}

// ANCHOR: stopDevice
function stopDevice(kind) {
  const device = devices[kind];
  device.request++; // any getUserMedia still in flight is now stale
  const track = device.track;
  device.track = null;
  updateSentTracks();
  track?.stop();
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

// ANCHOR: chooseDevice
// The picker chose another camera or microphone. If that device is on, the
// old one is stopped and the new one opened and sent in its place, on the
// same senders. Stopped first, because phones cannot hold two cameras open
// (iOS Safari ends the first when a second starts): the others' picture
// pauses for a moment rather than the switch failing.
export async function chooseDevice(kind, deviceId) {
  const device = devices[kind];
  device.deviceId = deviceId || null;
  const old = device.track;
  if (!old || old.getSettings().deviceId === deviceId) return;
  old.stop(); // stays on the senders until the new one replaces it
  await startDevice(kind);
}
// ANCHOR_END: chooseDevice

// ANCHOR: shareScreen
// Shares the screen (a window or a tab, as the person picks) in place of the
// camera: the same video sender carries it, so nothing is renegotiated and
// each member's tile simply shows the screen. The browser's own "Stop
// sharing" ends the track; either way the camera comes back if it is on.
async function shareScreen() {
  if (screenTrack) return;
  if (!navigator.mediaDevices?.getDisplayMedia) {
    setStatus('This browser cannot share the screen (no getDisplayMedia): try a desktop Chrome, Edge or Firefox.');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    // Pressing Cancel in the browser's picker lands here too.
    console.warn('getDisplayMedia failed:', error);
    setStatus(error.name === 'NotAllowedError'
      ? 'Screen sharing was cancelled or not allowed.'
      : `The screen could not be shared (${error.name}: ${error.message}).`);
    return;
  }
  const [track] = stream.getVideoTracks();
  track.addEventListener('ended', () => {
    if (screenTrack === track) stopSharing();
  });
  screenTrack = track;
  updateSentTracks();
  console.log(`sharing the screen: ${track.label}`);
  setStatus('You are sharing your screen. Press Stop sharing (or the browser\'s own button) to end it.');
}

function stopSharing() {
  const track = screenTrack;
  if (!track) return;
  screenTrack = null;
  updateSentTracks();
  track.stop();
  console.log('stopped sharing the screen');
  setStatus(devices.video.track ? 'Stopped sharing: the others see your camera again.' : 'Stopped sharing your screen.');
}
// ANCHOR_END: shareScreen

// ANCHOR: stopAllDevices
// Leaving the chat hides the boxes and the Share screen button, so nothing
// may stay on that a person can no longer see or turn off: the shared screen
// and every device are stopped, and the boxes unticked.
export function stopAllDevices() {
  stopSharing();
  for (const kind of ['video', 'audio']) {
    devices[kind].box.checked = false;
    stopDevice(kind); // also makes a getUserMedia still in flight stale
  }
}
// ANCHOR_END: stopAllDevices

// Makes the two checkboxes and the Share screen button work. `mediaHandlers` has onTrackStarted(track),
// onTrackStopped(track), onTrackReplaced(oldTrack, newTrack) and
// onDevicesChanged().
export function setUpDevices(mediaHandlers) {
  handlers = mediaHandlers;
  cameraBox.addEventListener('change', () => onDeviceBoxChange('video'));
  microphoneBox.addEventListener('change', () => onDeviceBoxChange('audio'));
  shareButton.addEventListener('click', () => (screenTrack ? stopSharing() : shareScreen()));
  // Phones' browsers cannot share the screen: no button rather than one that fails.
  shareButton.hidden = !navigator.mediaDevices?.getDisplayMedia;
  // A reload can keep checkboxes ticked from before; start from a known state.
  cameraBox.checked = false;
  microphoneBox.checked = false;
  showLocalVideo();
}
