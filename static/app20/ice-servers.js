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

// ANCHOR: watchIceServerErrors
// What a TURN relay last refused, in words, or '' while none has. A call can
// still connect without the relay (a direct path may work), so the refusal
// is kept and said again if a call fails: without it, a wrong TURN secret
// looks like a call that never connects, for no reason given.
let relayRefusal = '';

// Listens for `connection`'s ICE server errors (icecandidateerror). Each
// goes to the console; a relay's refusal also goes on the page.
export function watchIceServerErrors(connection) {
  connection.addEventListener('icecandidateerror', (event) => {
    // The STUN error code and its reason, e.g. "401 Unauthorized".
    const answer = `${event.errorCode} ${event.errorText}`.trim().replace(/\.$/, '');
    console.warn(`ICE server error: ${event.url} answered ${answer}`);
    // 701 is not a refusal: this network interface could not reach the
    // server at all, and another interface may have.
    if (event.errorCode === 701 || !event.url.startsWith('turn')) return;
    relayRefusal = event.errorCode === 401
      ? `The TURN relay ${event.url} refused this page's credential (${answer}), so calls cannot use it: ` +
        "the server's TURN_SECRET must be coturn's static-auth-secret."
      : `The TURN relay ${event.url} refused to relay (${answer}), so calls cannot use it.`;
    setStatus(relayRefusal);
  });
}

// The relay's refusal as a sentence to add to a failed call's message, or ''.
export function relayRefusalNote() {
  return relayRefusal ? ` ${relayRefusal}` : '';
}
// ANCHOR_END: watchIceServerErrors
