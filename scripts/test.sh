#!/usr/bin/env bash
# Every check of the project, as CI runs it: `bash scripts/test.sh`.
# Installs what is missing first (see scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== the browsers and servers the tests use"
# Known browser bugs are asserted with the version they were seen in
# (tests/pages/steps_11_14.rs): a failure there is read against these lines.
for tool in chromium chromedriver firefox-esr geckodriver; do
  if command -v "$tool" >/dev/null 2>&1; then echo "$tool: $("$tool" --version 2>/dev/null | head -n 1)"; fi
done
if command -v nginx >/dev/null 2>&1; then echo "nginx: $(nginx -v 2>&1)"; fi
if command -v turnserver >/dev/null 2>&1; then echo "coturn: $(dpkg-query -W -f '${Version}' coturn 2>/dev/null)"; fi
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test (unit, protocol and browser tests)"
cargo test
echo "== cargo doc (the crate docs' links must resolve)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
echo "== mdbook build docs"
# mdbook-mermaid's scripts (mermaid.min.js, mermaid-init.js) are written, not kept in git.
mdbook-mermaid install docs >/dev/null
mdbook build docs
