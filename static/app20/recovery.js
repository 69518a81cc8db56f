// Step 19: bringing a call back when its network path dies.
//
// A connection whose path stops working goes "disconnected" (checks went
// unanswered for a few seconds; it may come back by itself) and then
// "failed" (ICE gave up). Either way the remedy is an ICE restart: new
// credentials, new candidates gathered and checked, through one more
// offer/answer, while everything else about the connection stays.
// peer.js calls `onConnectionState` on every change of a call's state and
// gives it what to do: `restart` (an ICE restart, or waiting for the other
// side's, see peer.js), `giveUp` (end the call as before) and `changed`
// (redraw the tile).

import { setStatus } from './ui.js';

// ANCHOR: timers
// "disconnected" can come from a single lost check and often heals by
// itself: wait this long before restarting.
export const RESTART_AFTER_DISCONNECTED_MS = 3000;
// An offer can be lost (a signaling socket may be down just then): while
// the call stays down, try again this often.
export const RESTART_RETRY_MS = 5000;
// With no working path after this long, the call ends as before step 19.
export const RECOVERY_LIMIT_MS = 30000;
// ANCHOR_END: timers

// ANCHOR: onConnectionState
// peer.recovery is null while the call is fine, and { since, timer,
// attempts } while it is being brought back.
export function onConnectionState(peer, connection, hooks) {
  const state = connection.connectionState;
  if (state === 'connected') {
    if (peer.recovery) {
      console.log(`${peer.name}: recovered after ${Date.now() - peer.recovery.since} ms ` +
        `and ${peer.recovery.attempts} ICE restart(s)`);
      stopRecovery(peer);
      hooks.changed();
    }
  } else if (state === 'disconnected' && !peer.recovery) {
    startRecovery(peer, connection, hooks, RESTART_AFTER_DISCONNECTED_MS);
    setStatus(`The connection to ${peer.name} was interrupted; reconnecting…`);
  } else if (state === 'failed') {
    recoverNow(peer, connection, hooks);
    setStatus(`The connection to ${peer.name} failed; reconnecting…`);
  }
}
// ANCHOR_END: onConnectionState

// The signaling server is reachable again (after a resume or a new join):
// a call that is down restarts now rather than at its next retry, since its
// last offer may have been lost on the way.
export function recoverNow(peer, connection, hooks) {
  if (connection.connectionState === 'connected' || connection.connectionState === 'new') return;
  if (!peer.recovery) startRecovery(peer, connection, hooks, 0);
  else schedule(peer, connection, hooks, 0);
}

export function stopRecovery(peer) {
  if (!peer.recovery) return;
  clearTimeout(peer.recovery.timer);
  peer.recovery = null;
}

function startRecovery(peer, connection, hooks, firstDelay) {
  peer.recovery = { since: Date.now(), timer: null, attempts: 0 };
  schedule(peer, connection, hooks, firstDelay);
  hooks.changed();
}

function schedule(peer, connection, hooks, delay) {
  clearTimeout(peer.recovery.timer);
  peer.recovery.timer = setTimeout(() => attempt(peer, connection, hooks), delay);
}

// ANCHOR: attempt
async function attempt(peer, connection, hooks) {
  if (connection !== peer.pc || !peer.recovery) return; // the call ended meanwhile
  if (connection.connectionState === 'connected') {
    stopRecovery(peer);
    hooks.changed();
    return;
  }
  if (Date.now() - peer.recovery.since >= RECOVERY_LIMIT_MS) {
    console.log(`${peer.name}: no path after ${RECOVERY_LIMIT_MS} ms: giving up`);
    stopRecovery(peer);
    hooks.giveUp();
    return;
  }
  peer.recovery.attempts++;
  console.log(`${peer.name}: call down; recovery attempt ${peer.recovery.attempts}`);
  schedule(peer, connection, hooks, RESTART_RETRY_MS);
  await hooks.restart(peer.recovery.attempts);
}
// ANCHOR_END: attempt
