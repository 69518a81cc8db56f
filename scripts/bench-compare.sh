#!/usr/bin/env bash
# This server beside the seed tutorial's stack (Socket.IO 4) and a plain Node
# ws relay, measured by one load generator in one run: see benches/compare.rs.
# Needs Node.js and npm; installs the pinned Node packages into
# bench/compare/node_modules (package-lock.json) the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d bench/compare/node_modules ]; then
  (cd bench/compare && npm ci --no-audit --no-fund)
fi
cargo bench --bench compare
