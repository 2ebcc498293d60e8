#!/usr/bin/env bash
# SPIN baseline for issue 16: the whole pipeline (spin -a, the C compile, ./pan) on iopf.pml,
# for the fixed model and for partial-leak-on-alloc-failure, each timed from start to end.
# Prints one JSON line per case:
#   {"case":"fixed"|"partial-leak","states":N,"transitions":N,"errors":N,"seconds":S,
#    "exhausted":bool,"pan_seconds":S}
# seconds = the whole pipeline (wall clock); pan_seconds = pan's own "elapsed time" (the search).
# Everything generated (pan.c, pan, the trail) goes into a temporary directory, removed at exit.
# Exit status: 2 if spin or the C compiler is missing or a step fails; 1 if the fixed model is not
# exhausted clean or the bug is not found; 0 otherwise.
# Environment: SPIN (spin), CC (gcc), CFLAGS (-O2 -DSAFETY), PANFLAGS (-n -w18 -m10000),
# SPIN_EXTRA (extra -D flags for both cases, e.g. -DPARTIAL_ALLOC_FAIL).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
model="$here/iopf.pml"
SPIN="${SPIN:-spin}"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2 -DSAFETY}"
PANFLAGS="${PANFLAGS:--n -w18 -m10000}"
SPIN_EXTRA="${SPIN_EXTRA:-}"

if ! command -v "$SPIN" >/dev/null 2>&1; then
  echo "bench/spin: '$SPIN' not found: install Debian's spin package (apt-get install spin)" >&2
  exit 2
fi
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "bench/spin: C compiler '$CC' not found: install gcc" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pagerace-spin.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# run CASE SPIN_DEFINES: prints the JSON line; leaves errors and exhausted in $errors/$exhausted.
run() {
  local name="$1" defines="$2" dir="$work/$1" t0 t1
  mkdir -p "$dir"
  # A copy, so that pan writes its trail (named after the model) here, not into the repo.
  cp "$model" "$dir/iopf.pml"
  (
    cd "$dir"
    t0="$(date +%s.%N)"
    # shellcheck disable=SC2086 # the flags are word lists
    "$SPIN" $defines $SPIN_EXTRA -a iopf.pml >spin.log 2>&1 || { echo "bench/spin: spin -a failed ($name):" >&2; cat spin.log >&2; exit 2; }
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -o pan pan.c >cc.log 2>&1 || { echo "bench/spin: $CC failed ($name):" >&2; cat cc.log >&2; exit 2; }
    # shellcheck disable=SC2086
    ./pan $PANFLAGS >pan.out 2>&1 || true   # pan's status is not its verdict: parse the output
    t1="$(date +%s.%N)"
    echo "$t0 $t1" >times
  )
  local out="$dir/pan.out" states transitions pan_seconds seconds
  states="$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$out" | head -n1)"
  transitions="$(sed -n 's/^ *\([0-9][0-9]*\) transitions.*/\1/p' "$out" | head -n1)"
  errors="$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | head -n1)"
  pan_seconds="$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$out" | head -n1)"
  if [[ -z "$states" || -z "$transitions" || -z "$errors" ]]; then
    echo "bench/spin: could not read pan's output ($name):" >&2
    cat "$out" >&2
    exit 2
  fi
  # Exhausted: the whole state space was searched (no error stopped it, no depth or memory limit).
  exhausted=true
  if [[ "$errors" != 0 ]] || grep -qE 'Search not completed|max search depth too small|out of memory' "$out"; then
    exhausted=false
  fi
  read -r t0 t1 <"$dir/times"
  seconds="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  printf '{"case":"%s","states":%d,"transitions":%d,"errors":%d,"seconds":%s,"exhausted":%s,"pan_seconds":%s}\n' \
    "$name" "$states" "$transitions" "$errors" "$seconds" "$exhausted" "${pan_seconds:-null}"
}

status=0
run fixed ""
if [[ "$errors" != 0 || "$exhausted" != true ]]; then
  echo "bench/spin: the fixed model was not exhausted clean (errors: $errors)" >&2
  status=1
fi
run partial-leak "-DBUG_PARTIAL_LEAK"
if [[ "$errors" == 0 ]]; then
  echo "bench/spin: the partial leak was not found" >&2
  status=1
fi
exit "$status"
