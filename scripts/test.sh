#!/usr/bin/env bash
# Every check of the project, as CI runs it: `bash scripts/test.sh`.
# Installs what is missing first (see scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

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
