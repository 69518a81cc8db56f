#!/usr/bin/env bash
# Installs what the tests need and the machine lacks; does nothing (and needs
# no network) when everything is already there.
#   Chromium + chromedriver   Debian packages chromium, chromium-driver
#   Firefox + geckodriver     Debian package firefox-esr; geckodriver from crates.io, pinned
#   coturn (turnserver)       Debian package coturn: a real STUN/TURN server for the ICE tests
#   nginx                     Debian package nginx: the reverse proxy of deploy/nginx/, tested in tests/pages/https.rs
#   iproute2, nftables        Debian packages: the NAT tests build their own networks (tests/pages/nat.rs);
#                             step 19's tests cut a page's socket with iproute2's `ss -K` (tests/common/cut.rs)
#   Redis (redis-server)      Debian package redis-server: the shared rooms' tests start their own
#                             (tests/common/redis.rs; the server only needs it with --redis-url)
#   mdBook                    from crates.io, pinned, built once into ~/.cargo/bin
#   mdbook-mermaid            from crates.io, pinned: draws the book's diagrams
set -euo pipefail

MDBOOK_VERSION=0.5.4
MDBOOK_MERMAID_VERSION=0.17.1
GECKODRIVER_VERSION=0.37.1

# The tools built from crates.io, each only if missing. Debug builds: they
# take half the time of release ones, and these tools do little work (relay
# WebDriver commands to Firefox, build a small book).
install_tools() {
  if [ -z "${GECKODRIVER:-}" ] && ! geckodriver --version 2>/dev/null | grep -q "geckodriver ${GECKODRIVER_VERSION}"; then
    echo "installing geckodriver ${GECKODRIVER_VERSION} (about two minutes, once)"
    cargo install geckodriver --version "${GECKODRIVER_VERSION}" --locked --debug --quiet
  fi

  if ! mdbook --version 2>/dev/null | grep -q "v${MDBOOK_VERSION}"; then
    echo "installing mdbook ${MDBOOK_VERSION} (about a minute, once)"
    # Only the search feature: the book is built, never served, by the checks.
    cargo install mdbook --version "${MDBOOK_VERSION}" --locked --debug --no-default-features --features search --quiet
  fi

  if ! mdbook-mermaid --version 2>/dev/null | grep -q "${MDBOOK_MERMAID_VERSION}"; then
    echo "installing mdbook-mermaid ${MDBOOK_MERMAID_VERSION} (a minute or two, once)"
    cargo install mdbook-mermaid --version "${MDBOOK_MERMAID_VERSION}" --locked --debug --quiet
  fi
}

# The Rust tools build (CPU) while apt-get downloads and unpacks (network and
# disk), which saves a minute or two on a fresh machine.
install_tools &
tools=$!

missing_packages=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || [ -n "${CHROMIUM:-}" ] || missing_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -n "${CHROMEDRIVER:-}" ] || missing_packages+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 \
  || [ -n "${FIREFOX:-}" ] || missing_packages+=(firefox-esr)
command -v turnserver >/dev/null 2>&1 || missing_packages+=(coturn)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || [ -n "${NGINX:-}" ] || missing_packages+=(nginx)
# The NAT tests' networks (tests/common/netns.rs): namespaces, veth pairs, NAT rules.
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing_packages+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing_packages+=(nftables)
command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_SERVER:-}" ] || missing_packages+=(redis-server)

if [ ${#missing_packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing_packages[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "error: need root (or sudo) to install ${missing_packages[*]}" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  # Packages such as nginx and coturn start their service when installed;
  # the tests start their own, so tell the installer not to (policy-rc.d
  # answering 101 means "not now"), unless the machine already has a policy.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    # Removed however the install ends.
    trap '$sudo rm -f "$policy"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
fi

if ! wait "$tools"; then
  echo "error: installing the Rust tools (geckodriver, mdbook, mdbook-mermaid) failed" >&2
  exit 1
fi
