// The camera and microphone pickers, and the Switch camera button: filled
// from the browser's list of devices, kept current as devices come and go.
// Choosing one is media.js's business (chooseDevice).

import { chooseDevice, devicesInUse } from './media.js';

const pickers = {
  video: { select: document.getElementById('camera-select'), name: 'Camera' },
  audio: { select: document.getElementById('microphone-select'), name: 'Microphone' },
};
const switchCameraButton = document.getElementById('switch-camera');

// The cameras found last time, in the browser's order.
let cameras = [];

// ANCHOR: refreshPickers
// Lists the devices again. Until the person has allowed a camera or
// microphone, browsers hide the devices' names (and often all but one of
// them), so this runs again after every device starts, and whenever the
// browser says a device was plugged in or out (`devicechange`).
export async function refreshPickers() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  let all;
  try {
    all = await navigator.mediaDevices.enumerateDevices();
  } catch (error) {
    console.warn('could not list the devices:', error);
    return;
  }
  const inUse = devicesInUse();
  for (const kind of ['video', 'audio']) {
    const { select, name } = pickers[kind];
    const found = all.filter((device) => device.kind === `${kind}input` && device.deviceId !== '');
    const options = found.map((device, index) => {
      const option = document.createElement('option');
      option.value = device.deviceId;
      option.textContent = device.label || `${name} ${index + 1}`; // a label is text, never HTML
      return option;
    });
    if (options.length === 0) {
      const option = document.createElement('option');
      option.value = '';
      option.textContent = 'Default';
      options.push(option);
    }
    select.replaceChildren(...options);
    if (found.some((device) => device.deviceId === inUse[kind])) select.value = inUse[kind];
    select.disabled = found.length < 2;
    if (kind === 'video') cameras = found;
  }
  // On a phone the front and back cameras are two devices: one button
  // switches between them without opening the list.
  switchCameraButton.hidden = cameras.length < 2;
}
// ANCHOR_END: refreshPickers

// The next camera in the list after the one in use.
function switchCamera() {
  if (cameras.length < 2) return;
  const current = cameras.findIndex((camera) => camera.deviceId === devicesInUse().video);
  const next = cameras[(current + 1) % cameras.length];
  pickers.video.select.value = next.deviceId;
  chooseDevice('video', next.deviceId);
}

export function setUpPickers() {
  for (const kind of ['video', 'audio']) {
    const { select } = pickers[kind];
    select.addEventListener('change', () => chooseDevice(kind, select.value));
  }
  switchCameraButton.addEventListener('click', switchCamera);
  navigator.mediaDevices?.addEventListener?.('devicechange', refreshPickers);
  refreshPickers();
}
