// Which STUN (and TURN) servers the connections use. They come from the
// server (GET /ice-servers), so an operator changes them without touching
// the pages.

import { setStatus } from './ui.js';

// ANCHOR: loadIceServers
// Resolves to the list of ICE servers. If it cannot be loaded the page uses
// none, which still works between windows on one network.
async function loadIceServers() {
  try {
    const response = await fetch('/ice-servers');
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const { iceServers } = await response.json();
    if (!Array.isArray(iceServers)) throw new Error('the answer has no iceServers list');
    console.log(`ICE servers: ${JSON.stringify(iceServers)}`);
    return iceServers;
  } catch (error) {
    console.error('could not load the ICE servers:', error);
    setStatus(`Could not load the ICE servers (${error.message}): calls will only work within one network.`);
    return [];
  }
}
// ANCHOR_END: loadIceServers

// Asked for once, as the page loads; every connection waits for the answer.
export const iceServersLoaded = loadIceServers();
