#!/usr/bin/env bash
# Browser tests: headless Chromium and Firefox as the other peer of proxy-connection, on
# 127.0.0.1. Installs what is missing (Debian's chromium and firefox-esr, coturn and
# openssl for the TURN tests, prosody for the XMPP tests, playwright-core, puppeteer-core
# and strophe.js from package-lock.json; never a downloaded browser), then runs
# `cargo test -p proxy-tests` (every browser test: tests/tests/browser*.rs).
# Under CI=true a component that cannot be installed is a failure, never a skip.
# Extra arguments go to the test binary (e.g. a test name, --nocapture).
#   browser/run.sh --install   only install what is missing (./test.sh calls this before
#                              `cargo test --workspace`, which then runs the browser tests)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

ci() { [ "${CI:-}" = "true" ]; }
say() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'browser/run.sh: %s\n' "$*" >&2; exit 1; }
skip() {
  ci && fail "$* (CI=true: this is a failure)"
  printf 'browser/run.sh: SKIPPED: %s\n' "$*" >&2
  exit 0
}
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}
apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  apt_install chromium || skip "chromium is missing and could not be installed"
  [ -x "$CHROMIUM" ] || skip "chromium installed but $CHROMIUM is missing"
fi
# Firefox (browser_firefox), driven by puppeteer-core over WebDriver BiDi. Without it
# the Chromium tests still run and the Firefox tests print SKIPPED.
export FIREFOX="${FIREFOX:-/usr/bin/firefox-esr}"
if [ ! -x "$FIREFOX" ]; then
  apt_install firefox-esr || { ci && fail "firefox-esr is required under CI=true"; true; }
  [ -x "$FIREFOX" ] || printf 'browser/run.sh: %s missing: the Firefox tests will be SKIPPED\n' "$FIREFOX" >&2
fi
if ! command -v ffprobe >/dev/null; then
  apt_install ffmpeg || { ci && fail "ffprobe (ffmpeg) is required under CI=true"; true; }
fi
# The TURN tests (browser_turn) start Debian's coturn with a fresh certificate.
if ! command -v turnserver >/dev/null || ! command -v openssl >/dev/null; then
  apt_install coturn openssl || { ci && fail "coturn and openssl are required under CI=true"; true; }
fi
# The XMPP tests (browser_xmpp) start Debian's Prosody (never `prosody --version`: it
# would start a server with the system's configuration).
if ! command -v prosody >/dev/null || ! command -v openssl >/dev/null; then
  apt_install prosody openssl || { ci && fail "prosody and openssl are required under CI=true"; true; }
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm || skip "node/npm are missing and could not be installed"
fi

# The version installed in node_modules of a package, or nothing.
installed() { [ -f "$here/node_modules/$1/package.json" ] && node -p "require('$here/node_modules/$1/package.json').version"; }
pinned() { node -p "require('$here/package-lock.json').packages['node_modules/$1'].version"; }
for pkg in playwright-core puppeteer-core strophe.js; do
  if [ "$(installed "$pkg" || true)" != "$(pinned "$pkg")" ]; then
    say "installing playwright-core, puppeteer-core and strophe.js (npm ci)"
    # None has an install script; neither playwright-core nor puppeteer-core downloads
    # a browser (PUPPETEER_SKIP_DOWNLOAD only in case a later version would try).
    (cd "$here" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund) || skip "npm ci failed"
    break
  fi
done

if [ "${1:-}" = "--install" ]; then
  exit 0
fi

say "browser tests ($("$CHROMIUM" --version 2>/dev/null || echo chromium); $("$FIREFOX" --version 2>/dev/null || echo no firefox))"
cd "$root"
nice -n 10 cargo build -p proxy-tokio --bin proxy-connection ${CARGO_LOCKED:+--locked}
exec nice -n 10 cargo test -p proxy-tests ${CARGO_LOCKED:+--locked} -- --test-threads=1 "$@"
