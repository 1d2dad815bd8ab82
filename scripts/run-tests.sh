#!/bin/sh
# scripts/run-tests.sh: runs ctest in a build directory and then lists every Skipped test with the
# reasons its program printed ("SKIP: ..."), since ctest shows a skipped test's output nowhere.
# With LETHE_ALLOW_SKIP set (an extended regex of test names, or "none"), it also fails when a
# test outside that list skipped: CI uses this so that a test it means to run can never skip.
# Usage: scripts/run-tests.sh BUILD_DIR [ctest arguments...]
set -u
build=${1:?usage: scripts/run-tests.sh BUILD_DIR [ctest args...]}
shift
log=$(mktemp "${TMPDIR:-/tmp}/lethe-ctest.XXXXXX")
trap 'rm -f "$log" "$log.rc"' EXIT INT TERM
{ (cd "$build" && ctest --output-on-failure "$@") 2>&1; echo $? >"$log.rc"; } | tee "$log"
status=$(cat "$log.rc")
# Names listed under "The following tests did not run:" with (Skipped).
skipped=$(sed -n '/The following tests did not run:/,/^$/p' "$log" | grep '(Skipped)' | sed 's/.* - \([^ ]*\) (Skipped).*/\1/')
if [ -n "$skipped" ]; then
  echo
  echo "Skipped tests and why (exit 77):"
  for t in $skipped; do
    echo "  $t:"
    # The reasons the program printed, from its section of LastTest.log.
    awk -v t="$t" '
      $0 ~ "^[0-9]+/[0-9]+ Test: " t "$" { on = 1; next }
      on && /^<end of output>/ { on = 0 }
      on && /^SKIP: / { print }' "$build/Testing/Temporary/LastTest.log" | sort -u | sed 's/^/    /'
  done
fi
unexpected=""
if [ -n "${LETHE_ALLOW_SKIP:-}" ]; then
  for t in $skipped; do
    if [ "$LETHE_ALLOW_SKIP" = none ] || ! echo "$t" | grep -Eqx "$LETHE_ALLOW_SKIP"; then unexpected="$unexpected $t"; fi
  done
  if [ -n "$unexpected" ]; then
    echo
    echo "run-tests: these tests skipped but are meant to run here:$unexpected" >&2
    status=1
  fi
fi
exit "$status"
