// Installed by the test harness in every page before the page's own scripts
// run (CDP Page.addScriptToEvaluateOnNewDocument). It only observes, so the
// page behaves as it does for a person, except where a test plans a failure.
//
// window.__probe offers:
//   console          the page's console lines (and uncaught errors, CSP violations)
//   timeline         the same lines as [ms since the epoch, line], so the
//                    call-setup bench can lay two pages' lines side by side
//   sockets          the URL of every WebSocket the page opened
//   peerConnections  every RTCPeerConnection the page created
//   tracks           every track getUserMedia handed the page
//   screenTracks     every track getDisplayMedia handed the page
//   unplug(kind)     enumerateDevices lists only the first device of kind
//                    ('videoinput', 'audioinput') from now on
//   plugIn()         lists every device again and fires `devicechange`, as
//                    when a person plugs a device in
//   failNext(kind, errorName)  the next getUserMedia asking for kind rejects
//                    with a DOMException of that name (denied, missing, busy)
//   videoFrames(selector, wanted, timeoutMs)  frames presented by a <video>
//   inbound(kind)    summed inbound-rtp counters of every peer connection
//   inboundEach(kind)  the same counters for each open connection
//   inboundByTile(kind)  the same counters for each member's tile, by the
//                    name on it, from the receiver of the tile's track
//                    (step 20: every member comes over one connection)
//   outbound(kind)   the open connections' outbound-rtp reports of kind:
//                    how many, their bytesSent summed, and why the
//                    browser holds the video back (qualityLimitationReason:
//                    none, cpu, bandwidth; Chromium only)
//   selectedPair()   the candidate pair the last open connection sends on
//   selectedPairs()  the same for every open connection
//   (#no-webrtc)     a page opened with this fragment has no RTCPeerConnection
//   holdOffers()     from now on, outgoing signaling messages of type
//                    'offer' wait in `heldOffers` instead of leaving
//   releaseOffers()  sends the held offers and stops holding: a test makes
//                    two pages' offers cross (glare) this way, without any
//                    test code in the pages. An offer that arrives while
//                    offers are held sends them first, before the page sees
//                    it: in a real collision each offer left before the
//                    other arrived, so a page never sends an offer it has
//                    already rolled back
(() => {
  const probe = {
    console: [],
    timeline: [],
    peerConnections: [],
    tracks: [],
    screenTracks: [],
    plannedFailures: {},
  };
  window.__probe = probe;

  const remember = (line) => {
    probe.console.push(line);
    if (probe.console.length > 400) probe.console.shift();
    probe.timeline.push([performance.timeOrigin + performance.now(), line]);
    if (probe.timeline.length > 400) probe.timeline.shift();
  };
  const show = (value) => {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === 'object' && value !== null) {
      try { return JSON.stringify(value); } catch { return String(value); }
    }
    return String(value);
  };
  // The lines are kept here and not passed on to the browser's console: under
  // WebDriver every console call would also be serialized and sent to the
  // driver, work a person's browser does not do, in the middle of the call
  // setup that `cargo bench --bench call_setup` times.
  for (const level of ['log', 'info', 'warn', 'error']) {
    console[level] = (...args) => {
      remember(`${level}: ${args.map(show).join(' ')}`);
    };
  }
  window.addEventListener('error', (event) => remember(`uncaught: ${event.message}`));
  // A script, module or style sheet that fails to load fires `error` on its
  // element, which does not bubble: listen in the capture phase.
  window.addEventListener('error', (event) => {
    const element = event.target;
    if (element && element !== window && (element.src || element.href)) {
      remember(`uncaught: failed to load ${element.tagName.toLowerCase()} ${element.src || element.href}`);
    }
  }, true);
  window.addEventListener('unhandledrejection', (event) =>
    remember(`unhandled rejection: ${show(event.reason)}`));
  // A Content-Security-Policy violation is a defect of the page as surely as
  // an uncaught error: the page did something its own server forbids.
  document.addEventListener('securitypolicyviolation', (event) =>
    remember(`csp violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`));
  probe.uncaught = () =>
    probe.console.filter((line) =>
      line.startsWith('uncaught') || line.startsWith('unhandled') || line.startsWith('csp violation'));

  // The URL of every WebSocket the page opens (wss: on an https page), and
  // offers held back while a test asks for it.
  probe.sockets = [];
  probe.heldOffers = [];
  let holding = false;
  const NativeWebSocket = window.WebSocket;
  if (NativeWebSocket) {
    window.WebSocket = class extends NativeWebSocket {
      constructor(url, ...rest) {
        super(url, ...rest);
        probe.sockets.push(this.url);
        // Registered before the page's own listener, so it runs first.
        this.addEventListener('message', (event) => {
          if (probe.heldOffers.length > 0 && typeof event.data === 'string'
            && event.data.includes('"type":"offer"')) {
            probe.releaseOffers();
          }
        });
      }

      send(data) {
        if (holding && typeof data === 'string' && data.includes('"type":"offer"')) {
          probe.heldOffers.push(() => super.send(data));
          return;
        }
        super.send(data);
      }
    };
  }
  probe.holdOffers = () => { holding = true; };
  probe.releaseOffers = () => {
    holding = false;
    const held = probe.heldOffers.splice(0);
    for (const send of held) send();
    return held.length;
  };

  // A test can open a page as a browser without WebRTC sees it (WebKitGTK,
  // or WebRTC turned off): add #no-webrtc to its address.
  if (location.hash === '#no-webrtc') {
    delete window.RTCPeerConnection;
    delete window.webkitRTCPeerConnection;
  }

  const NativePeerConnection = window.RTCPeerConnection;
  if (NativePeerConnection) {
    window.RTCPeerConnection = class extends NativePeerConnection {
      constructor(...args) {
        super(...args);
        probe.peerConnections.push(this);
      }
    };
  }

  const mediaDevices = navigator.mediaDevices;
  if (mediaDevices && mediaDevices.getUserMedia) {
    const getUserMedia = mediaDevices.getUserMedia.bind(mediaDevices);
    mediaDevices.getUserMedia = async (constraints) => {
      for (const kind of ['video', 'audio']) {
        const errorName = constraints && constraints[kind] && probe.plannedFailures[kind];
        if (errorName) {
          delete probe.plannedFailures[kind];
          throw new DOMException(`planned by the test: ${errorName}`, errorName);
        }
      }
      const stream = await getUserMedia(constraints);
      probe.tracks.push(...stream.getTracks());
      return stream;
    };
  }
  if (mediaDevices && mediaDevices.getDisplayMedia) {
    const getDisplayMedia = mediaDevices.getDisplayMedia.bind(mediaDevices);
    mediaDevices.getDisplayMedia = async (constraints) => {
      const stream = await getDisplayMedia(constraints);
      probe.screenTracks.push(...stream.getTracks());
      return stream;
    };
  }
  if (mediaDevices && mediaDevices.enumerateDevices) {
    const enumerateDevices = mediaDevices.enumerateDevices.bind(mediaDevices);
    let unplugged = null;
    mediaDevices.enumerateDevices = async () => {
      const all = await enumerateDevices();
      if (!unplugged) return all;
      const first = all.find((device) => device.kind === unplugged);
      return all.filter((device) => device.kind !== unplugged || device === first);
    };
    probe.unplug = (kind) => { unplugged = kind; };
    probe.plugIn = () => {
      unplugged = null;
      mediaDevices.dispatchEvent(new Event('devicechange'));
    };
  }
  probe.failNext = (kind, errorName) => { probe.plannedFailures[kind] = errorName; };

  // Counts frames the <video> actually presents (requestVideoFrameCallback),
  // until `wanted` frames or the timeout; returns the count and the size.
  probe.videoFrames = (selector, wanted, timeoutMs) => new Promise((resolve) => {
    const video = document.querySelector(selector);
    if (!video) { resolve({ frames: 0, width: 0, height: 0, missing: true }); return; }
    let frames = 0;
    const done = () => resolve({ frames, width: video.videoWidth, height: video.videoHeight });
    const timer = setTimeout(done, timeoutMs);
    const onFrame = () => {
      frames += 1;
      if (frames >= wanted) { clearTimeout(timer); done(); return; }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  });

  // inbound-rtp counters of `kind` for each open connection, in the order the
  // page made them (a mesh page has one connection per other member).
  probe.inboundEach = async (kind) => {
    const each = [];
    for (const pc of probe.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      const total = { framesDecoded: 0, bytesReceived: 0, totalSamplesReceived: 0, packetsReceived: 0 };
      const stats = await pc.getStats();
      stats.forEach((report) => {
        if (report.type === 'inbound-rtp' && report.kind === kind) {
          for (const key of Object.keys(total)) total[key] += report[key] || 0;
        }
      });
      each.push(total);
    }
    return each;
  };

  // The candidate pair the newest open connection sends on: the transport's
  // selectedCandidatePairId (Chromium), or the nominated pair that succeeded
  // (Firefox has no transport report). Each side as its type (host, srflx,
  // prflx, relay) and address; null before a pair is chosen.
  probe.selectedPair = async () => {
    const pc = probe.peerConnections.filter((one) => one.connectionState !== 'closed').at(-1);
    return pc ? pairOf(pc) : null;
  };
  // The selected pair of every open connection.
  probe.selectedPairs = async () => Promise.all(probe.peerConnections
    .filter((one) => one.connectionState !== 'closed')
    .map(pairOf));
  const pairOf = async (pc) => {
    const stats = await pc.getStats();
    let pairId = null;
    stats.forEach((report) => {
      if (report.type === 'transport' && report.selectedCandidatePairId) pairId = report.selectedCandidatePairId;
    });
    if (!pairId) {
      stats.forEach((report) => {
        if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') pairId = report.id;
      });
    }
    const pair = pairId && stats.get(pairId);
    if (!pair) return null;
    const side = (id) => {
      const candidate = stats.get(id) || {};
      return { type: candidate.candidateType, address: `${candidate.address}:${candidate.port}` };
    };
    return { local: side(pair.localCandidateId), remote: side(pair.remoteCandidateId) };
  };

  // Step 20: counters of each tile's track, read from its receiver.
  probe.inboundByTile = async (kind) => {
    const receivers = probe.peerConnections
      .filter((pc) => pc.connectionState !== 'closed')
      .flatMap((pc) => pc.getReceivers());
    const byName = {};
    for (const tile of document.querySelectorAll('#peers .peer')) {
      const name = tile.querySelector('.peer-name')?.textContent ?? '?';
      const element = tile.querySelector(kind === 'video' ? 'video' : 'audio');
      const track = element?.srcObject?.getTracks().find((t) => t.kind === kind);
      const receiver = track && receivers.find((r) => r.track === track);
      const total = { framesDecoded: 0, bytesReceived: 0, totalSamplesReceived: 0, packetsReceived: 0 };
      if (receiver) {
        (await receiver.getStats()).forEach((report) => {
          if (report.type === 'inbound-rtp' && report.kind === kind) {
            for (const key of Object.keys(total)) total[key] += report[key] || 0;
          }
        });
      }
      byName[name] = total;
    }
    return byName;
  };

  // How many outbound RTP streams of `kind` the open connections send
  // (one per connection carrying that kind), and their bytes summed.
  probe.outbound = async (kind) => {
    const out = { streams: 0, bytesSent: 0, limitedBy: [] };
    for (const pc of probe.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((report) => {
        if (report.type === 'outbound-rtp' && report.kind === kind) {
          out.streams += 1;
          out.bytesSent += report.bytesSent || 0;
          if (report.qualityLimitationReason) out.limitedBy.push(report.qualityLimitationReason);
        }
      });
    }
    return out;
  };

  // The same counters summed over every open connection.
  probe.inbound = async (kind) => {
    const total = { framesDecoded: 0, bytesReceived: 0, totalSamplesReceived: 0, packetsReceived: 0 };
    for (const one of await probe.inboundEach(kind)) {
      for (const key of Object.keys(total)) total[key] += one[key];
    }
    return total;
  };
})();
