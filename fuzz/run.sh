#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 60) each and reports
# executions and crashes per target. Exits non-zero on any crash.
#
#   FUZZ_SECONDS=300 fuzz/run.sh            # all targets, 5 minutes each
#   FUZZ_SECONDS=30 fuzz/run.sh parse_iq    # only these targets
#
# Installs cargo-fuzz if it is missing. Uses AddressSanitizer on the stable
# toolchain through RUSTC_BOOTSTRAP=1, and falls back to no sanitizer only if
# the sanitizer build fails. Under CI=true a tool that cannot be installed is a
# failure; elsewhere the run is skipped with a note.
set -uo pipefail
cd "$(dirname "$0")"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ci() { [ "${CI:-}" = "true" ]; }
say() { printf '\n== fuzz: %s\n' "$*" >&2; }
give_up() {
  if ci; then
    printf 'fuzz/run.sh: %s\n' "$*" >&2
    exit 1
  fi
  printf 'fuzz/run.sh: %s; fuzzing skipped\n' "$*" >&2
  exit 0
}

export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked >&2 || give_up "cargo-fuzz is missing and could not be installed"
fi
cargo fuzz --version >/dev/null 2>&1 || give_up "cargo-fuzz does not run"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
[ ${#targets[@]} -gt 0 ] || give_up "no fuzz targets found"

# The seed corpus is checked in; libFuzzer adds its finds there (git ignores them).
sanitizer=()
say "building ${targets[*]} with AddressSanitizer"
if ! cargo fuzz build >&2; then
  say "the sanitizer build failed; building without a sanitizer"
  sanitizer=(-s none)
  cargo fuzz build "${sanitizer[@]}" >&2 || give_up "the fuzz targets do not build"
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  find "artifacts/$t" -type f | sort >"$logs/$t.before"
  say "running $t for ${FUZZ_SECONDS}s"
  cargo fuzz run "${sanitizer[@]}" "$t" -- \
    -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$logs/$t.log" 2>&1
  rc=$?
  tail -n 25 "$logs/$t.log" >&2
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | tail -n1 | grep -o '[0-9]*$')
  if [ -z "$execs" ]; then
    execs=$(grep -o '^#[0-9]* *DONE' "$logs/$t.log" | tail -n1 | grep -o '[0-9]*')
  fi
  find "artifacts/$t" -type f | sort >"$logs/$t.after"
  comm -13 "$logs/$t.before" "$logs/$t.after" >"$logs/$t.new"
  crashes=$(wc -l <"$logs/$t.new")
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # it failed without leaving an artifact (e.g. a build error)
  fi
  if [ "$crashes" -gt 0 ]; then
    failed=1
    grep -m1 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$logs/$t.log" >&2 || true
    head -n 5 "$logs/$t.new" >&2
  fi
  summary+=("$(printf '%-16s executions=%-10s crashes=%s' "$t" "${execs:-?}" "$crashes")")
done

say "summary (${FUZZ_SECONDS}s per target${sanitizer[*]:+, no sanitizer})"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz/run.sh: crashes found; reproduce with: cargo fuzz run <target> fuzz/artifacts/<target>/<file>" >&2
  exit 1
fi
echo "fuzz: no crashes"
