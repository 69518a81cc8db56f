// Who is speaking: each tile lights up while sound arrives from that member.
//
// The level comes from getStats(): an audio receiver's inbound-rtp report
// counts `totalAudioEnergy` (the sum of each sample's level squared times its
// duration) and `totalSamplesDuration`, in Chromium and Firefox alike. The
// difference between two readings gives the loudness of everything heard in
// between, so a short word between two readings is not missed (the level of
// the last packet alone, which getSynchronizationSources() offers, usually
// is).

import { setSpeaking } from './ui.js';

// How often the levels are read: often enough to follow speech, rarely
// enough to cost nothing.
const CHECK_EVERY_MS = 250;
// The loudness (root mean square, 0 to 1) above which a member counts as
// speaking: -40 dB, above the hiss of a quiet room, below a quiet voice.
const SPEAKING_LEVEL = 0.01;
// How long a tile stays lit after the last loud moment, so it does not
// flicker between words.
const HOLD_MS = 800;

// ANCHOR: speaking
// The sound energy and duration a receiver has played so far, and the
// packets of sound it has received. Step 20: every member's sound comes
// over the one connection to the server, so each is read from its own
// receiver (RTCRtpReceiver.getStats()), not from a connection per member.
async function audioTotals(receiver) {
  const totals = { energy: 0, duration: 0, packets: 0 };
  const stats = await receiver.getStats();
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'audio') {
      totals.energy += report.totalAudioEnergy ?? 0;
      totals.duration += report.totalSamplesDuration ?? 0;
      totals.packets += report.packetsReceived ?? 0;
    }
  });
  return totals;
}

// Every CHECK_EVERY_MS, lights the tile of each member heard in the last
// HOLD_MS. `calls()` returns each member's sound: [{ id, receiver, tile }].
export function startSpeakingIndicator(calls) {
  const heard = new Map(); // by member id: { receiver, totals, at }
  let busy = false; // a slow getStats() must not pile readings up
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const now = performance.now();
      const current = calls();
      for (const { id, receiver, tile } of current) {
        const totals = await audioTotals(receiver);
        const last = heard.get(id);
        const before = last?.receiver === receiver ? last : { totals, at: -Infinity };
        const energy = totals.energy - before.totals.energy;
        const duration = totals.duration - before.totals.duration;
        // No packet, no speech: when sound stops arriving the receiver plays
        // on for a moment, fading out what it last heard to hide the gap,
        // and that counts in the energy.
        const arrived = totals.packets > before.totals.packets;
        const loud = arrived && duration > 0 && Math.sqrt(energy / duration) > SPEAKING_LEVEL;
        const at = loud ? now : before.at;
        heard.set(id, { receiver, totals, at });
        // A member who told us their microphone is off is not speaking,
        // whatever sound from before still arrives late: a busy network or
        // machine can deliver it after the news.
        const microphoneOff = tile.element.dataset.microphone === 'off';
        setSpeaking(tile, !microphoneOff && now - at < HOLD_MS);
      }
      // Members who left are forgotten.
      const ids = new Set(current.map((call) => call.id));
      for (const id of heard.keys()) if (!ids.has(id)) heard.delete(id);
    } catch (error) {
      console.warn('could not read the sound levels:', error); // a connection closed meanwhile
    } finally {
      busy = false;
    }
  }, CHECK_EVERY_MS);
}
// ANCHOR_END: speaking
