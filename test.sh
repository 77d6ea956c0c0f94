#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine, installing what is missing.
# Under CI=true a component that cannot be installed is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")"

ci() { [ "${CI:-}" = "true" ]; }
say() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Rust 1.89 or newer (str0m 0.25 needs it).
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "${rust_minor:-0}" -lt 89 ]; then
  rustup update stable || fail "Rust 1.89 or newer is required ($(rustc --version))"
fi

# C and C++ compilers: aws-lc-sys builds C code, webm-sys (the WebM muxer) C++.
if ! command -v cc >/dev/null || ! command -v c++ >/dev/null; then
  apt_install build-essential || fail "C and C++ compilers (cc, c++) are required and could not be installed"
fi

# ffmpeg/ffprobe: tests check the IVF the program writes with them.
if ! command -v ffprobe >/dev/null; then
  apt_install ffmpeg || fail "ffmpeg (ffprobe) is required and could not be installed"
fi

# coturn (turnserver) and openssl: the TURN tests start a coturn with a fresh
# certificate; prosody: the XMPP tests start one per test (as root, in the
# foreground; never run `prosody --version`: it starts a server); nftables: the NAT
# tests (network namespaces, as root).
for pair in turnserver:coturn openssl:openssl prosody:prosody nft:nftables; do
  if ! command -v "${pair%%:*}" >/dev/null; then
    apt_install "${pair#*:}" || fail "${pair#*:} is required and could not be installed"
  fi
done

# rustfmt and clippy.
for comp in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
    rustup component add "$comp" || { ci && fail "rustup component $comp missing"; }
  fi
done

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Two cores: keep one build at a time and do not build twice.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

say "format"
cargo fmt --all -- --check

say "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "rustdoc (broken or private links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

say "browser test prerequisites (chromium, firefox-esr, playwright-core, puppeteer-core)"
browser/run.sh --install

say "tests (unit, integration, doc)"
cargo test --workspace --locked

if [ -x fuzz/run.sh ]; then
  say "fuzzing (bounded)"
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} fuzz/run.sh
fi

say "all tests passed"
